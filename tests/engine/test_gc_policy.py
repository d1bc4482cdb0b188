"""The running system's collector policy: the warm heap is frozen once, then again only when due."""

from __future__ import annotations

import gc

from polytraders.engine.gc_policy import GcPolicy


def test_the_warm_heap_is_frozen_then_refrozen_only_when_due() -> None:
    gc.unfreeze()
    try:
        policy = GcPolicy(refreeze_every_s=3600)
        policy.idle()  # the first idle moment freezes what start-up made
        frozen = gc.get_freeze_count()
        assert frozen > 0
        keep = [[i] for i in range(5000)]  # long-lived objects made after the freeze
        policy.idle()  # not due: nothing more is frozen
        assert gc.get_freeze_count() == frozen
        GcPolicy(refreeze_every_s=0).idle()  # due at once: the new survivors are frozen too
        assert gc.get_freeze_count() >= frozen + len(keep)
    finally:
        gc.unfreeze()
