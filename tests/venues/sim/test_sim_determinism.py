"""Determinism of the simulated venue and sanity of the synthetic markets it generates."""

from __future__ import annotations

import random
from decimal import Decimal

from polytraders.venues.base import Side, VenueError, VenueEvent, VenueOrder
from polytraders.venues.sim import FaultPlan, SimVenue, market_ids

D = Decimal
T0 = 1_700_000_000_000


def drive(
    seed: int,
    *,
    seconds: int = 600,
    plan: FaultPlan | None = None,
    disturb_global_random: bool = False,
) -> tuple[list[str], list[str]]:
    """Run a scripted session; returns (event reprs, book-hash checkpoints).

    The script's own choices come from a fixed ``random.Random(99)``, so two runs issue the same
    calls whenever the venue answers the same.
    """
    venue = SimVenue(seed, 6, T0, faults=plan, flow_per_minute=6.0)
    script = random.Random(99)
    markets = venue.markets()
    tokens = [t for m in markets for t in (m.yes_token, m.no_token)]
    log: list[str] = []
    hashes: list[str] = []
    resting: list[str] = []

    def record(events: list[VenueEvent]) -> None:
        for e in events:
            log.append(repr(e))
            if e.kind == "ack" and e.venue_order_id:
                resting.append(e.venue_order_id)

    for second in range(1, seconds + 1):
        now = T0 + second * 1_000
        if disturb_global_random:
            random.seed(second * 7919)
            random.random()
        record(venue.advance(now))
        token = tokens[script.randrange(len(tokens))]
        view = venue.book(token)
        if view is not None and view.bids and view.asks:
            side: Side = "BUY" if script.random() < 0.5 else "SELL"
            price = view.bids[0].price if side == "BUY" else view.asks[0].price
            kind = script.random()
            if kind < 0.7:
                o = VenueOrder(f"q{second}", token, side, price, D(10), "GTC", post_only=True)
            else:
                take = view.asks[0].price if side == "BUY" else view.bids[0].price
                o = VenueOrder(f"t{second}", token, side, take, D(15), "FAK")
            try:
                record(venue.submit(o, now))
            except VenueError as err:
                log.append(f"error {err.status} {err.code}")
        if len(resting) > 12:
            try:
                record(venue.cancel(resting.pop(0), now))
            except VenueError as err:
                log.append(f"error {err.status} {err.code}")
        if second % 60 == 0:
            for t in tokens:
                b = venue.book(t)
                hashes.append("none" if b is None else f"{b.book_hash}@{b.ts_ms}")
            log.append(repr(venue.open_orders()))
    return log, hashes


def test_same_seed_same_calls_identical_events_and_hashes() -> None:
    first = drive(5)
    second = drive(5)
    assert first == second
    events, hashes = first
    # The run is not trivially empty: we got acks, fills and settlement updates.
    text = "\n".join(events)
    assert "kind='fill'" in text and "trade_status='CONFIRMED'" in text
    assert len(hashes) == 10 * 12


def test_different_seed_differs() -> None:
    a_events, a_hashes = drive(5, seconds=120)
    b_events, b_hashes = drive(6, seconds=120)
    assert a_hashes != b_hashes
    assert a_events != b_events


def test_global_random_state_is_not_used() -> None:
    assert drive(8, seconds=300) == drive(8, seconds=300, disturb_global_random=True)


def test_determinism_with_faults() -> None:
    cid, yes, _ = market_ids(5, 1)
    plan = (
        FaultPlan()
        .reject_submits("INVALID_ORDER_NOT_ENOUGH_BALANCE", count=3, start_ms=T0 + 30_000)
        .transport_errors("submit", 429, start_ms=T0 + 60_000, end_ms=T0 + 70_000)
        .transport_errors("cancel", 425, count=2)
        .latency(2_500, start_ms=T0 + 100_000, end_ms=T0 + 150_000)
        .freeze_feed(cid, start_ms=T0 + 120_000, end_ms=T0 + 200_000)
        .drop_feed(yes, start_ms=T0 + 210_000, end_ms=T0 + 230_000)
        .halt(market_ids(5, 2)[0], start_ms=T0 + 150_000, end_ms=T0 + 180_000)
        .resolve(market_ids(5, 3)[0], at_ms=T0 + 240_000)
        .fail_settlement(count=5, start_ms=T0 + 10_000)
    )
    first = drive(5, seconds=300, plan=plan)
    assert first == drive(5, seconds=300, plan=plan)
    events = "\n".join(first[0])
    assert "error 429" in events and "error 425" in events
    assert "trade_status='FAILED'" in events
    assert "CANCELED_MARKET_RESOLVED" in events and "MARKET_NOT_READY" in events


def test_world_path_does_not_depend_on_advance_granularity() -> None:
    """Market steps run on a fixed grid, so advancing second by second or a minute at a time
    yields the same books."""
    fine = SimVenue(21, 4, T0)
    coarse = SimVenue(21, 4, T0)
    tokens = [t for m in fine.markets() for t in (m.yes_token, m.no_token)]
    for minute in range(1, 6):
        for s in range(1, 61):
            fine.advance(T0 + ((minute - 1) * 60 + s) * 1_000)
        coarse.advance(T0 + minute * 60_000)
        for t in tokens:
            a, b = fine.book(t), coarse.book(t)
            assert a is not None and b is not None and a.book_hash == b.book_hash


def test_market_ids_are_stable_and_seed_specific() -> None:
    assert market_ids(1, 0) == market_ids(1, 0)
    assert market_ids(1, 0) != market_ids(2, 0)
    assert market_ids(1, 0) != market_ids(1, 1)


def test_synthetic_books_stay_sane_over_an_hour() -> None:
    venue = SimVenue(3, 8, T0, flow_per_minute=10.0)
    markets = venue.markets()
    for second in range(1, 3_601):
        venue.advance(T0 + second * 1_000)
        if second % 30:
            continue
        for m in markets:
            for token in (m.yes_token, m.no_token):
                view = venue.book(token)
                assert view is not None
                assert view.bids and view.asks
                assert view.bids[0].price < view.asks[0].price
                for level in view.bids + view.asks:
                    assert m.tick <= level.price <= 1 - m.tick
                    assert level.price % m.tick == 0
                    assert level.size > 0
            yes_mid, no_mid = venue.mid(m.yes_token), venue.mid(m.no_token)
            assert yes_mid + no_mid == 1
            assert D("0.03") <= yes_mid <= D("0.97")


def test_mids_move_and_other_traders_fill_our_quotes() -> None:
    venue = SimVenue(4, 5, T0, flow_per_minute=12.0)
    markets = venue.markets()
    start = {m.yes_token: venue.mid(m.yes_token) for m in markets}
    maker_fills = 0
    for second in range(1, 1_801):
        now = T0 + second * 1_000
        maker_fills += sum(
            1 for e in venue.advance(now) if e.kind == "fill" and e.liquidity == "maker"
        )
        if second % 20 == 0:
            # Keep one bid joined at the best price of each YES book.
            venue.cancel_all(None, now)
            for m in markets:
                view = venue.book(m.yes_token)
                assert view is not None
                venue.submit(
                    VenueOrder(
                        f"j{second}-{m.yes_token[:6]}",
                        m.yes_token,
                        "BUY",
                        view.bids[0].price,
                        D(20),
                        "GTC",
                    ),
                    now,
                )
    assert any(venue.mid(t) != mid for t, mid in start.items())
    assert maker_fills > 0
