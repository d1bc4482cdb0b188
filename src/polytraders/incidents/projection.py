"""Incidents as a projection: a fold over ``incident`` envelopes and incident step notes.

Each incident (keyed by ``incident_id``) holds its status, commander, playbook, every step with
its status (``pending``, ``running``, ``done``, ``failed``, ``skipped``) and result, a timeline
(one line per journal entry that touched it), ``resolved_at_ms`` and the RCA. A failed
automatic step stays ``failed`` until an operator marks it done: it is a manual checklist item.

The universal confirm and capture notes precede the ``incident`` envelope that opens the
incident, so those two codes create the record; every other code is ignored for an unknown
incident id (a refusal for a mistyped id must not invent an incident).

Steps the system can check close on evidence, not on notes: ``reset_kill_switch`` closes when
the ``killswitch_event`` resetting the incident's trip is folded (even if the reset came first),
``investigate_root_cause`` when ``GOV_RCA_RECORDED`` is. A resolved incident has nothing
outstanding: its RCA, if still missing, is tracked as due or overdue, not as a step.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from polytraders.contracts import Incident, KillSwitchEvent
from polytraders.incidents.playbooks import STEP_RCA, STEP_RESET
from polytraders.journal.base import JournalEntry

MS_PER_HOUR: Final = 3_600_000

_CREATES: Final = frozenset({"GOV_ALERT_CONFIRMED", "GOV_STATE_CAPTURED"})
_NOTE_CODES: Final = frozenset({
    "GOV_ALERT_CONFIRMED", "GOV_STATE_CAPTURED", "GOV_INCIDENT_STEP", "GOV_INCIDENT_STEP_FAILED",
    "GOV_PAGE_SENT", "GOV_PAGING_SYSTEM_UNAVAILABLE", "GOV_POSITIONS_SNAPSHOT",
    "GOV_RCA_RECORDED", "GOV_RCA_OVERDUE", "GOV_INCIDENT_ACTION_REFUSED", "GOV_RECONCILE_DIVERGENCE_CAPTURED",
})
# Step status carried by a GOV_INCIDENT_STEP note -> status kept in the projection.
_STEP_STATUS: Final = {"done": "done", "pending": "pending", "skipped": "skipped",
                       "started": "running"}
OUTSTANDING: Final = frozenset({"pending", "running", "failed"})


def _new(incident_id: str) -> dict[str, Any]:
    return {
        "incident_id": incident_id, "status": "opening", "priority": None, "trigger": None,
        "trigger_kind": None, "trigger_seq": None, "trip_id": None, "playbook": None,
        "commander": None, "title": None, "opened_at_ms": None, "acknowledged_by": None,
        "resolved_at_ms": None, "resolved_by": None, "snapshot": None, "rca": None,
        "rca_overdue_seq": None, "steps": {}, "step_order": [], "timeline": [],
    }


class IncidentsProjection:
    name = "incidents"
    relevant = (frozenset({Incident.kind, KillSwitchEvent.kind}), _NOTE_CODES)  # what apply reads

    def __init__(self, require_rca_within_h: int = 24) -> None:
        self.require_rca_within_h = require_rca_within_h
        self.incidents: dict[str, dict[str, Any]] = {}
        self.reset_trips: dict[str, int] = {}  # trip id -> seq of the journaled reset

    # -- folding ---------------------------------------------------------------------------

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.kind == Incident.kind:
            self._apply_incident(entry)
            return
        if env.kind == KillSwitchEvent.kind:
            if env.payload.get("event") == "reset":
                trip_id = str(env.payload["trip_id"])
                self.reset_trips[trip_id] = entry.seq
                for rec in self.incidents.values():
                    if rec.get("trip_id") == trip_id:
                        self._close_reset(rec, entry)
            return
        if env.kind != "note" or env.reason_code not in _NOTE_CODES:
            return
        detail = env.payload.get("detail", {})
        inc_id = detail.get("incident_id")
        if not isinstance(inc_id, str):
            return
        inc = self.incidents.get(inc_id)
        if inc is None:
            if env.reason_code not in _CREATES:
                return
            inc = self.incidents[inc_id] = _new(inc_id)
        self._timeline(inc, entry, detail.get("step"), detail.get("summary") or "")
        self._apply_note(inc, entry, detail)

    def _timeline(self, inc: dict[str, Any], entry: JournalEntry, step: Any, summary: str) -> None:
        env = entry.envelope
        inc["timeline"].append({"seq": entry.seq, "ts_ms": env.ts_ms, "code": env.reason_code,
                                "actor": env.actor.label(), "step": step, "summary": summary})

    def _step(self, inc: dict[str, Any], step_id: str) -> dict[str, Any]:
        if step_id not in inc["steps"]:
            inc["steps"][step_id] = {"title": step_id, "kind": "auto", "required_for_resolve": True,
                                     "status": "pending", "result": None, "error": None,
                                     "note": None, "by": None, "seq": None}
            inc["step_order"].append(step_id)
        step: dict[str, Any] = inc["steps"][step_id]
        return step

    def _set(self, inc: dict[str, Any], step_id: str, entry: JournalEntry, status: str,
             **fields: Any) -> None:
        step = self._step(inc, step_id)
        step.update(fields)
        step["status"] = status
        step["by"] = entry.envelope.actor.label()
        step["seq"] = entry.seq

    def _apply_note(self, inc: dict[str, Any], entry: JournalEntry, d: dict[str, Any]) -> None:
        code = entry.envelope.reason_code
        step_id = d.get("step")
        if code == "GOV_RECONCILE_DIVERGENCE_CAPTURED":  # the record the on-call reads in `incidents show`
            inc["divergence"] = d.get("divergence")
        if code == "GOV_STATE_CAPTURED":
            inc["snapshot"] = {"path": d.get("path"), "sha256": d.get("sha256"),
                               "seq": entry.seq, "write_error": d.get("write_error")}
        if code in ("GOV_ALERT_CONFIRMED", "GOV_STATE_CAPTURED") and isinstance(step_id, str):
            self._set(inc, step_id, entry, "done", result=d.get("summary"))
        elif code == "GOV_INCIDENT_STEP" and isinstance(step_id, str):
            status = _STEP_STATUS.get(str(d.get("status")), "done")
            self._set(inc, step_id, entry, status, result=d.get("summary"),
                      note=d.get("note"), error=None)
        elif code == "GOV_INCIDENT_STEP_FAILED" and isinstance(step_id, str):
            self._set(inc, step_id, entry, "failed", error=d.get("error"))
        elif code == "GOV_PAGE_SENT" and isinstance(step_id, str):
            self._set(inc, step_id, entry, "done", result=d.get("summary"))
        elif code == "GOV_PAGING_SYSTEM_UNAVAILABLE" and isinstance(step_id, str):
            self._set(inc, step_id, entry, "failed",
                      error="paging system unavailable; reach the on-call by hand")
        elif code == "GOV_RCA_RECORDED":
            inc["rca"] = {"text": d.get("text"), "by": entry.envelope.actor.label(),
                          "seq": entry.seq, "ts_ms": entry.envelope.ts_ms}
            if STEP_RCA in inc["steps"]:
                self._set(inc, STEP_RCA, entry, "done", result=f"RCA recorded at seq {entry.seq}")
        elif code == "GOV_RCA_OVERDUE" and inc["rca_overdue_seq"] is None:
            inc["rca_overdue_seq"] = entry.seq

    def _apply_incident(self, entry: JournalEntry) -> None:
        env = entry.envelope
        p = env.payload
        d = p.get("detail", {})
        inc = self.incidents.setdefault(p["incident_id"], _new(p["incident_id"]))
        code = env.reason_code
        inc.update(status=p["status"], priority=p["priority"], trigger=p["trigger"],
                   commander=p["commander"], title=p["title"])
        if code == "GOV_INCIDENT_DECLARED":
            inc.update(playbook=d.get("playbook"), trigger_kind=d.get("trigger_kind"),
                       trigger_seq=d.get("trigger_seq"), trip_id=d.get("trip_id"),
                       opened_at_ms=env.ts_ms)
            for plan in d.get("steps", []):
                step = self._step(inc, plan["id"])
                step.update(title=plan["title"], kind=plan["kind"],
                            required_for_resolve=plan.get("required_for_resolve", True))
            if isinstance(d.get("step"), str):
                self._set(inc, d["step"], entry, "done", result=f"commander {p['commander']}")
            if inc.get("trip_id") in self.reset_trips:
                self._close_reset(inc, entry)
        elif code == "GOV_INCIDENT_ACKNOWLEDGED":
            inc["acknowledged_by"] = env.actor.label()
        elif code == "GOV_INCIDENT_RESOLVED":
            inc["resolved_at_ms"] = env.ts_ms
            inc["resolved_by"] = env.actor.label()
        self._timeline(inc, entry, d.get("step"), d.get("summary") or p["status"])

    def _close_reset(self, inc: dict[str, Any], entry: JournalEntry) -> None:
        step = inc["steps"].get(STEP_RESET)
        if step is not None and step["status"] != "done":
            seq = self.reset_trips[str(inc["trip_id"])]
            self._set(inc, STEP_RESET, entry, "done", result=f"kill-switch reset journaled at seq {seq}")

    # -- queries ---------------------------------------------------------------------------

    def get(self, incident_id: str) -> dict[str, Any] | None:
        return self.incidents.get(incident_id)

    def all(self) -> list[dict[str, Any]]:
        return list(self.incidents.values())

    def outstanding_steps(self, incident_id: str, *, required_only: bool = False) -> list[str]:
        inc = self.incidents[incident_id]
        if inc["status"] == "resolved":
            return []  # what is left is the RCA, shown as due or overdue
        return [sid for sid in inc["step_order"]
                if inc["steps"][sid]["status"] in OUTSTANDING
                and (inc["steps"][sid]["required_for_resolve"] or not required_only)]

    def overdue_rcas(self, now_ms: int) -> list[str]:
        """Resolved incidents with no RCA more than ``require_rca_within_h`` after resolution."""
        bound = self.require_rca_within_h * MS_PER_HOUR
        return [i["incident_id"] for i in self.incidents.values()
                if i["status"] == "resolved" and i["rca"] is None
                and i["resolved_at_ms"] is not None and now_ms - i["resolved_at_ms"] > bound]

    # -- persistence -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"require_rca_within_h": self.require_rca_within_h,
                "incidents": copy.deepcopy(self.incidents), "reset_trips": dict(self.reset_trips)}

    def restore(self, data: dict[str, Any]) -> None:
        self.incidents = copy.deepcopy(data["incidents"])
        self.reset_trips = dict(data.get("reset_trips", {}))
