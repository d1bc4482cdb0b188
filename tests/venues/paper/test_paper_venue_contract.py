"""The venue contract on ``PaperVenue``, with a real ``polytraders exchange serve`` process as
the live market: fills come from the exchange's book moving, never from orders of ours there."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from polytraders.venues.base import INVALID_POST_ONLY_ORDER

from ..contract import VenueContract, of
from .conftest import PaperHarness

pytestmark = pytest.mark.slow
D = Decimal


class TestPaperVenue(VenueContract):
    """Uses the ``harness`` fixture from this package's conftest."""

    @pytest.mark.parametrize(("status", "mode"), [(429, ""), (503, "post_only")])
    def test_fault_window_loses_and_duplicates_nothing(self, harness: PaperHarness, status: int,  # type: ignore[override]
                                                       mode: str) -> None:
        """Paper sends no order to the exchange, so the exchange's trading faults cannot touch it:
        submits and cancels during a 429 or post-only window go through locally, once each."""
        h = harness
        resting, _ = self._rest(h, f"paper-fault-{status}-a", "0.35")
        h.fault(status, 3.0, mode)
        events = h.venue.submit(h.order(f"paper-fault-{status}-b", "BUY", "0.36", "5"), h.now())
        assert [e.kind for e in events] == ["ack"]
        (cancel,) = h.venue.cancel(resting.order_hash, h.now())
        assert cancel.kind == "cancel"
        h.clear_faults()
        assert [v.client_order_id for v in h.venue.open_orders()] == [f"paper-fault-{status}-b"]


    def test_feed_drop_loses_no_fill_and_reports_it_once(self, harness: PaperHarness) -> None:  # type: ignore[override]
        """The paper venue lives on the market channel: drop it, let liquidity cross our order on
        the exchange meanwhile, and the reconnect's snapshot fills it, once.  (Trade prints made
        while the socket is down are not replayed by the CLOB, so only crossing liquidity that
        still rests can be seen afterwards.)"""
        h = harness
        order, _ = self._rest(h, "paper-drop-1", "0.40", "10")
        h.drop_user_feed(1.0)
        time.sleep(0.3)
        h.post("SELL", "0.40", "6")
        events = h.collect(lambda evs: bool(of(evs, "fill", order.order_hash)), 10)
        events += h.collect(lambda evs: False, 2.0)
        fills = of(events, "fill", order.order_hash)
        assert len(fills) == 1 and fills[0].size == D(6) and fills[0].remaining == D(4), fills
        assert h.paper.feed_health().market_ws_connects >= 2  # it did reconnect


def test_marketable_orders_take_live_levels_at_their_prices_and_sizes(harness: PaperHarness) -> None:
    h = harness
    h.post("SELL", "0.52", "6")
    h.post("SELL", "0.55", "10")
    h.collect(lambda _: (b := h.venue.book(h.token)) is not None and len(b.asks) == 2, 5)
    events = h.venue.submit(h.order("paper-take-1", "BUY", "0.55", "12", "FAK"), h.now())
    fills = of(events, "fill")
    assert [(f.price, f.size, f.liquidity) for f in fills] == [(D("0.52"), D(6), "taker"), (D("0.55"), D(6), "taker")]
    assert all(f.fee is not None and f.fee > 0 for f in fills)
    # the same live levels are not ours to take again while they still show: 4 left at 0.55
    events = h.venue.submit(h.order("paper-take-2", "BUY", "0.55", "10", "FAK"), h.now())
    assert [(f.price, f.size) for f in of(events, "fill")] == [(D("0.55"), D(4))]
    assert of(events, "cancel")[0].remaining == D(6)  # the FAK rest is dropped
    # a post-only order that would cross the live book is refused
    (reject,) = h.venue.submit(h.order("paper-po", "BUY", "0.56", "5", post_only=True), h.now())
    assert reject.error_code == INVALID_POST_ONLY_ORDER
    # nothing of ours is on the exchange: its book still shows the counterparty's full size
    book = h.http.get("/book", params={"token_id": h.token}).json()
    assert sorted((a["price"], a["size"]) for a in book["asks"]) == [("0.52", "6"), ("0.55", "10")]
    trades = h.http.get("/data-api/trades", params={"limit": 1000}).json()
    assert [t for t in trades if t["asset"] == h.token] == []


def test_tick_is_honoured_and_a_resolved_market_cancels_resting_paper_orders() -> None:
    from exchange.helpers import ServerProcess

    from polytraders.venues.base import CANCELED_MARKET_RESOLVED, INVALID_ORDER_MIN_TICK_SIZE

    server = ServerProcess("--seed", "21", "--markets", "3", "--no-background")
    try:
        h = PaperHarness(server, markets_refresh_s=0.5)
        try:
            (reject,) = h.venue.submit(h.order("paper-tick", "BUY", "0.405", "10"), h.now())
            assert reject.error_code == INVALID_ORDER_MIN_TICK_SIZE
            order, _ = VenueContract()._rest(h, "paper-resolve", "0.40", "10")
            resolved = h.http.post("/admin/resolve", json={"market": h.market.condition_id, "winner": h.token})
            assert resolved.status_code == 200, resolved.text
            events = h.collect(lambda evs: bool(of(evs, "cancel", order.order_hash)), 10)
            (cancel,) = of(events, "cancel", order.order_hash)
            assert (cancel.error_code, cancel.remaining) == (CANCELED_MARKET_RESOLVED, D(10))
            (reject,) = h.venue.submit(h.order("paper-after", "BUY", "0.40", "10"), h.now())
            assert reject.error_code == "MARKET_NOT_READY"
        finally:
            h.close()
    finally:
        server.stop()
