"""Shared fixtures for the signing tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytraders.signing.constants import BUILDER_CODE
from polytraders.signing.order import OrderSigner, UnsignedOrderV2, build_order

from .helpers import TIMESTAMP_MS, TOKEN_ID, make_key


@pytest.fixture
def private_key() -> str:
    return make_key(0)


@pytest.fixture
def signer(private_key: str) -> OrderSigner:
    return OrderSigner(private_key)


@pytest.fixture
def order(signer: OrderSigner) -> UnsignedOrderV2:
    return build_order(
        token_id=TOKEN_ID,
        side="BUY",
        price=Decimal("0.55"),
        size=Decimal("10"),
        tick=Decimal("0.01"),
        maker=signer.address,
        signer=signer.address,
        signature_type=0,
        timestamp_ms=TIMESTAMP_MS,
        salt=123_456_789,
        builder_code=BUILDER_CODE,
    )
