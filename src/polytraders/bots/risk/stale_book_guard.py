"""risk.stale_book_guard — never trade on a book we cannot prove is fresh (spec 1.18).

Purpose: the intent's token must have a book no older than `max_orderbook_age_ms`, measured from
the book's own timestamp to `ctx.now()`. A book stamped further in the future than
`max_clock_skew_ms` is not trusted either (a skewed clock cannot prove freshness).
Inputs: OrderIntent; the "markets" projection (latest book per token).
Outputs: RiskVote — APPROVE `RISK_APPROVED`; WARNING_ONLY `RISK_BOOK_AGE_WARNING` when the age is
past `warn_orderbook_age_ms`; REJECT `RISK_STALE_BOOK` when missing, too old, from the future, or
the projection is missing (fails closed).
Parameters (default / warning / hard):
  max_orderbook_age_ms   3000 / 5000 / 15000  older ⇒ REJECT
  warn_orderbook_age_ms  2500 / 3000 / 15000  older ⇒ WARNING_ONLY (the sim feed beats every 2 s)
  max_clock_skew_ms       500 / 1000 / 5000   book ts further ahead of now ⇒ REJECT
Reason codes: RISK_APPROVED, RISK_BOOK_AGE_WARNING, RISK_STALE_BOOK.
"""

from __future__ import annotations

from typing import ClassVar

from polytraders.bots.risk._common import approve, markets_of, reject, warn
from polytraders.contracts import OrderIntent, RiskVote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer


class StaleBookGuard(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.stale_book_guard"
    version = "0.1.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.PAUSE, Authority.REJECT})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("max_orderbook_age_ms", 3000, 5000, 15000, unit="ms"),
        Param("warn_orderbook_age_ms", 2500, 3000, 15000, unit="ms"),
        Param("max_clock_skew_ms", 500, 1000, 5000, unit="ms"),
    )
    reason_codes = ("RISK_APPROVED", "RISK_BOOK_AGE_WARNING", "RISK_STALE_BOOK")

    def on_init(self, config: BotConfig) -> None:
        self._max_age = config.integer("max_orderbook_age_ms")
        self._warn_age = min(config.integer("warn_orderbook_age_ms"), self._max_age)
        self._skew = config.integer("max_clock_skew_ms")

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        gid = self.bot_id
        markets = markets_of(ctx)
        if markets is None:
            return reject(gid, input, "RISK_STALE_BOOK", missing="markets projection")
        age = markets.book_age_ms(input.token_id, ctx.now())
        if age is None:
            return reject(gid, input, "RISK_STALE_BOOK", book="missing")
        if age < -self._skew:
            return reject(gid, input, "RISK_STALE_BOOK", age_ms=age, max_clock_skew_ms=self._skew)
        if age > self._max_age:
            return reject(gid, input, "RISK_STALE_BOOK", age_ms=age,
                          max_orderbook_age_ms=self._max_age)
        if age > self._warn_age:
            return warn(gid, input, "RISK_BOOK_AGE_WARNING", age_ms=age,
                        warn_orderbook_age_ms=self._warn_age)
        return approve(gid, input, age_ms=age)
