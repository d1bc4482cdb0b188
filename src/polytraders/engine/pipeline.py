"""The order path: intent → kill switch → guardrails → router → security → sign → OLM.

Each step journals exactly one envelope carrying the intent's correlation id. One REJECT ends
the path; RESHAPE constraints travel to the router, which applies them. Nothing reaches the
venue without passing Risk and Security.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from polytraders.contracts import ExecutionPlan, Note, OrderIntent, RiskConstraints, RiskVote
from polytraders.contracts.envelope import Actor
from polytraders.runtime.bot import Bot
from polytraders.runtime.runner import Runtime

INTAKE = Actor(kind="system", id="pipeline")
SIGNER = Actor(kind="system", id="signer")

PathResult = Literal["submitted", "rejected", "no_plan", "blocked_by_security", "malformed"]


@dataclass(frozen=True, slots=True)
class PathOutcome:
    result: PathResult
    reason_code: str
    client_order_ids: tuple[str, ...] = ()


def bad_intent_code(err: ValidationError) -> str:
    """Map the first invalid field of a raw intent to its registry code."""
    fields = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
    for field, code in (("price", "EXEC_BAD_PRICE"), ("size", "EXEC_BAD_SIZE"),
                        ("side", "EXEC_BAD_SIDE"), ("order_type", "EXEC_BAD_TIF"),
                        ("time_in_force_s", "EXEC_BAD_TIF")):
        if field in fields:
            return code
    return "EXEC_BAD_INTENT"


class OrderPath:
    def __init__(
        self,
        runtime: Runtime,
        *,
        kill_switch: Bot[OrderIntent, RiskVote],
        guardrails: Sequence[Bot[OrderIntent, RiskVote]],
        router: Bot[Any, ExecutionPlan],
        security: Sequence[Bot[Any, RiskVote]],
        signer: Any,
        olm: Any,
        route_request: Any,
    ) -> None:
        self.rt = runtime
        self.kill_switch = kill_switch
        self.guardrails = tuple(guardrails)
        self.router = router
        self.security = tuple(security)
        self.signer = signer
        self.olm = olm
        self._route_request = route_request

    def intake(self, raw: dict[str, Any]) -> OrderIntent | PathOutcome:
        """Validate an externally supplied intent; a malformed one is journaled, never raised."""
        try:
            return OrderIntent.model_validate(raw)
        except ValidationError as err:
            code = bad_intent_code(err)
            corr = raw.get("correlation_id") if isinstance(raw.get("correlation_id"), str) else None
            self.rt.record(
                Note(detail={"errors": [f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                        for e in err.errors()][:5]}),
                actor=INTAKE, reason_code=code, correlation_id=corr,
            )
            return PathOutcome("malformed", code)

    def process(self, intent: OrderIntent) -> PathOutcome:
        corr = intent.correlation_id
        constraints: list[RiskConstraints] = []
        # Hold the write lock from the kill-switch vote to the order's durable append, having
        # folded everything others committed: a trip made elsewhere is seen before the vote.
        self.rt.begin_decision()
        for guard in (self.kill_switch, *self.guardrails):
            out = self.rt.decide(guard, intent, correlation_id=corr)
            if out.blocked:
                code = out.entry.envelope.reason_code if out.entry else "RISK_KILLSWITCH_ACTIVE"
                return PathOutcome("rejected", code)
            vote = out.effective
            if vote is not None and vote.decision == "RESHAPE_REQUIRED" and vote.constraints:
                constraints.append(vote.constraints)
        markets = self.rt.state.get("markets")
        market = markets.market(intent.market_id)  # type: ignore[attr-defined]
        book = markets.book(intent.token_id)  # type: ignore[attr-defined]
        request = self._route_request(intent=intent, constraints=tuple(constraints),
                                      market=market, book=book)
        routed = self.rt.decide(self.router, request, correlation_id=corr)
        plan = routed.effective
        if plan is None:
            code = routed.entry.envelope.reason_code if routed.entry else "EXEC_BAD_INTENT"
            return PathOutcome("no_plan", code)
        submitted: list[str] = []
        for step in plan.steps:
            if submitted:  # the last slice's durable append released the lock: look again
                self.rt.begin_decision()
                if self.rt.kill_switch.tripped:
                    return PathOutcome("rejected", "RISK_KILLSWITCH_ACTIVE", tuple(submitted))
            signing = self.signer.prepare(plan, step, market, self.rt.clock.now_ms())
            for check in self.security:
                out = self.rt.decide(check, signing, correlation_id=corr)
                if out.blocked:
                    code = out.entry.envelope.reason_code if out.entry else "SEC_SIGNING_INVALID"
                    return PathOutcome("blocked_by_security", code, tuple(submitted))
            signed = self.signer.sign(signing)
            self.rt.record(signed, actor=SIGNER, reason_code="SEC_ORDER_SIGNED", correlation_id=corr)
            self.olm.submit(signed, step, intent)
            submitted.append(step.client_order_id)
        return PathOutcome("submitted", routed.entry.envelope.reason_code if routed.entry
                           else "EXEC_PLAN_CREATED", tuple(submitted))
