"""Order and trade records the exchange keeps per account, and their wire shapes.

Shapes follow polymarket-interfaces.md §1.7 (REST OpenOrder / Trade) and §3.2 (user channel
``order`` / ``trade`` events).  Sizes and prices are plain decimal strings ("10", "0.57"), as the
WebSocket examples and NautilusTrader read them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytraders.venues.base import decimal_text

BACKGROUND_ADDRESS = "0x00000000000000000000000000000000000b9b9b"
"""``maker_address`` reported for the simulator's background liquidity."""


def tx_hash(trade_id: str) -> str:
    """A deterministic stand-in for the settlement transaction hash of a trade."""
    return "0x" + hashlib.sha256(f"polytraders-exchange/tx/{trade_id}".encode()).hexdigest()


@dataclass(slots=True)
class OrderRecord:
    id: str
    owner: str  # API key
    maker: str  # funder address
    market: str  # condition id
    asset_id: str
    side: str
    price: Decimal
    original_size: Decimal
    outcome: str
    expiration: int
    order_type: str
    created_ms: int
    size_matched: Decimal = Decimal(0)
    status: str = "LIVE"
    trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.original_size - self.size_matched

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "owner": self.owner,
            "maker_address": self.maker,
            "market": self.market,
            "asset_id": self.asset_id,
            "side": self.side,
            "original_size": decimal_text(self.original_size),
            "size_matched": decimal_text(self.size_matched),
            "price": decimal_text(self.price),
            "outcome": self.outcome,
            "expiration": str(self.expiration),
            "order_type": self.order_type,
            "associate_trades": list(self.trades),
            "created_at": self.created_ms // 1000,
        }

    def event(self, kind: str, ts_ms: int) -> dict[str, Any]:
        """User-channel ``order`` event: ``kind`` is PLACEMENT, UPDATE or CANCELLATION."""
        body = self.as_json()
        body.update(
            event_type="order",
            type=kind,
            order_owner=self.owner,
            associate_trades=list(self.trades) or None,
            created_at=str(self.created_ms // 1000),
            timestamp=str(ts_ms),
        )
        return body


@dataclass(slots=True)
class TradeRecord:
    id: str
    market: str
    asset_id: str
    side: str  # the taker's side
    size: Decimal
    price: Decimal
    fee_rate_bps: int
    outcome: str
    match_ms: int
    taker_order_id: str
    taker_owner: str
    taker_address: str
    maker_orders: list[dict[str, Any]] = field(default_factory=list)
    status: str = "MATCHED"
    last_update_ms: int = 0

    def owners(self) -> set[str]:
        return {self.taker_owner, *(str(m["owner"]) for m in self.maker_orders)} - {""}

    def addresses(self) -> set[str]:
        return {self.taker_address.lower(), *(str(m["maker_address"]).lower() for m in self.maker_orders)}

    def as_json(self, viewer_address: str = "") -> dict[str, Any]:
        maker_side = viewer_address and any(
            str(m["maker_address"]).lower() == viewer_address.lower() for m in self.maker_orders
        )
        return {
            "id": self.id,
            "taker_order_id": self.taker_order_id,
            "market": self.market,
            "asset_id": self.asset_id,
            "side": self.side,
            "size": decimal_text(self.size),
            "fee_rate_bps": str(self.fee_rate_bps),
            "price": decimal_text(self.price),
            "status": self.status,
            "match_time": str(self.match_ms // 1000),
            "match_time_nano": str(self.match_ms * 1_000_000),
            "last_update": str(max(self.last_update_ms, self.match_ms) // 1000),
            "outcome": self.outcome,
            "bucket_index": 0,
            "owner": self.taker_owner,
            "maker_address": self.taker_address,
            "trader_side": "MAKER" if maker_side else "TAKER",
            "transaction_hash": tx_hash(self.id),
            "err_msg": "",
            "maker_orders": [dict(m) for m in self.maker_orders],
        }

    def event(self, ts_ms: int) -> dict[str, Any]:
        """User-channel ``trade`` event (re-sent on every status change)."""
        body = self.as_json()
        body.update(
            event_type="trade",
            type="TRADE",
            matchtime=str(self.match_ms // 1000),
            trade_owner=self.taker_owner,
            timestamp=str(ts_ms),
        )
        return body
