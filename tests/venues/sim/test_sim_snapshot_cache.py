"""The simulator's cached market data equals what it would render from scratch.

Books keep their aggregated levels, canonical text and hash until a side changes; the
liquidity generator rests its own quotes without re-validation; the feed builds the sim's
snapshots without re-validating them.  Each shortcut is checked here against the slow path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from polytraders.contracts import OrderBookSnapshot
from polytraders.engine.feed import book_snapshot
from polytraders.venues.base import BookLevel, BookView, Side, VenueOrder, book_hash, decimal_text
from polytraders.venues.sim import FaultPlan, SimVenue
from polytraders.venues.sim.book import OrderBook

D = Decimal
T0 = 1_700_000_000_000
TICK = D("0.01")


def scratch_levels(book: OrderBook, side: Side) -> tuple[BookLevel, ...]:
    """Aggregate the book's resting orders by price, best first, with no cache involved."""
    prices: dict[Decimal, Decimal] = {}
    for price in {o.price for o in book._orders.values() if o.side == side}:
        prices[price] = sum((book.order(i).remaining for i in book.queue_at(side, price)), D(0))  # type: ignore[union-attr]
    ordered = sorted(prices, reverse=side == "BUY")
    return tuple(BookLevel(p, prices[p]) for p in ordered)


@dataclass(frozen=True)
class Op:
    kind: str
    side: Side
    ticks: int
    size: int
    target: int


ops = st.lists(
    st.builds(
        Op,
        kind=st.sampled_from(["place", "place", "passive", "cancel", "fak", "snap", "clear"]),
        side=st.sampled_from(["BUY", "SELL"]),
        ticks=st.integers(40, 60),
        size=st.integers(5, 60),
        target=st.integers(0, 100),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(ops, st.sampled_from([None, 1, 2, 0]))
def test_cached_snapshot_equals_a_scratch_rendering(sequence: list[Op], depth: int | None) -> None:
    book = OrderBook("77", TICK, D(5))
    ids: list[str] = []
    for n, op in enumerate(sequence):
        oid = f"o{n}"
        price = TICK * op.ticks
        if op.kind in ("place", "fak"):
            result = book.place(order_id=oid, client_order_id=oid, ours=n % 2 == 0, side=op.side,
                                price=price, size=D(op.size),
                                order_type="FAK" if op.kind == "fak" else "GTC", created_ms=n)
            if result.status == "rested":
                ids.append(oid)
        elif op.kind == "passive":
            crosses = book.crosses(op.side, price)
            assert book.rest_passive(oid, op.side, price, D(op.size), n) is not crosses
            if not crosses:
                ids.append(oid)
        elif op.kind == "cancel" and ids:
            book.cancel(ids[op.target % len(ids)])
        elif op.kind == "clear":
            book.clear()
        bids, asks, digest = book.snapshot(depth)
        want_bids, want_asks = scratch_levels(book, "BUY"), scratch_levels(book, "SELL")
        if depth is not None:
            want_bids, want_asks = want_bids[:depth], want_asks[:depth]
        assert (bids, asks) == (want_bids, want_asks)
        assert book.levels(depth) == (bids, asks)
        assert digest == book_hash("77", want_bids, want_asks)


spelled_ops = st.lists(
    st.tuples(st.sampled_from(["place", "passive", "cancel", "fak"]),
              st.sampled_from(["BUY", "SELL"]), st.integers(45, 55),
              st.sampled_from(["10", "10.00", "1E+1", "10.0", "5", "5.00", "20"]),
              st.integers(0, 50)),
    max_size=60,
)


def fresh_render(book: OrderBook) -> tuple[str, str]:
    """Each side's levels built anew from the book's own prices and totals, no cache: the
    spelling a level must carry is the one its total object has now."""
    out = []
    for side, best_first in ((book._bids, True), (book._asks, False)):
        prices = sorted(side.levels, reverse=best_first)
        out.append(repr(tuple(BookLevel(p, side.totals[p]) for p in prices)))
    return out[0], out[1]


@settings(max_examples=150, deadline=None)
@given(spelled_ops)
def test_reused_levels_keep_the_spelling_of_the_current_total(
        sequence: list[tuple[str, str, int, str, int]]) -> None:
    """A level whose total comes back to an earlier value reuses the earlier level object only
    when the spelling is the same too (10 and 10.00 are equal Decimals, journaled differently)."""
    book = OrderBook("78", TICK, D(5))
    ids: list[str] = []
    for n, (kind, side, ticks, size, target) in enumerate(sequence):
        oid, price = f"o{n}", TICK * ticks
        if kind in ("place", "fak"):
            result = book.place(order_id=oid, client_order_id=oid, ours=True, side=side,  # type: ignore[arg-type]
                                price=price, size=D(size),
                                order_type="FAK" if kind == "fak" else "GTC", created_ms=n)
            if result.status == "rested":
                ids.append(oid)
        elif kind == "passive":
            if book.rest_passive(oid, side, price, D(size), n):  # type: ignore[arg-type]
                ids.append(oid)
        elif ids:
            book.cancel(ids[target % len(ids)])
        bids, asks, _ = book.snapshot()
        assert (repr(bids), repr(asks)) == fresh_render(book)


def test_resting_passively_is_exactly_resting_through_place() -> None:
    plain, fast = OrderBook("5", TICK, D(5)), OrderBook("5", TICK, D(5))
    quotes = [("BUY", "0.45", 20), ("BUY", "0.44", 30), ("SELL", "0.55", 25), ("BUY", "0.45", 7)]
    for n, (side, price, size) in enumerate(quotes):
        result = plain.place(order_id=f"b{n}", client_order_id=f"b{n}", ours=False, side=side,  # type: ignore[arg-type]
                             price=D(price), size=D(size), order_type="GTC", created_ms=n)
        assert result.status == "rested"
        assert fast.rest_passive(f"b{n}", side, D(price), D(size), n)  # type: ignore[arg-type]
    assert repr(plain.snapshot()) == repr(fast.snapshot())
    for n in range(len(quotes)):
        assert plain.order(f"b{n}") == fast.order(f"b{n}") or \
            repr(plain.order(f"b{n}")) == repr(fast.order(f"b{n}"))
    assert plain.queue_at("BUY", D("0.45")) == fast.queue_at("BUY", D("0.45")) == ("b0", "b3")
    # a crossing quote is refused, untouched, and a reused id is an error as in place
    before = repr(fast.snapshot())
    assert not fast.rest_passive("x", "BUY", D("0.56"), D(10), 9)
    assert repr(fast.snapshot()) == before
    with pytest.raises(ValueError, match="already rests"):
        fast.rest_passive("b1", "BUY", D("0.40"), D(10), 9)


def test_decimal_text_is_one_text_per_value_whatever_the_spelling() -> None:
    for spellings, text in [(("0.5", "0.50", "5E-1"), "0.5"), (("100", "1E+2", "100.00"), "100"),
                            (("0", "-0", "0.000"), "0")]:
        assert {decimal_text(D(s)) for s in spellings} == {text}
    with pytest.raises(InvalidOperation):  # unhashable, so not cached: refused as before
        decimal_text(D("sNaN"))


def sim_views(seed: int, seconds: int) -> list[BookView]:
    venue = SimVenue(seed, 4, T0, flow_per_minute=30.0)
    tokens = [t for m in venue.markets() for t in (m.yes_token, m.no_token)]
    views: list[BookView] = []
    for s in range(1, seconds + 1):
        now = T0 + s * 1_000
        venue.advance(now)
        if s % 5 == 0:  # our quotes and takers in the books too
            view = venue.book(tokens[s % len(tokens)])
            assert view is not None and view.bids and view.asks
            venue.submit(VenueOrder(f"q{s}", view.token_id, "BUY", view.bids[0].price, D(9), "GTC"), now)
            venue.submit(VenueOrder(f"t{s}", view.token_id, "SELL", view.bids[0].price, D(30), "FAK"), now)
        for token in tokens:
            view = venue.book(token)
            assert view is not None
            views.append(view)
    return views


@pytest.mark.parametrize("seed", [1, 7])
def test_sim_views_keep_the_snapshot_promise_they_make(seed: int) -> None:
    """Every view marked well_formed passes full validation, and the unvalidated snapshot the
    feed builds from it is the validated one, field for field and byte for byte."""
    for view in sim_views(seed, 150):
        assert view.well_formed
        assert view.book_hash == book_hash(view.token_id, view.bids, view.asks)
        fast = book_snapshot("0x" + "ab" * 32, view, 3)
        slow = OrderBookSnapshot.model_validate(fast.to_json_dict())
        assert fast == slow
        assert fast.to_json_dict() == slow.to_json_dict()


def test_a_book_whose_tick_moved_is_validated_again() -> None:
    venue = SimVenue(3, 2, T0)
    token = venue.markets()[0].yes_token
    old = venue.book_tick(token)
    venue.set_book_tick(token, old)  # the same tick: still one grid
    assert venue.book(token).well_formed  # type: ignore[union-attr]
    venue.set_book_tick(token, D("0.1") if old != D("0.1") else D("0.01"))
    view = venue.book(token)
    assert view is not None and not view.well_formed
    with pytest.raises(ValidationError, match="off the tick"):
        book_snapshot("0x" + "ab" * 32, view, 3)  # resting prices are off the new grid


def test_outside_views_are_validated_even_when_they_claim_to_be_well_formed() -> None:
    bad_tick = BookView("9", (BookLevel(D("0.45"), D(5)),), (), T0, D("0.005"), D(5), "f" * 64,
                        well_formed=True)
    with pytest.raises(ValidationError, match="tick"):
        book_snapshot("0x" + "ab" * 32, bad_tick, 3)
    crossed = BookView("9", (BookLevel(D("0.45"), D(5)), BookLevel(D("0.46"), D(5))), (), T0,
                       D("0.01"), D(5), "f" * 64)  # well_formed defaults to False
    with pytest.raises(ValidationError, match="descending"):
        book_snapshot("0x" + "ab" * 32, crossed, 3)


def test_markets_listing_is_reused_until_a_status_moves() -> None:
    venue = SimVenue(5, 3, T0)
    first = venue.markets()
    venue.advance(T0 + 5_000)
    assert venue.markets() is first and {m.status for m in first} == {"open"}
    cid = first[1].condition_id
    venue.set_faults(FaultPlan().halt(cid, start_ms=T0 + 10_000, end_ms=T0 + 20_000)
                     .resolve(first[2].condition_id, at_ms=T0 + 30_000))
    venue.advance(T0 + 12_000)
    halted = venue.markets()
    assert [m.status for m in halted] == ["open", "halted", "open"]
    assert venue.markets() is halted
    venue.advance(T0 + 25_000)
    assert [m.status for m in venue.markets()] == ["open", "open", "open"]
    venue.advance(T0 + 31_000)
    assert [m.status for m in venue.markets()] == ["open", "open", "resolved"]
    venue.set_faults(None)
    assert [m.status for m in venue.markets()] == ["open", "open", "open"]
    assert [m.condition_id for m in venue.markets()] == [m.condition_id for m in first]


# The generator's market data is pinned: an hour of book hashes for seed 7 must not move when
# the simulator is made faster (recorded from the implementation before the caches).
PINNED_SEED_7 = "074c01d0e70a50cb"


def test_generated_market_data_is_pinned() -> None:
    venue = SimVenue(7, 6, T0)
    tokens = [t for m in venue.markets() for t in (m.yes_token, m.no_token)]
    digest = hashlib.sha256()
    for s in range(1, 601):
        venue.advance(T0 + s * 1_000)
        for token in tokens:
            view = venue.book(token)
            assert view is not None
            digest.update(view.book_hash.encode())
    digest.update(repr([(t, f.price, f.size, f.maker_order_id) for t, f in venue.tape]).encode())
    assert digest.hexdigest()[:16] == PINNED_SEED_7


amounts = st.decimals(min_value=D("0.0001"), max_value=D("0.9999"), places=4, allow_nan=False)
sizes = st.one_of(st.decimals(min_value=D("0.01"), max_value=D("1e12"), allow_nan=False,
                              allow_infinity=False).filter(lambda d: d > 0),
                  st.sampled_from([D("1E+2"), D("100.00"), D("5E-1"), D("0.010")]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(amounts, sizes), max_size=4), st.lists(st.tuples(amounts, sizes), max_size=4),
       st.sampled_from([D("0.0001"), D("1E-4"), D("0.01")]))
def test_hand_written_book_json_is_pydantics(bids: list[tuple[Decimal, Decimal]],
                                             asks: list[tuple[Decimal, Decimal]], tick: Decimal) -> None:
    from polytraders.contracts import BookLevel as Level

    snap = OrderBookSnapshot.model_construct(
        market_id="0x" + "cd" * 32, token_id="42", ts_ms=T0, tick=tick, book_hash="e" * 64,
        bids=tuple(Level.model_construct(price=p, size=s) for p, s in bids),
        asks=tuple(Level.model_construct(price=p, size=s) for p, s in asks))
    assert snap.to_json_dict() == snap.model_dump(mode="json")


def test_book_json_reuses_level_dicts_as_copies() -> None:
    """A level object's dict is built once and handed out as a copy: equal to pydantic's dump
    every time, and a caller editing its copy changes nothing for the next snapshot."""
    from polytraders.contracts import BookLevel as Level

    levels = (Level.trusted(price=D("0.45"), size=D("10.00")), Level.trusted(price=D("0.44"), size=D(7)))
    snap = OrderBookSnapshot.trusted(market_id="0x" + "cd" * 32, token_id="42", ts_ms=T0, tick=TICK,
                                     bids=levels, asks=(), book_hash="e" * 64)
    first = snap.to_json_dict()
    assert first == snap.model_dump(mode="json") and first["bids"][0]["size"] == "10.00"
    first["bids"][0]["size"] = "999"
    first["bids"].append({"oops": 1})
    again = snap.to_json_dict()
    assert again == snap.model_dump(mode="json")
    assert again["bids"][0] is not first["bids"][0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(40, 60), st.integers(5, 40)),
                max_size=8),
       st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(40, 60)), max_size=10),
       st.lists(st.integers(0, 9), max_size=6))
def test_relay_ladder_is_cancels_then_passive_rests(
        ours: list[tuple[str, int, int]], ladder: list[tuple[str, int]], stale_picks: list[int]) -> None:
    """The generator's one-call re-lay leaves the book exactly as cancelling the stale quotes and
    resting the rest one by one through rest_passive would, and stops where a quote would cross."""
    plain, fast = OrderBook("9", TICK, D(5)), OrderBook("9", TICK, D(5))
    for n, (side, ticks, size) in enumerate(ours):  # our resting orders, which a quote may cross
        for book in (plain, fast):
            book.place(order_id=f"o{n}", client_order_id=f"o{n}", ours=True, side=side,  # type: ignore[arg-type]
                       price=TICK * ticks, size=D(size), order_type="GTC", created_ms=n)
    placement = []
    for side, ticks in dict.fromkeys(ladder):  # one quote per (side, price)
        key = -ticks if side == "BUY" else ticks
        placement.append((key, side, TICK * ticks, D(ticks), D(0) + D(ticks)))
    # an earlier ladder: every quote that rests now is "current" before the re-lay
    current_plain: dict[int, str] = {}
    current_fast: dict[int, str] = {}
    for key, side, price, size, _ in placement:
        if plain.rest_passive(f"q{key}", side, price, size, 0):  # type: ignore[arg-type]
            assert fast.rest_passive(f"q{key}", side, price, size, 0)  # type: ignore[arg-type]
            current_plain[key] = current_fast[key] = f"q{key}"
    keys = list(current_plain)
    stale = list(dict.fromkeys(keys[i % len(keys)] for i in stale_picks)) if keys else []
    # the slow way
    last = 0
    for key in stale:
        plain.cancel(current_plain.pop(key))
    stopped = len(placement)
    for index, (key, side, price, size, _) in enumerate(placement):
        if key in current_plain:
            continue
        if plain.crosses(side, price):  # type: ignore[arg-type]
            stopped = index
            break
        last += 1
        assert plain.rest_passive(f"bg-{last}", side, price, size, 1)  # type: ignore[arg-type]
        current_plain[key] = f"bg-{last}"
    # the one call
    index, last_fast = fast.relay_ladder(current_fast, stale, placement, 0, "bg-", 0, 1)  # type: ignore[arg-type]
    assert (index, last_fast) == (stopped, last)
    assert current_fast == current_plain
    assert repr(fast.snapshot()) == repr(plain.snapshot())
    for oid in list(current_plain.values()) + [f"o{n}" for n in range(len(ours))]:
        assert repr(fast.order(oid)) == repr(plain.order(oid))
