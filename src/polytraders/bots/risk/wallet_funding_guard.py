"""risk.wallet_funding_guard — never assume funding (spec 5.9, wired in Risk).

Purpose: a BUY must be covered by free pUSD = cash − pUSD reserved by open/in-flight BUY orders
− `min_reserve_pusd`; a SELL must be covered by free shares = held − shares reserved by open
SELL orders. What does not fit is downsized when the fitting size is at least the market's
`min_size`, else rejected. Fees are not added: the reserve is the buffer for them.
Inputs: OrderIntent; "portfolio" (cash from `GOV_WALLET_BALANCE` reads kept current by fills;
positions), "orders" (a `ReservationsView`: reserved_pusd(), reserved_shares(token)),
"markets" (min_size).
Outputs: RiskVote — APPROVE `RISK_APPROVED`; WARNING_ONLY `RISK_WALLET_FUNDING_WARNING` when
cash left after the BUY and reservations is below `warn_reserve_pusd`; RESHAPE_REQUIRED
`RISK_FUNDING_RESHAPE` (max_size); REJECT `RISK_WALLET_FUNDING_SHORT`,
`RISK_INSUFFICIENT_SHARES`, `RISK_UNKNOWN_MARKET`, or `RISK_STATE_UNAVAILABLE` when a projection
is missing or no wallet balance was ever read (fails closed).
Parameters (default / warning / hard; floors, smaller is riskier):
  min_reserve_pusd   50 / 10 / 0    pUSD never committed
  warn_reserve_pusd 200 / 100 / 0   cash left below this ⇒ WARNING_ONLY
Reason codes: RISK_APPROVED, RISK_WALLET_FUNDING_WARNING, RISK_FUNDING_RESHAPE,
RISK_WALLET_FUNDING_SHORT, RISK_INSUFFICIENT_SHARES, RISK_UNKNOWN_MARKET, RISK_STATE_UNAVAILABLE.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from polytraders.bots.risk._common import (
    approve,
    markets_of,
    portfolio_of,
    reject,
    reservations_of,
    reshape,
    size_floor,
    size_that_fits,
    warn,
)
from polytraders.contracts import OrderIntent, RiskVote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer


class WalletFundingGuard(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.wallet_funding_guard"
    version = "0.1.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.REJECT, Authority.RESHAPE})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("min_reserve_pusd", Decimal(50), Decimal(10), Decimal(0), direction="min",
              unit=" pUSD"),
        Param("warn_reserve_pusd", Decimal(200), Decimal(100), Decimal(0), direction="min",
              unit=" pUSD"),
    )
    reason_codes = ("RISK_APPROVED", "RISK_WALLET_FUNDING_WARNING", "RISK_FUNDING_RESHAPE",
                    "RISK_WALLET_FUNDING_SHORT", "RISK_INSUFFICIENT_SHARES",
                    "RISK_UNKNOWN_MARKET", "RISK_STATE_UNAVAILABLE")

    def on_init(self, config: BotConfig) -> None:
        self._min_reserve = config.num("min_reserve_pusd")
        self._warn_reserve = max(config.num("warn_reserve_pusd"), self._min_reserve)

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        gid = self.bot_id
        portfolio = portfolio_of(ctx)
        orders = reservations_of(ctx)
        markets = markets_of(ctx)
        if portfolio is None or orders is None or markets is None:
            return reject(gid, input, "RISK_STATE_UNAVAILABLE",
                          missing="portfolio, orders or markets projection")
        market = markets.market(input.market_id)
        if market is None:
            return reject(gid, input, "RISK_UNKNOWN_MARKET", market_id=input.market_id)
        if input.side == "SELL":
            held = portfolio.position_size(input.token_id)
            free_shares = held - orders.reserved_shares(input.token_id)
            if input.size <= free_shares:
                return approve(gid, input, free_shares=free_shares)
            fit = size_floor(free_shares)
            if fit >= market.min_size:
                return reshape(gid, input, "RISK_FUNDING_RESHAPE", fit, free_shares=free_shares)
            return reject(gid, input, "RISK_INSUFFICIENT_SHARES", held=held,
                          free_shares=free_shares)
        cash = portfolio.cash_pusd()
        if cash is None:
            return reject(gid, input, "RISK_STATE_UNAVAILABLE", missing="wallet balance")
        reserved = orders.reserved_pusd()
        free = cash - reserved - self._min_reserve
        notional = input.price * input.size
        if notional > free:
            fit = size_that_fits(free, input.price)
            if fit >= market.min_size:
                return reshape(gid, input, "RISK_FUNDING_RESHAPE", fit, free_pusd=free,
                               notional=notional)
            return reject(gid, input, "RISK_WALLET_FUNDING_SHORT", cash=cash, reserved=reserved,
                          free_pusd=free, notional=notional)
        left = cash - reserved - notional
        if left < self._warn_reserve:
            return warn(gid, input, "RISK_WALLET_FUNDING_WARNING", left_pusd=left,
                        warn_reserve_pusd=self._warn_reserve)
        return approve(gid, input, free_pusd=free, notional=notional)
