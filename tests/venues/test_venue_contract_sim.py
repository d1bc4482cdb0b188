"""The venue contract on ``SimVenue`` (simulated time, no background liquidity)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from polytraders.venues.base import Side, VenueEvent, VenueOrder, VenueOrderType
from polytraders.venues.sim import FaultPlan, SimVenue

from .contract import Events, VenueContract

T0 = 1_800_000_000_000
STEP_MS = 100


class SimHarness:
    def __init__(self) -> None:
        self.venue = SimVenue(21, 3, T0, background=False)
        self.token = next(m.yes_token for m in self.venue.markets() if m.tick == Decimal("0.01"))
        self._now = T0
        self._pending: list[VenueEvent] = []
        self._plan = FaultPlan()

    def now(self) -> int:
        return self._now

    def order(self, cid: str, side: Side, price: str, size: str, order_type: VenueOrderType = "GTC",
              post_only: bool = False) -> VenueOrder:
        return VenueOrder(cid, self.token, side, Decimal(price), Decimal(size), order_type, post_only,
                          order_hash="0x" + cid.encode().hex().ljust(64, "0")[:64])

    def cross(self, side: Side, price: str, size: str) -> None:
        self._pending += self.venue.place_external(self.token, side, Decimal(price), Decimal(size), self._now, "FAK")

    def fault(self, status: int, seconds: float, mode: str = "") -> None:
        end = self._now + int(seconds * 1000)
        if mode == "post_only":
            self._plan = self._plan.post_only_mode(start_ms=self._now, end_ms=end)
        else:
            self._plan = self._plan.transport_errors("submit", status, start_ms=self._now, end_ms=end)
            self._plan = self._plan.transport_errors("cancel", status, start_ms=self._now, end_ms=end)
        self.venue.set_faults(self._plan)

    def clear_faults(self) -> None:
        self._plan = FaultPlan()
        self.venue.set_faults(None)

    def drop_user_feed(self, seconds: float) -> None:
        """The simulator delivers through ``advance``: there is no socket to drop."""

    def collect(self, until: Callable[[Events], bool], timeout_s: float = 8.0) -> Events:
        out, self._pending = self._pending, []
        deadline = self._now + int(timeout_s * 1000)
        while not until(out) and self._now < deadline:
            self._now += STEP_MS
            out += self.venue.advance(self._now)
        return out


class TestSimVenueContract(VenueContract):
    @pytest.fixture
    def harness(self) -> SimHarness:
        return SimHarness()
