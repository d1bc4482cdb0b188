"""Pure translation from wire models to ``venues.base`` values.  No I/O, no clock, no state.

What needs memory (which fills were already reported, what is still open) lives in
``venue.py``; this module answers questions about one message at a time:
- ``norm_status``: ``ORDER_STATUS_LIVE`` / ``live`` / ``LIVE`` -> ``LIVE`` (§1.7 conflict).
- ``book_view`` / ``apply_changes``: books sorted best-first whatever order the wire used (the
  CLOB serves best-last; NautilusTrader saw worst-first), a size of 0 removes a level.
- ``post_reply``: the events a ``POST /order`` answer means (ack, or reject).
- ``our_fills``: the legs of a trade that are ours (taker, or one or more maker orders: the
  maker's side comes from its maker order, never from the trade's side).
- ``order_update``: what a user-channel ``order`` event means for our order.
- ``settlement_steps``: the trade statuses to report to move a fill from one status to another
  along MATCHED -> MINED -> CONFIRMED (RETRYING -> FAILED), filling in skipped hops.
- ``open_order_view`` / ``market_info``: REST rows -> ``OpenOrderView`` / ``MarketInfo``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, cast

from polytraders.venues.base import (
    CANCELED_MARKET_RESOLVED,
    BookLevel,
    BookView,
    Liquidity,
    MarketInfo,
    OpenOrderView,
    Side,
    TradeStatus,
    VenueEvent,
    VenueOrder,
    VenueOrderType,
    book_hash,
)
from polytraders.venues.fees import taker_fee
from polytraders.venues.polymarket.schemas import (
    WireBook,
    WireClobMarket,
    WireOpenOrder,
    WirePriceChangeItem,
    WireSendOrderReply,
    WireTrade,
    WireUserOrder,
)

__all__ = [
    "FillLeg",
    "apply_changes",
    "book_view",
    "market_info",
    "norm_status",
    "open_order_view",
    "order_update",
    "our_fills",
    "post_reply",
    "settlement_steps",
    "ts_ms_of",
]

_ZERO: Final = Decimal(0)
TRADE_STATUSES: Final[frozenset[str]] = frozenset({"MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"})
ACCEPTED: Final[frozenset[str]] = frozenset({"LIVE", "MATCHED", "DELAYED", "UNMATCHED"})
Levels = dict[Decimal, Decimal]


def norm_status(raw: str) -> str:
    text = raw.strip().upper()
    for prefix in ("ORDER_STATUS_", "TRADE_STATUS_"):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def ts_ms_of(raw: str | int | None, default: int) -> int:
    """A wire timestamp in ms; unix seconds (< 1e11) are scaled; junk gives ``default``."""
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return default
    if value <= 0:
        return default
    return value * 1000 if value < 10**11 else value


# -- books -------------------------------------------------------------------------------------


def _sorted(levels: Levels, best_first_desc: bool) -> tuple[BookLevel, ...]:
    keys = sorted((p for p, s in levels.items() if s > 0), reverse=best_first_desc)
    return tuple(BookLevel(p, levels[p]) for p in keys)


def levels_of(book: WireBook) -> tuple[Levels, Levels]:
    bids: Levels = {lv.price: lv.size for lv in book.bids if lv.size > 0}
    asks: Levels = {lv.price: lv.size for lv in book.asks if lv.size > 0}
    return bids, asks


def apply_changes(bids: Levels, asks: Levels, changes: Iterable[WirePriceChangeItem], token_id: str) -> None:
    """Apply one asset's ``price_change`` levels in place (size 0 removes the level)."""
    for change in changes:
        if change.asset_id != token_id:
            continue
        side = bids if change.side == "BUY" else asks
        if change.size <= 0:
            side.pop(change.price, None)
        else:
            side[change.price] = change.size


def book_view(token_id: str, bids: Levels, asks: Levels, ts_ms: int, tick: Decimal, min_size: Decimal) -> BookView:
    bid_levels = _sorted(bids, best_first_desc=True)
    ask_levels = _sorted(asks, best_first_desc=False)
    return BookView(token_id, bid_levels, ask_levels, ts_ms, tick, min_size,
                    book_hash(token_id, bid_levels, ask_levels))


# -- order answers ------------------------------------------------------------------------------


def post_reply(reply: WireSendOrderReply, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
    """Events for a ``POST /order`` answer: an ack for an accepted order (fills and the
    cancel of a FAK rest follow on the user channel), else a reject naming the error."""
    status = norm_status(reply.status)
    venue_id = reply.orderID or order.order_hash
    if reply.success and reply.orderID and not reply.errorMsg and status in ACCEPTED:
        return [VenueEvent("ack", venue_id, order.client_order_id, order.token_id, now_ms, side=order.side,
                           price=order.price, remaining=order.size)]
    code = reply.errorMsg or "INVALID_ORDER_ERROR"
    return [VenueEvent("reject", reply.orderID, order.client_order_id, order.token_id, now_ms,
                       error_code=code)]


def reject_event(order: VenueOrder, code: str, venue_order_id: str, now_ms: int) -> VenueEvent:
    """A refused submit; a duplicate names the order the venue already holds."""
    named = venue_order_id if code == "INVALID_ORDER_DUPLICATED" else ""
    return VenueEvent("reject", named, order.client_order_id, order.token_id, now_ms, error_code=code)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """What an ``order`` event says: ``ack`` (placed), ``cancel`` (gone) or ``none``."""

    kind: str
    size_matched: Decimal
    error_code: str | None = None


def order_update(msg: WireUserOrder) -> OrderUpdate:
    kind = msg.type.strip().upper()
    status = norm_status(msg.status)
    if kind == "PLACEMENT":
        return OrderUpdate("ack", msg.size_matched)
    if kind == "CANCELLATION" or status in ("CANCELED", "CANCELED_MARKET_RESOLVED", "UNMATCHED"):
        reason = CANCELED_MARKET_RESOLVED if status == CANCELED_MARKET_RESOLVED else None
        return OrderUpdate("cancel", msg.size_matched, reason)
    return OrderUpdate("none", msg.size_matched)


# -- trades -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FillLeg:
    """One of our orders' part in a trade."""

    trade_id: str
    venue_order_id: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Liquidity
    status: TradeStatus
    ts_ms: int


def _trade_status(raw: str) -> TradeStatus:
    status = norm_status(raw)
    return cast(TradeStatus, status) if status in TRADE_STATUSES else "MATCHED"


def trade_ts_ms(trade: WireTrade, default: int) -> int:
    if trade.match_time_nano not in (None, "", 0, "0"):
        try:
            return int(str(trade.match_time_nano)) // 1_000_000
        except ValueError:
            pass
    return ts_ms_of(trade.match_time, default)


def our_fills(trade: WireTrade, ours: Mapping[str, Side] | frozenset[str] | set[str], default_ts: int) -> list[FillLeg]:
    """Legs of ``trade`` whose order id is one of ``ours`` (taker first, then makers)."""
    status = _trade_status(trade.status)
    ts = trade_ts_ms(trade, default_ts)
    legs: list[FillLeg] = []
    if trade.taker_order_id and trade.taker_order_id in ours and trade.size > 0:
        fee = taker_fee(trade.price, trade.size, int(trade.fee_rate_bps))
        legs.append(FillLeg(trade.id, trade.taker_order_id, trade.asset_id, trade.side, trade.price, trade.size,
                            fee, "taker", status, ts))
    for maker in trade.maker_orders:
        if maker.order_id in ours and maker.matched_amount > 0:
            legs.append(FillLeg(trade.id, maker.order_id, maker.asset_id or trade.asset_id, maker.side, maker.price,
                                maker.matched_amount, _ZERO, "maker", status, ts))
    return legs


def settlement_steps(last: TradeStatus, new: TradeStatus) -> list[TradeStatus]:
    """Statuses to report to go from ``last`` to ``new``; [] for a repeat or a regression."""
    if new == last or last in ("CONFIRMED", "FAILED"):
        return []
    if new == "CONFIRMED" and last == "MATCHED":
        return ["MINED", "CONFIRMED"]
    if new == "FAILED" and last in ("MATCHED", "MINED"):
        return ["RETRYING", "FAILED"]
    if new == "MATCHED":
        return []
    if new == "MINED" and last not in ("MATCHED", "RETRYING"):
        return []
    return [new]


# -- REST rows ----------------------------------------------------------------------------------


def open_order_view(row: WireOpenOrder, client_order_id: str) -> OpenOrderView:
    order_type = row.order_type.upper() if row.order_type.upper() in ("GTC", "GTD", "FOK", "FAK") else "GTC"
    return OpenOrderView(
        venue_order_id=row.id, client_order_id=client_order_id, token_id=row.asset_id, side=row.side,
        price=row.price, original_size=row.original_size,
        remaining=max(_ZERO, row.original_size - row.size_matched),
        order_type=cast(VenueOrderType, order_type), created_ms=ts_ms_of(row.created_at, 0),
    )


def market_info(row: WireClobMarket) -> MarketInfo | None:
    """A binary market's ``MarketInfo``; None when it is not a two-token market."""
    if len(row.tokens) != 2:
        return None
    by_outcome = {str(t.get("outcome", "")).lower(): str(t.get("token_id", "")) for t in row.tokens}
    yes = by_outcome.get("yes") or str(row.tokens[0].get("token_id", ""))
    no = by_outcome.get("no") or str(row.tokens[1].get("token_id", ""))
    if not yes or not no:
        return None
    status = "resolved" if row.closed else ("open" if row.accepting_orders and row.active else "halted")
    cluster = (row.tags or ("",))[0] or ""
    return MarketInfo(row.condition_id, row.question, yes, no, row.minimum_tick_size, row.minimum_order_size,
                      row.neg_risk, status, cluster)  # type: ignore[arg-type]
