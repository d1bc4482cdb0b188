"""Builders of a correct signing request (via the real SignerService) for the Security tests."""

from __future__ import annotations

from decimal import Decimal

from polytraders.contracts import ExecutionPlan, MarketSnapshot, PlannedOrder
from polytraders.execution.signer_service import SignerService, SigningRequest

NOW = 1_767_225_600_000
MID = "0x" + "ab" * 32


def make_market(neg_risk: bool = False) -> MarketSnapshot:
    return MarketSnapshot(market_id=MID, question="Q?", yes_token="1001", no_token="1002",
                          tick=Decimal("0.01"), min_size=Decimal(5), neg_risk=neg_risk,
                          observed_at_ms=NOW)


def make_plan() -> ExecutionPlan:
    step = PlannedOrder(client_order_id="co_0123456789abcdef01234567", token_id="1001",
                        side="BUY", price=Decimal("0.45"), size=Decimal(10), order_type="GTC")
    return ExecutionPlan(plan_id="pl_test", intent_id="oi_test000001", market_id=MID,
                         steps=(step,), tick=Decimal("0.01"))


def make_request(service: SignerService, neg_risk: bool = False) -> SigningRequest:
    plan = make_plan()
    return service.prepare(plan, plan.steps[0], make_market(neg_risk), NOW)
