"""Shared vote construction for the Security guardrails (one RiskVote per signing request)."""

from __future__ import annotations

from polytraders.contracts import RiskVote
from polytraders.contracts.orders import own_vote
from polytraders.contracts.reasons import require_code
from polytraders.runtime.bot import Decision


def passed(guard_id: str, intent_id: str) -> Decision[RiskVote]:
    # built without a validation pass: every value is ours (the ids are the guard's and the plan's)
    vote = own_vote(guard_id, intent_id, "APPROVE", "INFO", "SEC_CHECK_PASSED", "All checks of this guard passed.",
                    None, {})
    return Decision(vote, "SEC_CHECK_PASSED")


def rejected(guard_id: str, intent_id: str, code: str, field: str,
             observed: dict[str, str]) -> Decision[RiskVote]:
    # A security failure is never a warning: the order must not be signed (P0).
    vote = RiskVote(guard_id=guard_id, intent_id=intent_id, decision="REJECT", severity="P0",
                    reason_code=code, message=f"{require_code(code).meaning} (field {field})",
                    observed=observed)
    return Decision(vote, code, {"field": field, **observed})
