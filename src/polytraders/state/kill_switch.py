"""Kill-switch state as a projection of `killswitch_event` envelopes.

A trip adds an active trip in its scope; only a `reset` event naming that trip removes it. There
is no timer: nothing disarms by itself, and after a crash the fold over the journal yields the
same tripped switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polytraders.contracts import KillSwitchEvent
from polytraders.journal.base import JournalEntry


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

    def __init__(self) -> None:
        self.active: dict[str, ActiveTrip] = {}
        self.history: list[dict[str, Any]] = []
        # reset requests: request_id -> {trip_id, requester, expires_at_ms, used}
        self.requests: dict[str, dict[str, Any]] = {}

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.reason_code == "RISK_KILLSWITCH_RESET_REQUESTED":
            d = env.payload["detail"]
            self.requests[d["request_id"]] = {"trip_id": d["trip_id"], "requester": d["requester"],
                                             "expires_at_ms": d["expires_at_ms"], "used": False,
                                             "seq": entry.seq}
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
            self.active.pop(p["trip_id"], None)
            request_id = p.get("detail", {}).get("request_id")
            if request_id in self.requests:
                self.requests[request_id]["used"] = True
        self.history.append({"seq": entry.seq, "event": p["event"], "trip_id": p["trip_id"],
                             "trigger": p["trigger"], "at_ms": p["at_ms"]})

    @property
    def tripped(self) -> bool:
        return bool(self.active)

    def label(self) -> str:
        return "tripped" if self.active else "armed"

    def trip_covering(self, *, strategy_id: str, cluster: str, bot_id: str,
                      market_id: str = "") -> ActiveTrip | None:
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


def vars_of(trip: ActiveTrip) -> dict[str, Any]:
    return {f: getattr(trip, f) for f in ActiveTrip.__slots__}
