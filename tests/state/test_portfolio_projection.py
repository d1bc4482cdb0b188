"""Accounting against hand-computed numbers: average cost, fees, FAILED reversal, marks,
drawdown from a peak, the UTC-midnight reset of the intraday peak, and exposure."""

from __future__ import annotations

from decimal import Decimal

import pytest

D = Decimal
HOUR = 3_600_000


def test_average_cost_partial_sell_fees_and_mark_to_mid(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("1000", ts=t)
    f.fill("T1", "BUY", "0.40", "100", fee="0.50", ts=t + 1)
    f.fill("T2", "BUY", "0.52", "50", ts=t + 2)
    pf = f.portfolio
    assert pf.cash_pusd() == D("933.5")
    (pos,) = pf.positions()
    assert (pos.size, pos.cost_basis_pusd, pos.avg_price) == (D(150), D("66.00"), D("0.44"))
    f.fill("T3", "SELL", "0.50", "60", fee="0.30", ts=t + 3)
    (pos,) = pf.positions()
    # removed cost 66 x 60/150 = 26.4; realised = -0.5 fee + (30 - 26.4) - 0.3 fee
    assert pos.size == D(90) and pos.cost_basis_pusd == D("39.6") and pos.avg_price == D("0.44")
    assert pf.realised_pnl() == D("2.8") and pf.fees_pusd() == D("0.8")
    assert pf.cash_pusd() == D("963.2")
    # no book yet: marked at the last fill price 0.50
    assert pf.mark(f.YES1) == D("0.50")
    f.book(f.YES1, "0.45", "0.47", ts=t + 4)
    assert pf.mark(f.YES1) == D("0.46")
    assert pf.unrealised_pnl() == D("1.8")
    assert pf.equity() == D("1004.6") == D(1000) + pf.realised_pnl() + pf.unrealised_pnl()
    assert pf.exposure_by_market() == {f.M1: D("41.4")} and pf.gross_exposure() == D("41.4")
    assert pf.exposure_by_cluster() == {"c1": D("41.4")}


def test_failed_settlement_is_reversed_exactly_even_in_the_middle(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("1000", ts=t)
    f.fill("T1", "BUY", "0.40", "100", fee="0.50", ts=t + 1)
    f.fill("T2", "BUY", "0.52", "50", ts=t + 2)
    f.fill("T3", "SELL", "0.50", "60", fee="0.30", ts=t + 3)
    f.book(f.YES1, "0.45", "0.47", ts=t + 4)
    f.fill("T1", "BUY", "0.40", "100", fee="0.50", ts=t + 5, settlement="MINED")  # repeat: no-op
    f.fill("T2", "BUY", "0.52", "50", ts=t + 6, settlement="FAILED")
    pf = f.portfolio
    # as if T2 never happened: BUY 100@0.40 (fee .5), SELL 60@0.50 (fee .3)
    (pos,) = pf.positions()
    assert pos.size == D(40) and pos.cost_basis_pusd == D("16.00")
    assert pf.realised_pnl() == D("5.2")
    assert pf.cash_pusd() == D("989.2")
    assert pf.equity() == D("1007.6")
    f.fill("T2", "BUY", "0.52", "50", ts=t + 7, settlement="FAILED")  # FAILED twice: no-op
    f.fill("T2", "BUY", "0.52", "50", ts=t + 8, settlement="CONFIRMED")  # after FAILED: ignored
    assert pf.cash_pusd() == D("989.2") and pf.position_size(f.YES1) == D(40)


def test_confirmed_trades_compact_and_never_apply_twice(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("100", ts=t)
    f.fill("T1", "BUY", "0.25", "40", ts=t + 1)
    f.fill("T1", "BUY", "0.25", "40", ts=t + 2, settlement="CONFIRMED")
    f.fill("T1", "BUY", "0.25", "40", ts=t + 3, settlement="CONFIRMED")
    f.fill("T1", "BUY", "0.25", "40", ts=t + 4, settlement="FAILED")  # too late: final
    assert f.portfolio.position_size(f.YES1) == D(40) and f.portfolio.cash_pusd() == D(90)
    assert f.portfolio.snapshot()["tokens"][f.YES1]["pending"] == []


def test_trade_first_seen_failed_changes_nothing(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.wallet("100", ts=t)
    f.fill("TX", "BUY", "0.25", "40", ts=t + 1, settlement="FAILED")
    assert f.portfolio.cash_pusd() == D(100) and f.portfolio.position_size(f.YES1) == 0


def test_yes_and_no_are_marked_by_their_own_books(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("100", ts=t)
    f.fill("Y", "BUY", "0.60", "10", ts=t + 1, token=f.YES1)
    f.fill("N", "BUY", "0.30", "10", ts=t + 2, token=f.NO1)
    f.book(f.YES1, "0.70", "0.72", ts=t + 3)
    f.book(f.NO1, "0.20", "0.24", ts=t + 4)
    assert f.portfolio.mark(f.YES1) == D("0.71") and f.portfolio.mark(f.NO1) == D("0.22")
    assert f.portfolio.equity() == D(100) - D(9) + D("7.1") + D("2.2")


def test_one_sided_book_falls_back_to_last_fill_price(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("100", ts=t)
    f.fill("Y", "BUY", "0.60", "10", ts=t + 1)
    f.book(f.YES1, "0.50", None, ts=t + 2)
    assert f.portfolio.mark(f.YES1) == D("0.60")


def test_drawdown_from_peak_and_intraday_reset_at_utc_midnight(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("1000", ts=t)
    f.fill("B", "BUY", "0.50", "1000", ts=t + 1)
    f.book(f.YES1, "0.49", "0.51", ts=t + 2)
    pf = f.portfolio
    assert pf.equity() == D(1000) and pf.drawdown_intraday_pct(t + 3) == 0
    f.book(f.YES1, "0.44", "0.46", ts=t + 3_000)
    assert pf.equity() == D(950)
    assert pf.drawdown_intraday_pct(t + 4_000) == D(5)
    assert pf.drawdown_weekly_pct(t + 4_000) == D(5)
    midnight = (t // f.DAY_MS + 1) * f.DAY_MS
    # a new UTC day with no event yet: the day opened at the current equity
    assert pf.drawdown_intraday_pct(midnight + 1) == 0
    assert pf.drawdown_weekly_pct(midnight + 1) == D(5)
    f.book(f.YES1, "0.39", "0.41", ts=midnight + 60_000)
    assert pf.equity() == D(900)
    # today's peak is the 950 carried across midnight, not yesterday's 1000
    dd = pf.drawdown_intraday_pct(midnight + 61_000)
    assert dd is not None and dd.quantize(D("1e-20")) == D("5.26315789473684210526")
    assert pf.drawdown_weekly_pct(midnight + 61_000) == D(10)
    # eight days later the old peaks have left the rolling week
    assert pf.drawdown_weekly_pct(midnight + 8 * f.DAY_MS) == 0


def test_equity_curve_downsamples_to_one_point_per_second(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0 - feed.T0 % 1000
    f.market()
    f.wallet("100", ts=t)
    f.fill("B", "BUY", "0.50", "100", ts=t + 10)
    for i, (bid, ask) in enumerate([("0.40", "0.42"), ("0.60", "0.62"), ("0.50", "0.52")]):
        f.book(f.YES1, bid, ask, ts=t + 100 + i)
    f.book(f.YES1, "0.30", "0.32", ts=t + 1500)
    curve = f.portfolio.equity_curve()
    assert [ts // 1000 for ts, _ in curve] == [t // 1000, t // 1000 + 1]
    assert curve[0][1] == D(101) and curve[1][1] == D(81)
    # the 111 peak inside the first second is kept by the peak tracker, not lost
    assert f.portfolio.peak_intraday(t + 2000) == D(111)


def test_books_of_tokens_we_do_not_hold_do_not_move_the_curve(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("100", ts=t)
    n = len(f.portfolio.equity_curve())
    f.book(f.YES1, "0.40", "0.42", ts=t + 5_000)
    assert len(f.portfolio.equity_curve()) == n


def test_unknown_cash_reads_as_none(feed) -> None:  # type: ignore[no-untyped-def]
    pf = feed.portfolio
    assert pf.cash_pusd() is None and pf.equity() is None
    assert pf.drawdown_intraday_pct(feed.T0) is None and pf.drawdown_weekly_pct(feed.T0) is None


def test_exposure_by_strategy_uses_order_attribution(feed) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.market(f.M2, f.YES2, f.NO2, cluster="c2")
    f.wallet("1000", ts=t)
    f.order("o1", "strat.a")
    f.order("o2", "strat.b", f.YES2, market_id=f.M2)
    f.fill("T1", "BUY", "0.50", "100", ts=t + 1, coid="o1")
    f.fill("T2", "BUY", "0.20", "50", ts=t + 2, coid="o2", token=f.YES2, market_id=f.M2)
    f.fill("T3", "BUY", "0.10", "10", ts=t + 3, coid="unknown-order", token=f.NO1)
    pf = f.portfolio
    assert pf.exposure_by_strategy() == {"strat.a": D(50), "strat.b": D(10),
                                         "unattributed": D("1.0")}
    assert pf.exposure_by_cluster() == {"c1": D(51), "c2": D(10)}
    assert pf.gross_exposure() == D(61)


@pytest.mark.parametrize("sell", ["150", "100"])
def test_over_sell_flips_at_fill_price(feed, sell: str) -> None:  # type: ignore[no-untyped-def]
    f, t = feed, feed.T0
    f.market()
    f.wallet("1000", ts=t)
    f.fill("B", "BUY", "0.40", "100", ts=t + 1)
    f.fill("S", "SELL", "0.50", sell, ts=t + 2)
    (pos,) = f.portfolio.positions()
    assert f.portfolio.realised_pnl() == D(10)
    assert pos.size == D(100) - D(sell)
    assert pos.cost_basis_pusd == pos.size * D("0.50")
