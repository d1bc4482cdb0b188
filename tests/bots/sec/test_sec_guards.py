"""Security guardrails: a correct request passes; each bad field is rejected with its code."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sec_factories import NOW, make_request

from polytraders.bots.sec.checks import SECURITY_CHECKS_IN_ORDER
from polytraders.bots.sec.contract_address_guard import ContractAddressGuard
from polytraders.bots.sec.wallet_permission_guard import WalletPermissionGuard
from polytraders.execution.signer_service import SignerService, SigningRequest, demo_signer
from polytraders.journal import SqliteJournal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.kinds import Authority, Layer, Mode
from polytraders.runtime.runner import Runtime
from polytraders.signing.constants import (
    AMOY_CHAIN_ID,
    CTF_EXCHANGE_V2,
    NEG_RISK_CTF_EXCHANGE_V2,
    ZERO_BYTES32,
    SignatureType,
)
from polytraders.signing.order import OrderSigner


@pytest.fixture
def signer() -> OrderSigner:
    return demo_signer(7)


@pytest.fixture
def service(signer: OrderSigner) -> SignerService:
    return SignerService(signer, signer.address)


@pytest.fixture
def request_ok(service: SignerService) -> SigningRequest:
    return make_request(service)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime(SqliteJournal(tmp_path / "j.db"), SimClock(NOW))


@pytest.fixture
def contract_guard(runtime: Runtime) -> ContractAddressGuard:
    bot = ContractAddressGuard()
    runtime.add_bot(bot)
    return bot


@pytest.fixture
def wallet_guard(runtime: Runtime, signer: OrderSigner) -> WalletPermissionGuard:
    bot = WalletPermissionGuard()
    runtime.add_bot(bot, {"allowed_wallets": (signer.address.lower(),)})
    return bot


def vote(runtime: Runtime, bot: Any, req: SigningRequest) -> tuple[str, str]:
    d = bot.decide(req, runtime.context(bot, None))
    assert d.output is not None and d.output.reason_code == d.reason_code
    assert d.output.intent_id == "oi_test000001"
    return d.output.decision, d.reason_code


def test_checks_order_and_class_rules() -> None:
    assert (ContractAddressGuard, WalletPermissionGuard) == SECURITY_CHECKS_IN_ORDER
    for cls in SECURITY_CHECKS_IN_ORDER:
        assert cls.layer is Layer.SECURITY and cls.bot_class == "Guardrail"
        assert cls.authority == frozenset({Authority.REJECT})
        assert {Mode.ENFORCED, Mode.QUARANTINE} <= cls.supported_modes
        assert "SEC_CHECK_PASSED" in cls.reason_codes


@pytest.mark.parametrize("neg_risk", [False, True])
def test_correct_request_passes_both(runtime: Runtime, contract_guard: ContractAddressGuard,
                                     wallet_guard: WalletPermissionGuard,
                                     service: SignerService, neg_risk: bool) -> None:
    req = make_request(service, neg_risk)
    assert req.verifying_contract == (NEG_RISK_CTF_EXCHANGE_V2 if neg_risk else CTF_EXCHANGE_V2)
    assert vote(runtime, contract_guard, req) == ("APPROVE", "SEC_CHECK_PASSED")
    assert vote(runtime, wallet_guard, req) == ("APPROVE", "SEC_CHECK_PASSED")


@pytest.mark.parametrize(("change", "code"), [
    ({"verifying_contract": "0x" + "11" * 20}, "SEC_CONTRACT_NOT_ALLOWED"),
    ({"verifying_contract": NEG_RISK_CTF_EXCHANGE_V2}, "SEC_CONTRACT_NOT_ALLOWED"),  # not neg-risk
    ({"neg_risk": True}, "SEC_CONTRACT_NOT_ALLOWED"),  # plain exchange for a neg-risk market
    ({"chain_id": 1}, "SEC_CONTRACT_NOT_ALLOWED"),  # unknown chain: fail closed
    ({"chain_id": AMOY_CHAIN_ID}, "SEC_DOMAIN_MISMATCH"),
    ({"domain_name": "CTFExchangeV2"}, "SEC_DOMAIN_MISMATCH"),
    ({"domain_version": "1"}, "SEC_DOMAIN_MISMATCH"),
    ({"domain_version": "3"}, "SEC_DOMAIN_MISMATCH"),
])
def test_contract_guard_rejects_each_bad_field(runtime: Runtime,
                                               contract_guard: ContractAddressGuard,
                                               request_ok: SigningRequest,
                                               change: dict[str, Any], code: str) -> None:
    bad = dataclasses.replace(request_ok, **change)
    assert vote(runtime, contract_guard, bad) == ("REJECT", code)


def test_contract_guard_accepts_lowercase_address(runtime: Runtime,
                                                  contract_guard: ContractAddressGuard,
                                                  request_ok: SigningRequest) -> None:
    req = dataclasses.replace(request_ok, verifying_contract=CTF_EXCHANGE_V2.lower())
    assert vote(runtime, contract_guard, req)[0] == "APPROVE"


def test_wallet_guard_rejects_unlisted_maker(runtime: Runtime, request_ok: SigningRequest) -> None:
    bot = WalletPermissionGuard()
    runtime.add_bot(bot, {"allowed_wallets": (demo_signer(8).address,)})
    d = bot.decide(request_ok, runtime.context(bot, None))
    assert (d.reason_code, d.detail["field"]) == ("SEC_WALLET_NOT_PERMITTED", "maker")


def test_wallet_guard_rejects_unlisted_signer(runtime: Runtime, signer: OrderSigner) -> None:
    funder = demo_signer(9).address
    service = SignerService(signer, funder, signature_type=int(SignatureType.POLY_GNOSIS_SAFE))
    req = make_request(service)
    bot = WalletPermissionGuard()
    runtime.add_bot(bot, {"allowed_wallets": (funder,)})
    d = bot.decide(req, runtime.context(bot, None))
    assert (d.reason_code, d.detail["field"]) == ("SEC_WALLET_NOT_PERMITTED", "signer")


def test_empty_allow_list_permits_nobody(runtime: Runtime, request_ok: SigningRequest) -> None:
    bot = WalletPermissionGuard()
    runtime.add_bot(bot)
    assert vote(runtime, bot, request_ok) == ("REJECT", "SEC_WALLET_NOT_PERMITTED")


@pytest.mark.parametrize("builder", [ZERO_BYTES32, "0x" + "12" * 32])
def test_wallet_guard_rejects_builder(runtime: Runtime, wallet_guard: WalletPermissionGuard,
                                      request_ok: SigningRequest, builder: str) -> None:
    bad = dataclasses.replace(request_ok,
                              unsigned=dataclasses.replace(request_ok.unsigned, builder=builder))
    assert vote(runtime, wallet_guard, bad) == ("REJECT", "SEC_BUILDERCODE_MISSING")


def test_runtime_blocks_rejects_and_advisory_never_blocks(
        runtime: Runtime, contract_guard: ContractAddressGuard,
        request_ok: SigningRequest) -> None:
    bad = dataclasses.replace(request_ok, domain_version="1")
    head = runtime.journal.head()[0]
    out = runtime.decide(contract_guard, bad, correlation_id="oc_test000001")
    assert out.blocked and out.entry is not None
    assert runtime.journal.head()[0] == head + 1
    assert out.entry.envelope.reason_code == "SEC_DOMAIN_MISMATCH"
    assert out.entry.envelope.payload["decision"] == "REJECT"
    runtime.set_mode(contract_guard.bot_id, Mode.ADVISORY)
    adv = runtime.decide(contract_guard, bad)
    assert not adv.blocked and adv.effective is not None
    assert adv.effective.decision == "WARNING_ONLY"


def test_guard_failure_fails_closed(runtime: Runtime,
                                    wallet_guard: WalletPermissionGuard) -> None:
    out = runtime.decide(wallet_guard, None)  # missing request: the bot raises
    assert out.blocked and out.effective is None
    assert out.entry is not None and out.entry.envelope.reason_code == "GOV_BOT_ERROR"

