"""Operator actions on the kill switch: manual trip and the two-person reset.

A reset needs both: the trip's condition is clear NOW (the system evaluates it with the kill
switch's own code and config; the operator does not assert it), and a reset request made by one
operator is approved by a different operator holding the approver or admin role before the
request expires. The approver may not be anyone the requester registered. Every action is
signed with the operator's key; every refusal by an authenticated operator is journaled with
`RISK_KILLSWITCH_RESET_REFUSED` and a reason. The kill-switch projection checks the same rules
when it folds the reset, so a reset written around this module changes nothing.

The halt file (`<db>.halt`) is the emergency stop for when the journal cannot be written: it
works by existing, every running process obeys it at its next step, and only the reset of the
trip that journals it removes it.
"""

from __future__ import annotations

import hashlib
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytraders.bots.risk.kill_switch import KillSwitch, condition
from polytraders.contracts import FREE_TEXT_MAX, KillSwitchEvent, Note, Scope
from polytraders.contracts.envelope import Actor
from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.base import Journal
from polytraders.journal.sqlite import halt_path as halt_path  # its old home; importers still find it here
from polytraders.operators.auth import Operator
from polytraders.runtime.config import BotConfig, build_config, last_loaded_values
from polytraders.runtime.runner import Runtime

_CONDITION_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
SCOPES = ("global", "cluster", "strategy", "family", "bot", "market")
FAMILIES = ("disc", "risk", "exec", "strat", "intel", "sec", "gov")
MAX_FUTURE_SKEW_MS = 60_000


def create_halt_file(db: Path, note: str) -> Path:
    """Create the halt file; it works by existing, so an empty one is enough on a full disk."""
    path = halt_path(db)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, note.encode()[:FREE_TEXT_MAX])
    except OSError:
        pass  # a full disk: the empty file still halts everything
    finally:
        os.close(fd)
    return path


def bounded_text(field: str, text: str) -> str:
    if len(text.encode()) > FREE_TEXT_MAX:
        raise BadInputError(f"--{field} is {len(text.encode())} bytes; at most {FREE_TEXT_MAX} are kept.")
    return text


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
              actor=operator.actor, reason_code="RISK_KILLSWITCH_RESET_REFUSED", durable=True,
              signer=operator.signer)
    return RefusedError(message, code="RISK_KILLSWITCH_RESET_REFUSED")


def check_scope_exists(rt: Runtime, scope: Scope) -> None:
    """A trip must name something that exists: a known market, cluster, family, bot or strategy."""
    from polytraders.registry.catalogue import resolve_bot_id

    if scope.scope == "global":
        return
    if scope.scope == "family":
        if scope.value not in FAMILIES:
            raise BadInputError(f"Unknown family {scope.value!r}; families are {', '.join(FAMILIES)}.")
        return
    if scope.scope in ("bot", "strategy"):
        try:
            resolve_bot_id(scope.value)
        except Exception:
            raise BadInputError(f"No bot or strategy {scope.value!r} in the registry; "
                                f"see 'polytraders bots'.") from None
        return
    markets = rt.state.find("markets")
    listed = markets.markets() if markets is not None else []  # type: ignore[attr-defined]
    if scope.scope == "market":
        if scope.value not in {m.market_id.lower() for m in listed}:
            raise BadInputError(f"Unknown market {scope.value!r}: no market with that condition id has been "
                                f"seen in this journal.")
        return
    known = sorted({m.cluster for m in listed})
    if scope.value not in known:
        raise BadInputError(f"Unknown cluster {scope.value!r}; clusters in this journal: "
                            f"{', '.join(known) or 'none yet (use --scope global)'}.")


def manual_trip(rt: Runtime, operator: Operator, scope: Scope, reason: str) -> str:
    """Trip by hand: one entry signed by the operator, committed before this returns."""
    bounded_text("reason", reason)
    trip_id = f"ks_{rt.journal.begin() + 1}_manual"  # takes the write lock: the seq is ours
    rt.record(KillSwitchEvent(event="tripped", trip_id=trip_id, trigger="manual", scope=scope,
                              observed=Decimal(1), threshold=Decimal(1), caused_by_seq=None,
                              at_ms=rt.clock.now_ms(), detail={"reason": reason,
                                                               "operator": operator.name}),
              actor=operator.actor, reason_code="RISK_KILLSWITCH_TRIPPED", durable=True,
              signer=operator.signer)
    return trip_id


def open_trip_incident(rt: Runtime, operator: Operator, trip_id: str, incident_config: Any) -> str | None:
    """With no running system, the operator's own process opens the trip's incident and runs the
    kill-switch playbook exactly as the system would (every entry signed by the operator). Steps
    that need the venue say so and stay on the checklist: the in-flight check reports what is in
    flight (nothing can settle while no system runs), and the next `polytraders run` cancels the
    resting orders in scope before it trades. Returns the incident id."""
    from polytraders.bots.gov.incident_commander import IncidentCommander
    from polytraders.engine.system import replay_last_hour
    from polytraders.incidents.engine import PlaybookRunner
    from polytraders.incidents.notifiers import build_dispatcher

    entry = next((e for e in rt.journal.read(kinds=["killswitch_event"])
                  if e.envelope.payload.get("trip_id") == trip_id
                  and e.envelope.payload.get("event") == "tripped"), None)
    if entry is None:
        return None
    values = last_loaded_values(rt.journal.read(kinds=["note"]), IncidentCommander.bot_id)
    commander, _ = build_config(IncidentCommander.bot_id, IncidentCommander.params, values)
    runner = PlaybookRunner(rt, {"replay": replay_last_hour}, build_dispatcher(incident_config.notifiers),
                            incident_config.roster, snapshots_dir=incident_config.snapshots_dir,
                            require_rca_within_h=commander.integer("require_rca_within_h"),
                            params={"can_wait": False, "inflight_wait_s": commander.integer("inflight_wait_s")},
                            actor=operator.actor)
    return runner.handle_trip(entry, alert_key=f"kill_switch:manual:{trip_id}")


def _condition_present(rt: Runtime, config: BotConfig, trip_id: str) -> str | None:
    trip = rt.kill_switch.active[trip_id]
    if trip.trigger == "reconcile_mismatch":
        # Clear only after a by-hand reconciliation, a second operator's approval and a fresh
        # match, in that order; the reconcile projection says which of them is still missing.
        recon: Any = rt.state.find("reconcile")
        if recon is None:
            return "reconcile_mismatch cannot be judged: no reconcile ledger in this process"
        blocker = recon.reset_blocker()
        return f"reconcile_mismatch still holds: {blocker}" if blocker else None
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
              actor=operator.actor, reason_code="RISK_KILLSWITCH_RESET_REQUESTED", durable=True,
              signer=operator.signer)
    if request_id not in rt.kill_switch.requests:
        raise RefusedError("The reset request was written but not counted; see 'polytraders journal verify'.",
                           code="RISK_KILLSWITCH_RESET_REFUSED")
    return request_id


def approve_reset(rt: Runtime, operator: Operator, request_id: str, config: BotConfig,
                  halt_file: Path | None = None) -> str:
    req = rt.kill_switch.requests.get(request_id)
    if req is None:
        raise _refuse(rt, operator, "unknown_request",
                      f"Approval refused: no reset request {request_id!r}.", request_id=request_id)
    if req["used"]:
        raise _refuse(rt, operator, "already_used",
                      f"Approval refused: reset request {request_id} was already used.",
                      request_id=request_id)
    separation = rt.state.trust.separation_problem(str(req["requester"]), operator.name)
    if separation is not None:
        reason = "same_person" if operator.name.lower() == str(req["requester"]).lower() else "registered_by_requester"
        raise _refuse(rt, operator, reason, f"Approval refused: {separation}.", request_id=request_id)
    if operator.role not in ("approver", "admin"):
        raise _refuse(rt, operator, "role_not_permitted",
                      f"Approval refused: {operator.name} has role {operator.role}; only an approver "
                      f"or admin may approve a reset.", request_id=request_id)
    now = rt.clock.now_ms()
    if now > req["expires_at_ms"]:
        raise _refuse(rt, operator, "expired",
                      f"Approval refused: reset request {request_id} expired; ask for a new one.",
                      request_id=request_id)
    if req["requested_at_ms"] > now + MAX_FUTURE_SKEW_MS:
        raise _refuse(rt, operator, "stamped_in_future",
                      f"Approval refused: reset request {request_id} is stamped "
                      f"{(req['requested_at_ms'] - now) // 1000} s ahead of this clock; the requester's "
                      f"clock is wrong. Ask for a new request from a correct clock.", request_id=request_id)
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
              actor=operator.actor, reason_code="RISK_KILLSWITCH_RESET", durable=True,
              signer=operator.signer)
    if trip_id in rt.kill_switch.active:
        raise RefusedError("The reset was written but not counted by the kill switch's rules; see "
                           "'polytraders journal verify'.", code="RISK_KILLSWITCH_RESET_REFUSED")
    if trip.trigger == "halt_file" and halt_file is not None:
        halt_file.unlink(missing_ok=True)  # the named exception: the reset that journals the halt removes it
    return trip_id


def operator_actor(name: str) -> Actor:
    return Actor(kind="operator", id=name)
