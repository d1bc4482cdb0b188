"""The order path: intent → kill switch → guardrails → router → security → sign → OLM.

The steps of one intent are journaled together as one `DecisionRecord` carrying the intent's
correlation id: when the path ends (a rejection, no plan, a security block) or, write-ahead,
before the order is signed and submitted (a sliced plan writes one more record per later slice,
holding that slice's security checks). One REJECT ends the path; RESHAPE constraints travel to
the router, which applies them. Nothing reaches the venue without passing Risk and Security.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from polytraders.contracts import ExecutionPlan, Note, OrderIntent, RiskConstraints, RiskVote
from polytraders.contracts.decisions import DecisionResult, DecisionStep
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
        steps: list[DecisionStep] = []
        try:
            return self._process(intent, steps)
        except Exception:
            # an unexpected error still leaves the steps taken so far in the journal (not when
            # writing the record was what failed: `_end` empties the list before it writes)
            if steps:
                with contextlib.suppress(Exception):  # the caller must see the original error
                    self.rt.record_decision(intent.intent_id, "aborted", steps,
                                            reason_code=steps[-1].reason_code,
                                            correlation_id=intent.correlation_id)
            raise

    def _end(self, intent: OrderIntent, steps: list[DecisionStep], result: DecisionResult,
             code: str) -> None:
        """Journal the decision so far as one record, then start a new one (a plan's later slices)."""
        if steps:
            taken = list(steps)
            steps.clear()
            self.rt.record_decision(intent.intent_id, result, taken, reason_code=code,
                                    correlation_id=intent.correlation_id)

    def _process(self, intent: OrderIntent, steps: list[DecisionStep]) -> PathOutcome:
        corr, iid = intent.correlation_id, intent.intent_id
        rt = self.rt
        constraints: list[RiskConstraints] = []
        # Hold the write lock from the kill-switch vote to the order's durable append, having
        # folded everything others committed: a trip made elsewhere is seen before the vote.
        rt.begin_decision()
        for guard in (self.kill_switch, *self.guardrails):
            out = rt.evaluate(guard, intent, correlation_id=corr, intent_id=iid)
            step = out.step
            if step is not None:
                steps.append(step)
            if out.blocked:
                code = step.reason_code if step is not None else "RISK_KILLSWITCH_ACTIVE"
                self._end(intent, steps, "rejected", code)
                return PathOutcome("rejected", code)
            vote = out.effective
            if vote is not None and vote.decision == "RESHAPE_REQUIRED" and vote.constraints:
                constraints.append(vote.constraints)
        markets = rt.state.get("markets")
        market = markets.market(intent.market_id)  # type: ignore[attr-defined]
        book = markets.book(intent.token_id)  # type: ignore[attr-defined]
        request = self._route_request(intent=intent, constraints=tuple(constraints),
                                      market=market, book=book)
        routed = rt.evaluate(self.router, request, correlation_id=corr, intent_id=iid)
        route_step = routed.step
        if route_step is not None:
            steps.append(route_step)
        plan = routed.effective
        route_code = route_step.reason_code if route_step is not None else "EXEC_PLAN_CREATED"
        if plan is None:
            code = route_step.reason_code if route_step is not None else "EXEC_BAD_INTENT"
            self._end(intent, steps, "no_plan", code)
            return PathOutcome("no_plan", code)
        submitted: list[str] = []
        for planned in plan.steps:
            if submitted:  # the last slice's durable append released the lock: look again
                rt.begin_decision()
                if rt.kill_switch.tripped:
                    return PathOutcome("rejected", "RISK_KILLSWITCH_ACTIVE", tuple(submitted))
            signing = self.signer.prepare(plan, planned, market, rt.clock.now_ms())
            for check in self.security:
                out = rt.evaluate(check, signing, correlation_id=corr, intent_id=iid)
                step = out.step
                if step is not None:
                    steps.append(step)
                if out.blocked:
                    code = step.reason_code if step is not None else "SEC_SIGNING_INVALID"
                    self._end(intent, steps, "blocked_by_security", code)
                    return PathOutcome("blocked_by_security", code, tuple(submitted))
            # write-ahead: the whole decision is journaled before the order is signed and sent
            self._end(intent, steps, "passed",
                      route_code if not submitted else (steps[-1].reason_code if steps else route_code))
            signed = self.signer.sign(signing)
            rt.record(signed, actor=SIGNER, reason_code="SEC_ORDER_SIGNED", correlation_id=corr)
            self.olm.submit(signed, planned, intent)
            submitted.append(planned.client_order_id)
        return PathOutcome("submitted", route_code, tuple(submitted))
