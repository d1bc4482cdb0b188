"""API health as a projection: per surface, the recent summaries, the monitor's level and since
when it has been green; plus the operators' hold and early-promotion approvals.

Levels change only through the monitor's `gov_api_health` envelopes, so every process and every
replay agrees on them. `green_since[surface]` is when the surface last became `ok`; a relapse
(any other level) clears it, which restarts the ten-green-minutes clock.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from polytraders.journal.base import JournalEntry
from polytraders.state.trust import SYSTEM_SIGNER, TrustProjection

RECENT = 8  # summaries kept per surface: enough for the monitor's hysteresis


class ApiHealthProjection:
    name = "api_health"
    relevant = (frozenset({"gov_api_summary", "gov_api_health"}),  # what apply reads
                frozenset({"GOV_API_HOLD", "GOV_API_PROMOTE_REQUESTED", "GOV_API_PROMOTE_APPROVED",
                           "GOV_API_RESTORED"}))

    def __init__(self, trust: TrustProjection | None = None) -> None:
        self.trust = trust or TrustProjection()
        self.recent: dict[str, deque[dict[str, Any]]] = {}
        self.level: dict[str, str] = {}
        self.green_since: dict[str, int] = {}
        self.operator_hold: str | None = None  # who holds the demotion in place
        self.promote_requests: dict[str, dict[str, Any]] = {}
        self.promote_approved_seq: int | None = None

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.kind == "gov_api_summary":
            q = self.recent.setdefault(str(env.payload["surface"]), deque(maxlen=RECENT))
            q.append(dict(env.payload))
        elif env.kind == "gov_api_health":
            p = env.payload
            surface, level = str(p["surface"]), str(p["level"])
            self.level[surface] = level
            if level == "ok":
                self.green_since[surface] = int(p.get("at_ms") or env.ts_ms)
            else:
                self.green_since.pop(surface, None)
        elif env.reason_code in ("GOV_API_HOLD", "GOV_API_PROMOTE_REQUESTED", "GOV_API_PROMOTE_APPROVED"):
            self._operator(entry)
        elif env.reason_code == "GOV_API_RESTORED":
            self.promote_approved_seq = None
            self.promote_requests.clear()

    def _operator(self, entry: JournalEntry) -> None:
        env = entry.envelope
        signer = entry.signer
        if signer is None or signer == SYSTEM_SIGNER:
            self.trust.report(entry, "refused", f"{env.reason_code} not signed by an operator")
            return
        d = env.payload.get("detail", {})
        if env.reason_code == "GOV_API_HOLD":
            self.operator_hold = signer if d.get("hold", True) else None
        elif env.reason_code == "GOV_API_PROMOTE_REQUESTED":
            self.promote_requests[str(d["request_id"])] = {"requester": signer, "ts_ms": env.ts_ms}
        else:
            req = self.promote_requests.get(str(d.get("request_id")))
            problem = ("no such promotion request" if req is None
                       else self.trust.separation_problem(str(req["requester"]), signer))
            if problem is not None:
                self.trust.report(entry, "refused", problem)
                return
            self.promote_approved_seq = entry.seq

    def summaries(self, surface: str) -> list[dict[str, Any]]:
        return list(self.recent.get(surface, ()))

    def snapshot(self) -> dict[str, Any]:
        return {"recent": {k: list(v) for k, v in self.recent.items()}, "level": dict(self.level),
                "green_since": dict(self.green_since), "operator_hold": self.operator_hold,
                "promote_requests": {k: dict(v) for k, v in self.promote_requests.items()},
                "promote_approved_seq": self.promote_approved_seq}

    def restore(self, data: dict[str, Any]) -> None:
        self.recent = {k: deque(v, maxlen=RECENT) for k, v in data["recent"].items()}
        self.level = dict(data["level"])
        self.green_since = {k: int(v) for k, v in data["green_since"].items()}
        self.operator_hold = data["operator_hold"]
        self.promote_requests = {k: dict(v) for k, v in data["promote_requests"].items()}
        self.promote_approved_seq = data["promote_approved_seq"]
