"""Operator actions on the kill switch: manual trip and the two-person reset.

A reset needs both: the trip's condition is clear NOW (the system evaluates it with the kill
switch's own code and config; the operator does not assert it), and a reset request made by one
operator is approved by a different operator holding the approver or admin role before the
request expires. Every refusal is journaled with `RISK_KILLSWITCH_RESET_REFUSED` and a reason.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

from polytraders.bots.risk.kill_switch import KillSwitch, condition
from polytraders.contracts import KillSwitchEvent, Note, OperatorCommand, Scope
from polytraders.contracts.envelope import Actor
from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.base import Journal
from polytraders.operators.auth import Operator
from polytraders.runtime.config import BotConfig, build_config, last_loaded_values
from polytraders.runtime.runner import Runtime

_CONDITION_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
SCOPES = ("global", "cluster", "strategy", "family", "bot", "market")


def parse_scope(text: str) -> Scope:
    kind, _, value = text.partition(":")
    if kind not in SCOPES or (kind != "global" and not value) or (kind == "global" and value):
        raise BadInputError(
            f"Bad scope {text!r}: use 'global', or one of cluster:NAME, strategy:ID, family:FAMILY, "
            f"bot:ID, market:CONDITION_ID (for example 'cluster:CRYPTO' or 'market:0xab...').",
        )
    if kind == "market":
        if not _CONDITION_ID.match(value):
            raise BadInputError(
                f"Bad scope {text!r}: a market is named by its condition id, 0x followed by 64 hex digits.")
        value = value.lower()  # contracts store condition ids lower-case (Bytes32)
    return Scope(scope=kind, value=value or "*")


def kill_switch_config(journal: Journal) -> BotConfig:
    """The kill switch's config as the running system last loaded it (journaled), else defaults."""
    values = last_loaded_values(journal.read(kinds=["note"]), KillSwitch.bot_id)
    config, _ = build_config(KillSwitch.bot_id, KillSwitch.params, values)
    return config


def _refuse(rt: Runtime, operator: Operator, reason: str, message: str, **detail: Any) -> RefusedError:
    rt.record(Note(detail={"reason": reason, "operator": operator.name, **detail}),
              actor=operator.actor, reason_code="RISK_KILLSWITCH_RESET_REFUSED", durable=True)
    return RefusedError(message, code="RISK_KILLSWITCH_RESET_REFUSED")


def manual_trip(rt: Runtime, operator: Operator, scope: Scope, reason: str) -> str:
    cmd = rt.record(OperatorCommand(command="killswitch.trip",
                                    args={"scope": scope.label(), "reason": reason},
                                    role=operator.role),
                    actor=operator.actor, reason_code="GOV_OPERATOR_COMMAND", durable=True)
    trip_id = f"ks_{cmd.seq}_manual"
    rt.record(KillSwitchEvent(event="tripped", trip_id=trip_id, trigger="manual", scope=scope,
                              observed=Decimal(1), threshold=Decimal(1), caused_by_seq=cmd.seq,
                              at_ms=rt.clock.now_ms(), detail={"reason": reason[:200],
                                                               "operator": operator.name}),
              actor=operator.actor, reason_code="RISK_KILLSWITCH_TRIPPED", durable=True)
    return trip_id


def _condition_present(rt: Runtime, config: BotConfig, trip_id: str) -> str | None:
    trip = rt.kill_switch.active[trip_id]
    breach = condition(trip.trigger, trip.scope_value if trip.scope == "cluster" else "*",
                       rt.state, config, rt.clock.now_ms())
    if breach is None:
        return None
    return f"{trip.trigger} still holds (observed {breach.observed}, threshold {breach.threshold})"


def request_reset(rt: Runtime, operator: Operator, trip_id: str, config: BotConfig) -> str:
    if trip_id not in rt.kill_switch.active:
        raise _refuse(rt, operator, "unknown_trip",
                      f"Reset refused: no active trip {trip_id!r}; see 'polytraders killswitch status'.",
                      trip_id=trip_id)
    present = _condition_present(rt, config, trip_id)
    if present:
        raise _refuse(rt, operator, "condition_present",
                      f"Reset refused: the trigger condition is not clear — {present}.",
                      trip_id=trip_id)
    now = rt.clock.now_ms()
    request_id = "rr_" + hashlib.sha256(f"{trip_id}:{operator.name}:{now}".encode()).hexdigest()[:12]
    rt.record(Note(detail={"request_id": request_id, "trip_id": trip_id, "requester": operator.name,
                           "expires_at_ms": now + config.integer("reset_request_ttl_s") * 1000}),
              actor=operator.actor, reason_code="RISK_KILLSWITCH_RESET_REQUESTED", durable=True)
    return request_id


def approve_reset(rt: Runtime, operator: Operator, request_id: str, config: BotConfig) -> str:
    req = rt.kill_switch.requests.get(request_id)
    if req is None:
        raise _refuse(rt, operator, "unknown_request",
                      f"Approval refused: no reset request {request_id!r}.", request_id=request_id)
    if req["used"]:
        raise _refuse(rt, operator, "already_used",
                      f"Approval refused: reset request {request_id} was already used.",
                      request_id=request_id)
    if operator.name == req["requester"]:
        raise _refuse(rt, operator, "same_person",
                      f"Approval refused: {operator.name} made the request; a second, different "
                      f"operator must approve it.", request_id=request_id)
    if operator.role not in ("approver", "admin"):
        raise _refuse(rt, operator, "role_not_permitted",
                      f"Approval refused: {operator.name} has role {operator.role}; only an approver "
                      f"or admin may approve a reset.", request_id=request_id)
    if rt.clock.now_ms() > req["expires_at_ms"]:
        raise _refuse(rt, operator, "expired",
                      f"Approval refused: reset request {request_id} expired; ask for a new one.",
                      request_id=request_id)
    trip_id = str(req["trip_id"])
    if trip_id not in rt.kill_switch.active:
        raise _refuse(rt, operator, "unknown_trip",
                      f"Approval refused: trip {trip_id} is no longer active.", request_id=request_id)
    present = _condition_present(rt, config, trip_id)
    if present:
        raise _refuse(rt, operator, "condition_present",
                      f"Approval refused: the trigger condition is not clear — {present}.",
                      request_id=request_id)
    trip = rt.kill_switch.active[trip_id]
    rt.record(KillSwitchEvent(event="reset", trip_id=trip_id, trigger=trip.trigger,
                              scope=Scope(scope=trip.scope, value=trip.scope_value),
                              observed=Decimal(0), threshold=Decimal(trip.threshold),
                              caused_by_seq=req["seq"], at_ms=rt.clock.now_ms(),
                              detail={"request_id": request_id, "requester": req["requester"],
                                      "approver": operator.name}),
              actor=operator.actor, reason_code="RISK_KILLSWITCH_RESET", durable=True)
    return trip_id


def operator_actor(name: str) -> Actor:
    return Actor(kind="operator", id=name)
