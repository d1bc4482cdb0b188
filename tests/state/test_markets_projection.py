"""Markets projection: latest snapshot and book, token map, age, mid, late books, checkpoints."""

from __future__ import annotations

from decimal import Decimal

from polytraders.state.markets import MarketsProjection


def test_latest_snapshot_book_and_derived_reads(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    m = f.markets
    assert m.market(f.M1) is None and m.book_age_ms(f.YES1, t) is None and m.mid(f.YES1) is None
    f.market(cluster="politics")
    f.book(f.YES1, "0.40", "0.44", ts=t)
    assert m.market_for_token(f.NO1) is m.market(f.M1)
    assert m.cluster_of(f.M1) == "politics" and m.cluster_of(f.M2) is None
    assert m.mid(f.YES1) == Decimal("0.42") and m.book_age_ms(f.YES1, t + 2500) == 2500
    f.book(f.YES1, "0.41", "0.45", ts=t - 10)  # late and older: ignored
    assert m.mid(f.YES1) == Decimal("0.42")
    f.market(status="halted", cluster="politics")
    market = m.market(f.M1)
    assert market is not None and market.status == "halted"


def test_book_for_unknown_market_still_maps_its_token(feed) -> None:  # type: ignore[no-untyped-def]
    feed.book(feed.YES2, "0.10", "0.12", ts=feed.T0, market_id=feed.M2)
    assert feed.markets.market_id_of_token(feed.YES2) == feed.M2
    assert feed.markets.market_for_token(feed.YES2) is None


def test_snapshot_round_trip(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.book(f.YES1, "0.40", "0.44", ts=t)
    f.book(f.YES2, "0.10", "0.12", ts=t, market_id=f.M2)
    data = f.markets.snapshot()
    other = MarketsProjection()
    other.restore(data)
    assert other.snapshot() == data
    assert other.mid(f.YES1) == Decimal("0.42") and other.market_id_of_token(f.YES2) == f.M2
