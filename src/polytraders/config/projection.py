"""The `config` projection: approved config, running config, overrides and change requests,
folded from the journal (never kept anywhere else).

- approved: the last `GOV_CONFIG_APPROVED_VERSION` the running system journaled (commit id,
  content hash, each bot's canonical values); `source_error` is set by
  `GOV_CONFIG_SOURCE_INVALID` (unreadable repository, invalid file, a head nobody approved)
  and cleared by the next approved version.
- running: each bot's values as last loaded (`GOV_CONFIG_LOADED`), then every live edit
  (`GOV_CONFIG_SET`, signed by an operator), revert (`GOV_CONFIG_REVERTED`), override taking
  effect (`GOV_CONFIG_OVERRIDE_APPROVED`) or expiring (`GOV_CONFIG_OVERRIDE_EXPIRED`); `changed_by`
  remembers who last changed each field and how.
- overrides `ovr_<id>`: requested -> active (a second operator approved it; ends `ttl` later)
  -> expired | superseded (its change request was merged); a request nobody approves within its
  ttl lapses.
- change requests `cr_<id>`: open -> approved (the approval is journaled before the merge) ->
  merged; the request of an override that expires or lapses expires with it. `approved_commits`
  holds every commit a journaled approval (or `config init`) made, so an approved-branch head
  nobody approved is recognised.
- the detector's last report (`reported`), so it reports each drift once and its resolution.

Two-person rules are checked here on the signed entries themselves (approver role, not the
requester, not registered by them), so a forged or self-approved entry changes nothing.
"""

from __future__ import annotations

from typing import Any

from polytraders.config.catalog import norm, owned
from polytraders.journal.base import JournalEntry
from polytraders.state.trust import TrustProjection

DETECTOR = "gov.config_drift_detector"
MERGE_GRACE_MS = 60_000
APPROVER_ROLES = frozenset({"admin", "approver"})
DETECTOR_CODES = frozenset({"GOV_CONFIG_DRIFT", "GOV_CONFIG_DRIFT_ONGOING", "GOV_CONFIG_DRIFT_RESOLVED",
                            "GOV_CONFIG_IN_SYNC", "GOV_CONFIG_DRIFT_UNKNOWN"})
# entries that change the running config or the approved one: the detector re-checks on each
CHANGE_CODES = frozenset({"GOV_CONFIG_SET", "GOV_CONFIG_REVERTED", "GOV_CONFIG_OVERRIDE_APPROVED",
                          "GOV_CONFIG_OVERRIDE_EXPIRED", "GOV_CONFIG_CHANGE_MERGED", "GOV_CONFIG_REPO_INITIALISED"})

FOLDED_CODES = DETECTOR_CODES | CHANGE_CODES | frozenset({
    "GOV_CONFIG_LOADED", "GOV_CONFIG_APPROVED_VERSION", "GOV_CONFIG_SOURCE_INVALID", "GOV_CONFIG_OVERRIDE_REQUESTED",
    "GOV_CONFIG_CHANGE_PROPOSED", "GOV_CONFIG_CHANGE_APPROVED", "GOV_CONFIG_MERGE_FAILED"})


def _detail(entry: JournalEntry) -> dict[str, Any]:
    d = entry.envelope.payload.get("detail", {})
    return d if isinstance(d, dict) else {}


class ConfigProjection:
    name = "config"
    relevant = (frozenset[str](), FOLDED_CODES)  # what apply reads

    def __init__(self, trust: TrustProjection | None = None) -> None:
        self.trust = trust
        self.approved: dict[str, Any] | None = None  # commit, content_hash, values, seq, ts_ms
        self.source_error: str | None = None
        self.running: dict[str, dict[str, Any]] = {}
        self.changed_by: dict[str, dict[str, dict[str, Any]]] = {}  # bot -> field -> who/how/seq
        self.overrides: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.approved_commits: dict[str, dict[str, Any]] = {}  # commit -> {by, seq, request_id}
        self.reported: list[dict[str, Any]] = []  # the drifts of the detector's last report
        self.last_status: str | None = None
        self.events: list[dict[str, Any]] = []  # every config event, for `config history`

    # -- reading -----------------------------------------------------------------------------

    def approved_values(self, bot_id: str) -> dict[str, Any] | None:
        if self.approved is None:
            return None
        values = self.approved["values"].get(bot_id)
        return dict(values) if isinstance(values, dict) else None

    def active_overrides(self, now_ms: int | None = None) -> list[dict[str, Any]]:
        return [o for o in self.overrides.values() if o["status"] == "active"
                and (now_ms is None or now_ms < o["ends_at_ms"])]

    def covering(self, bot_id: str, field: str, value: Any) -> dict[str, Any] | None:
        """The active override that makes `bot_id.field = value` intentional, if any."""
        return next((o for o in self.active_overrides() if o["bot_id"] == bot_id and o["field"] == field
                     and o["value"] == value), None)

    def pending_merge(self, now_ms: int) -> bool:
        """A change was approved in the last minute but its merge is not journaled yet (the merge
        runs right after the approval; an approval whose merge never came does not excuse an
        unknown head for longer)."""
        return any(r["status"] == "approved" and now_ms - r.get("approved_ms", 0) < MERGE_GRACE_MS
                   for r in self.requests.values())

    def drifts(self) -> list[dict[str, Any]]:
        """Every running field that differs from the approved one, with who changed it and the
        override that covers it (None: unauthorised)."""
        if self.approved is None:
            return []
        out = []
        for bot_id in sorted(self.running):
            approved = self.approved_values(bot_id)
            if approved is None:
                continue
            running = self.running[bot_id]
            for field in sorted(set(running) | set(approved)):
                if running.get(field) == approved.get(field):
                    continue
                who = self.changed_by.get(bot_id, {}).get(field, {})
                cover = self.covering(bot_id, field, running.get(field))
                out.append({"bot_id": bot_id, "field": field, "approved": approved.get(field),
                            "running": running.get(field), "changed_by": who.get("actor", "unknown"),
                            "changed_via": who.get("via", "unknown"), "changed_seq": who.get("seq"),
                            "override_id": cover["override_id"] if cover else None,
                            "authorised": cover is not None})
        return out

    # -- folding -----------------------------------------------------------------------------

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        code = env.reason_code
        if code not in FOLDED_CODES:
            return
        d = _detail(entry)
        by_operator = env.actor.kind == "operator"
        signed = entry.signer is not None and by_operator
        system = not by_operator
        if code == "GOV_CONFIG_LOADED" and system and isinstance(d.get("values"), dict):
            self.running[str(d["bot_id"])] = {k: norm(v) for k, v in d["values"].items()
                                              if not owned(str(d["bot_id"]), k)}
            for field in d["values"]:
                self.changed_by.setdefault(str(d["bot_id"]), {})[field] = {
                    "actor": env.actor.label(), "via": "load", "seq": entry.seq}
        elif code == "GOV_CONFIG_APPROVED_VERSION" and system:
            self.approved = {"commit": d["commit"], "content_hash": d["content_hash"], "values": d["values"],
                             "seq": entry.seq, "ts_ms": env.ts_ms}
            self.source_error = None
        elif code == "GOV_CONFIG_SOURCE_INVALID" and system:
            self.source_error = str(d.get("error", "unreadable"))
        elif code == "GOV_CONFIG_REPO_INITIALISED" and (signed or system):
            self.approved_commits[str(d["commit"])] = {"by": env.actor.id, "seq": entry.seq, "request_id": None}
        elif code == "GOV_CONFIG_SET" and signed:
            self._set(entry, str(d["bot_id"]), str(d["field"]), d["value"], "set")
        elif code == "GOV_CONFIG_REVERTED" and system:
            self._set(entry, str(d["bot_id"]), str(d["field"]), d["value"], "revert")
        elif code == "GOV_CONFIG_OVERRIDE_REQUESTED" and signed:
            self.overrides[str(d["override_id"])] = {
                "override_id": d["override_id"], "request_id": d.get("request_id"), "bot_id": d["bot_id"],
                "field": d["field"], "value": d["value"], "ttl_ms": int(d["ttl_ms"]), "reason": d["reason"],
                "requester": env.actor.id, "requested_at_ms": env.ts_ms, "approver": None,
                "ends_at_ms": env.ts_ms + int(d["ttl_ms"]), "status": "requested", "seq": entry.seq}
        elif code == "GOV_CONFIG_OVERRIDE_APPROVED" and signed:
            self._approve_override(entry, d)
        elif code == "GOV_CONFIG_OVERRIDE_EXPIRED" and system:
            ovr = self.overrides.get(str(d.get("override_id")))
            if ovr is not None and ovr["status"] in ("active", "requested"):
                ovr["status"] = "expired" if ovr["status"] == "active" else "lapsed"
                req = self.requests.get(str(ovr.get("request_id")))
                if req is not None and req["status"] == "open":
                    req["status"] = "expired"  # its evidence is stale; propose again if still wanted
                if "restored" in d:
                    self._set(entry, ovr["bot_id"], ovr["field"], d["restored"], "expiry")
        elif code == "GOV_CONFIG_CHANGE_PROPOSED" and signed:
            self.requests[str(d["request_id"])] = {
                "request_id": d["request_id"], "bot_id": d["bot_id"], "changes": d["changes"],
                "branch": d["branch"], "commit": d["commit"], "base_commit": d["base_commit"],
                "proposer": env.actor.id, "reason": d.get("reason", ""), "whatif": d.get("whatif"),
                "override_id": d.get("override_id"), "status": "open", "approver": None,
                "merge_commit": None, "seq": entry.seq, "ts_ms": env.ts_ms}
        elif code == "GOV_CONFIG_CHANGE_APPROVED" and signed:
            req = self.requests.get(str(d.get("request_id")))
            if req is not None and req["status"] == "open" and self._may_approve(entry, req["proposer"]):
                req["status"], req["approver"], req["approved_ms"] = "approved", env.actor.id, env.ts_ms
        elif code == "GOV_CONFIG_CHANGE_MERGED" and signed:
            req = self.requests.get(str(d.get("request_id")))
            if req is not None and req["status"] == "approved" and req["approver"] == env.actor.id:
                req["status"], req["merge_commit"] = "merged", d["merge_commit"]
                self.approved_commits[str(d["merge_commit"])] = {"by": env.actor.id, "seq": entry.seq,
                                                                 "request_id": req["request_id"]}
                for ovr in self.overrides.values():
                    if ovr["request_id"] == req["request_id"] and ovr["status"] in ("active", "requested"):
                        ovr["status"] = "superseded"
        elif code == "GOV_CONFIG_MERGE_FAILED" and signed:
            req = self.requests.get(str(d.get("request_id")))
            if req is not None and req["status"] == "approved":
                req["status"] = "open"
                req["approver"] = None
        elif code in DETECTOR_CODES and env.actor.id == DETECTOR and system:
            self.last_status = code
            if code != "GOV_CONFIG_DRIFT_UNKNOWN":
                self.reported = list(d.get("drifts", []))
        else:
            return
        self.events.append({"seq": entry.seq, "ts_ms": env.ts_ms, "code": code, "actor": env.actor.label(),
                            "bot_id": d.get("bot_id"), "summary": d.get("summary", "")})
        del self.events[:-2_000]

    def _set(self, entry: JournalEntry, bot_id: str, field: str, value: Any, via: str,
             actor: str | None = None) -> None:
        self.running.setdefault(bot_id, {})[field] = value
        self.changed_by.setdefault(bot_id, {})[field] = {"actor": actor or entry.envelope.actor.label(), "via": via,
                                                         "seq": entry.seq}

    def _may_approve(self, entry: JournalEntry, requester: str) -> bool:
        approver = entry.envelope.actor.id
        if self.trust is None:
            return approver.lower() != requester.lower()
        problem = self.trust.separation_problem(requester, approver)
        if problem is None and self.trust.role(approver) not in APPROVER_ROLES:
            problem = f"{approver} is not an approver or admin"
        if problem is not None:
            self.trust.report(entry, "refused", problem)
            return False
        return True

    def _approve_override(self, entry: JournalEntry, d: dict[str, Any]) -> None:
        ovr = self.overrides.get(str(d.get("override_id")))
        now = entry.envelope.ts_ms
        if ovr is None or ovr["status"] != "requested" or now >= ovr["requested_at_ms"] + ovr["ttl_ms"]:
            return
        if not self._may_approve(entry, ovr["requester"]):
            return
        ovr.update(status="active", approver=entry.envelope.actor.id, approved_at_ms=now,
                   ends_at_ms=now + ovr["ttl_ms"])
        self._set(entry, ovr["bot_id"], ovr["field"], ovr["value"],
                  f"override {ovr['override_id']} approved by {entry.envelope.actor.id}",
                  actor=f"operator:{ovr['requester']}")

    # -- projection protocol -------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"approved": self.approved, "source_error": self.source_error, "running": self.running,
                "changed_by": self.changed_by, "overrides": self.overrides, "requests": self.requests,
                "approved_commits": self.approved_commits, "reported": self.reported,
                "last_status": self.last_status, "events": self.events}

    def restore(self, data: dict[str, Any]) -> None:
        self.approved = data["approved"]
        self.source_error = data["source_error"]
        self.running = {k: dict(v) for k, v in data["running"].items()}
        self.changed_by = {k: {f: dict(w) for f, w in v.items()} for k, v in data["changed_by"].items()}
        self.overrides = {k: dict(v) for k, v in data["overrides"].items()}
        self.requests = {k: dict(v) for k, v in data["requests"].items()}
        self.approved_commits = {k: dict(v) for k, v in data["approved_commits"].items()}
        self.reported = list(data["reported"])
        self.last_status = data["last_status"]
        self.events = list(data["events"])
