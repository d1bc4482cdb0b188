"""The behavioural contract every ``Venue`` keeps (STYLE E9), written once.

Not collected by name (no ``Test`` prefix): ``test_venue_contract_sim.py`` runs it on
``SimVenue`` and ``polymarket/test_contract_local_exchange.py`` on the real adapter against a
``polytraders exchange serve`` process.  A ``Harness`` hides what differs: how time passes
(simulated steps vs the wall clock), how another trader takes our order, and how faults are
injected (a ``FaultPlan`` vs the exchange's admin endpoints).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

import pytest

from polytraders.venues.base import (
    CANCEL_ALREADY_CANCELED,
    CANCEL_ORDER_NOT_FOUND,
    FOK_ORDER_NOT_FILLED_ERROR,
    INVALID_ORDER_DUPLICATED,
    INVALID_ORDER_MIN_SIZE,
    OutcomeUnknown,
    Side,
    Venue,
    VenueError,
    VenueEvent,
    VenueOrder,
    VenueOrderType,
)

D = Decimal
Events = list[VenueEvent]


class Harness(Protocol):
    venue: Venue
    token: str

    def now(self) -> int: ...

    def order(self, cid: str, side: Side, price: str, size: str, order_type: VenueOrderType = "GTC",
              post_only: bool = False) -> VenueOrder: ...

    def cross(self, side: Side, price: str, size: str) -> None:
        """Another trader takes ``size`` at ``price`` from our resting order (FAK)."""

    def fault(self, status: int, seconds: float, mode: str = "") -> None:
        """A trading fault window starting now (status 429/425/503; mode for 503)."""

    def clear_faults(self) -> None: ...

    def drop_user_feed(self, seconds: float) -> None:
        """Our pushed-event channel goes away for a while (nothing missed is replayed)."""

    def collect(self, until: Callable[[Events], bool], timeout_s: float = 8.0) -> Events:
        """Advance (time passes) until ``until(all events so far)`` or the timeout."""


def of(events: Events, kind: str, venue_order_id: str | None = None) -> Events:
    return [e for e in events if e.kind == kind and (venue_order_id is None or e.venue_order_id == venue_order_id)]


class VenueContract:
    """Subclass with a ``harness`` fixture; every test here then runs on that venue."""

    def _rest(self, h: Harness, cid: str, price: str = "0.40", size: str = "10") -> tuple[VenueOrder, Events]:
        order = h.order(cid, "BUY", price, size)
        events = h.venue.submit(order, h.now())
        if not of(events, "ack", order.order_hash):  # a venue may push the ack later
            events += h.collect(lambda evs: bool(of(evs, "ack", order.order_hash)), 5)
        assert len(of(events, "ack", order.order_hash)) == 1, events
        return order, events

    def test_submit_ack_then_fill_then_settlement(self, harness: Harness) -> None:
        h = harness
        order, _ = self._rest(h, "contract-fill-1", "0.40", "10")
        h.cross("SELL", "0.40", "4")
        events = h.collect(lambda evs: bool(of(evs, "trade_status", order.order_hash)), 10)
        fills = of(events, "fill", order.order_hash)
        assert len(fills) == 1, events
        fill = fills[0]
        assert (fill.size, fill.remaining, fill.price, fill.liquidity) == (D(4), D(6), D("0.40"), "maker")
        assert fill.trade_status == "MATCHED" and fill.fee == 0 and fill.trade_id
        assert fill.client_order_id == "contract-fill-1"
        status = of(events, "trade_status", order.order_hash)[0]
        assert status.trade_id == fill.trade_id and status.trade_status == "MINED"
        (view,) = [v for v in h.venue.open_orders() if v.venue_order_id == order.order_hash]
        assert view.remaining == D(6) and view.client_order_id == "contract-fill-1"

    def test_cancel_and_cancel_again(self, harness: Harness) -> None:
        h = harness
        order, _ = self._rest(h, "contract-cancel-1")
        events = h.venue.cancel(order.order_hash, h.now())
        (cancel,) = of(events, "cancel", order.order_hash)
        assert cancel.remaining == D(10) and cancel.client_order_id == "contract-cancel-1"
        assert order.order_hash not in {v.venue_order_id for v in h.venue.open_orders()}
        again = h.venue.cancel(order.order_hash, h.now())
        assert [e.kind for e in again] == ["reject"]
        assert again[0].error_code in (CANCEL_ALREADY_CANCELED, CANCEL_ORDER_NOT_FOUND)
        assert not of(h.collect(lambda evs: False, 0.5), "cancel")  # reported once

    def test_cancel_all(self, harness: Harness) -> None:
        h = harness
        a, _ = self._rest(h, "contract-all-a", "0.30")
        b, _ = self._rest(h, "contract-all-b", "0.31")
        events = h.venue.cancel_all(None, h.now())
        assert {e.venue_order_id for e in of(events, "cancel")} == {a.order_hash, b.order_hash}
        assert h.venue.open_orders() == ()
        assert not of(h.collect(lambda evs: False, 0.5), "cancel")

    def test_duplicate_submit_is_a_reject_naming_the_original(self, harness: Harness) -> None:
        h = harness
        order, _ = self._rest(h, "contract-dup-1")
        events = h.venue.submit(order, h.now())
        (reject,) = of(events, "reject")
        assert reject.error_code == INVALID_ORDER_DUPLICATED and reject.venue_order_id == order.order_hash
        assert [v.venue_order_id for v in h.venue.open_orders()].count(order.order_hash) == 1

    def test_reject_codes(self, harness: Harness) -> None:
        h = harness
        small = h.order("contract-rej-small", "BUY", "0.40", "1")
        (reject,) = h.venue.submit(small, h.now())
        assert (reject.kind, reject.error_code, reject.venue_order_id) == ("reject", INVALID_ORDER_MIN_SIZE, "")
        fok = h.order("contract-rej-fok", "BUY", "0.60", "10", order_type="FOK")
        (reject,) = h.venue.submit(fok, h.now())
        assert (reject.kind, reject.error_code) == ("reject", FOK_ORDER_NOT_FILLED_ERROR)
        assert h.venue.open_orders() == ()
        # A refused order does not reserve its id: the same order can be sent again later.
        assert not of(h.collect(lambda evs: False, 0.3), "ack")

    @pytest.mark.parametrize(("status", "mode"), [(429, ""), (425, ""), (503, "post_only")])
    def test_fault_window_loses_and_duplicates_nothing(self, harness: Harness, status: int, mode: str) -> None:
        h = harness
        resting, seen = self._rest(h, f"contract-fault-{status}-a", "0.35")
        h.fault(status, 3.0, mode)
        outcomes: dict[str, str] = {}
        for cid, post_only in ((f"contract-fault-{status}-b", False), (f"contract-fault-{status}-c", True)):
            order = h.order(cid, "BUY", "0.36", "5", post_only=post_only)
            try:
                got = h.venue.submit(order, h.now())
                seen += got
                outcomes[order.order_hash] = "ack" if of(got, "ack") else "reject"
            except VenueError as exc:
                assert exc.status == status
                outcomes[order.order_hash] = "refused"
            except OutcomeUnknown:  # pragma: no cover - a loaded machine may time the POST out
                outcomes[order.order_hash] = "unknown"
        if mode == "post_only":
            assert list(outcomes.values())[1] == "ack", outcomes  # post-only orders still go in
        with pytest.raises(VenueError):
            h.venue.cancel(resting.order_hash, h.now()) if status != 503 else h.venue.submit(
                h.order(f"contract-fault-{status}-d", "BUY", "0.36", "5"), h.now())
        h.clear_faults()
        seen += h.collect(lambda evs: False, 1.5)
        open_ids = [v.venue_order_id for v in h.venue.open_orders()]
        assert open_ids.count(resting.order_hash) == 1
        assert Counter(open_ids).most_common(1)[0][1] == 1
        for vid, outcome in outcomes.items():
            assert open_ids.count(vid) == (1 if outcome == "ack" else 0) or outcome == "unknown"
        acks = Counter(e.venue_order_id for e in of(seen, "ack"))
        assert all(n == 1 for n in acks.values()), acks
        assert not of(seen, "cancel", resting.order_hash)

    def test_feed_drop_loses_no_fill_and_reports_it_once(self, harness: Harness) -> None:
        h = harness
        order, _ = self._rest(h, "contract-drop-1", "0.40", "10")
        h.drop_user_feed(1.0)
        h.cross("SELL", "0.40", "3")
        events = h.collect(lambda evs: bool(of(evs, "fill", order.order_hash)), 10)
        events += h.collect(lambda evs: False, 2.5)  # reconnect and reconcile: nothing twice
        fills = of(events, "fill", order.order_hash)
        assert len(fills) == 1 and fills[0].size == D(3) and fills[0].remaining == D(7), fills
        assert len({(e.trade_id, e.trade_status) for e in of(events, "trade_status")}) == len(
            of(events, "trade_status"))
