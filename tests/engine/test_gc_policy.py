"""The running system's collector policy: the warm heap is frozen once, then again only when
due; no full collection starts by itself meanwhile; everything is handed back at the end."""

from __future__ import annotations

import gc

from polytraders.engine.gc_policy import GcPolicy


def test_the_warm_heap_is_frozen_then_refrozen_only_when_due() -> None:
    before = gc.get_threshold()
    policy = GcPolicy(refreeze_every_s=3600)
    try:
        policy.idle()  # the first idle moment freezes what start-up made
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 10**6
        keep = [[i] for i in range(5000)]  # long-lived objects made after the freeze
        policy.idle()  # not due: nothing more is frozen
        assert gc.get_freeze_count() == frozen
        policy.refreeze_every_s = 0
        policy.freeze()  # due: the new survivors are frozen too
        policy.idle()
        assert gc.get_freeze_count() >= frozen + len(keep)
    finally:
        policy.release()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
