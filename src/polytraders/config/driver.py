"""The running system's side of config: read the approved source, keep each bot on its running
config, run the drift detector, drive the playbook and expire overrides.

Start: the approved branch is read (in simulation, created from the defaults when missing, by
the system) and journaled as `GOV_CONFIG_APPROVED_VERSION` — commit id, content hash, values —
before any bot loads, so every bot starts on the approved values (settings' `[bots."ID"]`
entries on top: a difference the detector then reports) with config version = the commit's
first 12 hex digits. A repository that cannot be read, an invalid file, or an approved head no
journaled approval made refuses the start (`GOV_CONFIG_REFUSED`).

Running: every config envelope (a live edit, a revert, an override taking effect or expiring, a
merge), whichever process wrote it, re-initialises the bot it names from the `config`
projection and makes the detector check within the same step; so does a new approved head (a
deploy: running bots move to it, fields under an active override excepted). Otherwise the
detector checks every `check_interval_s`. An unreadable source is journaled
`GOV_CONFIG_SOURCE_INVALID` and the detector reports `GOV_CONFIG_DRIFT_UNKNOWN`, never a match;
nothing is reverted while the approved values are unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polytraders.bots.gov.config_drift_detector import ConfigDriftDetector, DriftCheck, describe
from polytraders.config.catalog import canonical, defaults, file_problems, owned, system_bots, to_config
from polytraders.config.playbook import CONFIG_DRIFT_PLAYBOOK
from polytraders.config.projection import CHANGE_CODES, ConfigProjection
from polytraders.config.repo import ApprovedRepo, ApprovedSnapshot, RepoError, bot_file, render_bot_file
from polytraders.errors import ConfigError
from polytraders.incidents.engine import IncidentContext, PlaybookRunner, StepAction, StepResult
from polytraders.incidents.notifiers import Notice
from polytraders.journal.base import JournalEntry
from polytraders.replay.window import fmt_utc
from polytraders.runtime.config import build_config
from polytraders.runtime.runner import Runtime

if TYPE_CHECKING:
    from polytraders.runtime.bot import Bot

_log = logging.getLogger(__name__)


@dataclass
class ApprovedStart:
    repo: ApprovedRepo
    commit: str
    values: dict[str, dict[str, Any]]

    @property
    def version(self) -> str:
        return self.commit[:12]

    def merge(self, overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The approved values under the caller's overrides (the runtime-owned fields, settings)."""
        out = {b: to_config(b, v) for b, v in self.values.items()}
        for bot_id, extra in overrides.items():
            out.setdefault(bot_id, {}).update(extra)
        return out


def _validated(snap: ApprovedSnapshot) -> dict[str, dict[str, Any]]:
    problems = [p for bot_id, table in sorted(snap.files.items()) for p in file_problems(bot_id, table)]
    if problems:
        raise ConfigError(f"The approved config at {snap.commit[:12]} is invalid: " + "; ".join(problems[:5]) + ".",
                          code="GOV_CONFIG_SOURCE_INVALID")
    return {b: canonical(b, snap.files.get(b, {})) for b in sorted(system_bots())}


def _projection(rt: Runtime) -> ConfigProjection:
    return rt.state.typed("config", ConfigProjection)


def read_at_start(rt: Runtime, path: Path, *, create: bool = False) -> ApprovedStart:
    """Read (or, in simulation, create) the approved config and journal it before any bot loads."""
    repo = ApprovedRepo(path)
    try:
        if create and not path.exists():
            files = {bot_file(b): render_bot_file(b, defaults(b)) for b in sorted(system_bots())}
            commit = repo.init(files, who="system", when_ms=rt.clock.now_ms(),
                               message="Approved config from the bots' defaults (simulation)")
            rt.note("GOV_CONFIG_REPO_INITIALISED", durable=True, commit=commit,
                    bots=sorted(system_bots()), summary=f"approved config created at {commit[:12]} by the system")
        snap = repo.read()
        values = _validated(snap)
        if snap.commit not in _projection(rt).approved_commits:
            raise ConfigError(f"The approved branch of {path} is at {snap.commit[:12]}, a commit no journaled "
                              f"approval made ('config init' or 'config approve' on this journal); refusing to "
                              f"trust it.", code="GOV_CONFIG_SOURCE_INVALID")
    except ConfigError as exc:
        rt.note("GOV_CONFIG_REFUSED", durable=True, bot_id="approved_config", error=exc.message[:500])
        raise
    rt.note("GOV_CONFIG_APPROVED_VERSION", durable=True, commit=snap.commit, content_hash=snap.content_hash,
            values=values, check="startup", summary=f"approved config {snap.commit[:12]} read at start")
    return ApprovedStart(repo, snap.commit, values)


class ConfigDriftDriver:
    def __init__(self, rt: Runtime, start: ApprovedStart, detector: ConfigDriftDetector,
                 incidents: PlaybookRunner) -> None:
        self.rt = rt
        self.repo = start.repo
        self.detector = detector
        self.incidents = incidents
        self._pending: DriftCheck | None = DriftCheck("startup")
        self._next_check_ms = 0
        self._last_code = ""
        incidents.actions.update(self.actions())
        rt.listeners.append(self._on_entry)

    @property
    def proj(self) -> ConfigProjection:
        return _projection(self.rt)

    def actions(self) -> dict[str, StepAction]:
        return {"identify_config_drift": identify, "revert_config_drift": revert,
                "hold_config_override": hold_override}

    # -- keeping bots on their running config ---------------------------------------------------

    def _on_entry(self, entry: JournalEntry) -> None:
        code = entry.envelope.reason_code
        if code not in CHANGE_CODES:
            return
        d = entry.envelope.payload.get("detail", {})
        bot_id = d.get("bot_id")
        if code in ("GOV_CONFIG_OVERRIDE_EXPIRED",):
            ovr = self.proj.overrides.get(str(d.get("override_id")))
            bot_id = ovr["bot_id"] if ovr else None
        if isinstance(bot_id, str) and code != "GOV_CONFIG_CHANGE_MERGED":
            self._apply_running(bot_id, entry.seq)
        if self._pending is None:
            self._pending = DriftCheck("config_entry", entry.seq)

    def _apply_running(self, bot_id: str, seq: int) -> None:
        bot: Bot[Any, Any] | None = self.rt.bots.get(bot_id)
        values = self.proj.running.get(bot_id)
        approved = self.proj.approved
        if bot is None or values is None or approved is None:
            return
        kept = {k: v for k, v in bot.config.values.items() if owned(bot_id, k)}
        same = values == self.proj.approved_values(bot_id)
        version = approved["commit"][:12] + ("" if same else f"+{seq}")
        try:
            config, _ = build_config(bot_id, bot.params, {**to_config(bot_id, values), **kept},
                                     config_version=version)
        except ConfigError as exc:  # the command validated it; a bad entry must not stop the system
            self.rt.note("GOV_CONFIG_REFUSED", bot_id=bot_id, error=exc.message[:500])
            return
        bot.init(config)

    # -- the loop -------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> None:
        self._expire(now_ms)
        check = self._pending
        if check is None and now_ms < self._next_check_ms:
            return
        self._pending = None
        self._next_check_ms = now_ms + self.detector.config.integer("check_interval_s") * 1000
        if self._read_source():
            check = DriftCheck("deploy")
        self.check(check or DriftCheck("interval"))

    def check(self, check: DriftCheck) -> JournalEntry | None:
        out = self.rt.decide(self.detector, check)
        entry = out.entry
        if entry is None:
            return None
        code = entry.envelope.reason_code
        d = entry.envelope.payload.get("detail", {})
        if code == "GOV_CONFIG_DRIFT":
            new = [x for x in d.get("drifts", []) if x.get("new")]
            trigger = "unauthorised" if any(not x["authorised"] for x in new) else "override"
            self.incidents.run(CONFIG_DRIFT_PLAYBOOK, entry, trigger=trigger, alert_key=f"config_drift:{trigger}",
                               facts={f"{x['bot_id']}.{x['field']}": f"approved {x['approved']}, running "
                                      f"{x['running']} by {x['changed_by']}" for x in new})
        elif code == "GOV_CONFIG_DRIFT_UNKNOWN" and self._last_code != code:
            self._alert("Config drift unknown", str(d.get("summary", "")))
        self._last_code = code
        return entry

    def _alert(self, title: str, body: str) -> None:
        """A channel notice (after its envelope is journaled): the on-call reads it in the channel."""
        notice = Notice(incident_id="config", priority="P2", title=title, body=body, fields={}, action="trigger",
                        dedup_key="config", ts_ms=self.rt.clock.now_ms())
        for result in self.incidents.dispatcher.post(notice):
            if not result.ok:
                _log.warning("config alert to %s: %s", result.target, result.error)

    def _read_source(self) -> bool:
        """Journal the approved head when it changed (True: a deploy), or why it cannot be used."""
        proj = self.proj
        try:
            head = self.repo.head()
            if proj.approved is not None and head == proj.approved["commit"] and proj.source_error is None:
                return False
            if head not in proj.approved_commits and proj.pending_merge(self.rt.clock.now_ms()):
                return False  # an approval is journaled and its merge is being written: wait for it
            snap = self.repo.read(head)
            values = _validated(snap)
            if head not in proj.approved_commits:
                raise ConfigError(f"the approved branch moved to {head[:12]}, a commit no journaled approval "
                                  f"made", code="GOV_CONFIG_SOURCE_INVALID")
        except (RepoError, ConfigError) as exc:
            if proj.source_error != exc.message:
                self.rt.note("GOV_CONFIG_SOURCE_INVALID", durable=True, error=exc.message[:500],
                             summary=f"approved config unusable: {exc.message[:300]}")
            return False
        before = proj.approved
        self.rt.note("GOV_CONFIG_APPROVED_VERSION", durable=True, commit=snap.commit, content_hash=snap.content_hash,
                     values=values, check="deploy", summary=f"approved config {snap.commit[:12]} deployed")
        if before is None or before["commit"] != snap.commit:
            self._deploy(before["values"] if before else {}, values, snap.commit)
        return True

    def _deploy(self, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], commit: str) -> None:
        """Running bots move to a new approved version (fields under an active override stay)."""
        held = {(o["bot_id"], o["field"]): o["value"] for o in self.proj.active_overrides()}
        for bot_id, bot in sorted(self.rt.bots.items()):
            if bot_id not in new or old.get(bot_id) == new[bot_id] and self.proj.running.get(bot_id) == new[bot_id]:
                continue
            values = {k: held.get((bot_id, k), v) for k, v in new[bot_id].items()}
            kept = {k: v for k, v in bot.config.values.items() if owned(bot_id, k)}
            try:
                config, _ = build_config(bot_id, bot.params, {**to_config(bot_id, values), **kept},
                                         config_version=commit[:12])
            except ConfigError as exc:
                self.rt.note("GOV_CONFIG_REFUSED", bot_id=bot_id, error=exc.message[:500])
                continue
            bot.init(config)
            self.rt.note("GOV_CONFIG_LOADED", bot_id=bot_id, config_version=commit[:12], values=values,
                         deploy=commit)

    def _expire(self, now_ms: int) -> None:
        proj = self.proj
        for ovr in list(proj.overrides.values()):
            if ovr["status"] == "active" and now_ms >= ovr["ends_at_ms"]:
                restored = (proj.approved_values(ovr["bot_id"]) or {}).get(ovr["field"])
                summary = (f"override {ovr['override_id']} of {ovr['bot_id']}.{ovr['field']} expired without "
                           f"approval; approved value {restored} restored")
                self.rt.note("GOV_CONFIG_OVERRIDE_EXPIRED", durable=True, override_id=ovr["override_id"],
                             bot_id=ovr["bot_id"], field=ovr["field"], restored=restored, was=ovr["value"],
                             request_id=ovr["request_id"], summary=summary)
                self._alert("Config override expired", summary)
            elif ovr["status"] == "requested" and now_ms >= ovr["requested_at_ms"] + ovr["ttl_ms"]:
                self.rt.note("GOV_CONFIG_OVERRIDE_EXPIRED", durable=True, override_id=ovr["override_id"],
                             bot_id=ovr["bot_id"], field=ovr["field"],
                             summary=f"override {ovr['override_id']} lapsed: nobody approved it in time")


# -- playbook actions ------------------------------------------------------------------------------


def _new_drifts(ctx: IncidentContext) -> list[dict[str, Any]]:
    drifts = ctx.trigger_entry.envelope.payload.get("detail", {}).get("drifts", [])
    return [d for d in drifts if d.get("new")]


def identify(ctx: IncidentContext) -> StepResult:
    drifts = _new_drifts(ctx)
    if not drifts:
        return StepResult(False, "the drift report names no new difference")
    return StepResult(True, "; ".join(describe(d) for d in drifts), {"drifts": drifts})


def revert(ctx: IncidentContext) -> StepResult:
    """Put each unauthorised field back to its approved value, naming who changed it."""
    proj = _projection(ctx.runtime)
    reverted, skipped = [], []
    for d in _new_drifts(ctx):
        if d["authorised"]:
            continue
        now = (proj.running.get(d["bot_id"]) or {}).get(d["field"])
        approved = (proj.approved_values(d["bot_id"]) or {}).get(d["field"])
        if now != d["running"] or approved is None:
            skipped.append(f"{d['bot_id']}.{d['field']} changed again since the report")
            continue
        ctx.runtime.note("GOV_CONFIG_REVERTED", actor=ctx.actor, durable=True, correlation_id=ctx.incident_id,
                         incident_id=ctx.incident_id, bot_id=d["bot_id"], field=d["field"], value=approved,
                         was=d["running"], changed_by=d["changed_by"], changed_seq=d.get("changed_seq"),
                         summary=f"reverted {d['bot_id']}.{d['field']} from {d['running']} to approved {approved}; "
                                 f"changed by {d['changed_by']} without approval")
        reverted.append({"bot_id": d["bot_id"], "field": d["field"], "from": d["running"], "to": approved,
                         "changed_by": d["changed_by"]})
    if not reverted:
        return StepResult(False, "nothing reverted: " + ("; ".join(skipped) or "no unauthorised difference"),
                          {"skipped": skipped})
    return StepResult(True, "; ".join(f"{r['bot_id']}.{r['field']} {r['from']} -> {r['to']} (changed by "
                                      f"{r['changed_by']})" for r in reverted), {"reverted": reverted,
                                                                                "skipped": skipped})


def hold_override(ctx: IncidentContext) -> StepResult:
    proj = _projection(ctx.runtime)
    held = []
    for d in _new_drifts(ctx):
        ovr = proj.overrides.get(str(d.get("override_id")))
        if ovr is None:
            continue
        req = proj.requests.get(str(ovr.get("request_id")))
        held.append({"override_id": ovr["override_id"], "bot_id": ovr["bot_id"], "field": ovr["field"],
                     "value": ovr["value"], "requester": ovr["requester"], "approver": ovr["approver"],
                     "ends_at_ms": ovr["ends_at_ms"], "request_id": ovr["request_id"],
                     "whatif": (req or {}).get("whatif", {}).get("verdict")})
    if not held:
        return StepResult(False, "no active override covers the difference")
    return StepResult(True, "; ".join(f"{h['override_id']} holds {h['bot_id']}.{h['field']} = {h['value']} until "
                                      f"{fmt_utc(h['ends_at_ms'])}; request {h['request_id']} open (what-if "
                                      f"{h['whatif']})" for h in held), {"held": held})
