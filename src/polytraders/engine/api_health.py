"""The API degradation monitor in the running system: samples in, summaries and levels out,
the playbook run, and the restore.

Each step, `tick(now)` summarises every configured surface from the in-memory samples and
journals a summary when one is due (`summary_interval_s`) or when the level it shows differs
from the current one (at most once a second), then lets `gov.api_degradation_monitor` decide
from the journaled summary, so replay sees exactly what it saw. A `GOV_API_DEGRADED` is an alert
for the desk (`incidents/desk.py`: confirm window and flap check, `gov.incident_commander`); once
confirmed it opens the "API degraded" incident (unless one is open); `GOV_API_OK` clears it.
While the playbook's hold is on, the restore
releases it once every configured surface has been `ok` for `green_before_promote_s` without a
break, or at once after a second operator approved an early promotion; an operator's hold
keeps the demotion in place. Every mode change is a hold journaled by `playbook:api_degraded`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from polytraders.bots.gov.api_degradation_monitor import ApiDegradationMonitor, raw_level
from polytraders.contracts import ApiHealthSummary
from polytraders.contracts.envelope import Actor
from polytraders.health.playbook import API_DEGRADED_PLAYBOOK, HOLD_SOURCE, WATCH_STEP
from polytraders.health.sampler import HealthSampler
from polytraders.incidents.desk import AlertDesk, Confirmation
from polytraders.incidents.engine import PlaybookRunner, playbook_actor
from polytraders.journal.base import JournalEntry
from polytraders.runtime.runner import Runtime
from polytraders.state.api_health import ApiHealthProjection
from polytraders.state.modes import ModesProjection
from polytraders.venues.base import VenueError

DRIVER = Actor(kind="system", id="api_health")


class ApiHealthDriver:
    def __init__(self, runtime: Runtime, monitor: ApiDegradationMonitor, sampler: HealthSampler,
                 incidents: PlaybookRunner, probe: Callable[[int], None] | None = None,
                 desk: AlertDesk | None = None) -> None:
        self.desk = desk
        self.probe = probe
        self._next_probe = 0
        self.rt = runtime
        self.monitor = monitor
        self.sampler = sampler
        self.incidents = incidents
        self._next_due: dict[str, int] = {}
        self._last_at: dict[str, int] = {}
        self._degraded: list[JournalEntry] = []
        runtime.listeners.append(self._on_entry)

    @property
    def health(self) -> ApiHealthProjection:
        return self.rt.state.typed("api_health", ApiHealthProjection)

    @property
    def surfaces(self) -> tuple[str, ...]:
        return tuple(self.monitor.config["surfaces"])

    def _on_entry(self, entry: JournalEntry) -> None:
        if entry.envelope.reason_code in ("GOV_API_DEGRADED", "GOV_API_OK"):
            self._degraded.append(entry)

    def tick(self, now_ms: int) -> None:
        cfg = self.monitor.config
        if self.probe is not None and now_ms >= self._next_probe:
            self._next_probe = now_ms + cfg.integer("probe_interval_s") * 1000
            with contextlib.suppress(VenueError):  # a failed probe is a sample, nothing more
                self.probe(now_ms)
        short, long_ = cfg.integer("short_window_s") * 1000, cfg.integer("long_window_s") * 1000
        for surface in self.surfaces:
            f = self.sampler.summarise(surface, now_ms, short, long_)
            summary = ApiHealthSummary(
                surface=surface, at_ms=now_ms, short_window_ms=short, long_window_ms=long_,
                samples_short=f.samples_short, errors_short=f.errors_short,
                error_rate_short_pct=f.error_rate_short_pct, error_rate_long_pct=f.error_rate_long_pct,
                p50_ms=f.p50_ms, p99_ms=f.p99_ms, throttled=f.throttled, restarting=f.restarting,
                unavailable=f.unavailable, last_success_ms=f.last_success_ms, last_sample_ms=f.last_sample_ms)
            due = now_ms >= self._next_due.get(surface, 0)
            changed = raw_level(summary.to_json_dict(), cfg, now_ms) != self.health.level.get(surface)
            if due or (changed and now_ms - self._last_at.get(surface, -10**12) >= 1_000):
                self.rt.record(summary, actor=DRIVER, reason_code="GOV_API_SUMMARY")
                self.rt.decide(self.monitor, summary, correlation_id=f"api_{surface}")
                self._next_due[surface] = now_ms + cfg.integer("summary_interval_s") * 1000
                self._last_at[surface] = now_ms
        while self._degraded:
            entry = self._degraded.pop(0)
            p = entry.envelope.payload
            key = f"api:{p['surface']}"
            if entry.envelope.reason_code == "GOV_API_OK":
                if self.desk is not None:
                    self.desk.clear(key)
                continue
            trigger = f"{p['surface']}_{p['level']}"
            if self.desk is None:
                self._open(entry, None)
            else:  # step 1: confirmed and not flapping, by the tracker and the commander
                self.desk.alert(key, entry, "GOV_API_DEGRADED", trigger, active=True, opener=self._open)
        self._maybe_restore(now_ms)

    def _open(self, entry: JournalEntry, confirmed: Confirmation | None) -> str | None:
        if self._open_incident() is not None:
            return None  # one API incident at a time: the open one is already on it
        p = entry.envelope.payload
        extra: dict[str, Any] = {} if confirmed is None else {
            "alert_key": confirmed.key, "confirm_window_ms": confirmed.confirm_window_ms,
            "decided_seq": confirmed.decided_seq, "as_of_trigger": confirmed.as_of_trigger}
        return self.incidents.run(API_DEGRADED_PLAYBOOK, entry, trigger=f"{p['surface']}_{p['level']}",
                                  facts={"surface": str(p["surface"]), "level": str(p["level"]),
                                         "error_rate_pct": str(p.get("error_rate_pct")),
                                         "p99_ms": str(p.get("latency_p99_ms"))}, **extra)

    def _open_incident(self) -> dict[str, Any] | None:
        for inc in self.incidents.incidents.all():
            if inc.get("playbook") == API_DEGRADED_PLAYBOOK.name and inc.get("status") != "resolved":
                step = inc["steps"].get(WATCH_STEP, {})
                if step.get("status") != "done":
                    return inc
        return None

    def held_bots(self) -> list[str]:
        modes = self.rt.state.find("modes")
        if not isinstance(modes, ModesProjection):
            return []
        return [b for b in self.rt.bots if HOLD_SOURCE in modes.holds_of(b)]

    def green_for_ms(self, now_ms: int) -> int | None:
        """How long every configured surface has been ok together; None when one is not."""
        since = [self.health.green_since.get(s) for s in self.surfaces]
        if any(s is None or self.health.level.get(surface) != "ok" for s, surface in zip(since, self.surfaces,
                                                                                         strict=True)):
            return None
        return now_ms - max(s for s in since if s is not None)

    def _maybe_restore(self, now_ms: int) -> None:
        held = self.held_bots()
        if not held or self.health.operator_hold is not None:
            return
        green = self.green_for_ms(now_ms)
        needed = self.monitor.config.integer("green_before_promote_s") * 1000
        early = self.health.promote_approved_seq
        if early is None and (green is None or green < needed):
            return
        actor = playbook_actor(API_DEGRADED_PLAYBOOK)
        why = (f"early promotion approved (seq {early})" if early is not None and (green is None or green < needed)
               else f"every surface green for {(green or 0) // 1000} s")
        for bot_id in held:
            self.rt.release_hold(bot_id, HOLD_SOURCE, actor=actor, reason=why, durable=True)
        modes = {b: self.rt.bots[b].mode.value for b in held}
        self.rt.note("GOV_API_RESTORED", actor=actor, durable=True, reason=why, modes_after=modes)
        inc = self._open_incident()
        if inc is not None:
            self.rt.note("GOV_INCIDENT_STEP", actor=actor, durable=True, correlation_id=inc["incident_id"],
                         incident_id=inc["incident_id"], step=WATCH_STEP, status="done",
                         summary=f"restored {len(held)} bot(s) to their previous modes: {why}")
