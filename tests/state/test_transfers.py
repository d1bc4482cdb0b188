"""Deposits and withdrawals are explicit transfers: they move equity, never PnL or drawdown, and
the accounting identity holds after every entry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import D, Feeder

from polytraders.contracts import Transfer
from polytraders.state.markets import MarketsProjection
from polytraders.state.portfolio import PortfolioProjection, add_accounting
from polytraders.state.store import StateStore


def transfer(f: Feeder, direction: str, amount: str, *, ts: int) -> None:
    code = "GOV_WALLET_DEPOSIT" if direction == "deposit" else "GOV_WALLET_WITHDRAWAL"
    f._apply(Transfer(direction=direction, amount_pusd=D(amount)), code, ts)  # type: ignore[arg-type]


def identity_gap(pf: PortfolioProjection) -> Decimal:
    b = pf.accounting()
    assert b is not None
    return b["equity"] - (b["initial"] + b["deposits"] - b["withdrawals"] + b["adjustments"]
                          + b["realised"] + b["unrealised"])


def test_a_withdrawal_moves_equity_but_not_drawdown_or_pnl(feed: Feeder) -> None:
    f, t = feed, feed.T0
    pf = f.portfolio
    f.market()
    f.wallet("10000", ts=t)
    f.fill("B", "BUY", "0.50", "1000", ts=t + 1)
    f.book(f.YES1, "0.49", "0.51", ts=t + 2)
    f.book(f.YES1, "0.47", "0.49", ts=t + 3)  # a real 20 pUSD loss
    dd_before = pf.drawdown_intraday_pct(t + 4)
    assert dd_before is not None and dd_before > 0
    pnl_before = pf.realised_pnl() + pf.unrealised_pnl()
    transfer(f, "withdrawal", "9400", ts=t + 5)
    f.wallet("100", ts=t + 6)  # agrees with the books: 10000 - 500 - 9400
    assert pf.equity() == D("580")
    assert pf.drawdown_intraday_pct(t + 7) == dd_before
    assert pf.drawdown_weekly_pct(t + 7) == dd_before
    assert pf.realised_pnl() + pf.unrealised_pnl() == pnl_before
    books = pf.accounting()
    assert books is not None
    assert (books["withdrawals"], books["adjustments"], books["initial"]) == (D(9400), 0, D(10000))
    assert identity_gap(pf) == 0
    transfer(f, "deposit", "9400", ts=t + 8)
    assert pf.equity() == D("9980") and pf.drawdown_intraday_pct(t + 9) == dd_before
    assert identity_gap(pf) == 0


def test_an_unexplained_read_is_an_adjustment_and_the_identity_still_holds(feed: Feeder) -> None:
    f, t = feed, feed.T0
    pf = f.portfolio
    f.market()
    f.fill("A", "BUY", "0.40", "10", ts=t)  # a fill before the first read
    f.wallet("1000", ts=t + 1)
    books = pf.accounting()
    assert books is not None and books["initial"] == D(1004)  # the read already paid for the fill
    f.fill("B", "SELL", "0.45", "10", ts=t + 2, fee="0.01")
    f.wallet("990", ts=t + 3)  # 1000 + 4.5 - 0.01 explained; the rest went somewhere unjournaled
    books = pf.accounting()
    assert books is not None and books["adjustments"] == D("-14.49")
    assert pf.realised_pnl() == D("0.49")
    assert identity_gap(pf) == 0
    assert pf.drawdown_intraday_pct(t + 4) == 0  # the adjustment is an external flow


@pytest.mark.parametrize("restart_at", [3, 6, 9])
def test_flows_survive_a_checkpoint(feed: Feeder, restart_at: int) -> None:
    f, t = feed, feed.T0
    f.market()
    f.wallet("1000", ts=t)
    f.fill("B", "BUY", "0.50", "100", ts=t + 1)
    f.book(f.YES1, "0.45", "0.47", ts=t + 2)
    transfer(f, "withdrawal", "500", ts=t + 3)
    f.wallet("400", ts=t + 4)
    f.wallet("390", ts=t + 5)
    transfer(f, "deposit", "60", ts=t + 6)
    f.book(f.YES1, "0.40", "0.42", ts=t + 7)
    f.wallet("450", ts=t + 8)
    # rebuild from a checkpoint taken after `restart_at` entries, then fold the tail
    first = StateStore()
    m1, pf1 = add_accounting(first)
    for e in f.entries[:restart_at]:
        first.apply(e)
    m2 = MarketsProjection()
    pf2 = PortfolioProjection(m2)
    m2.restore(m1.snapshot())
    pf2.restore(pf1.snapshot())
    for e in f.entries[restart_at:]:
        m2.apply(e)  # markets first, as the store orders them
        pf2.apply(e)
    assert pf2.accounting() == f.portfolio.accounting()
    assert pf2.drawdown_intraday_pct(t + 9) == f.portfolio.drawdown_intraday_pct(t + 9)
    assert pf2.performance_curve() == f.portfolio.performance_curve()
