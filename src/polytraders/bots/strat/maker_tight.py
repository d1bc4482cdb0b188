"""strat.maker_tight — post-only quotes a few ticks either side of the YES mid, inventory-aware.

Purpose: provide liquidity on a binary market's YES token: one resting post-only quote per side,
`half_spread_ticks` from the mid, skewed away from the side that would grow an already large
position, and withdrawn on a side once inventory reaches its declared limit.
Inputs:  `QuoteRequest(market, book, side, position_size, open_quote)` — the pipeline calls
         decide twice per market (BUY, then SELL) so each call yields exactly one envelope.
         `book` is the YES token's book; `position_size` the YES shares held; `open_quote`
         the (price, size) of our resting quote on that side, if any.
Outputs: `OrderIntent` (order_type POST_ONLY, i.e. GTC post-only at the venue; intent_id
         `oi_` + sha256(market:side:now)) or no output with a STRAT_* code.
Risk envelope (declared, see `risk_envelope()`): at most `max_inventory_shares` YES shares held
(long-only: SELL quotes never exceed the shares held), quotes of `quote_size_shares`, never
crossing the book.
Parameters (default / warning / hard):
  quote_size_shares        shares      50 /   500 /   5000   (max)
  half_spread_ticks        ticks        3 /     2 /      1   (min: tighter is riskier)
  max_inventory_shares     shares     500 /  2000 /  10000   (max)
  min_spread_ticks         ticks        3 /     2 /      1   (min: quote only wider books)
  requote_threshold_ticks  ticks        2 /     5 /     20   (max: staler quotes tolerated)
  inventory_skew_ticks     ticks        2 /     5 /     10   (max: skew at full inventory)
  max_book_age_ms          ms        5000 / 15000 /  60000   (max)
  intent_ttl_ms            ms       10000 / 60000 / 300000   (max)
Reason codes: STRAT_EDGE_DETECTED (new quote), STRAT_QUOTE_REFRESHED (moved a resting quote),
STRAT_NO_EDGE (book missing/stale/one-sided/too narrow, market not open, quote still within the
requote threshold), STRAT_INVENTORY_LIMIT (side withdrawn at the inventory limit or floor),
STRAT_HALTED (kill switch tripped: any trip halts quoting everywhere, except a market-scoped
trip, which halts quoting in its own market only).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any, ClassVar, Final, Literal

from polytraders.contracts import MarketSnapshot, OrderBookSnapshot, OrderIntent
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer

__all__ = ["MakerTight", "QuoteRequest", "quote_ids"]

_SIZE_QUANTUM: Final = Decimal("0.01")
_ONE: Final = Decimal(1)
_ID_OK: Final = re.compile(r"^[A-Za-z0-9_:\-]{8,80}$")


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """One side of one market to quote."""

    market: MarketSnapshot
    book: OrderBookSnapshot | None
    side: Literal["BUY", "SELL"]
    position_size: Decimal
    open_quote: tuple[Decimal, Decimal] | None = None


def quote_ids(market_id: str, side: str, now_ms: int) -> tuple[str, str]:
    """(intent_id, correlation_id) for a quote; the pipeline can compute them in advance."""
    h = hashlib.sha256(f"{market_id}:{side}:{now_ms}".encode()).hexdigest()
    return "oi_" + h[:32], "oc_" + h[32:56]


class MakerTight(Bot[QuoteRequest, OrderIntent]):
    bot_id: ClassVar[str] = "strat.maker_tight"
    version: ClassVar[str] = "0.1.0"
    layer: ClassVar[Layer] = Layer.STRATEGY
    bot_class: ClassVar[str] = "Alpha Strategy"
    authority: ClassVar[frozenset[Authority]] = frozenset({Authority.TRADE})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("quote_size_shares", Decimal(50), Decimal(500), Decimal(5000), unit=" shares"),
        Param("half_spread_ticks", 3, 2, 1, direction="min"),
        Param("max_inventory_shares", Decimal(500), Decimal(2000), Decimal(10000),
              unit=" shares"),
        Param("min_spread_ticks", 3, 2, 1, direction="min"),
        Param("requote_threshold_ticks", 2, 5, 20),
        Param("inventory_skew_ticks", 2, 5, 10),
        Param("max_book_age_ms", 5000, 15000, 60000, unit=" ms"),
        Param("intent_ttl_ms", 10000, 60000, 300000, unit=" ms"),
    )
    reason_codes: ClassVar[tuple[str, ...]] = (
        "STRAT_EDGE_DETECTED", "STRAT_QUOTE_REFRESHED", "STRAT_NO_EDGE",
        "STRAT_INVENTORY_LIMIT", "STRAT_HALTED",
    )
    #: The class rules ask a strategy to declare itself at startup; this is that declaration.
    DECLARATION: ClassVar[dict[str, str]] = {
        "hypothesis": "Resting two-sided liquidity near the mid earns the spread when flow is "
                      "balanced; inventory skew keeps exposure bounded when it is not.",
        "eligibility": "Open binary markets whose YES book is two-sided, fresh and at least "
                       "min_spread_ticks wide.",
        "signals": "YES token order book (best bid/ask), own position, own resting quotes.",
        "entry": "Post-only quote half_spread_ticks from the mid, shifted by inventory skew.",
        "exit": "SELL quotes against held shares; quotes move when the price drifts past "
                "requote_threshold_ticks.",
        "sizing": "quote_size_shares per quote, capped by remaining inventory room.",
        "stops_working": "Books narrower than min_spread_ticks, one-sided or stale books, or "
                         "persistent one-way fills pinning inventory at its limit; any of these "
                         "for a sustained period triggers shadow re-validation.",
    }

    def __init__(self) -> None:
        super().__init__()
        self._p: dict[str, Decimal] = {}

    def on_init(self, config: BotConfig) -> None:
        self._p = {spec.name: config.num(spec.name) for spec in self.params}

    def risk_envelope(self) -> dict[str, str]:
        """The limits this strategy promises to stay within (declared to Risk at startup)."""
        p = self._p
        return {
            "max_inventory_shares": str(p["max_inventory_shares"]),
            "quote_size_shares": str(p["quote_size_shares"]),
            "order_type": "POST_ONLY",
            "short_selling": "never",
        }

    def decide(self, input: QuoteRequest, ctx: BotContext) -> Decision[OrderIntent]:
        p = self._p
        market, book, side = input.market, input.book, input.side
        now = ctx.now()
        base: dict[str, Any] = {"market_id": market.market_id, "side": side}

        def skip(code: str, why: str, **extra: str) -> Decision[OrderIntent]:
            return Decision(None, code, {**base, "why": why, **extra})

        if _halted(ctx, market.market_id):
            return skip("STRAT_HALTED", "kill_switch_tripped")
        if market.status != "open":
            return skip("STRAT_NO_EDGE", "market_not_open")
        if book is None:
            return skip("STRAT_NO_EDGE", "book_missing")
        if book.token_id != market.yes_token or book.tick != market.tick:
            return skip("STRAT_NO_EDGE", "book_mismatch")
        if now - book.ts_ms > p["max_book_age_ms"]:
            return skip("STRAT_NO_EDGE", "book_stale", age_ms=str(now - book.ts_ms))
        bid, ask = book.best_bid, book.best_ask
        if bid is None or ask is None:
            return skip("STRAT_NO_EDGE", "book_one_sided")
        tick = market.tick
        spread_ticks = (ask - bid) / tick
        if spread_ticks < p["min_spread_ticks"]:
            return skip("STRAT_NO_EDGE", "spread_too_narrow", spread_ticks=str(spread_ticks))

        # -- size within the declared inventory envelope ------------------------------------------
        position = input.position_size
        max_inv = p["max_inventory_shares"]
        if side == "BUY":
            room = max_inv - position
            if room <= 0:
                return skip("STRAT_INVENTORY_LIMIT", "at_max_inventory", position=str(position))
        else:
            room = position  # long-only: never sell shares we do not hold
            if room <= 0:
                return skip("STRAT_INVENTORY_LIMIT", "no_inventory_to_sell",
                            position=str(position))
        size = min(p["quote_size_shares"], room).quantize(_SIZE_QUANTUM, rounding=ROUND_DOWN)
        if size < market.min_size:
            return skip("STRAT_INVENTORY_LIMIT", "room_below_min_size", room=str(room))

        # -- price: mid -/+ half spread, skewed by inventory, never crossing ----------------------
        mid = (bid + ask) / 2
        skew_cap = p["inventory_skew_ticks"]
        ratio = max(-_ONE, min(_ONE, position / max_inv))
        skew = (skew_cap * ratio).to_integral_value(rounding=ROUND_DOWN)
        half = p["half_spread_ticks"]
        if side == "BUY":
            raw = mid - (half + skew) * tick
            price = (raw / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
            price = min(price, ask - tick)
        else:
            raw = mid + (half - skew) * tick
            price = (raw / tick).to_integral_value(rounding=ROUND_CEILING) * tick
            price = max(price, bid + tick)
        if price < tick or price > _ONE - tick:
            return skip("STRAT_NO_EDGE", "price_out_of_range", price=str(price))

        # -- requote discipline: leave a quote alone until it is far enough off ------------------
        code = "STRAT_EDGE_DETECTED"
        if input.open_quote is not None:
            open_price = input.open_quote[0]
            if abs(price - open_price) < p["requote_threshold_ticks"] * tick:
                return skip("STRAT_NO_EDGE", "quote_within_threshold",
                            open_price=str(open_price), target=str(price))
            code = "STRAT_QUOTE_REFRESHED"

        intent_id, derived_corr = quote_ids(market.market_id, side, now)
        corr = ctx.correlation_id
        intent = OrderIntent(
            intent_id=intent_id,
            correlation_id=corr if corr is not None and _ID_OK.match(corr) else derived_corr,
            strategy_id=self.bot_id, market_id=market.market_id, token_id=market.yes_token,
            outcome="YES", side=side, order_type="POST_ONLY", price=price, size=size,
            emitted_at_ms=now, expires_at_ms=now + int(p["intent_ttl_ms"]),
        )
        return Decision(intent, code, {**base, "price": str(price), "size": str(size),
                                       "skew_ticks": str(skew)})


def _halted(ctx: BotContext, market_id: str) -> bool:
    """Wider trips keep their old effect (stop quoting everywhere); a market trip is about bad
    data from one market, so the other markets keep trading (the kill switch still rejects)."""
    return any(t.scope != "market" or t.scope_value == market_id for t in ctx.kill_switch.active.values())
