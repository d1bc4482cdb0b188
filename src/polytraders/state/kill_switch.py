"""Kill-switch state as a projection of `killswitch_event` envelopes.

A trip adds an active trip in its scope; only a `reset` event naming that trip removes it. There
is no timer: nothing disarms by itself, and after a crash the fold over the journal yields the
same tripped switch.

A reset counts only when two different people signed it: a reset request signed by its
requester, then the reset signed by an approver who is neither the requester nor anyone the
requester registered (the trust gate's provenance), before the request expired. Every process
folds the same rule, so a forged or self-approved reset changes nothing anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polytraders.contracts import KillSwitchEvent
from polytraders.journal.base import JournalEntry
from polytraders.state.trust import MAX_FUTURE_SKEW_MS, SYSTEM_SIGNER, TrustProjection

MAX_REQUEST_TTL_MS = 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class ActiveTrip:
    trip_id: str
    trigger: str
    scope: str
    scope_value: str
    observed: str
    threshold: str
    caused_by_seq: int | None
    at_ms: int
    seq: int

    def covers(self, *, strategy_id: str, cluster: str, bot_id: str, market_id: str = "") -> bool:
        """Does this trip stop an intent, order or bot with these coordinates? A caller that has
        no market (a bot, not an order) passes none, so a market trip never halts a whole bot."""
        if self.scope == "global":
            return True
        if self.scope == "cluster":
            return cluster == self.scope_value
        if self.scope == "strategy":
            return strategy_id == self.scope_value
        if self.scope == "family":
            return bot_id.split(".", 1)[0] == self.scope_value
        if self.scope == "bot":
            return bot_id == self.scope_value
        if self.scope == "market":
            return market_id == self.scope_value
        return True  # unknown scope: fail closed

    def label(self) -> str:
        return "global" if self.scope == "global" else f"{self.scope}:{self.scope_value}"


class KillSwitchProjection:
    name = "kill_switch"
    # every entry `apply` reads, by kind and by reason code (for `StateStore.rebuild(only=...)`)
    relevant = (frozenset({KillSwitchEvent.kind}), frozenset({"RISK_KILLSWITCH_RESET_REQUESTED"}))

    def __init__(self, trust: TrustProjection | None = None) -> None:
        self.trust = trust or TrustProjection()
        self.active: dict[str, ActiveTrip] = {}
        self.history: list[dict[str, Any]] = []
        # reset requests: request_id -> {trip_id, requester, expires_at_ms, used}
        self.requests: dict[str, dict[str, Any]] = {}
        # ids of the requests not used yet, the only ones a later fold changes in place (kept so a
        # reader holding the requests need not visit every request ever made)
        self._unused: set[str] = set()
        # An in-memory global halt that protects at once, before its trip can be journaled
        # (a halt file, tampering found in the journal). Not state: the guardian journals a trip.
        self.external_halt: str | None = None

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.reason_code == "RISK_KILLSWITCH_RESET_REQUESTED":
            d = env.payload["detail"]
            if not _operator_signed(entry) or str(entry.signer).lower() != str(d["requester"]).lower():
                self.trust.report(entry, "refused", "a reset request not signed by its requester")
                return
            expires = min(int(d["expires_at_ms"]), env.ts_ms + MAX_REQUEST_TTL_MS)
            self.requests[d["request_id"]] = {"trip_id": d["trip_id"], "requester": d["requester"],
                                             "expires_at_ms": expires, "requested_at_ms": env.ts_ms,
                                             "used": False, "seq": entry.seq}
            self._unused.add(d["request_id"])
            return
        if env.kind != KillSwitchEvent.kind:
            return
        p = env.payload
        if p["event"] == "tripped":
            scope = p["scope"]
            self.active[p["trip_id"]] = ActiveTrip(
                trip_id=p["trip_id"],
                trigger=p["trigger"],
                scope=scope["scope"],
                scope_value=scope["value"],
                observed=p["observed"],
                threshold=p["threshold"],
                caused_by_seq=p.get("caused_by_seq"),
                at_ms=p["at_ms"],
                seq=entry.seq,
            )
        else:
            problem = self.reset_problem(entry)
            if problem is not None:
                self.trust.report(entry, "refused", problem)
                return
            self.active.pop(p["trip_id"], None)
            self.requests[p["detail"]["request_id"]]["used"] = True
            self._unused.discard(p["detail"]["request_id"])
        self.history.append({"seq": entry.seq, "event": p["event"], "trip_id": p["trip_id"],
                             "trigger": p["trigger"], "at_ms": p["at_ms"]})

    def reset_problem(self, entry: JournalEntry) -> str | None:
        """Why this reset event must not count, or None when two people signed it in time."""
        env = entry.envelope
        detail = env.payload.get("detail", {})
        if not _operator_signed(entry):
            return "a reset not signed by an operator"
        approver = str(entry.signer)
        if str(detail.get("approver", "")).lower() != approver.lower():
            return "a reset whose approver is not its signer"
        req = self.requests.get(str(detail.get("request_id")))
        if req is None or req["used"] or req["trip_id"] != env.payload["trip_id"]:
            return "a reset without an open request for that trip"
        if env.payload["trip_id"] not in self.active:
            return "a reset of a trip that is not active"
        if self.trust.system_key is not None and self.trust.role(str(req["requester"])) is None:
            return f"the requester {req['requester']} is no longer an active operator"
        separation = self.trust.separation_problem(str(req["requester"]), approver)
        if separation is not None:
            return separation
        if env.ts_ms > req["expires_at_ms"]:
            return "the reset request had expired when it was approved"
        if req["requested_at_ms"] > env.ts_ms + MAX_FUTURE_SKEW_MS:
            return "the reset request is stamped in the future"
        return None

    def unused_request_ids(self) -> list[str]:
        """The reset requests not used yet (whether or not expired), in no particular order."""
        return list(self._unused)

    @property
    def tripped(self) -> bool:
        return bool(self.active) or self.external_halt is not None

    def label(self) -> str:
        return "tripped" if self.tripped else "armed"

    def trip_covering(self, *, strategy_id: str, cluster: str, bot_id: str,
                      market_id: str = "") -> ActiveTrip | None:
        if self.external_halt is not None:
            return ActiveTrip("external_halt", "halt_file", "global", "*", "1", "1", None, 0, 0)
        for trip in self.active.values():
            if trip.covers(strategy_id=strategy_id, cluster=cluster, bot_id=bot_id, market_id=market_id):
                return trip
        return None

    def snapshot(self) -> dict[str, Any]:
        return {
            "active": {k: vars_of(v) for k, v in self.active.items()},
            "history": list(self.history),
            "requests": {k: dict(v) for k, v in self.requests.items()},
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.active = {k: ActiveTrip(**v) for k, v in data["active"].items()}
        self.history = list(data["history"])
        self.requests = {k: dict(v) for k, v in data["requests"].items()}
        self._unused = {k for k, v in self.requests.items() if not v["used"]}


def _operator_signed(entry: JournalEntry) -> bool:
    return entry.signer is not None and entry.signer != SYSTEM_SIGNER


def vars_of(trip: ActiveTrip) -> dict[str, Any]:
    return {f: getattr(trip, f) for f in ActiveTrip.__slots__}
