"""exec.smart_router — turn a Risk-approved OrderIntent into an ExecutionPlan.

Purpose: choose the venue order type, put the price on the market tick (never worse for us),
apply Risk's RESHAPE constraints, optionally slice a large order into iceberg children, and give
every child a client order id derived from the intent (a resubmission after a crash maps to the
same ids, so the venue or the lifecycle manager can suppress the duplicate).

Inputs:  `RouteRequest(intent, constraints, market, book)`; `constraints` are the
         `RiskConstraints` of every RESHAPE_REQUIRED vote (possibly none).
Outputs: `ExecutionPlan` (plan_id `pl_` + 24 hex of sha256(intent_id + ":plan")), or no output
         with an EXEC_BAD_* code and a Note naming the offending field.

Order-type map (intent -> venue): LIMIT/GTC -> GTC; GTD -> GTD (child expires at
now + time_in_force_s; the signer adds the venue's 60 s security threshold to the wire
expiration); FOK -> FOK; IOC/MARKET -> FAK; POST_ONLY -> GTC post-only.

What it may reshape: size (down only: the smallest `max_size` of all constraints, then 2 dp),
price (BUY snaps down / SELL snaps up to the tick; clamped into [min_price, max_price]; post-only
orders are pulled back so they do not cross the book; marketable orders are capped at
`max_slippage_bps` beyond the touch), type (passive_only -> post-only GTC, or GTD kept as GTD).
What it never does: flip BUY/SELL, raise the size, loosen any constraint, or decide how much may
be closed (that is the close-only guard's job; the router refuses a reduce-only/close-only BUY
because an outcome token position is long-only and a BUY can only add to it).

Parameters (default / warning / hard):
  max_child_size     shares  5000 / 20000 / 100000   iceberg child size; larger = more impact
  max_children       count     10 /    25 /     50   cap on slices per intent
  max_slippage_bps   bps       50 /   200 /   1000   cap on a marketable order's price beyond touch

Reason codes: EXEC_PLAN_CREATED, EXEC_PLAN_RESHAPED (a Risk constraint changed the plan),
EXEC_BAD_INTENT (market/book missing or mismatched, intent expired, reduce-only BUY),
EXEC_BAD_PRICE (outside [tick, 1 - tick] after shaping, or contradictory price bounds),
EXEC_BAD_SIZE (not positive or below the market minimum after shaping),
EXEC_BAD_TIF (order type the venue cannot express).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import ClassVar, Final

from polytraders.contracts import (
    ExecutionPlan,
    MarketSnapshot,
    OrderBookSnapshot,
    OrderIntent,
    RiskConstraints,
)
from polytraders.contracts.orders import VenueOrderType, execution_plan, planned_order
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer
from polytraders.signing.amounts import MIN_MARKETABLE_NOTIONAL as _MIN_MARKETABLE
from polytraders.signing.amounts import marketable_size

__all__ = [
    "ORDER_TYPE_MAP",
    "RouteRequest",
    "SmartRouter",
    "client_order_id",
    "plan_id_for",
    "snap_price",
]

#: intent order type -> (venue order type, post_only). Data, not branches.
ORDER_TYPE_MAP: Final[dict[str, tuple[VenueOrderType, bool]]] = {
    "LIMIT": ("GTC", False),
    "GTC": ("GTC", False),
    "GTD": ("GTD", False),
    "FOK": ("FOK", False),
    "IOC": ("FAK", False),
    "MARKET": ("FAK", False),
    "POST_ONLY": ("GTC", True),
}
_MARKETABLE: Final = frozenset({"FOK", "FAK"})
# Slicing a FOK would break its all-or-nothing promise, so only these are sliced.
_SLICEABLE: Final = frozenset({"GTC", "GTD", "FAK"})
_SIZE_QUANTUM: Final = Decimal("0.01")  # the CLOB rounds sizes down to 2 dp for every tick
_BPS: Final = Decimal(10_000)
_ONE: Final = Decimal(1)
_ZERO_FEES: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """Everything the router looks at for one intent."""

    intent: OrderIntent
    constraints: tuple[RiskConstraints, ...] = ()
    market: MarketSnapshot | None = None
    book: OrderBookSnapshot | None = None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def client_order_id(intent_id: str, index: int) -> str:
    """Deterministic child id: the same intent and slice always map to the same id."""
    return "co_" + _digest(f"{intent_id}:{index}")[:24]


def plan_id_for(intent_id: str) -> str:
    return "pl_" + _digest(f"{intent_id}:plan")[:24]


def snap_price(price: Decimal, tick: Decimal, side: str) -> Decimal:
    """Put `price` on the tick grid in our favour: BUY rounds down, SELL rounds up."""
    rounding = ROUND_FLOOR if side == "BUY" else ROUND_CEILING
    return (price / tick).to_integral_value(rounding=rounding) * tick


def _bad(code: str, field: str, why: str, intent_id: str) -> Decision[ExecutionPlan]:
    return Decision(None, code, {"field": field, "why": why, "intent_id": intent_id})


class SmartRouter(Bot[RouteRequest, ExecutionPlan]):
    bot_id: ClassVar[str] = "exec.smart_router"
    version: ClassVar[str] = "0.1.0"
    layer: ClassVar[Layer] = Layer.EXECUTION
    bot_class: ClassVar[str] = "Execution Utility"
    authority: ClassVar[frozenset[Authority]] = frozenset({Authority.RESHAPE})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("max_child_size", Decimal(5000), Decimal(20000), Decimal(100000), unit=" shares",
              doc="Iceberg child size; an order larger than this is sliced."),
        Param("max_children", 10, 25, 50, doc="Most slices one intent may become."),
        Param("max_slippage_bps", 50, 200, 1000, unit=" bps",
              doc="How far beyond the touch a marketable order's limit may reach."),
    )
    reason_codes: ClassVar[tuple[str, ...]] = (
        "EXEC_PLAN_CREATED", "EXEC_PLAN_RESHAPED", "EXEC_BAD_INTENT", "EXEC_BAD_PRICE",
        "EXEC_BAD_SIZE", "EXEC_BAD_TIF",
    )

    def __init__(self) -> None:
        super().__init__()
        self._max_child = Decimal(5000)
        self._max_children = 10
        self._max_slip = Decimal(50)

    def on_init(self, config: BotConfig) -> None:
        # Read once: decide() is on the hot path and must not re-parse config.
        self._max_child = config.num("max_child_size")
        self._max_children = config.integer("max_children")
        self._max_slip = config.num("max_slippage_bps")

    def decide(self, input: RouteRequest, ctx: BotContext) -> Decision[ExecutionPlan]:
        intent = input.intent
        iid = intent.intent_id
        market = input.market
        now = ctx.now()

        # -- the market and book must be the intent's, or we do not know the tick --------------
        if market is None:
            return _bad("EXEC_BAD_INTENT", "market", "market snapshot missing", iid)
        if market.market_id != intent.market_id:
            return _bad("EXEC_BAD_INTENT", "market_id", "intent market differs from snapshot", iid)
        expected_token = market.yes_token if intent.outcome == "YES" else market.no_token
        if intent.token_id != expected_token:
            return _bad("EXEC_BAD_INTENT", "token_id", "token is not the market's outcome token",
                        iid)
        if market.status != "open":
            return _bad("EXEC_BAD_INTENT", "market.status", f"market is {market.status}", iid)
        tick = market.tick
        book = input.book
        if book is not None and (book.token_id != intent.token_id
                                 or book.market_id != intent.market_id):
            return _bad("EXEC_BAD_INTENT", "book", "book is for another token", iid)
        if book is not None and book.tick != tick:
            return _bad("EXEC_BAD_INTENT", "book.tick", "book and market disagree on the tick",
                        iid)
        if intent.expires_at_ms is not None and intent.expires_at_ms <= now:
            return _bad("EXEC_BAD_INTENT", "expires_at_ms", "intent expired before routing", iid)

        # -- order type -------------------------------------------------------------------------
        mapped = ORDER_TYPE_MAP.get(intent.order_type)
        if mapped is None:
            return _bad("EXEC_BAD_TIF", "order_type", f"unsupported {intent.order_type}", iid)
        venue_type, post_only = mapped
        side = intent.side

        # -- merge Risk constraints (tightest wins; they can only narrow) -----------------------
        cap: Decimal | None = None
        max_price: Decimal | None = None
        min_price: Decimal | None = None
        passive = close_only = False
        for c in input.constraints:
            if c.max_size is not None:
                cap = c.max_size if cap is None else min(cap, c.max_size)
            if c.max_price is not None:
                max_price = c.max_price if max_price is None else min(max_price, c.max_price)
            if c.min_price is not None:
                min_price = c.min_price if min_price is None else max(min_price, c.min_price)
            passive = passive or c.passive_only
            close_only = close_only or c.close_only
        applied: list[str] = []
        reshaped = False

        if (intent.reduce_only or close_only) and side == "BUY":
            return _bad("EXEC_BAD_INTENT", "side", "a reduce-only/close-only order must SELL", iid)
        if close_only:
            applied.append("close_only")

        if passive and not post_only:
            # GTD may keep its expiry: the venue accepts post-only on GTC and GTD.
            venue_type = "GTD" if venue_type == "GTD" else "GTC"
            post_only = True
            applied.append("passive_only")
            reshaped = True
        elif passive:
            applied.append("passive_only")

        # -- size: never up --------------------------------------------------------------------
        size = intent.size
        if cap is not None and cap < size:
            size = cap
            applied.append("max_size")
            reshaped = True
        size = size.quantize(_SIZE_QUANTUM, rounding=ROUND_DOWN)
        if size <= 0:
            return _bad("EXEC_BAD_SIZE", "size", "size rounds to zero", iid)
        if size < market.min_size:
            return _bad("EXEC_BAD_SIZE", "size", f"{size} below market minimum {market.min_size}",
                        iid)

        # -- price: tick, Risk bounds, book -----------------------------------------------------
        if max_price is not None and min_price is not None and min_price > max_price:
            return _bad("EXEC_BAD_PRICE", "constraints", "min_price above max_price", iid)
        price = snap_price(intent.price, tick, side)
        if price != intent.price:
            applied.append("tick_snap")
        if max_price is not None and price > max_price:
            price = (max_price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
            applied.append("max_price")
            reshaped = True
        if min_price is not None and price < min_price:
            price = (min_price / tick).to_integral_value(rounding=ROUND_CEILING) * tick
            applied.append("min_price")
            reshaped = True
        slippage_bps = 0
        if book is not None:
            if post_only:
                # A crossing post-only order is rejected by the venue; step back one tick.
                best_ask, best_bid = book.best_ask, book.best_bid
                if side == "BUY" and best_ask is not None and price >= best_ask:
                    price = best_ask - tick
                    applied.append("no_cross")
                elif side == "SELL" and best_bid is not None and price <= best_bid:
                    price = best_bid + tick
                    applied.append("no_cross")
            elif venue_type in _MARKETABLE:
                touch = book.best_ask if side == "BUY" else book.best_bid
                if touch is None:
                    return _bad("EXEC_BAD_INTENT", "book", "no opposite liquidity to take", iid)
                limit = self._slippage_limit(touch, tick, side)
                if (side == "BUY" and price > limit) or (side == "SELL" and price < limit):
                    price = limit
                    applied.append("slippage_cap")
                beyond = (price - touch) if side == "BUY" else (touch - price)
                if beyond > 0:
                    slippage_bps = int((beyond * _BPS / touch).to_integral_value(ROUND_CEILING))
        elif venue_type in _MARKETABLE:
            # Without a book we cannot bound what a taking order pays: refuse rather than guess.
            return _bad("EXEC_BAD_INTENT", "book", "book missing for a marketable order", iid)
        if (max_price is not None and price > max_price) or (
                min_price is not None and price < min_price):
            return _bad("EXEC_BAD_PRICE", "price", "cannot satisfy the price bounds on tick", iid)
        if price < tick or price > _ONE - tick:
            return _bad("EXEC_BAD_PRICE", "price", f"{price} outside [{tick}, {_ONE - tick}]", iid)
        if price % tick != 0:  # pragma: no cover - snapping makes this unreachable
            return _bad("EXEC_BAD_PRICE", "price", "price off tick", iid)

        # -- timing -----------------------------------------------------------------------------
        step_expiry: int | None = None
        if venue_type == "GTD":
            tif = intent.time_in_force_s
            if tif is None:
                return _bad("EXEC_BAD_TIF", "time_in_force_s", "GTD needs a time in force", iid)
            step_expiry = now + tif * 1000
            if intent.expires_at_ms is not None:
                step_expiry = min(step_expiry, intent.expires_at_ms)
        plan_expiry = step_expiry if step_expiry is not None else intent.expires_at_ms

        # -- slicing ----------------------------------------------------------------------------
        sizes = self._slices(size, market.min_size) if venue_type in _SLICEABLE else [size]
        if venue_type in _MARKETABLE:
            # The CLOB refuses FOK/FAK amounts with a maker amount past 2 decimals or a taker
            # amount past 4; shrink each child to the nearest size that obeys (never up).
            fitted = [marketable_size(side, price, s, tick) for s in sizes]
            if fitted != sizes:
                applied.append("marketable_precision")
            sizes = [s for s in fitted if s > 0 and s * price >= _MIN_MARKETABLE]
            if not sizes:
                return _bad("EXEC_BAD_SIZE", "size", "no marketable size worth $1 fits the CLOB's "
                            "amount precision", iid)
        if len(sizes) > 1:
            applied.append("sliced")
        token = intent.token_id
        # Built without a validation pass: every value is already checked above (price on the
        # tick and inside (0, 1), sizes positive on the 0.01 grid, at least one child) or comes
        # from the validated intent and market.
        steps = tuple([
            planned_order(client_order_id(iid, i), token, side, price, s, venue_type, post_only, step_expiry)
            for i, s in enumerate(sizes)
        ])
        plan = execution_plan(plan_id_for(iid), iid, intent.market_id, steps, tick, _ZERO_FEES, slippage_bps,
                              tuple(applied), plan_expiry)
        code = "EXEC_PLAN_RESHAPED" if reshaped else "EXEC_PLAN_CREATED"
        return Decision(plan, code, {"intent_id": iid, "children": len(steps)})

    def _slippage_limit(self, touch: Decimal, tick: Decimal, side: str) -> Decimal:
        if side == "BUY":
            raw = touch * (_BPS + self._max_slip) / _BPS
            return max(touch, (raw / tick).to_integral_value(ROUND_FLOOR) * tick)
        raw = touch * (_BPS - self._max_slip) / _BPS
        return min(touch, (raw / tick).to_integral_value(ROUND_CEILING) * tick)

    def _slices(self, size: Decimal, min_size: Decimal) -> list[Decimal]:
        """Near-equal children (2 dp) that sum exactly to `size`, none below `min_size`."""
        if size <= self._max_child:
            return [size]
        n = int((size / self._max_child).to_integral_value(ROUND_CEILING))
        n = min(n, self._max_children, int(size / min_size))
        if n <= 1:
            return [size]
        base = (size / n).quantize(_SIZE_QUANTUM, rounding=ROUND_DOWN)
        return [base] * (n - 1) + [size - base * (n - 1)]
