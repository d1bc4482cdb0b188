"""The exchange clock: wall time, or simulated time advanced by the admin endpoint.

Never goes backwards (``SimVenue`` refuses time that does), even if the wall clock steps back.
"""

from __future__ import annotations

import time


class ExchangeClock:
    """``now_ms`` for matching, expiries and heartbeats.  Authentication windows do not use it."""

    def __init__(self, *, simulated: bool, start_ms: int | None = None) -> None:
        self.simulated = simulated
        wall = time.time_ns() // 1_000_000
        self._now = start_ms if simulated and start_ms is not None else wall

    def now_ms(self) -> int:
        if not self.simulated:
            self._now = max(self._now, time.time_ns() // 1_000_000)
        return self._now

    def advance(self, delta_ms: int) -> int:
        """Move simulated time forward; refused on a wall clock (it cannot be steered)."""
        if not self.simulated:
            raise ValueError("time can only be advanced when the exchange runs with simulated time")
        if delta_ms < 0:
            raise ValueError("time cannot go backwards")
        self._now += delta_ms
        return self._now
