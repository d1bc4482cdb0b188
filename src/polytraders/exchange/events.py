"""Folding ``SimVenue`` events into the exchange: order records, reservations, balances, trades.

One function per event kind.  Every change that a client should hear about is queued on the
exchange's ``user_out`` (owners, market, payload): PLACEMENT on ack, UPDATE on each fill,
CANCELLATION on cancel or expiry, and a ``trade`` event for each new trade and each settlement
status change (MATCHED -> MINED -> CONFIRMED, or RETRYING -> FAILED, which is reversed in the
ledger).  A trade whose resting side was background liquidity gets a synthetic maker entry.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from polytraders.exchange.records import BACKGROUND_ADDRESS, OrderRecord, TradeRecord
from polytraders.venues.base import CANCELED_MARKET_RESOLVED, VenueEvent, decimal_text

if TYPE_CHECKING:
    from polytraders.exchange.engine import Exchange

_ZERO: Final = Decimal(0)

def apply_events(ex: Exchange, events: list[VenueEvent]) -> None:
    new_trades: list[TradeRecord] = []
    for ev in events:
        if ev.kind == "ack":
            _on_ack(ex, ev)
            continue
        rec = ex.orders.get(ev.venue_order_id)
        if rec is None:
            continue
        if ev.kind == "fill":
            trade = _on_fill(ex, rec, ev)
            if trade is not None:
                new_trades.append(trade)
        elif ev.kind in ("cancel", "expire"):
            _on_cancel(ex, rec, ev)
        elif ev.kind == "trade_status":
            if ev.trade_status == "FAILED" and ev.price is not None and ev.size is not None:
                # A failed settlement never happened on chain: undo this order's side of it.
                undo = "SELL" if rec.side == "BUY" else "BUY"
                ex.ledger.settle_fill(rec.maker, rec.asset_id, undo, ev.price, ev.size, -(ev.fee or _ZERO))
            trade = ex.trades.get(ev.trade_id or "")
            chain = ex.ledger.chain
            if chain is not None and ev.trade_status == "MINED" and rec.maker != BACKGROUND_ADDRESS:
                # Settlement lands on chain when the trade is mined (serve --chain).
                price = ev.price if ev.price is not None else (trade.price if trade is not None else None)
                size = ev.size if ev.size is not None else (trade.size if trade is not None else None)
                if price is not None and size is not None:
                    chain.settle(rec.maker, rec.asset_id, rec.side, price, size, ev.fee or _ZERO)
            if trade is not None and ev.trade_status is not None and trade.status != ev.trade_status:
                trade.status = ev.trade_status
                trade.last_update_ms = ev.ts_ms
                ex.user_out.append((frozenset(trade.owners()), trade.market, trade.event(ev.ts_ms)))
    for trade in new_trades:
        if not trade.maker_orders:  # the resting side was background liquidity
            trade.maker_orders.append({
                "order_id": "0x" + hashlib.sha256(f"bg/{trade.id}".encode()).hexdigest(), "owner": "",
                "maker_address": BACKGROUND_ADDRESS, "matched_amount": decimal_text(trade.size),
                "price": decimal_text(trade.price), "fee_rate_bps": "0", "asset_id": trade.asset_id,
                "outcome": trade.outcome, "side": "SELL" if trade.side == "BUY" else "BUY",
            })
        for address in trade.addresses():
            ex.trades_by_address[address].append(trade.id)
        ex.user_out.append((frozenset(trade.owners()), trade.market, trade.event(trade.match_ms)))


def _on_ack(ex: Exchange, ev: VenueEvent) -> None:
    c = ex.pending.pop(ev.venue_order_id, None)
    if c is None:
        return
    rec = ex.record(c, ev.ts_ms)
    ex.orders[rec.id] = rec
    ex.live[rec.id] = rec
    reserve(ex, rec, rec.original_size)
    ex.user_out.append((frozenset({rec.owner}), rec.market, rec.event("PLACEMENT", ev.ts_ms)))


def reserve(ex: Exchange, rec: OrderRecord, size: Decimal, sign: int = 1) -> None:
    """Hold (sign 1) or release (sign -1) what ``size`` of ``rec`` could spend."""
    if rec.side == "BUY":
        ex.reserved_collateral[rec.maker] += sign * size * rec.price
    else:
        ex.reserved_shares[(rec.maker, rec.asset_id)] += sign * size


def _on_fill(ex: Exchange, rec: OrderRecord, ev: VenueEvent) -> TradeRecord | None:
    assert ev.size is not None and ev.price is not None and ev.trade_id is not None
    rec.size_matched += ev.size
    rec.trades.append(ev.trade_id)
    reserve(ex, rec, ev.size, -1)
    ex.ledger.settle_fill(rec.maker, rec.asset_id, rec.side, ev.price, ev.size, ev.fee or _ZERO)
    if rec.remaining <= 0:
        rec.status = "MATCHED"
        ex.live.pop(rec.id, None)
    ex.user_out.append((frozenset({rec.owner}), rec.market, rec.event("UPDATE", ev.ts_ms)))
    trade = ex.trades.get(ev.trade_id)
    created = trade is None
    if trade is None:
        taker_side = rec.side if ev.liquidity == "taker" else ("SELL" if rec.side == "BUY" else "BUY")
        trade = TradeRecord(
            id=ev.trade_id, market=rec.market, asset_id=rec.asset_id, side=taker_side, size=ev.size,
            price=ev.price, fee_rate_bps=ex.venue.taker_fee_bps, outcome=rec.outcome, match_ms=ev.ts_ms,
            taker_order_id="0x" + hashlib.sha256(f"bg-taker/{ev.trade_id}".encode()).hexdigest(),
            taker_owner="", taker_address=BACKGROUND_ADDRESS,
        )
        ex.trades[trade.id] = trade
    if ev.liquidity == "taker":
        trade.taker_order_id, trade.taker_owner, trade.taker_address = rec.id, rec.owner, rec.maker
    else:
        trade.maker_orders.append({
            "order_id": rec.id, "owner": rec.owner, "maker_address": rec.maker,
            "matched_amount": decimal_text(ev.size), "price": decimal_text(ev.price), "fee_rate_bps": "0",
            "asset_id": rec.asset_id, "outcome": rec.outcome, "side": rec.side,
        })
    return trade if created else None


def _on_cancel(ex: Exchange, rec: OrderRecord, ev: VenueEvent) -> None:
    if rec.status != "LIVE":
        return
    reserve(ex, rec, rec.remaining, -1)
    ex.live.pop(rec.id, None)
    if ev.error_code == CANCELED_MARKET_RESOLVED:
        rec.status = CANCELED_MARKET_RESOLVED
    elif rec.size_matched > 0 and rec.order_type in ("FOK", "FAK"):
        rec.status = "MATCHED"
    else:
        rec.status = "CANCELED"
    ex.user_out.append((frozenset({rec.owner}), rec.market, rec.event("CANCELLATION", ev.ts_ms)))
