"""risk.exposure_guard — keep any one strategy or cluster from dominating the book.

Purpose: after the intent, a strategy's exposure and the intent's cluster exposure must each
stay within a share of equity; from `near_cap_pct` of a cap the vote warns. SELLs of held
tokens reduce exposure and pass.
Inputs: OrderIntent; "portfolio" (equity; exposure by strategy, attributed through the order
records, and by cluster, at marks); "markets" (cluster).
Outputs: RiskVote — APPROVE `RISK_APPROVED`; WARNING_ONLY `RISK_STRATEGY_CAP_NEAR`; REJECT
`RISK_EXPOSURE_CAP_HIT` (also when equity is not positive), `RISK_UNKNOWN_MARKET`,
`RISK_STATE_UNAVAILABLE` (projection missing or no wallet balance yet: fails closed).
Parameters (default / warning / hard; % of equity):
  max_strategy_share_pct  25 / 40 / 100
  max_cluster_share_pct   35 / 50 / 100
  near_cap_pct            80 / 90 / 100  (% of each cap where the warning band starts)
Reason codes: RISK_APPROVED, RISK_STRATEGY_CAP_NEAR, RISK_EXPOSURE_CAP_HIT, RISK_UNKNOWN_MARKET,
RISK_STATE_UNAVAILABLE.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from polytraders.bots.risk._common import approve, markets_of, portfolio_of, reject, warn
from polytraders.contracts import OrderIntent, RiskVote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class ExposureGuard(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.exposure_guard"
    version = "0.1.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.PAUSE, Authority.REJECT})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("max_strategy_share_pct", Decimal(25), Decimal(40), Decimal(100), unit="%"),
        Param("max_cluster_share_pct", Decimal(35), Decimal(50), Decimal(100), unit="%"),
        Param("near_cap_pct", Decimal(80), Decimal(90), Decimal(100), unit="%"),
    )
    reason_codes = ("RISK_APPROVED", "RISK_STRATEGY_CAP_NEAR", "RISK_EXPOSURE_CAP_HIT",
                    "RISK_UNKNOWN_MARKET", "RISK_STATE_UNAVAILABLE")

    def on_init(self, config: BotConfig) -> None:
        self._max_strategy = config.num("max_strategy_share_pct")
        self._max_cluster = config.num("max_cluster_share_pct")
        near = config.num("near_cap_pct") / HUNDRED
        self._near_strategy = self._max_strategy * near
        self._near_cluster = self._max_cluster * near

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        gid = self.bot_id
        portfolio = portfolio_of(ctx)
        markets = markets_of(ctx)
        if portfolio is None or markets is None:
            return reject(gid, input, "RISK_STATE_UNAVAILABLE",
                          missing="portfolio or markets projection")
        equity = portfolio.equity()
        if equity is None:
            return reject(gid, input, "RISK_STATE_UNAVAILABLE", missing="wallet balance")
        if input.side == "SELL" and ZERO < input.size <= portfolio.position_size(input.token_id):
            return approve(gid, input, risk_reducing="true")
        cluster = markets.cluster_of(input.market_id)
        if cluster is None:
            return reject(gid, input, "RISK_UNKNOWN_MARKET", market_id=input.market_id)
        if equity <= 0:
            return reject(gid, input, "RISK_EXPOSURE_CAP_HIT", equity=equity)
        notional = input.price * input.size
        strategy_after = portfolio.exposure_by_strategy().get(input.strategy_id, ZERO) + notional
        cluster_after = portfolio.exposure_by_cluster().get(cluster, ZERO) + notional
        # compare as products, so no division sits in the hot path
        s100, c100 = strategy_after * HUNDRED, cluster_after * HUNDRED
        if s100 > self._max_strategy * equity:
            return reject(gid, input, "RISK_EXPOSURE_CAP_HIT", scope="strategy",
                          exposure_after=strategy_after, equity=equity,
                          cap_pct=self._max_strategy)
        if c100 > self._max_cluster * equity:
            return reject(gid, input, "RISK_EXPOSURE_CAP_HIT", scope="cluster", cluster=cluster,
                          exposure_after=cluster_after, equity=equity, cap_pct=self._max_cluster)
        if s100 >= self._near_strategy * equity or c100 >= self._near_cluster * equity:
            return warn(gid, input, "RISK_STRATEGY_CAP_NEAR", strategy_after=strategy_after,
                        cluster_after=cluster_after, equity=equity)
        return approve(gid, input, strategy_after=strategy_after, cluster_after=cluster_after)
