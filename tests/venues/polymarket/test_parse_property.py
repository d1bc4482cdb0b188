"""Property-based tests (hypothesis) for the pure wire -> domain translation and the dedup fold."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.bots.exec.olm_transitions import settlement_allowed
from polytraders.venues.base import TradeStatus, VenueOrder, book_hash
from polytraders.venues.polymarket import parse
from polytraders.venues.polymarket.schemas import WireBook, WirePriceChangeItem, decode_user
from polytraders.venues.polymarket.tracking import OrderTracker

TICK = Decimal("0.01")
prices = st.integers(1, 99).map(lambda n: Decimal(n) * TICK)
sizes = st.integers(0, 10_000).map(lambda n: Decimal(n) / 100)
statuses: st.SearchStrategy[TradeStatus] = st.sampled_from(["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"])
order_ids = st.sampled_from([f"0x{i:064x}" for i in range(6)])


def wire_levels(levels: list[tuple[Decimal, Decimal]]) -> list[dict[str, str]]:
    return [{"price": str(p), "size": str(s)} for p, s in levels]


@given(bids=st.lists(st.tuples(prices, sizes), max_size=20), asks=st.lists(st.tuples(prices, sizes), max_size=20),
       data=st.data())
def test_book_is_sorted_positive_and_hash_ignores_wire_order(
        bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], data: st.DataObject) -> None:
    book = WireBook.model_validate({"asset_id": "7", "bids": wire_levels(bids), "asks": wire_levels(asks)})
    view = parse.book_view("7", *parse.levels_of(book), 0, TICK, Decimal(5))
    assert all(lv.size > 0 for lv in view.bids + view.asks)
    assert [lv.price for lv in view.bids] == sorted({lv.price for lv in view.bids}, reverse=True)
    assert [lv.price for lv in view.asks] == sorted({lv.price for lv in view.asks})
    shuffled = WireBook.model_validate({"asset_id": "7", "bids": wire_levels(data.draw(st.permutations(bids))),
                                        "asks": wire_levels(data.draw(st.permutations(asks)))})
    again = parse.book_view("7", *parse.levels_of(shuffled), 0, TICK, Decimal(5))
    if len({p for p, _ in bids}) == len(bids) and len({p for p, _ in asks}) == len(asks):
        assert again.book_hash == view.book_hash == book_hash("7", view.bids, view.asks)


@given(start=st.dictionaries(prices, sizes.filter(lambda s: s > 0), max_size=10),
       changes=st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), prices, sizes, st.sampled_from(["7", "8"])),
                        max_size=30))
def test_price_changes_match_a_dict_model(start: dict[Decimal, Decimal],
                                          changes: list[tuple[str, Decimal, Decimal, str]]) -> None:
    bids, asks = dict(start), dict(start)
    model = {"BUY": dict(start), "SELL": dict(start)}
    items = [WirePriceChangeItem(asset_id=a, price=p, size=s, side=side) for side, p, s, a in changes]  # type: ignore[arg-type]
    parse.apply_changes(bids, asks, items, "7")
    for side, p, s, asset in changes:
        if asset != "7":
            continue
        if s == 0:
            model[side].pop(p, None)
        else:
            model[side][p] = s
    assert bids == model["BUY"] and asks == model["SELL"]


@given(status=st.sampled_from(["live", "LIVE", "ORDER_STATUS_LIVE", " matched ", "TRADE_STATUS_MINED"]))
def test_norm_status_is_idempotent(status: str) -> None:
    once = parse.norm_status(status)
    assert parse.norm_status(once) == once and once == once.upper() and "STATUS_" not in once


@given(seconds=st.integers(1_000_000_000, 4_000_000_000))
def test_timestamps_in_seconds_or_ms_agree(seconds: int) -> None:
    assert parse.ts_ms_of(seconds, 0) == parse.ts_ms_of(str(seconds * 1000), 0) == seconds * 1000


@given(last=statuses, new=statuses)
def test_settlement_steps_are_legal_and_reach_the_target(last: TradeStatus, new: TradeStatus) -> None:
    steps = parse.settlement_steps(last, new)
    current = last
    for step in steps:
        assert settlement_allowed(current, step), (last, new, steps)
        current = step
    assert not steps or current == new


def trade_json(trade_id: str, taker: str, makers: list[tuple[str, Decimal, str]], size: Decimal, price: Decimal,
               status: str) -> dict[str, Any]:
    return {"event_type": "trade", "type": "TRADE", "id": trade_id, "taker_order_id": taker, "asset_id": "7",
            "side": "SELL", "size": str(size), "price": str(price), "fee_rate_bps": "400", "status": status,
            "match_time": "1795000000", "timestamp": "1795000000123",
            "maker_orders": [{"order_id": oid, "matched_amount": str(amt), "price": str(price), "side": side,
                              "asset_id": "7"} for oid, amt, side in makers]}


@given(taker=order_ids, makers=st.lists(st.tuples(order_ids, sizes, st.sampled_from(["BUY", "SELL"])), max_size=4),
       ours=st.sets(order_ids), size=sizes.filter(lambda s: s > 0), price=prices, status=statuses)
def test_our_fills_are_exactly_our_legs(taker: str, makers: list[tuple[str, Decimal, str]], ours: set[str],
                                        size: Decimal, price: Decimal, status: str) -> None:
    msg = decode_user(trade_json("t1", taker, makers, size, price, status))
    legs = parse.our_fills(msg, ours, 0)
    expected = (taker in ours) + sum(1 for oid, amt, _ in makers if oid in ours and amt > 0)
    assert len(legs) == expected
    for leg in legs:
        assert leg.venue_order_id in ours and leg.fee >= 0 and leg.ts_ms == 1_795_000_000_000
        if leg.liquidity == "taker":
            assert (leg.size, leg.side) == (size, "SELL") and leg.fee > 0
        else:
            assert leg.fee == 0 and leg.side in ("BUY", "SELL")


@settings(max_examples=60)
@given(script=st.lists(st.tuples(st.integers(0, 3), statuses, st.integers(1, 3)), min_size=1, max_size=25))
def test_tracker_reports_each_fill_once_and_settlement_legally(
        script: list[tuple[int, TradeStatus, int]]) -> None:
    """Trade events repeat and arrive out of order (WebSocket and REST reconcile): each trade is
    one fill, its settlement only moves along legal hops, and the order never overfills."""
    tracker = OrderTracker()
    vid = "0x" + "ab" * 32
    tracker.register(VenueOrder("cid-prop", "7", "BUY", Decimal("0.5"), Decimal(100), "GTC", order_hash=vid), vid, 0)
    tracker.posted(vid, 0, acked=True)
    clock = itertools.count(1)
    for trade_no, status, qty in script:
        msg = decode_user(trade_json(f"t{trade_no}", "0xother", [(vid, Decimal(qty), "BUY")], Decimal(qty),
                                     Decimal("0.5"), status))
        tracker.on_fills(parse.our_fills(msg, {vid}, next(clock)))
    events = tracker.drain()
    fills = [e for e in events if e.kind == "fill"]
    assert len(fills) == len({e.trade_id for e in fills}) == len({t for t, _, _ in script})
    assert sum(e.size or 0 for e in fills) <= 100 and all(e.remaining is not None and e.remaining >= 0 for e in fills)
    by_trade: dict[str, TradeStatus] = {}
    for ev in events:
        assert ev.trade_id is not None and ev.trade_status is not None
        if ev.kind == "fill":
            assert ev.trade_status == "MATCHED" and ev.trade_id not in by_trade
        else:
            assert settlement_allowed(by_trade[ev.trade_id], ev.trade_status)
        by_trade[ev.trade_id] = ev.trade_status


def test_closed_orders_are_forgotten_only_after_the_keep_window() -> None:
    tracker = OrderTracker()
    for i, closed in enumerate((True, False)):
        vid = f"0x{i:064x}"
        tracker.register(VenueOrder(f"cid-prune-{i}", "7", "BUY", Decimal("0.5"), Decimal(1), "GTC"), vid, 0)
        tracker.posted(vid, 0, acked=True)
        tracker.orders[vid].closed = closed
    assert tracker.prune(100.0, 60.0) == 0  # first sighting starts the clock
    assert tracker.prune(150.0, 60.0) == 0
    assert tracker.prune(161.0, 60.0) == 1 and tracker.ids() == frozenset({f"0x{1:064x}"})
