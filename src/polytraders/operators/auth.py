"""Operators and authentication.

Operators are journaled `operator` records (name, role, SHA-256 of the token). The token itself is
printed once at creation and never stored or journaled. Every state-changing command calls
`authenticate`, which either returns the operator or journals `GOV_AUTH_REFUSED` and raises.
The first operator of an empty journal can be created without a token and must be an admin.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Literal

from polytraders.contracts import Note, OperatorRecord
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.base import Journal
from polytraders.runtime.clock import Clock, WallClock

Role = Literal["admin", "operator", "approver", "reviewer", "readonly"]
ROLES: tuple[Role, ...] = ("admin", "operator", "approver", "reviewer", "readonly")

# Which roles may run each state-changing command. Reads need no token.
PERMISSIONS: dict[str, frozenset[str]] = {
    "operators.add": frozenset({"admin"}),
    "operators.revoke": frozenset({"admin"}),
    "bots.promote": frozenset({"admin"}),
    "bots.mode": frozenset({"admin", "operator"}),
    "killswitch.trip": frozenset({"admin", "operator", "approver"}),
    "killswitch.request_reset": frozenset({"admin", "operator", "approver"}),
    "killswitch.approve_reset": frozenset({"admin", "approver"}),
    "incidents.ack": frozenset({"admin", "operator", "approver"}),
    "incidents.step": frozenset({"admin", "operator", "approver"}),
    "incidents.resolve": frozenset({"admin", "operator", "approver"}),
    "incidents.rca": frozenset({"admin", "operator", "approver", "reviewer"}),
    "run": frozenset({"admin", "operator"}),
}


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    role: Role

    @property
    def actor(self) -> Actor:
        return Actor(kind="operator", id=self.name)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_operators(journal: Journal) -> dict[str, OperatorRecord]:
    """Fold operator records: the latest record per name wins."""
    ops: dict[str, OperatorRecord] = {}
    for entry in journal.read(kinds=[OperatorRecord.kind]):
        rec = entry.envelope.decode()
        assert isinstance(rec, OperatorRecord)
        ops[rec.name] = rec
    return ops


def _refuse(journal: Journal, clock: Clock, command: str, reason: str, message: str,
            operator: str | None = None) -> RefusedError:
    env = ReportEnvelope.wrap(
        Note(detail={"command": command, "reason": reason, "operator": operator}),
        actor=Actor(kind="system", id="auth"),
        reason_code="GOV_AUTH_REFUSED",
        ts_ms=clock.now_ms(),
    )
    journal.append(env, durable=True)
    return RefusedError(message, code="GOV_AUTH_REFUSED")


def authenticate(journal: Journal, token: str | None, command: str,
                 clock: Clock | None = None) -> Operator:
    """Return the operator behind `token` if its role may run `command`; else refuse (journaled)."""
    clock = clock or WallClock()
    allowed = PERMISSIONS.get(command)
    if allowed is None:
        raise ValueError(f"no permission entry for command {command!r}")
    token = token if token is not None else os.environ.get("POLYTRADERS_TOKEN")
    if not token:
        raise _refuse(journal, clock, command, "missing_token",
                      f"Refused '{command}': no operator token. Set POLYTRADERS_TOKEN or pass "
                      f"--token with a token from 'polytraders operators add'.")
    digest = token_digest(token)
    match = None
    for rec in load_operators(journal).values():
        if rec.active and hmac.compare_digest(rec.token_sha256, digest):
            match = rec
    if match is None:
        raise _refuse(journal, clock, command, "unknown_token",
                      f"Refused '{command}': the operator token is not recognised (unknown or "
                      f"revoked).")
    if match.role not in allowed:
        raise _refuse(journal, clock, command, "role_not_permitted",
                      f"Refused '{command}': operator '{match.name}' has role '{match.role}', "
                      f"which may not do this; allowed roles: {', '.join(sorted(allowed))}.",
                      operator=match.name)
    return Operator(match.name, match.role)


def add_operator(journal: Journal, name: str, role: str, token: str | None,
                 clock: Clock | None = None, *, new_token: str | None = None) -> tuple[Operator, str]:
    """Create an operator; return it and its new token (shown once, never stored).

    `new_token` is for simulations that must be reproducible byte for byte; live use lets the
    function draw a random token."""
    clock = clock or WallClock()
    if role not in ROLES:
        raise BadInputError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    existing = load_operators(journal)
    if existing:
        actor_op = authenticate(journal, token, "operators.add", clock)
        actor = actor_op.actor
    else:
        if role != "admin":
            raise BadInputError(
                "The first operator of a journal must be an admin (--role admin); it can then "
                "add everyone else.",
            )
        actor = Actor(kind="system", id="bootstrap")
    if name in existing and existing[name].active:
        raise RefusedError(f"An active operator named {name!r} already exists; choose another name.")
    new_token = new_token or "pt_" + secrets.token_urlsafe(32)
    record = OperatorRecord(name=name, role=role, token_sha256=token_digest(new_token))
    env = ReportEnvelope.wrap(record, actor=actor, reason_code="GOV_OPERATOR_ADDED",
                              ts_ms=clock.now_ms())
    journal.append(env, durable=True)
    return Operator(name, record.role), new_token
