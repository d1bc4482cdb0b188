"""risk.drawdown_guard — the PortfolioGuard (spec 1.1, wired as the drawdown guard).

Purpose: cap aggregate, per-market and per-cluster notional and stop new risk past the intraday
(since 00:00 UTC) or rolling 7-day drawdown limit. It downsizes or rejects; it never changes
direction. Risk-reducing SELLs of held tokens always pass (also while in drawdown). `reduce_only`
is honoured the same way: a BUY cannot reduce a long-only book, so a reduce-only BUY is checked
like any other.
Inputs: OrderIntent; "portfolio" (equity, drawdown, exposure at marks), "markets" (cluster,
min_size).
Outputs: RiskVote — APPROVE `RISK_APPROVED`; WARNING_ONLY `RISK_DRAWDOWN_WARNING` once a
drawdown reaches `drawdown_warning_share_pct` of its limit; RESHAPE_REQUIRED
`RISK_PORTFOLIO_CAP_RESHAPE` (max_size = room left under the tightest cap, when that is at least
the market's min_size); REJECT `RISK_DRAWDOWN_BREACH`, `RISK_PORTFOLIO_LIMIT` (aggregate),
`RISK_MARKET_LIMIT` (per market), `RISK_EXPOSURE_CAP_HIT` (per cluster), `RISK_UNKNOWN_MARKET`,
`RISK_STATE_UNAVAILABLE` (projection missing or no wallet balance yet: fails closed).
Parameters (default / warning / hard):
  max_gross_exposure_pusd     5000 / 20000 / 100000
  max_market_exposure_pusd    1000 /  5000 /  25000
  max_cluster_exposure_pusd   2500 / 10000 /  50000
  max_intraday_drawdown_pct      4 /     5 /     10
  max_weekly_drawdown_pct       10 /    15 /     25
  drawdown_warning_share_pct    75 /    90 /    100  (% of each drawdown limit)
Reason codes: RISK_APPROVED, RISK_DRAWDOWN_WARNING, RISK_PORTFOLIO_CAP_RESHAPE,
RISK_DRAWDOWN_BREACH, RISK_PORTFOLIO_LIMIT, RISK_MARKET_LIMIT, RISK_EXPOSURE_CAP_HIT,
RISK_UNKNOWN_MARKET, RISK_STATE_UNAVAILABLE.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from polytraders.bots.risk._common import (
    approve,
    markets_of,
    portfolio_of,
    reject,
    reshape,
    size_that_fits,
    warn,
)
from polytraders.contracts import OrderIntent, RiskVote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer

ZERO = Decimal(0)
HUNDRED = Decimal(100)
UNKNOWN_CLUSTER = "unknown"


class DrawdownGuard(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.drawdown_guard"
    version = "0.1.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.REJECT, Authority.RESHAPE})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("max_gross_exposure_pusd", Decimal(5000), Decimal(20000), Decimal(100000),
              unit=" pUSD"),
        Param("max_market_exposure_pusd", Decimal(1000), Decimal(5000), Decimal(25000),
              unit=" pUSD"),
        Param("max_cluster_exposure_pusd", Decimal(2500), Decimal(10000), Decimal(50000),
              unit=" pUSD"),
        Param("max_intraday_drawdown_pct", Decimal(4), Decimal(5), Decimal(10), unit="%"),
        Param("max_weekly_drawdown_pct", Decimal(10), Decimal(15), Decimal(25), unit="%"),
        Param("drawdown_warning_share_pct", Decimal(75), Decimal(90), Decimal(100), unit="%"),
    )
    reason_codes = ("RISK_APPROVED", "RISK_DRAWDOWN_WARNING", "RISK_PORTFOLIO_CAP_RESHAPE",
                    "RISK_DRAWDOWN_BREACH", "RISK_PORTFOLIO_LIMIT", "RISK_MARKET_LIMIT",
                    "RISK_EXPOSURE_CAP_HIT", "RISK_UNKNOWN_MARKET", "RISK_STATE_UNAVAILABLE")

    def on_init(self, config: BotConfig) -> None:
        self._cap_gross = config.num("max_gross_exposure_pusd")
        self._cap_market = config.num("max_market_exposure_pusd")
        self._cap_cluster = config.num("max_cluster_exposure_pusd")
        self._dd_day = config.num("max_intraday_drawdown_pct")
        self._dd_week = config.num("max_weekly_drawdown_pct")
        share = config.num("drawdown_warning_share_pct") / HUNDRED
        self._warn_day = self._dd_day * share
        self._warn_week = self._dd_week * share

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        gid = self.bot_id
        portfolio = portfolio_of(ctx)
        markets = markets_of(ctx)
        if portfolio is None or markets is None:
            return reject(gid, input, "RISK_STATE_UNAVAILABLE",
                          missing="portfolio or markets projection")
        now = ctx.now()
        dd_day = portfolio.drawdown_intraday_pct(now)
        dd_week = portfolio.drawdown_weekly_pct(now)
        if dd_day is None or dd_week is None:
            return reject(gid, input, "RISK_STATE_UNAVAILABLE", missing="wallet balance")
        if input.side == "SELL":
            held = portfolio.position_size(input.token_id)
            if ZERO < input.size <= held:
                return approve(gid, input, risk_reducing="true", held=held)
        if dd_day >= self._dd_day:
            return reject(gid, input, "RISK_DRAWDOWN_BREACH", window="intraday",
                          drawdown_pct=dd_day, limit_pct=self._dd_day)
        if dd_week >= self._dd_week:
            return reject(gid, input, "RISK_DRAWDOWN_BREACH", window="weekly",
                          drawdown_pct=dd_week, limit_pct=self._dd_week)
        market = markets.market(input.market_id)
        if market is None:
            return reject(gid, input, "RISK_UNKNOWN_MARKET", market_id=input.market_id)
        room, code = self._room(portfolio.gross_exposure(),
                                portfolio.exposure_by_market().get(input.market_id, ZERO),
                                portfolio.exposure_by_cluster().get(market.cluster, ZERO))
        notional = input.price * input.size
        if notional > room:
            fit = size_that_fits(room, input.price)
            if fit >= market.min_size:
                return reshape(gid, input, "RISK_PORTFOLIO_CAP_RESHAPE", fit,
                               cap_remaining_pusd=room, binding=code)
            return reject(gid, input, code, cap_remaining_pusd=room, notional=notional)
        if dd_day >= self._warn_day or dd_week >= self._warn_week:
            return warn(gid, input, "RISK_DRAWDOWN_WARNING", drawdown_intraday_pct=dd_day,
                        drawdown_weekly_pct=dd_week)
        return approve(gid, input, cap_remaining_pusd=room, notional=notional)

    def _room(self, gross: Decimal, market: Decimal, cluster: Decimal) -> tuple[Decimal, str]:
        """Room under the tightest cap, and the code that names that cap."""
        room, code = self._cap_gross - gross, "RISK_PORTFOLIO_LIMIT"
        market_room = self._cap_market - market
        if market_room < room:
            room, code = market_room, "RISK_MARKET_LIMIT"
        cluster_room = self._cap_cluster - cluster
        if cluster_room < room:
            room, code = cluster_room, "RISK_EXPOSURE_CAP_HIT"
        return room, code
