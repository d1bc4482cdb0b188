"""The trust gate: which entries count, and who wrote them.

Every entry passes through `TrustProjection.admit` before any other projection sees it. An
entry counts when it is one of:
- the genesis entry at seq 1 (it names the journal id, mode, system key and first two admins);
- signed by the system key (session starts, digests);
- signed by a registered, unrevoked operator whose role may write that kind of entry, and whose
  two-person rules hold (registration, see below; resets are checked by the kill switch);
- unsigned and written by the running system: either this process appended it (`own`), or it
  sits in history inside a system session (after a signed session start, before a final digest).

Anything else is reported once in `problems` and never applied: an unsigned entry from another
process while this one is the running system, an unsigned entry outside a session, a bad or
unknown signature, a signer claiming another actor (`tampered`); or a signed command that breaks
a rule (`refused`). A journal without a genesis entry (unit-test journals) has no identity: its
unsigned entries all count, and signed ones must still verify.

Registration needs two admins: admin A signs `operators.request_add`; a different admin B, who
is not A and was not registered by A (directly or down a chain), signs the `OperatorRecord`.
`registered_by` keeps that provenance. Approvals are judged at the approval entry's time; half of
a two-person action stamped more than 60 s ahead of the applying process's clock is refused (a
trip never is: tightening is never refused for its clock).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from polytraders.journal.base import JournalEntry
from polytraders.journal.signatures import signing_bytes, verify

Origin = Literal["own", "foreign", "history"]
MAX_FUTURE_SKEW_MS = 60_000
REQUEST_TTL_MS = 3_600_000
MAX_PROBLEMS = 1_000
SYSTEM_SIGNER = "system"


def _signed_by(entry: JournalEntry, signer: str) -> JournalEntry:
    """`dataclasses.replace(entry, signer=signer)`, written out: `replace` walks the dataclass's
    fields on every call, and an operator's trip is admitted inside the trip window."""
    return JournalEntry(entry.seq, entry.prev_hash, entry.hash, entry.envelope, signer)


class Clock(Protocol):
    def now_ms(self) -> int: ...

# Which roles may sign an entry with this reason code; codes not listed are open to any role
# (refusal notes, acknowledgements). Checked again by each command before it writes.
ROLES_BY_CODE: dict[str, frozenset[str]] = {
    "RISK_KILLSWITCH_TRIPPED": frozenset({"admin", "operator", "approver"}),
    "RISK_KILLSWITCH_RESET_REQUESTED": frozenset({"admin", "operator", "approver"}),
    "RISK_KILLSWITCH_RESET": frozenset({"admin", "approver"}),
    "GOV_OPERATOR_ADDED": frozenset({"admin"}),
    "GOV_OPERATOR_REVOKED": frozenset({"admin"}),
    "GOV_OPERATOR_REQUESTED": frozenset({"admin"}),
    "GOV_BOT_PROMOTED": frozenset({"admin"}),
    "GOV_JOURNAL_SEALED": frozenset({"admin"}),
    "GOV_RECONCILE_ADJUSTMENT_RECORDED": frozenset({"admin", "operator", "approver"}),
    "GOV_RECONCILE_ADJUSTMENT_APPROVED": frozenset({"admin", "approver"}),
    "GOV_CONFIG_SET": frozenset({"admin", "operator", "approver"}),
    "GOV_CONFIG_OVERRIDE_REQUESTED": frozenset({"admin", "operator", "approver"}),
    "GOV_CONFIG_CHANGE_PROPOSED": frozenset({"admin", "operator", "approver"}),
    "GOV_CONFIG_OVERRIDE_APPROVED": frozenset({"admin", "approver"}),
    "GOV_CONFIG_CHANGE_APPROVED": frozenset({"admin", "approver"}),
    "GOV_CONFIG_CHANGE_MERGED": frozenset({"admin", "approver"}),
    "GOV_CONFIG_MERGE_FAILED": frozenset({"admin", "approver"}),
    "GOV_CONFIG_REPO_INITIALISED": frozenset({"admin"}),
}


# The halves of two-person actions: these loosen safety, so their timing is judged. A trip or any
# other tightening is never refused for its clock.
TWO_PERSON_CODES = frozenset({"RISK_KILLSWITCH_RESET_REQUESTED", "RISK_KILLSWITCH_RESET",
                              "GOV_OPERATOR_REQUESTED", "GOV_OPERATOR_ADDED",
                              "GOV_RECONCILE_ADJUSTMENT_RECORDED", "GOV_RECONCILE_ADJUSTMENT_APPROVED",
                              "GOV_CONFIG_OVERRIDE_REQUESTED", "GOV_CONFIG_OVERRIDE_APPROVED",
                              "GOV_CONFIG_CHANGE_PROPOSED", "GOV_CONFIG_CHANGE_APPROVED"})


@dataclass(frozen=True, slots=True)
class OperatorInfo:
    name: str
    role: str
    public_key: str
    active: bool
    registered_by: str  # "genesis" for the first two admins
    seq: int


class TrustProjection:
    name = "trust"

    def __init__(self) -> None:
        self.journal_id = ""
        self.mode: str | None = None
        self.system_key: str | None = None
        self.operators: dict[str, OperatorInfo] = {}  # by lower-cased name
        self.by_key: dict[str, str] = {}  # public key -> lower-cased name
        self.requests: dict[int, dict[str, Any]] = {}  # registration requests by seq
        self.session_open = False
        self.last_digest_seq = 0
        self.rejected_since_digest: list[int] = []
        self.problems: list[dict[str, Any]] = []
        self.clock: Clock | None = None  # the applying process's clock; not part of state

    # -- the gate ----------------------------------------------------------------------------

    def admit(self, entry: JournalEntry, origin: Origin) -> JournalEntry | None:
        """The entry with its `signer` set when it counts; None (and a problem) when it does not."""
        env = entry.envelope
        if entry.seq == 1 and env.kind == "genesis":
            self._genesis(entry)
            return entry
        if env.kind == "genesis":
            return self._reject(entry, "tampered", "a second genesis entry")
        sig = env.signature
        if sig is None:
            if origin == "own" or (origin == "history" and (self.session_open or self.system_key is None)):
                return entry
            why = ("an unsigned entry written by another process while this one is the running system"
                   if origin == "foreign" else "an unsigned entry outside any system session")
            return self._reject(entry, "tampered", why)
        data = signing_bytes(self.journal_id, entry.seq, entry.prev_hash, env.unsigned_json_dict())
        if not verify(sig.by, data, sig.sig):
            return self._reject(entry, "tampered", "its signature does not verify")
        if sig.by == self.system_key:
            return self._system_signed(entry)
        key_owner = self.by_key.get(sig.by)
        op = self.operators.get(key_owner) if key_owner else None
        if op is None or not op.active:
            return self._reject(entry, "tampered", "signed by a key that is not a registered, active operator's")
        if env.actor.kind != "operator" or env.actor.id.lower() != op.name.lower():
            return self._reject(entry, "tampered", f"signed by {op.name} but claims actor {env.actor.label()}")
        allowed = ROLES_BY_CODE.get(env.reason_code)
        if allowed is not None and op.role not in allowed:
            return self._reject(entry, "refused", f"{op.name} ({op.role}) may not write {env.reason_code}")
        if (env.reason_code in TWO_PERSON_CODES and self.clock is not None
                and env.ts_ms > self.clock.now_ms() + MAX_FUTURE_SKEW_MS):
            return self._reject(entry, "refused", f"stamped {env.ts_ms - self.clock.now_ms()} ms in the future")
        problem = self._operator_rules(entry, op)
        if problem is not None:
            return self._reject(entry, "refused", problem)
        return _signed_by(entry, op.name)

    def apply(self, entry: JournalEntry) -> None:
        """Projections protocol: `admit` already did the work."""

    def report(self, entry: JournalEntry, verdict: str, reason: str) -> None:
        """Record that an admitted entry had no effect on some projection (e.g. a refused reset)."""
        self._reject(entry, verdict, reason)

    def _reject(self, entry: JournalEntry, verdict: str, reason: str) -> JournalEntry | None:
        self.rejected_since_digest.append(entry.seq)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"seq": entry.seq, "verdict": verdict, "reason": reason,
                                  "kind": entry.envelope.kind, "reason_code": entry.envelope.reason_code,
                                  "actor": entry.envelope.actor.label()})
        return None

    def _genesis(self, entry: JournalEntry) -> None:
        p = entry.envelope.payload
        self.journal_id = p["journal_id"]
        self.mode = p["journal_mode"]
        self.system_key = p["system_key"]
        for admin in p["admins"]:
            self._register(admin["name"], "admin", admin["public_key"], "genesis", entry.seq)

    def _system_signed(self, entry: JournalEntry) -> JournalEntry:
        env = entry.envelope
        if env.kind == "journal_digest":
            self.last_digest_seq = entry.seq
            self.rejected_since_digest = []
            if env.payload.get("final"):
                self.session_open = False
        elif env.reason_code == "GOV_SESSION_OPENED":
            self.session_open = True
        return _signed_by(entry, SYSTEM_SIGNER)

    # -- operators ---------------------------------------------------------------------------

    def _register(self, name: str, role: str, key: str, registered_by: str, seq: int) -> None:
        self.operators[name.lower()] = OperatorInfo(name, role, key, True, registered_by, seq)
        self.by_key[key] = name.lower()

    def _operator_rules(self, entry: JournalEntry, op: OperatorInfo) -> str | None:
        env = entry.envelope
        p = env.payload
        if env.kind == "operator_command" and p.get("command") == "operators.request_add":
            args = p.get("args", {})
            problem = self.registration_problem(str(args.get("name", "")), str(args.get("public_key", "")))
            if problem:
                return problem
            self.requests[entry.seq] = {"name": args["name"], "role": args.get("role"),
                                        "public_key": args["public_key"], "requester": op.name,
                                        "ts_ms": env.ts_ms, "used": False}
            return None
        if env.kind != "operator":
            return None
        if not p.get("active", True):
            target = self.operators.get(str(p.get("name", "")).lower())
            if target is None:
                return f"no operator named {p.get('name')!r} to revoke"
            self.operators[target.name.lower()] = dataclasses.replace(target, active=False)
            for open_req in self.requests.values():  # a revoked admin's open requests die with them
                if str(open_req["requester"]).lower() == target.name.lower():
                    open_req["used"] = True
            return None
        req = self.requests.get(int(p.get("request_seq") or 0))
        if req is None or req["used"]:
            return "a registration without an open request from an admin"
        if (req["name"], req["role"], req["public_key"]) != (p["name"], p["role"], p["public_key"]):
            return "the registration differs from its request"
        if p.get("registered_by") != req["requester"]:
            return "registered_by does not name the requester"
        problem = self.separation_problem(req["requester"], op.name)
        if problem:
            return problem
        if env.ts_ms > req["ts_ms"] + REQUEST_TTL_MS:
            return "the registration request expired"
        if req["ts_ms"] > env.ts_ms + MAX_FUTURE_SKEW_MS:
            return "the registration request is stamped in the future"
        problem = self.registration_problem(p["name"], p["public_key"])
        if problem:
            return problem
        req["used"] = True
        self._register(p["name"], p["role"], p["public_key"], req["requester"], entry.seq)
        return None

    def registration_problem(self, name: str, key: str) -> str | None:
        if name.lower() in self.operators:
            return f"an operator named {name!r} exists already (names are unique regardless of case)"
        if key in self.by_key:
            return "that public key is already registered"
        return None

    def ancestors(self, name: str) -> list[str]:
        """Who registered `name`, who registered them, and so on (lower-cased)."""
        chain: list[str] = []
        current = self.operators.get(name.lower())
        while current is not None and current.registered_by != "genesis" and len(chain) < 100:
            parent = current.registered_by.lower()
            if parent in chain:
                break
            chain.append(parent)
            current = self.operators.get(parent)
        return chain

    def separation_problem(self, requester: str, approver: str) -> str | None:
        """Why `approver` may not approve `requester`'s request, or None when they may."""
        if requester.lower() == approver.lower():
            return f"{approver} made the request; a second, different person must approve it"
        if requester.lower() in self.ancestors(approver):
            return (f"{approver} was registered by {requester} (directly or through a chain); they may "
                    f"not approve {requester}'s requests")
        return None

    def role(self, name: str) -> str | None:
        op = self.operators.get(name.lower())
        return op.role if op is not None and op.active else None

    def active_operators(self) -> list[OperatorInfo]:
        return [o for o in self.operators.values() if o.active]

    # -- projection protocol -------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "journal_id": self.journal_id, "mode": self.mode, "system_key": self.system_key,
            "operators": {k: dataclasses.asdict(v) for k, v in self.operators.items()},
            "requests": {str(k): dict(v) for k, v in self.requests.items()},
            "session_open": self.session_open, "last_digest_seq": self.last_digest_seq,
            "rejected_since_digest": list(self.rejected_since_digest),
            "problems": list(self.problems),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.journal_id = data["journal_id"]
        self.mode = data["mode"]
        self.system_key = data["system_key"]
        self.operators = {k: OperatorInfo(**v) for k, v in data["operators"].items()}
        self.by_key = {v.public_key: k for k, v in self.operators.items()}
        self.requests = {int(k): dict(v) for k, v in data["requests"].items()}
        self.session_open = data["session_open"]
        self.last_digest_seq = data["last_digest_seq"]
        self.rejected_since_digest = list(data["rejected_since_digest"])
        self.problems = list(data["problems"])
