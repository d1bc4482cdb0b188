"""A ladder re-lay nobody looks at is deferred to the book's next use (book.relay_ladder's
``defer``); whoever looks, whenever, must see the book the eager re-lays would have left.

Two venues with one seed run side by side: ``eager`` is read in full every second (so nothing is
ever deferred), ``lazy`` is read only now and then, and both get the same orders of ours on the
NO books (which makes some re-lays eager again).  Every read of ``lazy`` must equal ``eager``'s at
that moment: levels, hash, the order ids resting at each price, events and the public tape.
"""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.venues.base import VenueEvent, VenueOrder
from polytraders.venues.sim import SimVenue

T0 = 1_700_000_000_000


def picture(venue: SimVenue, token: str) -> tuple[object, ...]:
    """Everything a reader can learn about one book: levels, hash and who rests where."""
    view = venue.book(token)
    assert view is not None
    book = venue._books[token]
    queues = tuple(
        (side, level.price, book.queue_at(side, level.price))
        for side, levels in (("BUY", view.bids), ("SELL", view.asks))
        for level in levels
    )
    return view.bids, view.asks, view.book_hash, queues, len(book)


def our_order(venue: SimVenue, token: str, n: int, rng: random.Random) -> VenueOrder:
    tick = venue.book_tick(token)
    side = "BUY" if rng.random() < 0.5 else "SELL"
    away = rng.randrange(0, 6) * tick
    mid = venue.mid(token)
    price = mid - away if side == "BUY" else mid + away
    price = min(max(price, tick), 1 - tick)
    return VenueOrder(f"ours-{n}", token, side, price, Decimal(rng.randrange(5, 40)), "GTC")


def run_pair(seed: int, markets: int, seconds: int, schedule_seed: int, read_every: float,
             order_every: float) -> int:
    eager = SimVenue(seed, markets, T0)
    lazy = SimVenue(seed, markets, T0)
    tokens = [t for m in eager.markets() for t in (m.yes_token, m.no_token)]
    no_tokens = [m.no_token for m in eager.markets()]
    rng = random.Random(schedule_seed)
    deferred = 0
    for s in range(1, seconds + 1):
        now = T0 + s * 1_000
        got: list[list[VenueEvent]] = [eager.advance(now), lazy.advance(now)]
        assert got[0] == got[1]
        deferred += sum(book._pending is not None for book in lazy._books.values())
        for token in tokens:  # the eager venue is read in full every second: never deferred
            eager.book(token)
        if rng.random() < order_every:
            token = rng.choice(no_tokens)
            order = our_order(eager, token, s, random.Random(s))
            assert eager.submit(order, now) == lazy.submit(order, now)
        for token in tokens:
            if rng.random() < read_every:
                assert picture(lazy, token) == picture(eager, token), (s, token)
    for token in tokens:
        assert picture(lazy, token) == picture(eager, token)
    assert list(lazy.tape) == list(eager.tape) and lazy.tape_total == eager.tape_total
    assert lazy.open_orders() == eager.open_orders()
    return deferred


def test_books_read_rarely_equal_books_read_every_second() -> None:
    # seed 7's 40-market universe has many 0.001-tick markets whose NO ladders move every second
    deferred = run_pair(7, 12, 400, 1, read_every=0.03, order_every=0.2)
    assert deferred > 1_000  # the shortcut was taken, not just allowed


def test_a_book_nobody_reads_until_the_end_equals_one_read_throughout() -> None:
    assert run_pair(3, 4, 300, 2, read_every=0.0, order_every=0.0) > 100


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 50), st.integers(0, 2**32), st.floats(0.0, 0.5), st.floats(0.0, 0.6))
def test_any_reading_and_trading_schedule_sees_the_eager_books(
        seed: int, schedule_seed: int, read_every: float, order_every: float) -> None:
    run_pair(seed, 3, 120, schedule_seed, read_every, order_every)
