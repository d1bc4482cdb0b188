"""The latency a sampled call records: wall time for a real venue, only the injected latency for
the in-process simulator (its wall time measures this machine's load, and a seeded run's journal
must not depend on it)."""

from __future__ import annotations

import time
from typing import Any

from polytraders.health import HealthSampler, SampledVenue


class _Slow:
    """A venue whose cancel takes 30 ms of wall time."""

    def cancel_all(self, token_ids: Any, now_ms: int) -> list[Any]:
        time.sleep(0.03)
        return []


class _SlowSim(_Slow):
    def injected_latency_ms(self, now_ms: int) -> int:
        return 7


def _latencies(venue: Any) -> list[int]:
    sampler = HealthSampler()
    SampledVenue(venue, sampler, lambda: 1_000).cancel_all(None, 1_000)
    figures = sampler.summarise("clob_rest", 1_000, 60_000, 600_000)
    assert figures.samples_short == 1
    return [figures.p50_ms or 0]


def test_a_real_venue_is_judged_by_wall_time() -> None:
    assert _latencies(_Slow())[0] >= 30


def test_a_simulated_venue_is_judged_by_its_injected_latency_alone() -> None:
    assert _latencies(_SlowSim()) == [7]  # not 37: the sleep is not the venue's latency
