"""risk.market_halt_guard — refuse intents on markets that are not open for trading (spec 1.17).

Purpose: a market that is unknown, halted or resolved, or whose book shows the venue is not
really trading (crossed or locked, one side empty, inside spread past the halt width), gets no
new orders. A wide but still tradeable spread is flagged.
Inputs: OrderIntent; the "markets" projection (MarketSnapshot status, token map, latest book).
Outputs: RiskVote — APPROVE `RISK_APPROVED`; WARNING_ONLY `RISK_SPREAD_WIDE`; REJECT
`RISK_UNKNOWN_MARKET` (unknown market, token not in the market, projection missing: fails
closed) or `RISK_MARKET_HALTED`. A missing book is left to risk.stale_book_guard.
Parameters (default / warning / hard):
  halt_spread   0.30 / 0.40 / 0.60  inside spread (ask - bid, probability points) treated as a halt
  warn_spread   0.10 / 0.20 / 0.30  inside spread that is flagged WARNING_ONLY
Reason codes: RISK_APPROVED, RISK_SPREAD_WIDE, RISK_UNKNOWN_MARKET, RISK_MARKET_HALTED.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from polytraders.bots.risk._common import approve, markets_of, reject, warn
from polytraders.contracts import OrderIntent, RiskVote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer

_CLOSED_STATUSES = frozenset({"halted", "resolved"})


class MarketHaltGuard(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.market_halt_guard"
    version = "0.1.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.PAUSE, Authority.REJECT})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("halt_spread", Decimal("0.30"), Decimal("0.40"), Decimal("0.60"),
              doc="inside spread treated as untradeable"),
        Param("warn_spread", Decimal("0.10"), Decimal("0.20"), Decimal("0.30"),
              doc="inside spread flagged WARNING_ONLY"),
    )
    reason_codes = ("RISK_APPROVED", "RISK_SPREAD_WIDE", "RISK_UNKNOWN_MARKET",
                    "RISK_MARKET_HALTED")

    def on_init(self, config: BotConfig) -> None:
        self._halt = config.num("halt_spread")
        self._warn = min(config.num("warn_spread"), self._halt)

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        gid = self.bot_id
        markets = markets_of(ctx)
        if markets is None:
            return reject(gid, input, "RISK_UNKNOWN_MARKET", missing="markets projection")
        market = markets.market(input.market_id)
        if market is None:
            return reject(gid, input, "RISK_UNKNOWN_MARKET", market_id=input.market_id)
        if input.token_id not in (market.yes_token, market.no_token):
            return reject(gid, input, "RISK_UNKNOWN_MARKET", token_id=input.token_id,
                          market_id=input.market_id)
        if market.status in _CLOSED_STATUSES:
            return reject(gid, input, "RISK_MARKET_HALTED", status=market.status)
        top = markets.top(input.token_id)
        if top is None:
            return approve(gid, input, status=market.status, book="none")
        bid, ask = top.best_bid, top.best_ask
        if bid is None or ask is None:
            return reject(gid, input, "RISK_MARKET_HALTED", book="one-sided",
                          best_bid=bid, best_ask=ask)
        spread = ask - bid
        if spread <= 0:
            return reject(gid, input, "RISK_MARKET_HALTED", book="crossed or locked",
                          spread=spread)
        if spread >= self._halt:
            return reject(gid, input, "RISK_MARKET_HALTED", spread=spread,
                          halt_spread=self._halt)
        if spread >= self._warn:
            return warn(gid, input, "RISK_SPREAD_WIDE", spread=spread, warn_spread=self._warn)
        return approve(gid, input, status=market.status, spread=spread)
