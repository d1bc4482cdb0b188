"""Fixture packs for the order-path bots: {normal,warning,hard,failure}.json + expected.*.json.

Each input file holds `config` (overrides), `now_ms`, `mode` and the bot's `input` as JSON; each
expected file holds what the Runtime journals for that decision: reason code, envelope kind and
payload, the config warnings flagged on it, and whether the outcome blocks.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.bots.exec.smart_router import RouteRequest, SmartRouter
from polytraders.bots.sec.contract_address_guard import ContractAddressGuard
from polytraders.bots.sec.wallet_permission_guard import WalletPermissionGuard
from polytraders.bots.strat.maker_tight import MakerTight, QuoteRequest
from polytraders.contracts import (
    ExecutionPlan,
    MarketSnapshot,
    OrderBookSnapshot,
    OrderIntent,
    RiskConstraints,
)
from polytraders.execution.signer_service import SigningRequest
from polytraders.journal import SqliteJournal
from polytraders.runtime.bot import Bot
from polytraders.runtime.clock import SimClock
from polytraders.runtime.kinds import Mode
from polytraders.runtime.runner import Runtime
from polytraders.signing.order import UnsignedOrderV2

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bots"
CASES = ("normal", "warning", "hard", "failure")


def _opt(model: Any, raw: dict[str, Any] | None) -> Any:
    return None if raw is None else model.model_validate(raw)


def _route(raw: dict[str, Any]) -> RouteRequest:
    return RouteRequest(
        intent=OrderIntent.model_validate(raw["intent"]),
        constraints=tuple(RiskConstraints.model_validate(c) for c in raw["constraints"]),
        market=_opt(MarketSnapshot, raw["market"]), book=_opt(OrderBookSnapshot, raw["book"]))


def _quote(raw: dict[str, Any]) -> QuoteRequest:
    oq = raw["open_quote"]
    return QuoteRequest(
        market=MarketSnapshot.model_validate(raw["market"]),
        book=_opt(OrderBookSnapshot, raw["book"]), side=raw["side"],
        position_size=Decimal(raw["position_size"]),
        open_quote=None if oq is None else (Decimal(oq[0]), Decimal(oq[1])))


def _signing(raw: dict[str, Any]) -> SigningRequest:
    plan = ExecutionPlan.model_validate(raw["plan"])
    return SigningRequest(
        plan=plan, step=plan.steps[raw["step_index"]], unsigned=UnsignedOrderV2(**raw["unsigned"]),
        chain_id=raw["chain_id"], verifying_contract=raw["verifying_contract"],
        domain_name=raw["domain_name"], domain_version=raw["domain_version"],
        neg_risk=raw["neg_risk"])


BOTS: dict[str, tuple[type[Bot[Any, Any]], Any]] = {
    "exec.smart_router": (SmartRouter, _route),
    "strat.maker_tight": (MakerTight, _quote),
    "sec.contract_address_guard": (ContractAddressGuard, _signing),
    "sec.wallet_permission_guard": (WalletPermissionGuard, _signing),
}


def run_case(bot_id: str, case: str, db: Path) -> dict[str, Any]:
    """Feed one fixture through a real Runtime and describe the one envelope it journals."""
    spec = json.loads((FIXTURES / bot_id / f"{case}.json").read_text(encoding="utf-8"))
    cls, parse = BOTS[bot_id]
    runtime = Runtime(SqliteJournal(db), SimClock(spec["now_ms"]))
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["config"].items()}
    bot = runtime.add_bot(cls(), config, mode=Mode(spec["mode"]))
    head = runtime.journal.head()[0]
    outcome = runtime.decide(bot, parse(spec["input"]))
    assert runtime.journal.head()[0] == head + 1, "exactly one envelope per decide"
    assert outcome.entry is not None
    env = outcome.entry.envelope
    return {
        "reason_code": env.reason_code,
        "kind": env.kind,
        "config_warnings": list(env.config_warnings),
        "blocked": outcome.blocked,
        "effective": outcome.effective is not None,
        "payload": env.payload,
    }


@pytest.mark.parametrize("bot_id", sorted(BOTS))
def test_pack_is_complete(bot_id: str) -> None:
    names = {p.name for p in (FIXTURES / bot_id).glob("*.json")}
    assert names == {f"{c}.json" for c in CASES} | {f"expected.{c}.json" for c in CASES}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("bot_id", sorted(BOTS))
def test_fixture(bot_id: str, case: str, tmp_path: Path) -> None:
    expected = json.loads((FIXTURES / bot_id / f"expected.{case}.json").read_text("utf-8"))
    assert run_case(bot_id, case, tmp_path / "j.db") == expected
    cls = BOTS[bot_id][0]
    assert expected["reason_code"] in cls.reason_codes
    if case == "warning":
        assert expected["config_warnings"] or bot_id.startswith("sec.")  # sec has no numbers
    if case in ("hard", "failure"):
        assert expected["effective"] is False or expected["payload"].get("decision") == "REJECT"
