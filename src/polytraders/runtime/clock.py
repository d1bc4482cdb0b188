"""Clocks. The runtime owns time: wall time live, event time in simulation and replay."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class WallClock:
    """Live time. Only the runtime holds one; bots see time through their context."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class SimClock:
    """Event time that only moves when the simulation or replay says so."""

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance_to(self, ts_ms: int) -> None:
        if ts_ms < self._now:
            raise ValueError(f"simulated time cannot go backwards ({ts_ms} < {self._now})")
        self._now = ts_ms

    def advance(self, delta_ms: int) -> None:
        self.advance_to(self._now + delta_ms)


class StepClock(SimClock):
    """Live time for the live runtime: the wall clock, sampled once at the start of each step and
    never going backwards, so everything one step does (and the venue it drives) sees one time."""

    def __init__(self) -> None:
        super().__init__(time.time_ns() // 1_000_000)

    def wall_ms(self) -> int:
        return max(self.now_ms(), time.time_ns() // 1_000_000)
