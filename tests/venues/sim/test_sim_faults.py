"""Each injectable fault of the simulated venue, on quiet (hand-built) books."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytraders.venues.base import Side, VenueError, VenueEvent, VenueOrder, VenueOrderType
from polytraders.venues.sim import FaultPlan, SimVenue, market_ids

D = Decimal
T0 = 5_000_000
SEED = 11


def venue_with(plan: FaultPlan | None, *, background: bool = False) -> SimVenue:
    return SimVenue(SEED, 3, T0, faults=plan, background=background)


def ids(index: int = 0) -> tuple[str, str, str]:
    return market_ids(SEED, index)


def order(
    cid: str,
    token: str,
    side: Side = "BUY",
    price: str = "0.300",
    size: str = "10",
    order_type: VenueOrderType = "GTC",
    *,
    post_only: bool = False,
) -> VenueOrder:
    return VenueOrder(cid, token, side, D(price), D(size), order_type, post_only)


def kinds(events: list[VenueEvent]) -> list[str]:
    return [e.kind for e in events]


def test_market_ids_match_the_venue() -> None:
    venue = venue_with(None)
    for i, m in enumerate(venue.markets()):
        assert (m.condition_id, m.yes_token, m.no_token) == market_ids(SEED, i)


# ------------------------------------------------------------------ business rejects


def test_reject_next_n_submits() -> None:
    venue = venue_with(FaultPlan().reject_submits("INVALID_ORDER_NOT_ENOUGH_BALANCE", count=2))
    _, yes, _ = ids()
    results = [venue.submit(order(f"c{i}", yes), T0) for i in range(3)]
    assert [(e.kind, e.error_code) for r in results for e in r] == [
        ("reject", "INVALID_ORDER_NOT_ENOUGH_BALANCE"),
        ("reject", "INVALID_ORDER_NOT_ENOUGH_BALANCE"),
        ("ack", None),
    ]


def test_reject_window_and_market_scope() -> None:
    cid0, yes0, _ = ids(0)
    _, yes1, _ = ids(1)
    plan = FaultPlan().reject_submits(
        "EXECUTION_ERROR", start_ms=T0 + 100, end_ms=T0 + 200, market=cid0
    )
    venue = venue_with(plan)
    assert kinds(venue.submit(order("a", yes0), T0 + 99)) == ["ack"]
    assert venue.submit(order("b", yes0), T0 + 100)[0].error_code == "EXECUTION_ERROR"
    assert kinds(venue.submit(order("c", yes1), T0 + 150)) == ["ack"]  # other market
    assert venue.submit(order("d", yes0), T0 + 199)[0].error_code == "EXECUTION_ERROR"
    assert kinds(venue.submit(order("e", yes0), T0 + 200)) == ["ack"]


# ------------------------------------------------------------------ transport errors


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "RATE_LIMITED"), (425, "ENGINE_RESTARTING"), (503, "TRADING_DISABLED")],
)
def test_submit_transport_error_changes_nothing(status: int, code: str) -> None:
    _, yes, _ = ids()
    plan = FaultPlan().transport_errors("submit", status, start_ms=T0, end_ms=T0 + 1_000)
    venue = venue_with(plan)
    before = venue.book(yes)
    with pytest.raises(VenueError) as info:
        venue.submit(order("x", yes), T0 + 10)
    assert (info.value.status, info.value.code) == (status, code)
    assert venue.open_orders() == ()
    after = venue.book(yes)
    assert before is not None and after is not None and before.book_hash == after.book_hash
    # The order was never accepted, so the same client id goes through afterwards.
    assert kinds(venue.submit(order("x", yes), T0 + 1_000)) == ["ack"]


def test_transport_error_count_and_custom_code() -> None:
    _, yes, _ = ids()
    plan = FaultPlan().transport_errors("submit", 500, code="could not insert order", count=1)
    venue = venue_with(plan)
    with pytest.raises(VenueError) as info:
        venue.submit(order("x", yes), T0)
    assert (info.value.status, info.value.code) == (500, "could not insert order")
    assert kinds(venue.submit(order("x", yes), T0)) == ["ack"]


def test_cancel_transport_error_keeps_order_open() -> None:
    _, yes, _ = ids()
    plan = FaultPlan().transport_errors("cancel", 503, start_ms=T0 + 10, end_ms=T0 + 20)
    venue = venue_with(plan)
    ack = venue.submit(order("x", yes), T0)[0]
    with pytest.raises(VenueError) as info:
        venue.cancel(ack.venue_order_id, T0 + 10)
    assert info.value.status == 503
    with pytest.raises(VenueError):
        venue.cancel_all(None, T0 + 15)
    assert len(venue.open_orders()) == 1
    assert kinds(venue.cancel(ack.venue_order_id, T0 + 20)) == ["cancel"]


def test_post_only_mode_lets_post_only_through() -> None:
    _, yes, _ = ids()
    venue = venue_with(FaultPlan().post_only_mode(start_ms=T0, end_ms=T0 + 120_000))
    with pytest.raises(VenueError) as info:
        venue.submit(order("a", yes), T0 + 1)
    assert (info.value.status, info.value.code) == (503, "post_only_mode")
    assert kinds(venue.submit(order("b", yes, post_only=True), T0 + 1)) == ["ack"]
    assert kinds(venue.submit(order("a", yes), T0 + 120_000)) == ["ack"]


def test_unsupported_transport_status_is_refused() -> None:
    with pytest.raises(ValueError):
        FaultPlan().transport_errors("submit", 404)


# ------------------------------------------------------------------ latency


def test_latency_delivers_ack_via_advance() -> None:
    _, yes, _ = ids()
    venue = venue_with(FaultPlan().latency(500, start_ms=T0, end_ms=T0 + 10_000))
    assert venue.submit(order("a", yes), T0 + 100) == []
    # State changed at once even though the ack is late.
    assert len(venue.open_orders()) == 1
    assert venue.advance(T0 + 599) == []
    (ack,) = venue.advance(T0 + 600)
    assert (ack.kind, ack.ts_ms) == ("ack", T0 + 100)


def test_latency_backlog_keeps_event_order() -> None:
    _, yes, _ = ids()
    venue = venue_with(FaultPlan().latency(5_000, start_ms=T0, end_ms=T0 + 1_000))
    venue.place_external(yes, "SELL", D("0.400"), D("50"), T0)
    assert venue.submit(order("a", yes, price="0.400", size="10"), T0) == []
    # Latency window is over, but the backlog is not: B queues behind A.
    assert venue.submit(order("b", yes, price="0.400", size="10"), T0 + 2_000) == []
    events = venue.advance(T0 + 5_000)
    assert [(e.kind, e.client_order_id) for e in events] == [
        ("ack", "a"),
        ("fill", "a"),
        ("ack", "b"),
        ("fill", "b"),
        ("trade_status", "a"),  # MINED of a's fill at T0 + 2000, produced after b's fill
        ("trade_status", "b"),
    ]
    assert [e.ts_ms for e in events] == [T0, T0, T0 + 2_000, T0 + 2_000, T0 + 2_000, T0 + 4_000]
    # Backlog drained: immediate delivery again.
    assert kinds(venue.submit(order("c", yes), T0 + 6_000)) == ["ack"]


def test_latency_applies_to_fills_produced_by_others() -> None:
    _, yes, _ = ids()
    venue = venue_with(FaultPlan().latency(1_000, start_ms=T0 + 50))
    venue.submit(order("m", yes, "SELL", "0.600", "10"), T0)
    assert venue.place_external(yes, "BUY", D("0.600"), D("10"), T0 + 50) == []
    (fill,) = venue.advance(T0 + 1_050)
    assert (fill.kind, fill.liquidity, fill.ts_ms) == ("fill", "maker", T0 + 50)


# ------------------------------------------------------------------ feed faults


def test_drop_feed_for_market_and_for_token() -> None:
    cid0, yes0, no0 = ids(0)
    _, yes1, no1 = ids(1)
    plan = (
        FaultPlan()
        .drop_feed(cid0, start_ms=T0 + 1_000, end_ms=T0 + 2_000)
        .drop_feed(no1, start_ms=T0 + 1_000, end_ms=T0 + 2_000)
    )
    venue = venue_with(plan, background=True)
    assert venue.book(yes0) is not None
    venue.advance(T0 + 1_000)
    assert venue.book(yes0) is None and venue.book(no0) is None
    assert venue.book(no1) is None
    assert venue.book(yes1) is not None
    venue.advance(T0 + 2_000)
    assert all(venue.book(t) is not None for t in (yes0, no0, yes1, no1))


def test_freeze_feed_repeats_old_snapshot() -> None:
    cid, yes, no = ids()
    venue = venue_with(FaultPlan().freeze_feed(cid, start_ms=T0 + 1_000, end_ms=T0 + 5_000))
    venue.place_external(yes, "BUY", D("0.300"), D("10"), T0)
    venue.advance(T0 + 1_000)
    venue.place_external(yes, "BUY", D("0.350"), D("10"), T0 + 2_000)
    venue.advance(T0 + 3_000)
    frozen = venue.book(yes)
    assert frozen is not None
    assert frozen.ts_ms == T0 + 1_000
    assert frozen.best_bid == D("0.300")
    no_view = venue.book(no)
    assert no_view is not None and no_view.ts_ms == T0 + 1_000
    venue.advance(T0 + 5_000)
    live = venue.book(yes)
    assert live is not None and live.ts_ms == T0 + 5_000 and live.best_bid == D("0.350")
    assert live.book_hash != frozen.book_hash


def test_freeze_window_already_running_when_plan_installed() -> None:
    cid, yes, _ = ids()
    venue = venue_with(None)
    venue.advance(T0 + 10_000)
    venue.set_faults(FaultPlan().freeze_feed(cid, start_ms=T0))
    first = venue.book(yes)
    venue.place_external(yes, "BUY", D("0.300"), D("10"), T0 + 11_000)
    second = venue.book(yes)
    assert first is not None and first == second and first.ts_ms == T0 + 10_000


# ------------------------------------------------------------------ halt / resolve


def test_halt_rejects_submits_freezes_book_and_allows_cancels() -> None:
    cid, yes, _ = ids()
    plan = FaultPlan().halt(cid, start_ms=T0 + 10_000, end_ms=T0 + 20_000)
    venue = venue_with(plan, background=True)
    resting = venue.book(yes)
    assert resting is not None
    price = str(resting.bids[-1].price - resting.tick * 3)
    ack = venue.submit(order("r", yes, price=price), T0)[0]
    venue.advance(T0 + 10_000)
    halted_view = venue.book(yes)
    assert venue.markets()[0].status == "halted"
    assert venue.markets()[1].status == "open"
    (rej,) = venue.submit(order("h", yes, price=price), T0 + 10_000)
    assert (rej.kind, rej.error_code) == ("reject", "MARKET_NOT_READY")
    venue.advance(T0 + 15_000)
    assert venue.book(yes) == halted_view
    assert halted_view is not None and halted_view.ts_ms == T0 + 10_000
    assert kinds(venue.cancel(ack.venue_order_id, T0 + 15_000)) == ["cancel"]
    venue.advance(T0 + 20_000)
    assert venue.markets()[0].status == "open"
    live = venue.book(yes)
    assert live is not None and live.ts_ms == T0 + 20_000
    assert kinds(venue.submit(order("h", yes, price=price), T0 + 20_000)) == ["ack"]


def test_resolution_cancels_our_orders_and_removes_book() -> None:
    cid, yes, no = ids()
    venue = venue_with(FaultPlan().resolve(cid, at_ms=T0 + 30_000), background=True)
    view = venue.book(no)
    assert view is not None
    low = str(view.tick * 2)
    a = venue.submit(order("a", yes, price=low), T0)[0]
    b = venue.submit(order("b", no, price=low), T0)[0]
    _, other_yes, _ = ids(1)
    venue.submit(order("c", other_yes, price="0.020"), T0)
    events = [e for e in venue.advance(T0 + 30_000) if e.kind == "cancel"]
    assert [(e.venue_order_id, e.error_code, e.ts_ms) for e in events] == [
        (a.venue_order_id, "CANCELED_MARKET_RESOLVED", T0 + 30_000),
        (b.venue_order_id, "CANCELED_MARKET_RESOLVED", T0 + 30_000),
    ]
    assert [o.client_order_id for o in venue.open_orders()] == ["c"]
    assert venue.markets()[0].status == "resolved"
    assert venue.book(yes) is None and venue.book(no) is None
    (rej,) = venue.submit(order("d", yes, price=low), T0 + 30_001)
    assert rej.error_code == "MARKET_NOT_READY"
    assert venue.advance(T0 + 90_000) is not None  # keeps running without the market


def test_resolution_installed_late_is_stamped_at_current_time() -> None:
    cid, yes, _ = ids()
    venue = venue_with(None)
    ack = venue.submit(order("a", yes), T0)[0]
    venue.advance(T0 + 50_000)
    venue.set_faults(FaultPlan().resolve(cid, at_ms=T0 + 10_000))
    (cancel,) = venue.advance(T0 + 50_000)
    assert (cancel.venue_order_id, cancel.ts_ms) == (ack.venue_order_id, T0 + 50_000)


# ------------------------------------------------------------------ plan semantics


def test_plan_is_immutable_and_counters_are_per_venue() -> None:
    base = FaultPlan()
    plan = base.reject_submits("EXECUTION_ERROR", count=1)
    assert base.specs == () and len(plan.specs) == 1
    _, yes, _ = ids()
    first, second = venue_with(plan), venue_with(plan)
    assert first.submit(order("a", yes), T0)[0].kind == "reject"
    assert second.submit(order("a", yes), T0)[0].kind == "reject"
    assert first.submit(order("a", yes), T0)[0].kind == "ack"


def test_settlement_fault_scoped_to_market() -> None:
    cid0, yes0, _ = ids(0)
    _, yes1, _ = ids(1)
    venue = venue_with(FaultPlan().fail_settlement(count=None, market=cid0))
    for tok in (yes0, yes1):
        venue.place_external(tok, "SELL", D("0.400"), D("10"), T0)
        venue.submit(order("t" + tok[:4], tok, price="0.400"), T0)
    finals = {e.token_id: e.trade_status for e in venue.advance(T0 + 60_000)}
    assert finals == {yes0: "FAILED", yes1: "CONFIRMED"}
