"""The running system's collector policy: the warm heap is frozen once, then again only when
due; no full collection starts by itself meanwhile; everything is handed back at the end."""

from __future__ import annotations

import gc
from pathlib import Path

from polytraders.engine.demo import REFREEZE_EVERY_SIM_S, DemoArgs, run_demo
from polytraders.engine.gc_policy import YOUNG_COLLECT_AT, YOUNG_THRESHOLD, GcPolicy


def test_the_warm_heap_is_frozen_then_refrozen_only_when_due() -> None:
    before = gc.get_threshold()
    policy = GcPolicy(refreeze_every_s=3600)
    try:
        policy.idle()  # the first idle moment freezes what start-up made
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert gc.get_threshold()[:2] == (YOUNG_THRESHOLD, before[1]) and gc.get_threshold()[2] > 10**6
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


def test_the_demo_runs_under_the_policy_refrozen_on_simulated_time(tmp_path: Path) -> None:
    # full collections never start by themselves mid-demo (each would walk the whole run so
    # far); the demo refreezes every REFREEZE_EVERY_SIM_S simulated seconds and hands back the
    # collector as it found it
    before = gc.get_threshold()
    seen: list[tuple[int, int]] = []

    def after_step(_system: object) -> None:
        seen.append((gc.get_threshold()[2], gc.get_freeze_count()))

    minutes = 2 * REFREEZE_EVERY_SIM_S // 60
    run_demo(DemoArgs(minutes=minutes, markets=2, seed=3, db=tmp_path / "j.db"), after_step=after_step)
    assert len(seen) == minutes * 60
    assert all(third > 10**6 and frozen > 0 for third, frozen in seen)
    at = REFREEZE_EVERY_SIM_S - 1  # index of the step at which the first refreeze ran
    assert seen[at + 1][1] > seen[at][1]  # what those minutes left alive was frozen too
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_idle_time_collects_the_young_generations_before_a_step_would() -> None:
    # a step never reaches the first threshold: idle time collects once half of it is reached
    policy = GcPolicy(refreeze_every_s=3600)
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    try:
        policy.idle()
        gc.callbacks.append(count)
        keep = [[i] for i in range(YOUNG_COLLECT_AT // 2)]
        policy.idle()  # below half the threshold: nothing collected
        assert collections == [] and gc.get_count()[0] >= len(keep)
        keep += [[i] for i in range(YOUNG_COLLECT_AT)]
        assert collections == [], "no collection started by itself below the raised threshold"
        policy.idle()
        assert collections == [1] and gc.get_count()[0] < 100, "the young generations, once"
    finally:
        if count in gc.callbacks:
            gc.callbacks.remove(count)
        policy.release()
