"""Property tests for the order book: never left crossed, size is conserved."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.venues.base import Side, VenueOrderType
from polytraders.venues.sim.book import OrderBook

D = Decimal
TICK = D("0.01")


@dataclass(frozen=True)
class Op:
    kind: str  # "place" or "cancel"
    side: Side
    price_ticks: int
    size_cents: int
    order_type: VenueOrderType
    post_only: bool
    target: int


ops = st.lists(
    st.builds(
        Op,
        kind=st.sampled_from(["place", "place", "place", "cancel"]),
        side=st.sampled_from(["BUY", "SELL"]),
        price_ticks=st.integers(40, 60),
        size_cents=st.integers(100, 6_000),
        order_type=st.sampled_from(["GTC", "GTC", "GTD", "FAK", "FOK"]),
        post_only=st.booleans(),
        target=st.integers(0, 200),
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_book_never_crossed_and_size_conserved(sequence: list[Op]) -> None:
    book = OrderBook("tok", TICK, D(5))
    size: dict[str, Decimal] = {}
    limit: dict[str, tuple[Side, Decimal]] = {}
    filled: dict[str, Decimal] = {}
    killed: dict[str, Decimal] = {}
    cancelled: dict[str, Decimal] = {}
    maker_total = taker_total = D(0)
    placed: list[str] = []

    for n, op in enumerate(sequence):
        if op.kind == "cancel":
            if placed:
                oid = placed[op.target % len(placed)]
                removed = book.cancel(oid)
                if removed is not None:
                    cancelled[oid] = removed.remaining
            continue
        oid = f"o{n}"
        price = TICK * op.price_ticks
        qty = D(op.size_cents) / 100
        result = book.place(
            order_id=oid,
            client_order_id=oid,
            ours=n % 2 == 0,
            side=op.side,
            price=price,
            size=qty,
            order_type=op.order_type,
            created_ms=n,
            post_only=op.post_only,
        )
        if result.status == "rejected":
            assert result.fills == ()
            continue
        size[oid] = qty
        limit[oid] = (op.side, price)
        placed.append(oid)
        if op.order_type == "FOK":
            assert result.status == "filled"
        if op.post_only:
            assert result.fills == ()
        for f in result.fills:
            assert f.taker_order_id == oid
            maker_side, maker_price = limit[f.maker_order_id]
            # Executes at the maker's price, within the taker's limit, against the other side.
            assert f.price == maker_price
            assert maker_side != op.side
            assert f.price <= price if op.side == "BUY" else f.price >= price
            assert f.size > 0
            filled[f.maker_order_id] = filled.get(f.maker_order_id, D(0)) + f.size
            filled[oid] = filled.get(oid, D(0)) + f.size
            maker_total += f.size
            taker_total += f.size
            assert f.maker_remaining == size[f.maker_order_id] - filled[f.maker_order_id]
            assert f.taker_remaining == qty - filled[oid]
        if result.status == "killed":
            killed[oid] = result.remaining
        # Never left crossed.
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask

    assert maker_total == taker_total
    bids, asks = book.levels()
    resting_total = sum((lv.size for lv in bids + asks), D(0))
    live_total = D(0)
    for oid, qty in size.items():
        resting = book.order(oid)
        rest = resting.remaining if resting is not None else D(0)
        live_total += rest
        # Every share of every accepted order is filled, resting, killed or cancelled.
        assert qty == filled.get(oid, D(0)) + rest + killed.get(oid, D(0)) + cancelled.get(
            oid, D(0)
        )
    assert resting_total == live_total
    assert sum(filled.values(), D(0)) == 2 * taker_total
    # Levels are strictly ordered best first.
    assert all(a.price > b.price for a, b in zip(bids, bids[1:], strict=False))
    assert all(a.price < b.price for a, b in zip(asks, asks[1:], strict=False))
