"""From a ``POST /order`` body to a checked order, or the CLOB's refusal.

Order of checks (the cheap and the identity checks first, the signature before anything that
depends on the order's content being genuine):

1. payload shape, ``owner`` = the API key, ``signer`` = the key's address;
2. the market exists and accepts orders; order type / post-only / expiration rules;
3. the V2 EIP-712 hash is recomputed (it is the order id) and the signature must recover to
   ``signer`` (signature types 0, 1 and 2; the deposit-wallet type 3 is not supported here);
4. price and size from the amounts: BUY price = maker/taker, SELL price = taker/maker.
   Resting orders (GTC/GTD) must sit exactly on the tick grid and meet the market's minimum
   size.  Marketable orders (FOK/FAK) must have a maker amount with at most 2 decimals, a taker
   amount with at most 4 and be worth at least $1; their limit price is the implied price
   rounded to the nearest tick (the client derives the taker amount by division).

Balance, duplicates, crossing and matching are the engine's business (they need state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from polytraders.exchange.auth import ApiKey
from polytraders.exchange.errors import ApiError
from polytraders.signing.amounts import marketable_amounts_error
from polytraders.signing.order import SignedOrderV2, UnsignedOrderV2, checksum_address, order_hash, recover_signer
from polytraders.venues.base import (
    INVALID_ORDER_ERROR,
    INVALID_ORDER_EXPIRATION,
    INVALID_ORDER_MIN_SIZE,
    INVALID_ORDER_MIN_TICK_SIZE,
    INVALID_POST_ONLY_ORDER_TYPE,
    MARKET_NOT_READY,
    MarketInfo,
    Side,
    VenueOrderType,
    decimal_text,
)

GTD_THRESHOLD_S: Final = 60
_UNITS: Final = Decimal(1_000_000)
_ORDER_TYPES: Final[dict[str, VenueOrderType]] = {"GTC": "GTC", "GTD": "GTD", "FOK": "FOK", "FAK": "FAK"}
_SIDES: Final[dict[str, Side]] = {"BUY": "BUY", "0": "BUY", "SELL": "SELL", "1": "SELL"}
_REQUIRED: Final = ("salt", "maker", "signer", "tokenId", "makerAmount", "takerAmount", "side",
                    "signatureType", "timestamp", "signature")


def refusal(code: str, message: str, order_id: str = "", status: int = 400) -> ApiError:
    """An order refusal: ``{"error": message, "errorMsg": code, "success": false, ...}``."""
    return ApiError(status, message, extra={"success": False, "errorMsg": code, "orderID": order_id, "status": ""})


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    order_id: str
    owner: str
    maker: str
    signer: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    maker_amount: int
    taker_amount: int
    order_type: VenueOrderType
    post_only: bool
    expiration: int

    @property
    def marketable_type(self) -> bool:
        return self.order_type in ("FOK", "FAK")

    @property
    def collateral(self) -> Decimal:
        """pUSD a BUY may spend (its maker amount)."""
        return Decimal(self.maker_amount) / _UNITS


def _eip55_or_raw(value: str) -> str:
    """Checksummed form when well-formed (cached); otherwise the raw text, which the order
    type then refuses with a precise message."""
    try:
        return checksum_address(value)
    except ValueError:
        return value


def _payload_error(detail: str) -> ApiError:
    return refusal(INVALID_ORDER_ERROR, f"Invalid order payload: {detail}")


def _int(raw: dict[str, Any], name: str) -> int:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _payload_error(f"{name} must be an integer or a decimal string")
    try:
        return int(value)
    except ValueError:
        raise _payload_error(f"{name} must be an integer or a decimal string") from None


def check_order(
    body: Any,
    key: ApiKey,
    market_of: Callable[[str], MarketInfo | None],
    tick_of: Callable[[str], Decimal],
    now_ms: int,
    chain_id: int,
) -> CheckedOrder:
    """Validate one wire order; raises ``ApiError`` with the CLOB's status and message."""
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise _payload_error("expected an object with an 'order' object")
    raw: dict[str, Any] = body["order"]
    missing = [name for name in _REQUIRED if name not in raw]
    if missing:
        raise _payload_error(f"missing {', '.join(missing)}")
    if body.get("owner") != key.api_key:
        raise refusal(INVALID_ORDER_ERROR, "the order owner has to be the owner of the API KEY")
    if str(raw["signer"]).lower() != key.address.lower():
        raise refusal(INVALID_ORDER_ERROR, "the order signer address has to be the address of the API KEY")
    type_raw = body.get("orderType", "GTC")
    order_type = _ORDER_TYPES.get(type_raw) if isinstance(type_raw, str) else None
    if order_type is None:
        raise _payload_error(f"orderType must be one of {sorted(_ORDER_TYPES)}")
    post_only = body.get("postOnly", False) is True
    token_id = str(raw["tokenId"])
    market = market_of(token_id)
    if market is None:
        raise refusal(MARKET_NOT_READY, "market not found", status=404)
    if market.status != "open":
        raise refusal(MARKET_NOT_READY, "the market is not yet ready to process new orders")

    side_raw = raw["side"]
    side = None if isinstance(side_raw, bool) else _SIDES.get(str(side_raw))
    if side is None:
        raise _payload_error("side must be BUY or SELL")
    try:
        unsigned = UnsignedOrderV2(
            salt=_int(raw, "salt"),
            maker=_eip55_or_raw(str(raw["maker"])),
            signer=_eip55_or_raw(str(raw["signer"])),
            token_id=_int(raw, "tokenId"),
            maker_amount=_int(raw, "makerAmount"),
            taker_amount=_int(raw, "takerAmount"),
            side=0 if side == "BUY" else 1,
            signature_type=_int(raw, "signatureType"),
            timestamp_ms=_int(raw, "timestamp"),
            metadata=str(raw.get("metadata", "0x" + "00" * 32)).lower(),
            builder=str(raw.get("builder", "0x" + "00" * 32)).lower(),
            expiration=_int(raw, "expiration") if "expiration" in raw else 0,
        )
        if unsigned.signature_type == 3:
            raise refusal(INVALID_ORDER_ERROR, "signature type 3 (POLY_1271) is not supported by the local exchange")
        signed = SignedOrderV2(order=unsigned, signature=str(raw["signature"]))
        order_id = order_hash(unsigned, chain_id, market.neg_risk)
        recovered = recover_signer(signed, chain_id, market.neg_risk)
    except ValueError as exc:
        raise _payload_error(str(exc)) from None
    if recovered != unsigned.signer:
        raise refusal(INVALID_ORDER_ERROR, "invalid signature", order_id)

    if post_only and order_type not in ("GTC", "GTD"):
        raise refusal(INVALID_POST_ONLY_ORDER_TYPE, "invalid post-only order: only GTC and GTD orders may be post-only",
                      order_id)
    expiration = unsigned.expiration
    if order_type == "GTD":
        # The one-minute security threshold: the order lives until expiration - 60 s.
        if expiration - GTD_THRESHOLD_S <= now_ms // 1000:
            raise refusal(INVALID_ORDER_EXPIRATION, "invalid expiration", order_id)
    elif expiration != 0:
        raise refusal(INVALID_ORDER_EXPIRATION, "invalid expiration: only GTD orders expire", order_id)

    maker_units, taker_units = unsigned.maker_amount, unsigned.taker_amount
    shares_units, collateral_units = (taker_units, maker_units) if side == "BUY" else (maker_units, taker_units)
    size = Decimal(shares_units) / _UNITS
    implied = Decimal(collateral_units) / Decimal(shares_units)
    tick = tick_of(token_id)
    if order_type in ("FOK", "FAK"):
        problem = marketable_amounts_error(side, maker_units, taker_units)
        if problem == "amount precision":
            raise refusal(INVALID_ORDER_ERROR, "invalid amounts, the market buy orders maker amount supports a max "
                          "accuracy of 2 decimals, taker amount a max of 4 decimals", order_id)
        if problem is not None:
            worth = decimal_text(Decimal(collateral_units) / _UNITS)
            raise refusal(INVALID_ORDER_MIN_SIZE,
                          f"invalid amount for a marketable {side} order (${worth}), min size: $1", order_id)
        price = (implied / tick).to_integral_value(rounding=ROUND_HALF_UP) * tick
    else:
        price = implied
        if price % tick != 0:
            raise refusal(INVALID_ORDER_MIN_TICK_SIZE, f"order {order_id} is invalid. Price ({decimal_text(price)}) "
                          f"breaks minimum tick size rule: {decimal_text(tick)}", order_id)
        if size < market.min_size:
            raise refusal(INVALID_ORDER_MIN_SIZE, f"order {order_id} is invalid. Size ({decimal_text(size)}) lower "
                          f"than the minimum: {decimal_text(market.min_size)}", order_id)
    if not tick <= price <= 1 - tick:
        raise refusal(INVALID_ORDER_MIN_TICK_SIZE, f"order {order_id} is invalid. Price ({decimal_text(price)}) "
                      f"breaks minimum tick size rule: {decimal_text(tick)}", order_id)
    return CheckedOrder(
        order_id=order_id, owner=key.api_key, maker=unsigned.maker, signer=unsigned.signer, token_id=token_id,
        side=side, price=price, size=size, maker_amount=maker_units, taker_amount=taker_units, order_type=order_type,
        post_only=post_only, expiration=expiration,
    )
