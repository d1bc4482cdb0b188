"""Builders shared by the venue tests: signed orders as the signer service makes them."""

from __future__ import annotations

import time
from decimal import Decimal

from polytraders.contracts.orders import SignedOrderRequest
from polytraders.signing import BUILDER_CODE, OrderSigner, build_order, order_hash, salt_from_key, sign_order
from polytraders.signing.order import verifying_contract
from polytraders.venues.base import Side, VenueOrder, VenueOrderType


def signed_venue_order(signer: OrderSigner, cid: str, token: str, side: Side, price: str | Decimal,
                       size: str | Decimal, *, tick: str | Decimal = "0.01", neg_risk: bool = False,
                       order_type: VenueOrderType = "GTC", post_only: bool = False, expiration_s: int = 0,
                       chain_id: int = 137) -> VenueOrder:
    """A ``VenueOrder`` carrying a real EIP-712-signed CLOB V2 order (EOA signature type)."""
    price, size = Decimal(price), Decimal(size)
    now_ms = int(time.time() * 1000)
    unsigned = build_order(token_id=token, side=side, price=price, size=size, tick=Decimal(tick),
                           maker=signer.address, signer=signer.address, signature_type=0, timestamp_ms=now_ms,
                           salt=salt_from_key(cid), builder_code=BUILDER_CODE, expiration_s=expiration_s)
    signed = sign_order(unsigned, signer, chain_id, neg_risk)
    digest = order_hash(unsigned, chain_id, neg_risk)
    request = SignedOrderRequest(
        plan_id="plan-" + cid, client_order_id=cid, order_hash=digest, salt=unsigned.salt, maker=unsigned.maker,
        signer=unsigned.signer, token_id=token, maker_amount=unsigned.maker_amount,
        taker_amount=unsigned.taker_amount, side=side, signature_type=0, timestamp_ms=now_ms,
        metadata=unsigned.metadata, builder=unsigned.builder, expiration_s=expiration_s,
        signature=signed.signature, order_type=order_type, post_only=post_only, chain_id=chain_id,
        verifying_contract=verifying_contract(chain_id, neg_risk))
    return VenueOrder(cid, token, side, price, size, order_type, post_only,
                      expiration_s * 1000 if order_type == "GTD" else None, digest,
                      unsigned.maker_amount, unsigned.taker_amount, request)
