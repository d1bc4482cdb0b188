"""Operator actions for the reconcile playbook: the by-hand reconciliation and its approval.

`record_resolution` journals a `reconcile_adjustment` signed by the operator: an explanation of
what happened and corrections to the ledger (item -> signed amount, e.g. a withdrawal nobody
journaled). It changes nothing until `approve_resolution` is signed by a second operator who
holds the approver or admin role and passes the trust projection's separation of duties (not
the requester, not registered by them). Then a fresh reconcile must match before the kill
switch's reset can be approved (`kill_switch_ops` asks the reconcile projection what is missing).
Every refusal by an authenticated operator is journaled with GOV_RECONCILE_ADJUSTMENT_REFUSED.

`record_transfer` journals a deposit or withdrawal the funder made (an opening balance, a top-up,
a sweep to cold storage) as a signed `chain_transfer`, so the chain's change is explained. It is
refused while a mismatch is open: a difference already found is explained by a resolution that a
second operator approves, never by a transfer one operator records afterwards.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from polytraders.contracts import FREE_TEXT_MAX, ChainTransfer, Note, ReconcileAdjustment
from polytraders.errors import BadInputError, RefusedError
from polytraders.operators.auth import Operator
from polytraders.runtime.runner import Runtime
from polytraders.state.reconcile import PUSD, ReconcileProjection

REFUSED = "GOV_RECONCILE_ADJUSTMENT_REFUSED"
MAX_ADJUSTMENTS = 1_000


def parse_adjustments(pairs: list[str]) -> dict[str, Decimal]:
    """`TOKEN=AMOUNT` (or `pusd=AMOUNT`), signed, in token units with at most 6 decimals."""
    out: dict[str, Decimal] = {}
    for pair in pairs:
        item, sep, amount = pair.partition("=")
        item = item.strip().lower() if item.strip().lower() == PUSD else item.strip()
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = Decimal("NaN")
        if not sep or not item or not value.is_finite() or value.as_tuple().exponent < -6:  # type: ignore[operator]
            raise BadInputError(f"Bad --adjust {pair!r}: use TOKEN_ID=AMOUNT or pusd=AMOUNT, a signed number with "
                                f"at most 6 decimals (for example pusd=-25.5).")
        if item != PUSD and not item.isdigit():
            raise BadInputError(f"Bad --adjust {pair!r}: a token is named by its decimal token id.")
        out[item] = out.get(item, Decimal(0)) + value
    if len(out) > MAX_ADJUSTMENTS:
        raise BadInputError(f"At most {MAX_ADJUSTMENTS} adjustments per resolution.")
    return out


def _refuse(rt: Runtime, operator: Operator, reason: str, message: str, **detail: Any) -> RefusedError:
    rt.record(Note(detail={"reason": reason, "operator": operator.name, "summary": message, **detail}),
              actor=operator.actor, reason_code=REFUSED, durable=True, signer=operator.signer)
    return RefusedError(message, code=REFUSED)


def _ledger(rt: Runtime) -> ReconcileProjection:
    return rt.state.typed("reconcile", ReconcileProjection)


def record_resolution(rt: Runtime, operator: Operator, incident_id: str, explain: str,
                      adjustments: dict[str, Decimal]) -> str:
    if len(explain.encode()) > FREE_TEXT_MAX or not explain.strip():
        raise BadInputError(f"--explain must be 1..{FREE_TEXT_MAX} bytes of text.")
    ledger = _ledger(rt)
    incidents: Any = rt.state.find("incidents")
    inc = incidents.get(incident_id) if incidents is not None else None
    trip = next((h for h in rt.kill_switch.history if h["trip_id"] == incident_id), None)
    if inc is None and trip is not None:
        # A mismatch found by 'polytraders reconcile' while no system ran trips the switch but opens
        # no incident (only the running system runs playbooks): the trip names the case instead.
        inc = {"trigger": trip["trigger"]}
    if inc is None:
        raise _refuse(rt, operator, "unknown_incident", f"Refused: there is no incident or trip {incident_id!r}; "
                      f"see 'polytraders incidents list' and 'polytraders killswitch status'.",
                      incident_id=incident_id)
    if inc.get("trigger") != "reconcile_mismatch":
        raise _refuse(rt, operator, "not_a_reconcile_incident",
                      f"Refused: incident {incident_id} was opened for {inc.get('trigger')}, not a reconcile "
                      f"mismatch.", incident_id=incident_id)
    if not ledger.mismatched:
        raise _refuse(rt, operator, "no_open_mismatch",
                      "Refused: there is no open reconcile mismatch to resolve.", incident_id=incident_id)
    now = rt.clock.now_ms()
    adjustment_id = "adj_" + hashlib.sha256(f"{incident_id}:{operator.name}:{now}:{explain}".encode()).hexdigest()[:12]
    rt.record(ReconcileAdjustment(adjustment_id=adjustment_id, incident_id=incident_id, explain=explain,
                                  adjustments=adjustments, requester=operator.name),
              actor=operator.actor, reason_code="GOV_RECONCILE_ADJUSTMENT_RECORDED", durable=True,
              correlation_id=incident_id, signer=operator.signer)
    if adjustment_id not in ledger.adjustments:
        raise RefusedError("The reconciliation was written but not counted; see 'polytraders journal verify'.",
                           code=REFUSED)
    return adjustment_id


def approve_resolution(rt: Runtime, operator: Operator, adjustment_id: str) -> str:
    ledger = _ledger(rt)
    problem = ledger.approval_problem(adjustment_id, operator.name)
    if problem is None and operator.role not in ("approver", "admin"):
        problem = f"{operator.name} has role {operator.role}; only an approver or admin may approve"
    if problem is not None:
        raise _refuse(rt, operator, "approval_refused", f"Approval refused: {problem}.", adjustment_id=adjustment_id)
    adj = ledger.adjustments[adjustment_id]
    rt.record(Note(detail={"adjustment_id": adjustment_id, "incident_id": adj["incident_id"],
                           "requester": adj["requester"], "approver": operator.name,
                           "summary": f"{operator.name} approved {adjustment_id} by {adj['requester']}"}),
              actor=operator.actor, reason_code="GOV_RECONCILE_ADJUSTMENT_APPROVED", durable=True,
              correlation_id=str(adj["incident_id"]), signer=operator.signer)
    if ledger.adjustments[adjustment_id]["approved_by"] is None:
        raise RefusedError("The approval was written but not counted; see 'polytraders journal verify'.",
                           code=REFUSED)
    return str(adj["incident_id"])


def record_transfer(rt: Runtime, operator: Operator, direction: Literal["deposit", "withdrawal"], item: str,
                    amount: Decimal, address: str, reference: str, tx_hash: str | None = None) -> int:
    """Journal a deposit or withdrawal (signed by `operator`); returns its seq."""
    rt.journal.begin()  # the write lock folds what others wrote: a mismatch found meanwhile is seen
    ledger = _ledger(rt)
    if ledger.mismatched:
        raise _refuse(rt, operator, "mismatch_open", f"A reconcile mismatch is open (seq {ledger.mismatch_seq}): "
                      f"explain it with 'polytraders reconcile resolve', approved by a second operator, not with "
                      f"a transfer.", direction=direction, item=item, amount=str(amount))
    entry = rt.record(ChainTransfer(direction=direction, item=item, amount=amount, address=address,
                                    tx_hash=tx_hash, reference=reference),
                      actor=operator.actor, reason_code="GOV_CHAIN_TRANSFER", durable=True, signer=operator.signer)
    return entry.seq
