"""The what-if run's accounting, and the PnL and drawdown of any run over the window.

Replay re-runs decisions, not the market: the recorded fills are what the venue did under the
recorded decisions. A what-if that trips the kill switch where the recording did not would have
cancelled resting orders and rejected new intents in that trip's scope, so its books drop every
fill of a trade first seen after that trip in scope (later settlement updates of trades matched
before the trip still count). An extra trip stays active to the end of the window, because
nothing disarms by itself and no reset of it was ever recorded. Once a fill has been dropped, the
recorded wallet reads describe a wallet that spent money the what-if did not, so the what-if
books stop taking them and keep the cash their own fills and transfers explain (otherwise the
difference would come back as a bogus adjustment). What-if cannot invent fills: where
the what-if *removes* a recorded trip, its books follow the recording, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytraders.contracts import FillRecord
from polytraders.journal.base import JournalEntry
from polytraders.state.markets import MarketsProjection
from polytraders.state.portfolio import WALLET_BALANCE_CODE, PortfolioProjection

HUNDRED = Decimal(100)


@dataclass
class WhatIfBooks:
    """A second markets + portfolio pair fed the admitted entries, minus halted fills."""

    markets: MarketsProjection = field(default_factory=MarketsProjection)
    portfolio: PortfolioProjection = field(init=False)
    halts: list[tuple[int, str]] = field(default_factory=list)  # (from seq, scope label)
    dropped: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.portfolio = PortfolioProjection(self.markets)

    def halt(self, seq: int, scope: str) -> None:
        self.halts.append((seq, scope))

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if self.dropped and env.kind == "note" and env.reason_code == WALLET_BALANCE_CODE:
            return
        if env.kind == FillRecord.kind:
            trade_id = str(env.payload["trade_id"])
            if trade_id in self.dropped:
                return
            if trade_id not in self.seen:
                self.seen.add(trade_id)
                if any(seq < entry.seq and self._in_scope(scope, env.payload) for seq, scope in self.halts):
                    self.dropped.add(trade_id)
                    return
        self.markets.apply(entry)  # markets first, as the state store orders them
        self.portfolio.apply(entry)

    def _in_scope(self, scope: str, fill: dict[str, Any]) -> bool:
        kind, _, value = scope.partition(":")
        if kind == "market":
            return bool(fill["market_id"] == value)
        if kind == "cluster":
            return self.markets.cluster_of(str(fill["market_id"])) == value
        # global, and scopes by strategy, family or bot: every fill we make comes from the one
        # trading strategy, so all of them stop
        return True


def run_summary(portfolio: PortfolioProjection, start_ms: int, end_ms: int) -> dict[str, Any]:
    """Equity, PnL and the deepest drawdown within [start, end] of one run's books.

    PnL and drawdown use performance equity (equity less deposits, withdrawals and adjustments),
    so money moved in or out is never reported as profit or loss."""
    equity = [(t, v) for t, v in portfolio.equity_curve() if t <= end_ms]
    perf = [(t, v) for t, v in portfolio.performance_curve() if t <= end_ms]
    before = [v for t, v in perf if t < start_ms]
    inside = [v for t, v in perf if t >= start_ms]
    levels = before[-1:] + inside  # the level carried into the window, then every change in it
    if not levels:
        return {"equity_start": None, "equity_end": None, "pnl": None, "max_drawdown_pct": None}
    peak, worst = levels[0], Decimal(0)
    for v in levels:
        peak = max(peak, v)
        if peak > 0:
            worst = max(worst, (peak - v) * HUNDRED / peak)
    eq_before = [v for t, v in equity if t < start_ms]
    eq_inside = [v for t, v in equity if t >= start_ms]
    eq_levels = eq_before[-1:] + eq_inside
    return {"equity_start": _q(eq_levels[0]), "equity_end": _q(eq_levels[-1]),
            "pnl": _q(levels[-1] - levels[0]), "max_drawdown_pct": str(worst.quantize(Decimal("0.01")))}


def _q(v: Decimal) -> str:
    return str(v.quantize(Decimal("0.01")))
