"""The signer builds its `SignedOrderRequest` without a second validation pass when every value is
one it made or checked: that request must be exactly the validated one, and anything unusual must
still be validated (and refused) as before."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from polytraders.contracts import ExecutionPlan, MarketSnapshot, SignedOrderRequest
from polytraders.contracts.orders import planned_order
from polytraders.execution import signer_service
from polytraders.execution.signer_service import SignerService, demo_signer, verify_signed_order
from polytraders.signing.constants import CHAIN_CONTRACTS, SignatureType
from polytraders.signing.order import (
    SignedOrderV2,
    _signed_ecdsa,
    _struct_hash,
    sign_order,
    verifying_contract,
)

NOW = 1_767_225_600_000
MID = "0x" + "cd" * 32
TICKS = (Decimal("0.1"), Decimal("0.01"), Decimal("0.001"), Decimal("0.0001"))
SIGNER = demo_signer(11)
WALLET = demo_signer(12).address  # a proxy or deposit wallet


def _market(tick: Decimal, neg_risk: bool) -> MarketSnapshot:
    return MarketSnapshot(market_id=MID, question="Q?", yes_token="98765432109876543210", no_token="7",
                          tick=tick, min_size=Decimal(5), neg_risk=neg_risk, observed_at_ms=NOW)


def _service(signature_type: int, chain_id: int) -> SignerService:
    maker = WALLET if signature_type in (SignatureType.POLY_GNOSIS_SAFE, SignatureType.POLY_1271) \
        else SIGNER.address
    return SignerService(SIGNER, maker, chain_id, signature_type)


def _not_called(data: object) -> SignedOrderRequest:
    raise AssertionError("a request of plain values went through the validating path")


def _validated(signed: SignedOrderRequest) -> SignedOrderRequest:
    return SignedOrderRequest.model_validate(
        {k: v for k, v in signed.to_json_dict().items() if k != "schema_version"})


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(TICKS), st.integers(1, 999), st.integers(1, 10**6), st.sampled_from(["BUY", "SELL"]),
       st.sampled_from(["GTC", "GTD", "FOK", "FAK"]), st.booleans(), st.booleans(),
       st.sampled_from(list(SignatureType)), st.sampled_from(sorted(CHAIN_CONTRACTS)), st.integers(0, 10**9))
def test_signed_request_is_the_validated_one(tick: Decimal, ticks: int, cents: int, side: str, order_type: str,
                                             post_only: bool, neg_risk: bool, signature_type: int, chain_id: int,
                                             n: int) -> None:
    price = tick * (ticks % (int(1 / tick) - 1) + 1)
    step = planned_order(f"co_{n:024x}", "98765432109876543210", side, price, Decimal(cents) / 100, order_type,
                         post_only and order_type in ("GTC", "GTD"),
                         NOW + n + 120_000 if order_type == "GTD" else None)
    plan = ExecutionPlan(plan_id=f"pl_{n}", intent_id=f"oi_{n}", market_id=MID, steps=(step,), tick=tick)
    service = _service(int(signature_type), chain_id)
    request = service.prepare(plan, step, _market(tick, neg_risk), NOW + n)
    with pytest.MonkeyPatch.context() as patch:  # plain values: the validating path is not taken
        patch.setattr(signer_service, "signed_order_request", _not_called)
        signed = service.sign(request)
    validated = _validated(signed)
    assert signed == validated
    assert signed.to_json_dict() == validated.to_json_dict()
    assert signed.model_fields_set == validated.model_fields_set
    assert {k: type(v) for k, v in signed.__dict__.items()} == {k: type(v) for k, v in validated.__dict__.items()}
    if signature_type != SignatureType.POLY_1271:
        verify_signed_order(signed, SIGNER.address)


def test_a_step_the_router_got_wrong_is_still_refused() -> None:
    # the router builds steps without validation: a bad order type or flag reaches the signer
    service = _service(0, 137)
    for order_type, post_only in (("LIMIT", False), ("GTC", "maybe")):
        step = planned_order("co_0123456789abcdef01234567", "98765432109876543210", "BUY", Decimal("0.5"),
                             Decimal(10), order_type, post_only, None)  # type: ignore[arg-type]
        plan = ExecutionPlan.model_construct(plan_id="pl_x", intent_id="oi_x", market_id=MID, steps=(step,),
                                             tick=Decimal("0.01"))
        request = service.prepare(plan, step, _market(Decimal("0.01"), False), NOW)
        with pytest.raises(ValidationError):
            service.sign(request)


def test_plain_signature_built_without_the_scan_is_the_checked_one() -> None:
    service = _service(0, 137)
    step = planned_order("co_0123456789abcdef01234567", "98765432109876543210", "SELL", Decimal("0.37"),
                         Decimal("12.5"), "GTC", True, None)
    plan = ExecutionPlan(plan_id="pl_y", intent_id="oi_y", market_id=MID, steps=(step,), tick=Decimal("0.01"))
    order = service.prepare(plan, step, _market(Decimal("0.01"), False), NOW).unsigned
    checked = sign_order(order, SIGNER, 137, False)
    raw = bytes.fromhex(checked.signature[2:])
    assert _signed_ecdsa(order, raw) == checked
    with pytest.raises(ValueError, match="signature"):
        _signed_ecdsa(order, raw[:64])  # anything else is checked as before
    poly = dataclasses.replace(order, signature_type=int(SignatureType.POLY_1271))
    with pytest.raises(ValueError, match="signature"):
        _signed_ecdsa(poly, raw)  # a deposit wallet's envelope is longer
    assert isinstance(_signed_ecdsa(order, raw), SignedOrderV2)
    assert _struct_hash(order) == _struct_hash(dataclasses.replace(order))


@pytest.mark.parametrize("chain_id", sorted(CHAIN_CONTRACTS))
def test_known_domains_answer_as_the_checks_do(chain_id: int) -> None:
    for neg_risk in (False, True):
        assert verifying_contract(chain_id, neg_risk) == CHAIN_CONTRACTS[chain_id].exchange_for(neg_risk)
    hostile: tuple[tuple[object, object], ...] = (
        (chain_id, 1), (chain_id, None), (True, False), (1, False), (chain_id + 1, True))
    for chain, flag in hostile:
        with pytest.raises(ValueError):
            verifying_contract(chain, flag)  # type: ignore[arg-type]
