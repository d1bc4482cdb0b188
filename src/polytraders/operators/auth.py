"""Operators: who may do what, proved by their signature.

An operator is a name, a role and an Ed25519 public key registered in the journal (see
`state/trust.py`). A state-changing command loads the operator's private key (`keys.py`), finds
the operator whose registered key it is, checks the role may run the command, and signs what it
writes. A command that cannot authenticate writes nothing: the refusal is printed, not journaled,
so an unauthenticated caller cannot fill the journal.

Registering an admin or any operator takes two admins (`request_operator` then
`approve_operator` by someone else, who was not registered by the requester); revoking takes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from polytraders.contracts import OperatorCommand, OperatorRecord
from polytraders.contracts.envelope import Actor
from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.base import JournalEntry
from polytraders.journal.signatures import Signer
from polytraders.operators.keys import OperatorKey
from polytraders.state.trust import OperatorInfo, TrustProjection

if TYPE_CHECKING:
    from polytraders.runtime.runner import Runtime

Role = Literal["admin", "operator", "approver", "reviewer", "readonly"]
ROLES: tuple[Role, ...] = ("admin", "operator", "approver", "reviewer", "readonly")

# Which roles may run each state-changing command. Reads need no key.
PERMISSIONS: dict[str, frozenset[str]] = {
    "operators.add": frozenset({"admin"}),
    "operators.approve": frozenset({"admin"}),
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
    "journal.seal": frozenset({"admin"}),
    "health.hold": frozenset({"admin", "operator", "approver"}),
    "health.promote": frozenset({"admin", "operator", "approver"}),
    "health.approve": frozenset({"admin", "approver"}),
    "reconcile.run": frozenset({"admin", "operator", "approver"}),
    "reconcile.resolve": frozenset({"admin", "operator", "approver"}),
    "reconcile.approve": frozenset({"admin", "approver"}),
    "reconcile.transfer": frozenset({"admin", "operator"}),
    "run": frozenset({"admin", "operator"}),
    "config.init": frozenset({"admin"}),
    "config.set": frozenset({"admin", "operator", "approver"}),
    "config.override": frozenset({"admin", "operator", "approver"}),
    "config.propose": frozenset({"admin", "operator", "approver"}),
    "config.approve": frozenset({"admin", "approver"}),
}


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    signer: Signer | None = field(default=None, repr=False, compare=False)

    @property
    def actor(self) -> Actor:
        return Actor(kind="operator", id=self.name)


def authenticate(trust: TrustProjection, key: OperatorKey, command: str) -> Operator:
    """The operator whose registered key `key` is, if their role may run `command`; else refuse.
    Nothing is written either way."""
    allowed = PERMISSIONS.get(command)
    if allowed is None:
        raise ValueError(f"no permission entry for command {command!r}")
    if trust.mode == "live" and key.kind == "simulation":
        raise RefusedError(
            f"Refused '{command}': {key.source} holds a simulation key (derived from a demo seed); "
            f"a live journal accepts only live keys.", code="GOV_AUTH_REFUSED")
    owner = trust.by_key.get(key.public_hex)
    info = trust.operators.get(owner) if owner else None
    if info is None or not info.active:
        raise RefusedError(
            f"Refused '{command}': the key in {key.source} belongs to no active operator of this "
            f"journal (unknown or revoked).", code="GOV_AUTH_REFUSED")
    if info.role not in allowed:
        raise RefusedError(
            f"Refused '{command}': operator '{info.name}' has role '{info.role}', which may not do "
            f"this; allowed roles: {', '.join(sorted(allowed))}.", code="GOV_AUTH_REFUSED")
    return Operator(info.name, info.role, key.signer)


def _check_counted(entry: JournalEntry, what: str) -> JournalEntry:
    if entry.signer is None:
        raise RefusedError(f"{what} was written but refused by the journal's rules (seq {entry.seq}); "
                           f"see 'polytraders journal verify'.", code="GOV_COMMAND_REFUSED")
    return entry


def request_operator(rt: Runtime, admin: Operator, name: str, role: str, public_key: str) -> JournalEntry:
    """Admin A asks to register an operator; returns the request entry (its seq is the id)."""
    if role not in ROLES:
        raise BadInputError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    OperatorRecord(name=name, role=role, public_key=public_key, registered_by=admin.name)  # validates
    problem = rt.state.trust.registration_problem(name, public_key)
    if problem:
        raise RefusedError(f"Refused: {problem}.", code="GOV_COMMAND_REFUSED")
    entry = rt.record(OperatorCommand(command="operators.request_add",
                                      args={"name": name, "role": role, "public_key": public_key},
                                      role=admin.role),
                      actor=admin.actor, reason_code="GOV_OPERATOR_REQUESTED", durable=True,
                      signer=admin.signer)
    return _check_counted(entry, "The registration request")


def approve_operator(rt: Runtime, admin: Operator, request_seq: int) -> JournalEntry:
    """Admin B approves A's registration request; B may not be A nor registered by A."""
    trust = rt.state.trust
    req = trust.requests.get(request_seq)
    if req is None or req["used"]:
        raise RefusedError(f"Refused: no open registration request at seq {request_seq}; see "
                           f"'polytraders operators list --requests'.", code="GOV_COMMAND_REFUSED")
    problem = trust.separation_problem(str(req["requester"]), admin.name) or trust.registration_problem(
        str(req["name"]), str(req["public_key"]))
    if problem:
        raise RefusedError(f"Refused: {problem}.", code="GOV_COMMAND_REFUSED")
    record = OperatorRecord(name=req["name"], role=req["role"], public_key=req["public_key"],
                            registered_by=req["requester"], request_seq=request_seq)
    entry = rt.record(record, actor=admin.actor, reason_code="GOV_OPERATOR_ADDED", durable=True,
                      signer=admin.signer)
    return _check_counted(entry, "The registration")


def revoke_operator(rt: Runtime, admin: Operator, name: str) -> JournalEntry:
    info = rt.state.trust.operators.get(name.lower())
    if info is None or not info.active:
        raise RefusedError(f"Refused: no active operator named {name!r}.", code="GOV_COMMAND_REFUSED")
    record = OperatorRecord(name=info.name, role=info.role, public_key=info.public_key, active=False,
                            registered_by=info.registered_by)
    entry = rt.record(record, actor=admin.actor, reason_code="GOV_OPERATOR_REVOKED", durable=True,
                      signer=admin.signer)
    return _check_counted(entry, "The revocation")


def operators_of(trust: TrustProjection) -> list[OperatorInfo]:
    return sorted(trust.operators.values(), key=lambda o: o.seq)
