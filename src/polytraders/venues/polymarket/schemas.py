"""Wire models of the CLOB REST answers, the two WebSocket channels, Gamma and the Data API.

Frozen, ``extra="ignore"`` (Polymarket adds fields without notice), prefixed ``Wire`` and
private to this package: ``parse`` turns them into ``venues.base`` values.  One decoder per
WebSocket channel (a discriminated union on ``event_type``), built once.  Prices and sizes are
``Decimal`` parsed from the strings the CLOB sends ("0.57", "10"); statuses are kept as sent and
normalised in ``parse``.  Shapes: polymarket-interfaces.md §1.7, §3.1, §3.2, §4.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

__all__ = [
    "MarketMsg",
    "UserMsg",
    "WireBook",
    "WireCancelReply",
    "WireClobMarket",
    "WireDataPosition",
    "WireDataTrade",
    "WireGammaMarket",
    "WireLastTradePrice",
    "WireLevel",
    "WireMakerOrder",
    "WireOpenOrder",
    "WirePage",
    "WirePriceChange",
    "WirePriceChangeItem",
    "WireSendOrderReply",
    "WireTickSizeChange",
    "WireTrade",
    "WireUserOrder",
    "WireUserTrade",
    "decode_market",
    "decode_user",
]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# -- REST ---------------------------------------------------------------------------------------


class WireSendOrderReply(_Wire):
    """``POST /order`` answer (also each element of ``POST /orders``)."""

    success: bool = False
    errorMsg: str = ""  # noqa: N815 - wire spelling
    orderID: str = ""  # noqa: N815
    status: str = ""
    makingAmount: str = ""  # noqa: N815
    takingAmount: str = ""  # noqa: N815
    tradeIDs: tuple[str, ...] | None = None  # noqa: N815
    transactionsHashes: tuple[str, ...] | None = None  # noqa: N815


class WireCancelReply(_Wire):
    """``DELETE /order``, ``/orders``, ``/cancel-all``, ``/cancel-market-orders`` answer."""

    canceled: tuple[str, ...] = ()
    not_canceled: dict[str, str] = Field(default_factory=dict)

    @field_validator("canceled", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("not_canceled", mode="before")
    @classmethod
    def _none_is_empty_map(cls, value: Any) -> Any:
        return {} if value is None else value


class WireOpenOrder(_Wire):
    """One row of ``GET /data/orders`` (open orders only)."""

    id: str
    status: str = ""
    market: str = ""
    asset_id: str
    side: Literal["BUY", "SELL"]
    original_size: Decimal
    size_matched: Decimal = Decimal(0)
    price: Decimal
    order_type: str = "GTC"
    created_at: int = 0
    associate_trades: tuple[str, ...] | None = None


class WireMakerOrder(_Wire):
    order_id: str
    owner: str = ""
    maker_address: str = ""
    matched_amount: Decimal
    price: Decimal
    asset_id: str = ""
    side: Literal["BUY", "SELL"]
    fee_rate_bps: Decimal = Decimal(0)


class WireTrade(_Wire):
    """A trade from ``GET /data/trades`` (the user channel's ``trade`` adds event fields)."""

    id: str
    taker_order_id: str = ""
    market: str = ""
    asset_id: str
    side: Literal["BUY", "SELL"]
    size: Decimal
    price: Decimal
    fee_rate_bps: Decimal = Decimal(0)
    status: str = "MATCHED"
    match_time: str | int | None = None
    match_time_nano: str | int | None = None
    maker_orders: tuple[WireMakerOrder, ...] = ()
    owner: str = ""
    maker_address: str = ""


class WirePage(_Wire):
    """A CLOB page ``{limit, count, next_cursor, data}``."""

    next_cursor: str = "LTE="
    data: tuple[dict[str, Any], ...] = ()


class WireClobMarket(_Wire):
    """A CLOB market (``/markets``)."""

    condition_id: str
    question: str = ""
    tokens: tuple[dict[str, Any], ...] = ()
    minimum_tick_size: Decimal = Decimal("0.01")
    minimum_order_size: Decimal = Decimal(5)
    neg_risk: bool = False
    active: bool = True
    closed: bool = False
    accepting_orders: bool = True
    tags: tuple[str, ...] | None = None


# -- market channel ------------------------------------------------------------------------------


class WireLevel(_Wire):
    price: Decimal
    size: Decimal


class WireBook(_Wire):
    event_type: Literal["book"] = "book"
    asset_id: str
    market: str = ""
    bids: tuple[WireLevel, ...] = ()
    asks: tuple[WireLevel, ...] = ()
    timestamp: str | int = 0
    hash: str = ""
    tick_size: Decimal | None = None
    min_order_size: Decimal | None = None


class WirePriceChangeItem(_Wire):
    asset_id: str
    price: Decimal
    size: Decimal
    side: Literal["BUY", "SELL"]
    hash: str = ""
    best_bid: str = ""
    best_ask: str = ""


class WirePriceChange(_Wire):
    event_type: Literal["price_change"]
    market: str = ""
    price_changes: tuple[WirePriceChangeItem, ...] = ()
    timestamp: str | int = 0


class WireTickSizeChange(_Wire):
    event_type: Literal["tick_size_change"]
    asset_id: str
    market: str = ""
    old_tick_size: Decimal
    new_tick_size: Decimal
    timestamp: str | int = 0


class WireLastTradePrice(_Wire):
    event_type: Literal["last_trade_price"]
    asset_id: str
    market: str = ""
    price: Decimal
    size: Decimal = Decimal(0)
    side: str = ""
    timestamp: str | int = 0


class WireOtherMarketEvent(_Wire):
    """Custom-feature events (best_bid_ask, new_market, market_resolved): read, not used."""

    event_type: Literal["best_bid_ask", "new_market", "market_resolved"]


MarketMsg = Annotated[
    WireBook | WirePriceChange | WireTickSizeChange | WireLastTradePrice | WireOtherMarketEvent,
    Field(discriminator="event_type"),
]
_MARKET: TypeAdapter[MarketMsg] = TypeAdapter(MarketMsg)
decode_market = _MARKET.validate_python

# -- user channel --------------------------------------------------------------------------------


class WireUserOrder(_Wire):
    event_type: Literal["order"]
    type: str  # PLACEMENT | UPDATE | CANCELLATION
    id: str
    market: str = ""
    asset_id: str
    side: Literal["BUY", "SELL"]
    original_size: Decimal
    size_matched: Decimal = Decimal(0)
    price: Decimal
    status: str = ""
    timestamp: str | int = 0


class WireUserTrade(WireTrade):
    event_type: Literal["trade"]
    timestamp: str | int = 0


UserMsg = Annotated[WireUserOrder | WireUserTrade, Field(discriminator="event_type")]
_USER: TypeAdapter[UserMsg] = TypeAdapter(UserMsg)
decode_user = _USER.validate_python

# -- Gamma and Data API --------------------------------------------------------------------------


class WireGammaMarket(_Wire):
    """A Gamma market; ``outcomes``, ``outcomePrices`` and ``clobTokenIds`` are JSON strings."""

    id: str
    question: str = ""
    conditionId: str  # noqa: N815
    slug: str = ""
    outcomes: str = "[]"
    outcomePrices: str = "[]"  # noqa: N815
    clobTokenIds: str = "[]"  # noqa: N815
    active: bool = True
    closed: bool = False
    acceptingOrders: bool = True  # noqa: N815
    negRisk: bool = False  # noqa: N815
    orderPriceMinTickSize: Decimal = Decimal("0.01")  # noqa: N815
    orderMinSize: Decimal = Decimal(5)  # noqa: N815
    umaResolutionStatus: str | None = ""  # noqa: N815
    endDate: str | None = None  # noqa: N815
    category: str | None = None


class WireDataPosition(_Wire):
    proxyWallet: str = ""  # noqa: N815
    asset: str
    conditionId: str = ""  # noqa: N815
    size: Decimal
    curPrice: Decimal = Decimal(0)  # noqa: N815
    title: str = ""
    outcome: str = ""
    redeemable: bool = False


class WireDataTrade(_Wire):
    proxyWallet: str = ""  # noqa: N815
    side: Literal["BUY", "SELL"]
    asset: str
    conditionId: str = ""  # noqa: N815
    size: Decimal
    price: Decimal
    timestamp: int = 0
    outcome: str = ""
    transactionHash: str = ""  # noqa: N815
    title: str = ""
