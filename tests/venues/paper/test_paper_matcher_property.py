"""The paper matcher against arbitrary live books, prints and orders (hypothesis).

Invariants checked after every operation:
- no over-fill: an order's fills add up to exactly its size less its remaining, never more;
- a fill is never better than the book offered: a taker fills at a live level's price within its
  limit, a maker at its own price and only against a level or print at or through it;
- a live level is never taken beyond its size (our takes on it add up to at most the level);
- a print never fills more than its size;
- price-time priority among our resting orders on one side: when an event fills an order,
  every resting order ahead of it (better price, or same price and older) is filled completely
  or was not reachable.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.venues.base import BookLevel, Side
from polytraders.venues.polymarket.paper import PaperBook, PaperFill

TICK = Decimal("0.01")
PRICES = st.integers(1, 99).map(lambda c: Decimal(c) / 100)
SIZES = st.integers(1, 4000).map(lambda c: Decimal(c) / 100)
SIDES = st.sampled_from(["BUY", "SELL"])


def _levels(draw: st.DrawFn, low: int, high: int) -> tuple[BookLevel, ...]:
    if low > high:
        return ()
    prices = draw(st.lists(st.integers(low, high), max_size=5, unique=True))
    return tuple(BookLevel(Decimal(p) / 100, draw(SIZES)) for p in prices)


@st.composite
def books(draw: st.DrawFn) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
    """An uncrossed live book (every bid below every ask), as a real exchange shows it."""
    split = draw(st.integers(2, 98))
    bids = _levels(draw, 1, split - 1)
    asks = _levels(draw, split, 99)
    return (tuple(sorted(bids, key=lambda lv: -lv.price)), tuple(sorted(asks, key=lambda lv: lv.price)))


OPS = st.one_of(
    st.tuples(st.just("book"), books()),
    st.tuples(st.just("print"), st.tuples(PRICES, SIZES, SIDES)),
    st.tuples(st.just("order"), st.tuples(SIDES, PRICES, st.integers(500, 3000).map(lambda c: Decimal(c) / 100),
                                          st.sampled_from(["GTC", "GTC", "FAK", "FOK"]), st.booleans())),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
)


def _ahead(a_side: Side, a_price: Decimal, a_seq: int, b_price: Decimal, b_seq: int) -> bool:
    better = a_price > b_price if a_side == "BUY" else a_price < b_price
    return better or (a_price == b_price and a_seq < b_seq)


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, min_size=1, max_size=40))
def test_paper_matching_invariants(ops: list[tuple[str, object]]) -> None:
    book = PaperBook("tok", TICK, Decimal(5))
    sizes: dict[str, Decimal] = {}
    filled: dict[str, Decimal] = defaultdict(Decimal)
    limits: dict[str, tuple[Side, Decimal]] = {}
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()
    n = 0
    used: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)  # our takes on a level while it lasts

    def check_priority(fills: list[PaperFill], before: dict[str, tuple[Side, Decimal, int]]) -> None:
        got = {f.venue_order_id for f in fills}
        for vid in got:
            if vid not in before:
                continue  # the incoming taker, not a resting order
            side, price, seq = before[vid]
            for other, (o_side, o_price, o_seq) in before.items():
                if other == vid or o_side != side or not _ahead(side, o_price, o_seq, price, seq):
                    continue
                rest = book.orders.get(other)
                assert rest is None or other in got and rest.remaining == 0 or rest is None, (
                    f"{vid} filled while {other} ahead of it still rests with {rest and rest.remaining}")

    for kind, arg in ops:
        before = {v: (o.side, o.price, o.seq) for v, o in book.orders.items()}
        live_before = {("BUY", lv.price): lv.size for lv in bids} | {("SELL", lv.price): lv.size for lv in asks}
        fills: list[PaperFill] = []
        if kind == "book":
            bids, asks = arg  # type: ignore[misc]
            live_before = {("BUY", lv.price): lv.size for lv in bids} | {("SELL", lv.price): lv.size for lv in asks}
            for key in list(used):
                used[key] = min(used[key], live_before.get(key, Decimal(0)))
            fills = book.sync(bids, asks)
            for f in fills:
                assert f.liquidity == "maker" and f.price == limits[f.venue_order_id][1]
                assert (f.book_price <= f.price) if f.side == "BUY" else (f.book_price >= f.price)
        elif kind == "print":
            price, size, taker = arg  # type: ignore[misc]
            fills = book.trade(price, size, taker)
            assert sum((f.size for f in fills), Decimal(0)) <= size
            for f in fills:
                assert f.side != taker and f.price == limits[f.venue_order_id][1] and f.book_price == price
                assert (price <= f.price) if f.side == "BUY" else (price >= f.price)
        elif kind == "order":
            side, price, size, order_type, post_only = arg  # type: ignore[misc]
            n += 1
            vid = f"o{n}"
            crossed = book.crosses_live(side, price)
            result = book.place(venue_order_id=vid, client_order_id=vid, side=side, price=price, size=size,
                                order_type=order_type, created_ms=n, post_only=post_only)
            if post_only and order_type == "GTC" and crossed:
                assert result.status == "rejected"
            if result.status == "rejected":
                assert not result.fills
                continue
            sizes[vid], limits[vid] = size, (side, price)
            fills = list(result.fills)
            for f in fills:
                assert f.liquidity == "taker" and f.price == f.book_price
                assert (f.price <= price) if side == "BUY" else (f.price >= price)
                assert live_before.get(("SELL" if side == "BUY" else "BUY", f.price)) is not None
            if order_type == "FOK":
                assert result.status == "filled"
        else:
            live = sorted(book.orders)
            if live:
                book.cancel(live[arg % len(live)])  # type: ignore[operator]
        for f in fills:
            filled[f.venue_order_id] += f.size
            assert f.size > 0
            assert filled[f.venue_order_id] <= sizes[f.venue_order_id]
            assert f.remaining == sizes[f.venue_order_id] - filled[f.venue_order_id]
        # a live level is never taken beyond its size, in one event or over its lifetime
        for (level_side, price), _ in list(live_before.items()):
            assert book.available(level_side, price) >= 0
            assert book.available(level_side, price) <= book.live_size(level_side, price)
        taken: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
        for f in fills:
            if kind != "print":
                taken[("SELL" if f.side == "BUY" else "BUY", f.book_price)] += f.size
        for key, amount in taken.items():
            used[key] += amount
            assert used[key] <= live_before.get(key, Decimal(0)), (key, used[key], "level taken twice")
        if kind in ("book", "print"):
            check_priority(fills, before)
        for vid, order in book.orders.items():
            assert 0 < order.remaining <= sizes[vid]
