"""SimVenue behaviour on hand-built books (background liquidity off): events, their order and
exact contents, fees, duplicates, cancels, GTD expiry and settlement progression."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from polytraders.venues.base import Side, Venue, VenueEvent, VenueOrder, VenueOrderType
from polytraders.venues.sim import FaultPlan, SimVenue, taker_fee

D = Decimal
T0 = 1_000_000


def quiet_venue(faults: FaultPlan | None = None, **kwargs: int) -> SimVenue:
    return SimVenue(42, 2, T0, faults=faults, background=False, **kwargs)


def token_with_tick(venue: SimVenue, tick: str = "0.01") -> str:
    for m in venue.markets():
        if m.tick == D(tick):
            return m.yes_token
    raise AssertionError("no market with that tick")


def order(
    cid: str,
    token: str,
    side: Side,
    price: str,
    size: str,
    order_type: VenueOrderType = "GTC",
    *,
    post_only: bool = False,
    expires_at_ms: int | None = None,
    order_hash: str = "",
) -> VenueOrder:
    return VenueOrder(
        cid, token, side, D(price), D(size), order_type, post_only, expires_at_ms, order_hash
    )


def kinds(events: list[VenueEvent]) -> list[str]:
    return [e.kind for e in events]


@pytest.fixture
def venue() -> SimVenue:
    return quiet_venue()


@pytest.fixture
def tok(venue: SimVenue) -> str:
    return token_with_tick(venue)


def asks_040_041(venue: SimVenue, tok: str) -> None:
    """asks: 0.40 [e1 10, e2 5]  0.41 [e3 20]"""
    assert venue.place_external(tok, "SELL", D("0.40"), D("10"), T0) == []
    venue.place_external(tok, "SELL", D("0.40"), D("5"), T0)
    venue.place_external(tok, "SELL", D("0.41"), D("20"), T0)


def test_sim_venue_satisfies_protocol(venue: SimVenue) -> None:
    as_protocol: Venue = venue
    assert as_protocol.markets()


def test_markets_metadata() -> None:
    venue = SimVenue(3, 12, T0)
    markets = venue.markets()
    assert len(markets) == 12
    for i, m in enumerate(markets):
        assert re.fullmatch(r"0x[0-9a-f]{64}", m.condition_id)
        assert m.yes_token.isdigit() and m.no_token.isdigit() and m.yes_token != m.no_token
        assert m.question.startswith(f"Synthetic market {i}: will ")
        assert m.tick in (D("0.01"), D("0.001"))
        assert m.min_size == D(5)
        assert m.status == "open"
        assert m.cluster in ("politics", "sports", "crypto", "macro", "culture")
    assert len({m.condition_id for m in markets}) == 12


def test_resting_order_ack_and_open_orders(venue: SimVenue, tok: str) -> None:
    events = venue.submit(order("c1", tok, "BUY", "0.30", "10"), T0 + 5)
    assert kinds(events) == ["ack"]
    ack = events[0]
    assert ack.client_order_id == "c1"
    assert re.fullmatch(r"0x[0-9a-f]{64}", ack.venue_order_id)
    assert (ack.side, ack.price, ack.remaining, ack.ts_ms) == ("BUY", D("0.30"), D("10"), T0 + 5)
    (view,) = venue.open_orders()
    assert view.venue_order_id == ack.venue_order_id
    assert (view.price, view.original_size, view.remaining, view.created_ms) == (
        D("0.30"),
        D("10"),
        D("10"),
        T0 + 5,
    )
    book = venue.book(tok)
    assert book is not None and book.best_bid == D("0.30") and book.ts_ms == T0 + 5


def test_taker_fills_in_order_with_exact_fees(venue: SimVenue, tok: str) -> None:
    asks_040_041(venue, tok)
    events = venue.submit(order("t1", tok, "BUY", "0.41", "18"), T0 + 1)
    assert kinds(events) == ["ack", "fill", "fill", "fill"]
    fills = events[1:]
    assert [(f.price, f.size, f.remaining) for f in fills] == [
        (D("0.40"), D("10"), D("8")),
        (D("0.40"), D("5"), D("3")),
        (D("0.41"), D("3"), D("0")),
    ]
    # fee = size * 0.04 * p * (1 - p): 10*0.04*0.4*0.6 = 0.096; 5*... = 0.048;
    # 3*0.04*0.41*0.59 = 0.029028 -> 0.02903
    assert [f.fee for f in fills] == [D("0.09600"), D("0.04800"), D("0.02903")]
    assert all(f.liquidity == "taker" and f.trade_status == "MATCHED" for f in fills)
    assert len({f.trade_id for f in fills}) == 3
    assert venue.open_orders() == ()
    book = venue.book(tok)
    assert book is not None and [(lv.price, lv.size) for lv in book.asks] == [(D("0.41"), D("17"))]


def test_maker_fill_from_other_trader_has_zero_fee(venue: SimVenue, tok: str) -> None:
    ack = venue.submit(order("m1", tok, "SELL", "0.60", "10"), T0)[0]
    events = venue.place_external(tok, "BUY", D("0.65"), D("4"), T0 + 10, "FAK")
    assert kinds(events) == ["fill"]
    fill = events[0]
    assert fill.venue_order_id == ack.venue_order_id
    assert (fill.side, fill.price, fill.size, fill.remaining) == ("SELL", D("0.60"), D("4"), D("6"))
    assert (fill.fee, fill.liquidity, fill.ts_ms) == (D(0), "maker", T0 + 10)
    assert venue.open_orders()[0].remaining == D("6")
    events = venue.place_external(tok, "BUY", D("0.60"), D("6"), T0 + 11)
    assert [(e.kind, e.remaining) for e in events] == [("fill", D("0"))]
    assert venue.open_orders() == ()
    # The fully filled order can no longer be cancelled.
    (reject,) = venue.cancel(ack.venue_order_id, T0 + 12)
    assert (reject.kind, reject.error_code) == ("reject", "ORDER_ALREADY_MATCHED")


def test_other_traders_fills_produce_no_events(venue: SimVenue, tok: str) -> None:
    venue.place_external(tok, "SELL", D("0.50"), D("10"), T0)
    assert venue.place_external(tok, "BUY", D("0.50"), D("10"), T0) == []


def test_self_trade_reports_both_sides(venue: SimVenue, tok: str) -> None:
    maker = venue.submit(order("m", tok, "SELL", "0.50", "10"), T0)[0]
    events = venue.submit(order("t", tok, "BUY", "0.50", "10"), T0 + 1)
    assert [(e.kind, e.client_order_id, e.liquidity) for e in events] == [
        ("ack", "t", None),
        ("fill", "t", "taker"),
        ("fill", "m", "maker"),
    ]
    assert events[1].trade_id == events[2].trade_id
    assert events[2].venue_order_id == maker.venue_order_id


def test_fak_ack_fills_then_cancel_of_rest(venue: SimVenue, tok: str) -> None:
    asks_040_041(venue, tok)
    events = venue.submit(order("k", tok, "BUY", "0.40", "40", "FAK"), T0)
    assert kinds(events) == ["ack", "fill", "fill", "cancel"]
    assert events[-1].remaining == D("25")
    assert events[-1].venue_order_id == events[0].venue_order_id
    assert venue.open_orders() == ()
    events = venue.submit(order("k2", tok, "SELL", "0.90", "10", "FAK"), T0)
    assert [(e.kind, e.remaining) for e in events] == [("ack", D("10")), ("cancel", D("10"))]


def test_fok_reject_changes_nothing(venue: SimVenue, tok: str) -> None:
    asks_040_041(venue, tok)
    before = venue.book(tok)
    events = venue.submit(order("f", tok, "BUY", "0.41", "36", "FOK"), T0)
    assert [(e.kind, e.error_code, e.venue_order_id) for e in events] == [
        ("reject", "FOK_ORDER_NOT_FILLED_ERROR", "")
    ]
    after = venue.book(tok)
    assert before is not None and after is not None and before.book_hash == after.book_hash
    events = venue.submit(order("f2", tok, "BUY", "0.41", "35", "FOK"), T0)
    assert kinds(events) == ["ack", "fill", "fill", "fill"]


@pytest.mark.parametrize(
    ("price", "size", "order_type", "post_only", "code"),
    [
        ("0.305", "10", "GTC", False, "INVALID_ORDER_MIN_TICK_SIZE"),
        ("1.00", "10", "GTC", False, "INVALID_ORDER_MIN_TICK_SIZE"),
        ("0.30", "4", "GTC", False, "INVALID_ORDER_MIN_SIZE"),
        ("0.40", "10", "GTC", True, "INVALID_POST_ONLY_ORDER"),
        ("0.30", "10", "FAK", True, "INVALID_POST_ONLY_ORDER_TYPE"),
    ],
)
def test_validation_rejects(
    venue: SimVenue,
    tok: str,
    price: str,
    size: str,
    order_type: VenueOrderType,
    post_only: bool,
    code: str,
) -> None:
    asks_040_041(venue, tok)
    events = venue.submit(order("v", tok, "BUY", price, size, order_type, post_only=post_only), T0)
    assert [(e.kind, e.error_code) for e in events] == [("reject", code)]
    assert venue.open_orders() == ()


def test_unknown_token_is_rejected(venue: SimVenue) -> None:
    (event,) = venue.submit(order("u", "123", "BUY", "0.30", "10"), T0)
    assert (event.kind, event.error_code) == ("reject", "INVALID_ORDER_ERROR")


def test_duplicate_client_order_id_is_rejected_with_original_id(venue: SimVenue, tok: str) -> None:
    first = venue.submit(order("dup", tok, "BUY", "0.30", "10"), T0)[0]
    (again,) = venue.submit(order("dup", tok, "BUY", "0.30", "10"), T0 + 1)
    assert (again.kind, again.error_code) == ("reject", "INVALID_ORDER_DUPLICATED")
    assert again.venue_order_id == first.venue_order_id
    assert len(venue.open_orders()) == 1
    # Still a duplicate after the original is gone.
    venue.cancel(first.venue_order_id, T0 + 2)
    (third,) = venue.submit(order("dup", tok, "BUY", "0.30", "10"), T0 + 3)
    assert third.error_code == "INVALID_ORDER_DUPLICATED"


def test_rejected_submit_does_not_reserve_client_id(venue: SimVenue, tok: str) -> None:
    (rej,) = venue.submit(order("r", tok, "BUY", "0.305", "10"), T0)
    assert rej.kind == "reject"
    assert kinds(venue.submit(order("r", tok, "BUY", "0.30", "10"), T0)) == ["ack"]


def test_order_hash_is_the_venue_order_id(venue: SimVenue, tok: str) -> None:
    h = "0x" + "ab" * 32
    (ack,) = venue.submit(order("h1", tok, "BUY", "0.30", "10", order_hash=h), T0)
    assert ack.venue_order_id == h
    (dup,) = venue.submit(order("h2", tok, "BUY", "0.30", "10", order_hash=h), T0)
    assert (dup.error_code, dup.venue_order_id) == ("INVALID_ORDER_DUPLICATED", h)


def test_cancel_and_cancel_refusals(venue: SimVenue, tok: str) -> None:
    ack = venue.submit(order("c", tok, "BUY", "0.30", "10"), T0)[0]
    (cancel,) = venue.cancel(ack.venue_order_id, T0 + 1)
    assert (cancel.kind, cancel.remaining, cancel.ts_ms) == ("cancel", D("10"), T0 + 1)
    assert venue.open_orders() == ()
    book = venue.book(tok)
    assert book is not None and book.bids == ()
    (again,) = venue.cancel(ack.venue_order_id, T0 + 2)
    assert (again.kind, again.error_code, again.client_order_id) == (
        "reject",
        "ORDER_ALREADY_CANCELED",
        "c",
    )
    (unknown,) = venue.cancel("0xdead", T0 + 2)
    assert (unknown.kind, unknown.error_code) == ("reject", "ORDER_NOT_FOUND")


def test_cancel_all_with_and_without_token_filter(venue: SimVenue) -> None:
    markets = venue.markets()
    a, b = markets[0].yes_token, markets[1].yes_token
    ids = []
    for i, tok in enumerate([a, b, a]):
        price = "0.300" if markets[i % 2].tick == D("0.001") else "0.30"
        ids.append(venue.submit(order(f"o{i}", tok, "BUY", price, "10"), T0)[0].venue_order_id)
    events = venue.cancel_all(frozenset({a}), T0 + 1)
    assert [(e.kind, e.venue_order_id) for e in events] == [
        ("cancel", ids[0]),
        ("cancel", ids[2]),
    ]
    assert [v.venue_order_id for v in venue.open_orders()] == [ids[1]]
    assert [e.venue_order_id for e in venue.cancel_all(None, T0 + 2)] == [ids[1]]
    assert venue.cancel_all(None, T0 + 3) == []


def test_gtd_expiry_with_security_threshold(venue: SimVenue, tok: str) -> None:
    # Lives 30 s: expiration = now + 60 s threshold + 30 s.
    exp = T0 + 90_000
    ack = venue.submit(order("g", tok, "BUY", "0.30", "10", "GTD", expires_at_ms=exp), T0)[0]
    assert ack.kind == "ack"
    assert venue.advance(T0 + 29_999) == []
    (expired,) = venue.advance(T0 + 31_000)
    assert (expired.kind, expired.venue_order_id, expired.remaining, expired.ts_ms) == (
        "expire",
        ack.venue_order_id,
        D("10"),
        T0 + 30_000,
    )
    assert venue.open_orders() == ()
    (refused,) = venue.cancel(ack.venue_order_id, T0 + 31_000)
    assert refused.error_code == "ORDER_ALREADY_CANCELED"


def test_gtd_expiration_validation(venue: SimVenue, tok: str) -> None:
    now = T0
    (too_soon,) = venue.submit(
        order("g1", tok, "BUY", "0.30", "10", "GTD", expires_at_ms=now + 60_000), now
    )
    assert too_soon.error_code == "INVALID_ORDER_EXPIRATION"
    (missing,) = venue.submit(order("g2", tok, "BUY", "0.30", "10", "GTD"), now)
    assert missing.error_code == "INVALID_ORDER_EXPIRATION"
    (on_gtc,) = venue.submit(order("g3", tok, "BUY", "0.30", "10", expires_at_ms=now + 10**6), now)
    assert on_gtc.error_code == "INVALID_ORDER_EXPIRATION"


def test_gtd_threshold_is_configurable(tok: str) -> None:
    venue = quiet_venue(gtd_threshold_ms=0)
    tok = token_with_tick(venue)
    venue.submit(order("g", tok, "BUY", "0.30", "10", "GTD", expires_at_ms=T0 + 5_000), T0)
    assert kinds(venue.advance(T0 + 5_000)) == ["expire"]


def test_partially_filled_gtd_expires_with_remaining(venue: SimVenue, tok: str) -> None:
    venue.submit(order("g", tok, "SELL", "0.70", "10", "GTD", expires_at_ms=T0 + 70_000), T0)
    venue.place_external(tok, "BUY", D("0.70"), D("6"), T0 + 1)
    events = venue.advance(T0 + 10_000)
    assert [(e.kind, e.trade_status, e.remaining) for e in events] == [
        ("trade_status", "MINED", None),
        ("expire", None, D("4")),
    ]


def test_settlement_progression(venue: SimVenue, tok: str) -> None:
    asks_040_041(venue, tok)
    fill = venue.submit(order("t", tok, "BUY", "0.40", "10"), T0)[1]
    assert fill.trade_status == "MATCHED"
    assert venue.advance(T0 + 1_999) == []
    (mined,) = venue.advance(T0 + 2_000)
    assert (mined.kind, mined.trade_status, mined.trade_id, mined.ts_ms) == (
        "trade_status",
        "MINED",
        fill.trade_id,
        T0 + 2_000,
    )
    assert (mined.size, mined.price, mined.fee, mined.liquidity) == (
        fill.size,
        fill.price,
        fill.fee,
        "taker",
    )
    assert venue.advance(T0 + 9_999) == []
    (confirmed,) = venue.advance(T0 + 10_000)
    assert (confirmed.trade_status, confirmed.venue_order_id) == ("CONFIRMED", fill.venue_order_id)
    assert venue.advance(T0 + 100_000) == []


def test_settlement_delays_are_configurable() -> None:
    venue = quiet_venue(mined_delay_ms=500, confirmed_delay_ms=1_500)
    tok = token_with_tick(venue)
    venue.place_external(tok, "SELL", D("0.40"), D("10"), T0)
    venue.submit(order("t", tok, "BUY", "0.40", "10"), T0)
    events = venue.advance(T0 + 5_000)
    assert [(e.trade_status, e.ts_ms) for e in events] == [
        ("MINED", T0 + 500),
        ("CONFIRMED", T0 + 2_000),
    ]


def test_settlement_failure_and_recovery() -> None:
    plan = FaultPlan().fail_settlement(count=1).fail_settlement(count=1, recover=True)
    venue = quiet_venue(plan)
    tok = token_with_tick(venue)
    for _ in range(3):
        venue.place_external(tok, "SELL", D("0.40"), D("10"), T0)
    trade_ids = [
        venue.submit(order(f"t{i}", tok, "BUY", "0.40", "10"), T0)[1].trade_id for i in range(3)
    ]
    events = venue.advance(T0 + 60_000)
    by_trade: dict[str | None, list[str | None]] = {}
    for e in events:
        by_trade.setdefault(e.trade_id, []).append(e.trade_status)
    assert by_trade == {
        trade_ids[0]: ["RETRYING", "FAILED"],
        trade_ids[1]: ["RETRYING", "MINED", "CONFIRMED"],
        trade_ids[2]: ["MINED", "CONFIRMED"],
    }


def test_time_cannot_go_backwards(venue: SimVenue, tok: str) -> None:
    venue.advance(T0 + 10)
    with pytest.raises(ValueError):
        venue.submit(order("x", tok, "BUY", "0.30", "10"), T0 + 9)
    with pytest.raises(ValueError):
        venue.advance(T0)


def test_book_view_shape_and_hash(venue: SimVenue, tok: str) -> None:
    venue.place_external(tok, "SELL", D("0.41"), D("20"), T0)
    venue.place_external(tok, "SELL", D("0.40"), D("10"), T0)
    venue.place_external(tok, "BUY", D("0.35"), D("7"), T0)
    venue.place_external(tok, "BUY", D("0.36"), D("8"), T0)
    book = venue.book(tok)
    assert book is not None
    assert [lv.price for lv in book.bids] == [D("0.36"), D("0.35")]
    assert [lv.price for lv in book.asks] == [D("0.40"), D("0.41")]
    assert (book.tick, book.min_size) == (D("0.01"), D(5))
    assert re.fullmatch(r"[0-9a-f]{64}", book.book_hash)
    # Hash covers levels only: same book later -> same hash; a change -> a different hash.
    venue.advance(T0 + 5_000)
    later = venue.book(tok)
    assert later is not None and later.book_hash == book.book_hash and later.ts_ms == T0 + 5_000
    venue.place_external(tok, "BUY", D("0.36"), D("5"), T0 + 5_000)
    changed = venue.book(tok)
    assert changed is not None and changed.book_hash != book.book_hash
    assert venue.book("nope") is None


def test_taker_fee_formula_edges() -> None:
    assert taker_fee(D("0.50"), D("100"), 400) == D("1.00000")
    assert taker_fee(D("0.01"), D("0.01"), 1) == D("0.00001")  # minimum when positive
    assert taker_fee(D("0.50"), D("100"), 0) == D(0)
    # Symmetric in p and 1 - p.
    assert taker_fee(D("0.2"), D("10"), 400) == taker_fee(D("0.8"), D("10"), 400)
    # Half-up at the 5th decimal: 1 * 0.0001 * 0.5 * 0.5 = 0.000025 -> 0.00003.
    assert taker_fee(D("0.5"), D("1"), 1) == D("0.00003")


def test_fee_rate_parameter_is_used() -> None:
    venue = SimVenue(42, 2, T0, taker_fee_bps=1_000, background=False)
    tok = token_with_tick(venue)
    venue.place_external(tok, "SELL", D("0.50"), D("10"), T0)
    fill = venue.submit(order("t", tok, "BUY", "0.50", "10"), T0)[1]
    assert fill.fee == D("0.25000")
