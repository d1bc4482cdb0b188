"""SignerService: prepare/sign round trip, tamper detection, refusals, demo wallet."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polytraders.contracts import ExecutionPlan, MarketSnapshot, PlannedOrder, SignedOrderRequest
from polytraders.execution.signer_service import (
    GTD_SECURITY_THRESHOLD_S,
    SignerService,
    SigningError,
    SigningRequest,
    demo_signer,
    verify_signed_order,
)
from polytraders.signing.constants import (
    BUILDER_CODE,
    CTF_EXCHANGE_V2,
    NEG_RISK_CTF_EXCHANGE_V2,
    SignatureType,
)
from polytraders.signing.order import OrderSigner, salt_from_key

NOW = 1_767_225_600_000
MID = "0x" + "ab" * 32
D = Decimal


def market(neg_risk: bool = False) -> MarketSnapshot:
    return MarketSnapshot(market_id=MID, question="Q?", yes_token="1001", no_token="1002",
                          tick=D("0.01"), min_size=D(5), neg_risk=neg_risk, observed_at_ms=NOW)


def plan(order_type: str = "GTC", expires: int | None = None, side: str = "BUY") -> ExecutionPlan:
    step = PlannedOrder(client_order_id="co_0123456789abcdef01234567", token_id="1001",
                        side=side, price=D("0.45"), size=D(10), order_type=order_type,
                        expires_at_ms=expires)
    return ExecutionPlan(plan_id="pl_test", intent_id="oi_test000001", market_id=MID,
                         steps=(step,), tick=D("0.01"))


@pytest.fixture
def signer() -> OrderSigner:
    return demo_signer(3)


@pytest.fixture
def service(signer: OrderSigner) -> SignerService:
    return SignerService(signer, signer.address)


def prepared(service: SignerService, p: ExecutionPlan | None = None,
             neg_risk: bool = False) -> SigningRequest:
    p = p or plan()
    return service.prepare(p, p.steps[0], market(neg_risk), NOW)


@pytest.mark.parametrize("neg_risk", [False, True])
def test_round_trip(service: SignerService, signer: OrderSigner, neg_risk: bool) -> None:
    req = prepared(service, neg_risk=neg_risk)
    assert req.verifying_contract == (NEG_RISK_CTF_EXCHANGE_V2 if neg_risk else CTF_EXCHANGE_V2)
    assert (req.domain_name, req.domain_version, req.chain_id) == (
        "Polymarket CTF Exchange", "2", 137)
    signed = service.sign(req)
    assert isinstance(signed, SignedOrderRequest)
    SignedOrderRequest.model_validate(signed.to_json_dict())  # survives the journal round trip
    assert signed.signer == signer.address and signed.maker == signer.address
    assert signed.builder == BUILDER_CODE
    assert signed.salt == salt_from_key("co_0123456789abcdef01234567")
    assert signed.timestamp_ms == NOW
    assert (signed.maker_amount, signed.taker_amount) == (4_500_000, 10_000_000)
    assert signed.client_order_id == "co_0123456789abcdef01234567"
    assert signed.plan_id == "pl_test"
    service.verify(signed)
    verify_signed_order(signed, signer.address)


def test_prepare_is_deterministic(service: SignerService) -> None:
    assert prepared(service) == prepared(service)
    assert service.sign(prepared(service)) == service.sign(prepared(service))


@pytest.mark.parametrize(("field", "value"), [
    ("maker_amount", 4_500_001), ("taker_amount", 9_999_999), ("salt", 1), ("side", "SELL"),
    ("token_id", "1002"), ("timestamp_ms", NOW + 1), ("builder", "0x" + "12" * 32),
    ("verifying_contract", NEG_RISK_CTF_EXCHANGE_V2),
])
def test_tampered_field_fails(service: SignerService, field: str, value: object) -> None:
    signed = service.sign(prepared(service))
    tampered = signed.model_copy(update={field: value})
    with pytest.raises(SigningError) as err:
        service.verify(tampered)
    assert err.value.code == "SEC_SIGNING_INVALID"


def test_unlisted_contract_fails_verification(service: SignerService) -> None:
    signed = service.sign(prepared(service)).model_copy(
        update={"verifying_contract": "0x" + "11" * 20})
    with pytest.raises(SigningError) as err:
        service.verify(signed)
    assert err.value.code == "SEC_CONTRACT_NOT_ALLOWED"


def test_other_signer_fails_verification(service: SignerService) -> None:
    signed = service.sign(prepared(service))
    with pytest.raises(SigningError):
        verify_signed_order(signed, demo_signer(4).address)


def test_signature_not_recovering_is_refused(service: SignerService,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the key produces a valid signature, but by another key: it recovers to that key
    other = demo_signer(5)
    sign_digest = OrderSigner.sign_digest
    monkeypatch.setattr(OrderSigner, "sign_digest", lambda self, digest: sign_digest(other, digest))
    with pytest.raises(SigningError) as err:
        service.sign(prepared(service))
    assert err.value.code == "SEC_SIGNING_INVALID"
    assert other.address in str(err.value) and "discarded" in str(err.value)


@pytest.mark.parametrize("damage", [
    lambda sig: sig[:64] + bytes((sig[64] ^ 1,)),  # the other recovery id: another public key
    lambda sig: bytes(32) + sig[32:],  # r = 0: recovers to no key at all
    lambda sig: sig[:64] + bytes((29,)),  # v outside 27/28
])
def test_damaged_signature_is_refused(service: SignerService, monkeypatch: pytest.MonkeyPatch,
                                      damage: object) -> None:
    sign_digest = OrderSigner.sign_digest
    monkeypatch.setattr(OrderSigner, "sign_digest",
                        lambda self, digest: damage(sign_digest(self, digest)))  # type: ignore[operator]
    with pytest.raises((SigningError, ValueError)) as err:
        service.sign(prepared(service))
    if isinstance(err.value, SigningError):
        assert err.value.code == "SEC_SIGNING_INVALID"
    else:  # unrecoverable: `recover_signer` refuses it, as it did before the cheaper check
        assert "signature is invalid" in str(err.value)


def test_signer_recovers_only_its_own_signatures() -> None:
    me, other = demo_signer(1), demo_signer(2)
    digest = bytes(range(32))
    mine = me.sign_digest(digest)
    assert me.recovers(digest, mine) and not other.recovers(digest, mine)
    assert not me.recovers(bytes(32), mine), "a signature of another digest"
    assert not me.recovers(digest, mine[:64]), "too short"


@pytest.mark.parametrize(("change", "code"), [
    ({"domain_version": "1"}, "SEC_DOMAIN_MISMATCH"),
    ({"domain_name": "CTFExchangeV2"}, "SEC_DOMAIN_MISMATCH"),
    ({"chain_id": 80002}, "SEC_DOMAIN_MISMATCH"),
    ({"verifying_contract": NEG_RISK_CTF_EXCHANGE_V2}, "SEC_CONTRACT_NOT_ALLOWED"),
])
def test_sign_rechecks_the_domain(service: SignerService, change: dict[str, object],
                                  code: str) -> None:
    bad = dataclasses.replace(prepared(service), **change)  # type: ignore[arg-type]
    with pytest.raises(SigningError) as err:
        service.sign(bad)
    assert err.value.code == code


def test_sign_rechecks_wallet_and_builder(service: SignerService) -> None:
    req = prepared(service)
    other = demo_signer(6).address
    foreign = dataclasses.replace(req, unsigned=dataclasses.replace(
        req.unsigned, maker=other, signer=other))
    with pytest.raises(SigningError) as err:
        service.sign(foreign)
    assert err.value.code == "SEC_WALLET_NOT_PERMITTED"
    no_code = dataclasses.replace(req, unsigned=dataclasses.replace(
        req.unsigned, builder="0x" + "00" * 32))
    with pytest.raises(SigningError) as err:
        service.sign(no_code)
    assert err.value.code == "SEC_BUILDERCODE_MISSING"


def test_gtd_wire_expiration_adds_security_threshold(service: SignerService) -> None:
    p = plan("GTD", expires=NOW + 120_000)
    signed = service.sign(prepared(service, p))
    assert signed.order_type == "GTD"
    assert signed.expiration_s == (NOW + 120_000) // 1000 + GTD_SECURITY_THRESHOLD_S
    service.verify(signed)
    with pytest.raises(SigningError):
        prepared(service, plan("GTD", expires=None))


def test_prepare_refuses_foreign_step_or_market(service: SignerService) -> None:
    p = plan()
    other = p.steps[0].model_copy(update={"client_order_id": "co_other0000000000000000000"})
    with pytest.raises(SigningError):
        service.prepare(p, other, market(), NOW)
    with pytest.raises(SigningError):
        service.prepare(p, p.steps[0], market().model_copy(update={"market_id": "0x" + "cd" * 32}),
                        NOW)


def test_proxy_wallet_signature_type(signer: OrderSigner) -> None:
    funder = demo_signer(9).address
    svc = SignerService(signer, funder, signature_type=int(SignatureType.POLY_GNOSIS_SAFE))
    signed = svc.sign(prepared(svc))
    assert (signed.maker, signed.signer, signed.signature_type) == (funder, signer.address, 2)
    svc.verify(signed)


def test_unsupported_configurations(signer: OrderSigner) -> None:
    with pytest.raises(SigningError) as err:
        SignerService(signer, signer.address, chain_id=1)
    assert err.value.code == "SEC_DOMAIN_MISMATCH"
    with pytest.raises(SigningError):
        SignerService(signer, signer.address, signature_type=7)
    for bad in ("0x" + "00" * 32, "0x12", "b" * 66):
        with pytest.raises(SigningError) as err:
            SignerService(signer, signer.address, builder_code=bad)
        assert err.value.code == "SEC_BUILDERCODE_MISSING"


def test_deposit_wallet_poly_1271(signer: OrderSigner) -> None:
    """Maker and signer are the deposit wallet; the key (its owner) signs the ERC-7739 envelope."""
    wallet = demo_signer(11).address
    svc = SignerService(signer, wallet, signature_type=int(SignatureType.POLY_1271))
    signed = svc.sign(prepared(svc))
    assert (signed.maker, signed.signer, signed.signature_type) == (wallet, wallet, 3)
    assert len(signed.signature) > 132  # the envelope, not a bare ECDSA signature
    svc.verify(signed)


def test_builder_code_is_configuration(signer: OrderSigner) -> None:
    code = "0x" + "ab" * 32
    svc = SignerService(signer, signer.address, builder_code=code)
    signed = svc.sign(prepared(svc))
    assert signed.builder == code
    svc.verify(signed)


def test_errors_never_carry_key_material(service: SignerService,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    key_hex = hashlib.sha256(b"polytraders/demo-wallet/SIMULATION-ONLY/v1:3:0").hexdigest()
    assert OrderSigner("0x" + key_hex).address == demo_signer(3).address  # the key we hunt for
    sign_digest, other = OrderSigner.sign_digest, demo_signer(5)  # a signature that does not recover
    monkeypatch.setattr(OrderSigner, "sign_digest", lambda self, digest: sign_digest(other, digest))
    with pytest.raises(SigningError) as err:
        service.sign(prepared(service))
    assert key_hex not in str(err.value) and key_hex not in repr(service._signer)  # noqa: SLF001


@given(seed=st.integers(min_value=0, max_value=2**64))
def test_demo_signer_is_deterministic(seed: int) -> None:
    a, b = demo_signer(seed), demo_signer(seed)
    assert a.address == b.address
    assert a.address != demo_signer(seed + 1).address
