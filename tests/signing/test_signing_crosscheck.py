"""Cross-check against the official py-clob-client-v2 (1.2.1), fully offline.

Three levels, same throwaway keys on both sides:

1. ``ExchangeOrderBuilderV2`` (the official EIP-712 builder/signer, which goes through
   ``eth_account.messages.encode_typed_data``) on random orders of every signature type, both
   exchanges, both chains: identical order hash and signature.
2. ``OrderBuilder.build_order`` (official amounts + exchange selection + signing) with the
   clock and the salt RNG pinned: identical fields, hash and signature to our ``build_order``.
3. ``ClobClient.create_order`` + ``ClobClient.post_order`` with the two network touch points
   stubbed (``get_tick_size`` answers from the test; ``_post`` captures the request body):
   identical order and identical POST /order body bytes.
"""

from __future__ import annotations

import json
import types
from decimal import Decimal
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2 import (  # type: ignore[import-untyped]
    ApiCreds,
    BuilderConfig,
    ClobClient,
    OrderArgsV2,
    OrderType,
    PartialCreateOrderOptions,
)
from py_clob_client_v2.clob_types import CreateOrderOptions  # type: ignore[import-untyped]
from py_clob_client_v2.order_builder import builder as official_builder_module  # type: ignore[import-untyped]
from py_clob_client_v2.order_builder.builder import OrderBuilder  # type: ignore[import-untyped]
from py_clob_client_v2.order_utils import (  # type: ignore[import-untyped]
    ExchangeOrderBuilderV2,
    OrderDataV2,
    Side,
    SignatureTypeV2,
)
from py_clob_client_v2.order_utils import (
    utils as official_utils,
)
from py_clob_client_v2.order_utils.model.order_data_v2 import (  # type: ignore[import-untyped]
    order_to_json_v2,
)
from py_clob_client_v2.signer import Signer  # type: ignore[import-untyped]

from polytraders.signing.amounts import SideName
from polytraders.signing.constants import (
    BUILDER_CODE,
    CHAIN_CONTRACTS,
    MAX_SALT,
    UINT256_MAX,
    ZERO_BYTES32,
)
from polytraders.signing.order import (
    OrderSigner,
    SignedOrderV2,
    UnsignedOrderV2,
    build_order,
    order_hash,
    recover_signer,
    sign_order,
    to_wire,
)

from .helpers import TIMESTAMP_MS, TOKEN_ID, make_key

KEYS = [make_key(i) for i in range(3)]
SIGNERS = [OrderSigner(k) for k in KEYS]
OFFICIAL_SIGNERS = {chain: [Signer(k, chain) for k in KEYS] for chain in (137, 80002)}
API_KEY = "7f1e5a1c-0000-4000-8000-00000000abcd"


# ------------------------------------------------------------------------------------------
# Level 1: ExchangeOrderBuilderV2
# ------------------------------------------------------------------------------------------
def _official_sign(
    order: UnsignedOrderV2, key_index: int, chain_id: int, neg_risk: bool
) -> tuple[str, str, Any]:
    contracts = CHAIN_CONTRACTS[chain_id]
    exchange = ExchangeOrderBuilderV2(
        contracts.exchange_for(neg_risk),
        chain_id,
        OFFICIAL_SIGNERS[chain_id][key_index],
        generate_salt=lambda: str(order.salt),
    )
    data = OrderDataV2(
        maker=order.maker,
        tokenId=str(order.token_id),
        makerAmount=str(order.maker_amount),
        takerAmount=str(order.taker_amount),
        side=Side(order.side),
        signer=order.signer,
        signatureType=SignatureTypeV2(order.signature_type),
        timestamp=str(order.timestamp_ms),
        metadata=order.metadata,
        builder=order.builder,
        expiration=str(order.expiration),
    )
    signed = exchange.build_signed_order(data)
    digest = exchange.build_order_hash(exchange.build_order_typed_data(signed))
    return str(signed.signature), str(digest), signed


addresses = st.binary(min_size=20, max_size=20).map(to_checksum_address)
bytes32s = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())


@st.composite
def random_orders(draw: st.DrawFn) -> tuple[UnsignedOrderV2, int]:
    key_index = draw(st.integers(min_value=0, max_value=len(KEYS) - 1))
    signature_type = draw(st.integers(min_value=0, max_value=3))
    key_address = SIGNERS[key_index].address
    if signature_type == 0:
        maker = signer = key_address
    elif signature_type in (1, 2):
        maker, signer = draw(addresses), key_address
    else:
        maker = signer = draw(addresses)
    timestamp_ms = draw(st.integers(min_value=10**12, max_value=10**14 - 1))
    expiration = draw(
        st.one_of(st.just(0), st.integers(min_value=timestamp_ms // 1000 + 1, max_value=10**11))
    )
    order = UnsignedOrderV2(
        salt=draw(st.integers(min_value=0, max_value=MAX_SALT)),
        maker=maker,
        signer=signer,
        token_id=draw(st.integers(min_value=1, max_value=UINT256_MAX)),
        maker_amount=draw(st.integers(min_value=1, max_value=UINT256_MAX)),
        taker_amount=draw(st.integers(min_value=1, max_value=UINT256_MAX)),
        side=draw(st.integers(min_value=0, max_value=1)),
        signature_type=signature_type,
        timestamp_ms=timestamp_ms,
        metadata=draw(bytes32s),
        builder=draw(bytes32s.filter(lambda h: h != ZERO_BYTES32)),
        expiration=expiration,
    )
    return order, key_index


@settings(max_examples=80, deadline=None)
@given(random_orders(), st.sampled_from([137, 80002]), st.booleans())
def test_hash_and_signature_match_official_exchange_builder(
    case: tuple[UnsignedOrderV2, int], chain_id: int, neg_risk: bool
) -> None:
    order, key_index = case
    official_signature, official_hash, official_signed = _official_sign(
        order, key_index, chain_id, neg_risk
    )
    ours = sign_order(order, SIGNERS[key_index], chain_id, neg_risk)
    assert order_hash(order, chain_id, neg_risk) == official_hash
    assert ours.signature == official_signature
    assert recover_signer(ours, chain_id, neg_risk) == SIGNERS[key_index].address
    # And the official wire serialisation of the official order equals ours.
    assert to_wire(ours, API_KEY, "GTD" if order.expiration else "GTC", False) == order_to_json_v2(
        official_signed, API_KEY, "GTD" if order.expiration else "GTC", False, False
    )


@pytest.mark.parametrize("signature_type", [0, 1, 2, 3])
@pytest.mark.parametrize("neg_risk", [False, True])
def test_fixed_orders_match_official_exchange_builder(signature_type: int, neg_risk: bool) -> None:
    key_address = SIGNERS[0].address
    wallet = to_checksum_address("0x" + "5a" * 20)
    maker = key_address if signature_type == 0 else wallet
    signer = wallet if signature_type == 3 else key_address
    order = build_order(
        token_id=TOKEN_ID,
        side="BUY",
        price=Decimal("0.55"),
        size=Decimal("10"),
        tick=Decimal("0.01"),
        maker=maker,
        signer=signer,
        signature_type=signature_type,
        timestamp_ms=TIMESTAMP_MS,
        salt=424242,
        builder_code=BUILDER_CODE,
    )
    official_signature, official_hash, _ = _official_sign(order, 0, 137, neg_risk)
    assert sign_order(order, SIGNERS[0], 137, neg_risk).signature == official_signature
    assert order_hash(order, 137, neg_risk) == official_hash


# ------------------------------------------------------------------------------------------
# Level 2: OrderBuilder.build_order (amounts, exchange choice, signing)
# ------------------------------------------------------------------------------------------
PINNED_NS = TIMESTAMP_MS * 1_000_000 + 123_456


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the official client's clock and salt RNG (module-local, not the global modules)."""
    fake_time = types.SimpleNamespace(time_ns=lambda: PINNED_NS)
    monkeypatch.setattr(official_builder_module, "time", fake_time)
    monkeypatch.setattr(official_utils, "time", fake_time)
    monkeypatch.setattr(official_utils, "random", types.SimpleNamespace(random=lambda: 0.375))


EXPECTED_SALT = int(0.375 * TIMESTAMP_MS)

LIMIT_CASES: list[tuple[SideName, str, str, str]] = [
    ("BUY", "0.55", "10", "0.01"),
    ("SELL", "0.37", "12.34", "0.01"),
    ("BUY", "0.123", "7.5", "0.001"),
    ("SELL", "0.457", "1234.56", "0.001"),
    ("BUY", "0.3", "3", "0.1"),
    ("SELL", "0.995", "19.5", "0.005"),  # (19.99 would hit the float size floor)
    ("BUY", "0.0025", "400", "0.0025"),
    ("SELL", "0.9999", "2.5", "0.0001"),
]


@pytest.mark.usefixtures("pinned_clock")
@pytest.mark.parametrize(("side", "price", "size", "tick"), LIMIT_CASES)
@pytest.mark.parametrize("neg_risk", [False, True])
@pytest.mark.parametrize("signature_type", [0, 1, 2, 3])
def test_official_order_builder_matches(
    side: SideName, price: str, size: str, tick: str, neg_risk: bool, signature_type: int
) -> None:
    key_address = SIGNERS[1].address
    funder = key_address if signature_type == 0 else to_checksum_address("0x" + "c3" * 20)
    official = OrderBuilder(
        Signer(KEYS[1], 137), signature_type=SignatureTypeV2(signature_type), funder=funder
    ).build_order(
        OrderArgsV2(
            token_id=TOKEN_ID,
            price=float(price),
            size=float(size),
            side=side,
            builder_code=BUILDER_CODE,
        ),
        CreateOrderOptions(tick_size=tick, neg_risk=neg_risk),
        version=2,
    )
    assert official.salt == str(EXPECTED_SALT)
    assert official.timestamp == str(TIMESTAMP_MS)
    ours = build_order(
        token_id=TOKEN_ID,
        side=side,
        price=Decimal(price),
        size=Decimal(size),
        tick=Decimal(tick),
        maker=funder,
        signer=funder if signature_type == 3 else key_address,
        signature_type=signature_type,
        timestamp_ms=TIMESTAMP_MS,
        salt=EXPECTED_SALT,
        builder_code=BUILDER_CODE,
    )
    signed = sign_order(ours, SIGNERS[1], 137, neg_risk)
    assert to_wire(signed, API_KEY, "GTC", False) == order_to_json_v2(
        official, API_KEY, "GTC", False, False
    )
    assert signed.signature == official.signature


# ------------------------------------------------------------------------------------------
# Level 3: ClobClient.create_order + post_order, network stubbed
# ------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("pinned_clock")
@pytest.mark.parametrize("chain_id", [137, 80002])
@pytest.mark.parametrize(
    ("order_type", "post_only", "defer_exec", "expiration"),
    [("GTC", True, False, 0), ("GTD", False, True, 1_767_229_200), ("FAK", False, False, 0)],
)
def test_official_client_post_body_matches(
    monkeypatch: pytest.MonkeyPatch,
    chain_id: int,
    order_type: str,
    post_only: bool,
    defer_exec: bool,
    expiration: int,
) -> None:
    client = ClobClient(
        "http://127.0.0.1:9",
        chain_id=chain_id,
        key=KEYS[2],
        creds=ApiCreds(API_KEY, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "passphrase"),
        builder_config=BuilderConfig(builder_code=BUILDER_CODE),
    )
    calls: list[tuple[str, str]] = []

    def no_get(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"unexpected network GET {args}")

    def capture_post(endpoint: str, headers: Any = None, data: Any = None, **_: Any) -> Any:
        calls.append((endpoint, data))
        return {"success": True, "orderID": "0x", "status": "live"}

    monkeypatch.setattr(client, "_get", no_get)
    monkeypatch.setattr(client, "get_tick_size", lambda token_id: "0.001")
    monkeypatch.setattr(client, "_post", capture_post)

    official = client.create_order(
        OrderArgsV2(token_id=TOKEN_ID, price=0.612, size=41.5, side="SELL", expiration=expiration),
        PartialCreateOrderOptions(tick_size="0.001", neg_risk=True, version=2),
    )
    client.post_order(official, getattr(OrderType, order_type), post_only, defer_exec)
    assert len(calls) == 1 and calls[0][0].endswith("/order")

    ours = sign_order(
        build_order(
            token_id=TOKEN_ID,
            side="SELL",
            price=Decimal("0.612"),
            size=Decimal("41.5"),
            tick=Decimal("0.001"),
            maker=SIGNERS[2].address,
            signer=SIGNERS[2].address,
            signature_type=0,
            timestamp_ms=TIMESTAMP_MS,
            salt=EXPECTED_SALT,
            builder_code=BUILDER_CODE,
            expiration_s=expiration,
        ),
        SIGNERS[2],
        chain_id,
        True,
    )
    body = to_wire(ours, API_KEY, order_type, post_only, defer_exec)
    assert json.dumps(body, separators=(",", ":"), ensure_ascii=False) == calls[0][1]
    assert body["order"]["makerAmount"] == "41500000"
    assert body["order"]["takerAmount"] == "25398000"  # 41.5 * 0.612 = 25.398 pUSD
    assert isinstance(ours, SignedOrderV2)
