"""The one playbook engine: opens incidents and runs any :class:`Playbook` step by step.

Order of a run (a test holds the journal sequence to it):

1. ``confirm`` — ``GOV_ALERT_CONFIRMED``; an alert that is pending or flapping is journaled
   with its own code and opens nothing;
2. ``capture_state`` — snapshot file + ``GOV_STATE_CAPTURED`` (sha256 and path);
3. ``open_incident_and_assign_commander`` — an ``incident`` envelope (``GOV_INCIDENT_DECLARED``)
   naming the commander (the first on-call person for the playbook's role, else
   ``unassigned``), then the channel notice;
4. each remedy step: skipped (``when`` does not match the trigger), pending (manual), or run
   (auto). An auto step that raises, returns ``ok=False`` or has no action wired is journaled
   ``GOV_INCIDENT_STEP_FAILED`` and becomes a manual checklist item; the engine never raises
   out of a step.

Write-ahead: every envelope that causes a side effect is appended with ``durable=True`` before
the pager or channel is called. Paging journals the step as ``started`` first, then the outcome
(``GOV_PAGE_SENT`` or ``GOV_PAGING_SYSTEM_UNAVAILABLE``; the dispatcher has then already used
the channel as the fallback).

An auto step may wait: an action that returns ``StepResult(wait_until_ms=...)`` is journaled
``started``, the rest of the playbook is suspended, and :meth:`PlaybookRunner.tick` calls the
action again each turn (with ``wait_started_ms`` set) until it succeeds or its time is up; then
the step is journaled done or failed and the remaining steps run. Time is the runtime's clock,
so the demo stays deterministic. The kill-switch playbook's in-flight check waits this way, up
to ``inflight_wait_s``, for orders in flight to be confirmed by the venue.

Paging with no pager configured is not a failure: the step is done and says "no pager
configured, posted to the channel". A configured pager that accepts nothing is
``GOV_PAGING_SYSTEM_UNAVAILABLE`` (the step failed; reach the on-call by hand).

Actions: ``page`` is the engine's own. ``confirm_no_inflight`` (waits while ``params`` has
``can_wait``, i.e. in the running system; reports at once in an operator's CLI, where no venue
event can arrive), ``publish_positions``, ``confirm_trade_halted`` and ``capture_divergence``
have defaults here; the caller's ``actions`` mapping overrides them and supplies the rest
(``replay``). Entries are the playbook's (``playbook:<name>``), or the operator's, signed, when
an operator's CLI runs the playbook because no system is running (``actor``). Incident ids are
``inc_<trigger seq>_<journal tag>``. An action with its own
outside side effect must journal durably before it, as ``publish_positions`` does.

Operator actions (the CLI authenticates first): acknowledge, complete a step, resolve, attach
an RCA. Resolve rule: refused while the kill-switch trip that opened the incident is still
active (named in the refusal), and while any step required for resolution is pending, running
or failed (named). The root-cause step is not required: the RCA closes it, due
``require_rca_within_h`` after resolution; ``tick`` journals ``GOV_RCA_OVERDUE`` once per
incident. Every refusal is journaled as ``GOV_INCIDENT_ACTION_REFUSED`` before it is raised.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from polytraders.contracts import Incident, KillSwitchEvent
from polytraders.contracts.envelope import Actor
from polytraders.errors import RefusedError
from polytraders.incidents.alerts import AlertState, reason_code_for
from polytraders.incidents.config import UNASSIGNED, Roster
from polytraders.incidents.notifiers import Action, Dispatcher, Notice
from polytraders.incidents.playbooks import (
    KILL_SWITCH_PLAYBOOK,  # noqa: F401 - re-exported for callers that import it from here
    PLAYBOOKS,
    STEP_CAPTURE,
    STEP_CONFIRM,
    STEP_OPEN,
    STEP_RCA,
    STEP_RESET,
    Playbook,
    Step,
    playbook_for_trip,
)
from polytraders.incidents.projection import IncidentsProjection
from polytraders.incidents.snapshot import (
    ChainReader,
    _jsonable,
    capture_as_of,
    capture_as_of_now,
    capture_state,
    default_snapshots_dir,
    journal_tag,
    store_snapshot,
)
from polytraders.journal.base import JournalEntry
from polytraders.operators.auth import Operator
from polytraders.runtime.runner import Runtime

_log = logging.getLogger(__name__)

REFUSED: Final = "GOV_INCIDENT_ACTION_REFUSED"


@dataclass(frozen=True, slots=True)
class StepResult:
    ok: bool
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)
    wait_until_ms: int | None = None  # not ok yet: ask again each tick until then

@dataclass(frozen=True, slots=True)
class IncidentContext:
    """What an action may use. ``runtime`` is for reading state and journaling (durably before
    any outside side effect); ``params`` carries the commander's config (``inflight_wait_s``)."""

    incident_id: str
    playbook: Playbook
    step: Step
    trigger: str
    trigger_entry: JournalEntry
    runtime: Runtime
    dispatcher: Dispatcher
    actor: Actor
    params: Mapping[str, Any]
    snapshot_path: str | None
    wait_started_ms: int | None = None  # set when the engine asks a waiting step again


@dataclass
class _Suspended:
    """A playbook run waiting on one step; the steps after it run once it finishes."""

    ctx: IncidentContext
    commander: str
    remaining: list[Step]
    until_ms: int


StepAction = Callable[[IncidentContext], StepResult]


def incident_id_for(entry: JournalEntry, tag: str = "") -> str:
    """``inc_<seq>_<journal tag>``: the trigger's seq, and a tag of the journal's identity so
    two journals never share an incident id (PagerDuty dedups on it; snapshot files use it)."""
    return f"inc_{entry.seq}_{tag[:6]}" if tag else f"inc_{entry.seq}"


def playbook_actor(pb: Playbook) -> Actor:
    return Actor(kind="system", id=f"playbook:{pb.name}")


# -- default actions ----------------------------------------------------------------------------


def _market_of_trip(entry: JournalEntry) -> str | None:
    """The market a market-scoped kill-switch trip stopped, else None (every market)."""
    env = entry.envelope
    scope = env.payload.get("scope") if env.kind == "killswitch_event" else None
    if isinstance(scope, dict) and scope.get("scope") == "market":
        return str(scope.get("value"))
    return None


def _wait_ms(ctx: IncidentContext) -> int | None:
    """How long this run may wait for the venue; None when nothing can change while we wait
    (a CLI process with no running system: no venue events arrive)."""
    if not ctx.params.get("can_wait", False):
        return None
    try:
        return max(0, int(ctx.params.get("inflight_wait_s", 5))) * 1000
    except (TypeError, ValueError):
        return 5_000


def confirm_no_inflight(ctx: IncidentContext) -> StepResult:
    """Wait up to ``inflight_wait_s`` (the commander's parameter) for every order in flight at
    the trip (submitted, or a cancel sent, and not yet confirmed by the venue) to resolve, then
    report those still unresolved by client order id. Orders reaching the venue after the trip
    are the venue's events, folded by the running system each turn, so the wait is the engine's
    (see ``wait_until_ms``), never a sleep. A market-scoped trip only asks about its own market:
    the other markets keep trading, so their orders may be in flight."""
    try:
        orders = ctx.runtime.state.get("orders")
    except KeyError:
        return StepResult(False, "no orders projection: cannot confirm nothing is in flight")
    in_flight = getattr(orders, "in_flight", None)
    if not callable(in_flight):
        return StepResult(False, "orders projection has no in_flight(): cannot confirm")
    market = _market_of_trip(ctx.trigger_entry)
    ids = sorted(str(getattr(o, "client_order_id", o)) for o in in_flight()
                 if market is None or getattr(o, "market_id", None) == market)
    now = ctx.runtime.clock.now_ms()
    wait = _wait_ms(ctx)
    waited_s = 0.0 if ctx.wait_started_ms is None else (now - ctx.wait_started_ms) / 1000
    if not ids:
        summary = ("no order in flight" if ctx.wait_started_ms is None
                   else f"every order in flight resolved within {waited_s:g} s")
        return StepResult(True, summary, {"in_flight": [], "waited_s": waited_s})
    detail: dict[str, Any] = {"in_flight": ids, "waited_s": waited_s,
                              "inflight_wait_s": ctx.params.get("inflight_wait_s")}
    if wait is None:
        return StepResult(False, f"{len(ids)} order(s) in flight and no running system to wait for "
                          f"the venue: {', '.join(ids[:20])}; the next 'polytraders run' reconciles them",
                          detail)
    if ctx.wait_started_ms is None and wait > 0:
        return StepResult(False, f"waiting up to {wait // 1000} s for {len(ids)} order(s) in flight: "
                          f"{', '.join(ids[:20])}", detail, wait_until_ms=now + wait)
    if ctx.wait_started_ms is not None and now < ctx.wait_started_ms + wait:
        return StepResult(False, f"still waiting for {len(ids)} order(s)", detail,
                          wait_until_ms=ctx.wait_started_ms + wait)
    return StepResult(False, f"{len(ids)} order(s) still in flight after {waited_s:g} s: "
                      f"{', '.join(ids[:20])}", detail)


def publish_positions(ctx: IncidentContext) -> StepResult:
    """Journal GOV_POSITIONS_SNAPSHOT durably, then post the positions to the channel."""
    try:
        portfolio: Any = ctx.runtime.state.get("portfolio")
        rows = _jsonable(portfolio.positions())
    except Exception as exc:
        return StepResult(False, f"positions unavailable ({type(exc).__name__})")
    ctx.runtime.note("GOV_POSITIONS_SNAPSHOT", actor=ctx.actor, durable=True,
                     correlation_id=ctx.incident_id, incident_id=ctx.incident_id,
                     step=ctx.step.id, positions=rows, summary=f"{len(rows)} position(s)")
    lines = [f"{r.get('token_id', '?')}: {r.get('size', '?')} @ {r.get('avg_price', '?')}"
             for r in rows if isinstance(r, dict)]
    ctx.dispatcher.post(Notice(
        incident_id=ctx.incident_id, priority=ctx.playbook.priority,
        title=f"{ctx.incident_id}: positions snapshot", body="\n".join(lines) or "no positions",
        fields={"positions": str(len(rows))}, action="trigger", dedup_key=ctx.incident_id,
        ts_ms=ctx.runtime.clock.now_ms(), event="positions_snapshot"))
    return StepResult(True, f"published {len(rows)} position(s)")


def confirm_trade_halted(ctx: IncidentContext) -> StepResult:
    """The reconcile playbook's first remedy: the trip is active and global, and no Trade bot runs."""
    from polytraders.runtime.kinds import Authority, Mode

    trip_id = str(ctx.trigger_entry.envelope.payload.get("trip_id", ""))
    trip = ctx.runtime.kill_switch.active.get(trip_id)
    running = sorted(b.bot_id for b in ctx.runtime.bots.values()
                     if Authority.TRADE in b.authority and b.mode is not Mode.OFF)
    if trip is None or trip.scope != "global":
        return StepResult(False, f"trip {trip_id} is not an active global trip", {"trip_id": trip_id})
    if running:
        return StepResult(False, f"Trade bot(s) still running: {', '.join(running)}", {"running": running})
    return StepResult(True, f"kill switch {trip_id} active (global); Trade bots halted", {"trip_id": trip_id})


def capture_divergence(ctx: IncidentContext) -> StepResult:
    """Journal the divergence record (durably) into the incident, then post it to the channel."""
    recon: Any = ctx.runtime.state.find("reconcile")
    record = getattr(recon, "record", None)
    if not record:
        return StepResult(False, "no divergence record in the reconcile ledger")
    items = [{"item": i["item"], "internal": str(i["internal"]), "onchain": str(i["onchain"]),
              "in_flight": str(i.get("in_flight", "0")), "difference": str(i["difference"])}
             for i in record.get("items", [])]
    divergence = {"items": items, "block_number": record.get("last_block_number"),
                  "block_hash": record.get("last_block_hash"), "last_applied_seq": record.get("last_applied_seq"),
                  "report_seq": record.get("seq"), "address": record.get("address")}
    ctx.runtime.note("GOV_RECONCILE_DIVERGENCE_CAPTURED", actor=ctx.actor, durable=True,
                     correlation_id=ctx.incident_id, incident_id=ctx.incident_id, step=ctx.step.id,
                     divergence=divergence, summary=f"{len(items)} item(s) differ at block "
                                                    f"{divergence['block_number']}")
    lines = [f"{i['item']}: internal {i['internal']} vs on-chain {i['onchain']} (in flight {i['in_flight']})"
             for i in items]
    lines.append(f"block {divergence['block_number']} {divergence['block_hash']}; "
                 f"last-applied seq {divergence['last_applied_seq']}")
    ctx.dispatcher.post(Notice(
        incident_id=ctx.incident_id, priority=ctx.playbook.priority,
        title=f"{ctx.incident_id}: divergence record", body="\n".join(lines),
        fields={"items": str(len(items)), "block": str(divergence["block_number"])}, action="trigger",
        dedup_key=ctx.incident_id, ts_ms=ctx.runtime.clock.now_ms(), event="divergence_record"))
    return StepResult(True, f"{len(items)} item(s) differ", divergence)


DEFAULT_ACTIONS: Final[Mapping[str, StepAction]] = {
    "confirm_no_inflight": confirm_no_inflight,
    "publish_positions": publish_positions,
    "confirm_trade_halted": confirm_trade_halted,
    "capture_divergence": capture_divergence,
}


# -- the engine ---------------------------------------------------------------------------------


class PlaybookRunner:
    def __init__(
        self,
        runtime: Runtime,
        actions: Mapping[str, StepAction],
        dispatcher: Dispatcher,
        roster: Roster,
        *,
        chain_reader: ChainReader | None = None,
        snapshots_dir: str | Path | None = None,
        require_rca_within_h: int = 24,
        params: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.runtime = runtime
        # who writes the playbook's entries: the playbook itself (the running system), or the
        # operator whose CLI runs it because no system is running (signed with their key)
        self.actor_override = actor
        self.tag = journal_tag(runtime.journal)
        self._suspended: list[_Suspended] = []
        self._resumed = False
        self.actions: dict[str, StepAction] = {**DEFAULT_ACTIONS, **actions}
        self.dispatcher = dispatcher
        self.roster = roster
        self.chain_reader = chain_reader
        self.snapshots_dir = (Path(snapshots_dir) if snapshots_dir
                              else default_snapshots_dir(runtime))
        self.params = dict(params or {})
        try:
            self.incidents = runtime.state.typed("incidents", IncidentsProjection)
        except KeyError:
            self.incidents = IncidentsProjection(require_rca_within_h)
            runtime.state.add(self.incidents)
            # fold what is already journaled so a late-added projection is complete
            for entry in runtime.journal.read(1, runtime.state.last_seq):
                self.incidents.apply(entry)
        self.incidents.require_rca_within_h = require_rca_within_h

    # -- helpers -----------------------------------------------------------------------------

    def _notice(self, incident_id: str, priority: Any, title: str, body: str,
                fields: Mapping[str, Any], action: Action = "trigger", *,
                event: str | None = None) -> Notice:
        return Notice(incident_id=incident_id, priority=priority, title=title, body=body,
                      fields={k: str(v) for k, v in fields.items()}, action=action,
                      dedup_key=incident_id, ts_ms=self.runtime.clock.now_ms(), event=event)

    def actor_for(self, pb: Playbook) -> Actor:
        return self.actor_override or playbook_actor(pb)

    def _post(self, notice: Notice) -> None:
        for result in self.dispatcher.post(notice):
            if not result.ok:
                _log.warning("incident channel %s: %s", result.target, result.error)

    def _step_note(self, code: str, pb: Playbook, incident_id: str, step: Step,
                   **detail: Any) -> JournalEntry:
        return self.runtime.note(code, actor=self.actor_for(pb), durable=True,
                                 correlation_id=incident_id, incident_id=incident_id,
                                 step=step.id, **detail)

    # -- running a playbook --------------------------------------------------------------------

    def incident_id_for(self, entry: JournalEntry) -> str:
        return incident_id_for(entry, self.tag)

    def handle_trip(self, entry: JournalEntry, *, alert_state: AlertState = "confirmed",
                    alert_key: str | None = None, confirm_window_ms: int = 0,
                    decided_seq: int | None = None,
                    as_of_trigger: dict[str, Any] | None = None) -> str | None:
        """Open the kill-switch incident for a ``tripped`` event once its alert is confirmed."""
        event = entry.envelope.decode()
        if not isinstance(event, KillSwitchEvent) or event.event != "tripped":
            return None
        facts = {"trip_id": event.trip_id, "scope": event.scope.label(),
                 "observed": str(event.observed), "threshold": str(event.threshold),
                 "caused_by_seq": str(event.caused_by_seq)}
        return self.run(playbook_for_trip(event.trigger), entry, trigger=event.trigger,
                        trip_id=event.trip_id, facts=facts, alert_state=alert_state,
                        alert_key=alert_key, confirm_window_ms=confirm_window_ms,
                        decided_seq=decided_seq, as_of_trigger=as_of_trigger)

    def run(
        self,
        pb: Playbook,
        trigger_entry: JournalEntry,
        *,
        trigger: str,
        alert_state: AlertState = "confirmed",
        alert_key: str | None = None,
        confirm_window_ms: int = 0,
        trip_id: str | None = None,
        facts: Mapping[str, str] | None = None,
        decided_seq: int | None = None,
        as_of_trigger: dict[str, Any] | None = None,
    ) -> str | None:
        """Run ``pb`` for the alert behind ``trigger_entry``; return the incident id, or None
        when the alert is not confirmed. Running again for the same entry does nothing.

        ``decided_seq`` is the commander's journaled decision that confirmed the alert;
        ``as_of_trigger`` the state taken in memory when the trigger was folded (rebuilt from
        the journal up to the trigger's seq when not given)."""
        incident_id = self.incident_id_for(trigger_entry)
        if self.incidents.get(incident_id) is not None:
            return incident_id
        if as_of_trigger is None and self.runtime.state.last_seq == trigger_entry.seq:
            as_of_trigger = capture_as_of_now(self.runtime)  # nothing folded since: state is as of it
        actor = self.actor_for(pb)
        key = alert_key or f"{pb.name}:{trigger}"
        if alert_state != "confirmed":
            code = reason_code_for(alert_state)
            if code is not None:
                self.runtime.note(code, actor=actor, alert_key=key, trigger=trigger,
                                  trigger_seq=trigger_entry.seq, playbook=pb.name)
            return None
        facts = dict(facts or {})
        trigger_kind = trigger_entry.envelope.reason_code

        # 1. confirm
        self.runtime.note("GOV_ALERT_CONFIRMED", actor=actor, durable=True,
                          correlation_id=incident_id, incident_id=incident_id, step=STEP_CONFIRM,
                          alert_key=key, trigger=trigger, trigger_kind=trigger_kind,
                          trigger_seq=trigger_entry.seq, confirm_window_ms=confirm_window_ms,
                          decided_seq=decided_seq,
                          summary=f"{trigger_kind} ({trigger}) confirmed")
        # 2. capture state, strictly before any remedy: as of the trigger, and now
        snapshot_path: str | None = None
        try:
            if as_of_trigger is None:
                as_of_trigger = capture_as_of(self.runtime.journal, trigger_entry.seq)
            snap = capture_state(self.runtime, chain_reader=self.chain_reader,
                                 as_of_trigger=as_of_trigger)
            snap["incident_id"] = incident_id
            snap["trigger_seq"] = trigger_entry.seq
            entry = store_snapshot(self.runtime, snap, name=incident_id,
                                   directory=self.snapshots_dir, actor=actor,
                                   correlation_id=incident_id,
                                   extra={"incident_id": incident_id, "step": STEP_CAPTURE,
                                          "summary": "state captured"})
            snapshot_path = entry.envelope.payload["detail"]["path"]
        except Exception as exc:
            self._step_note("GOV_INCIDENT_STEP_FAILED", pb, incident_id, pb.steps[1],
                            error=f"{type(exc).__name__}: {exc}"[:300])
        # 3. open the incident and assign the commander
        commander = self.roster.commander_for(pb.page_role)
        detail: dict[str, Any] = {
            "playbook": pb.name, "trigger_kind": trigger_kind, "trigger_seq": trigger_entry.seq,
            "trip_id": trip_id, "facts": facts, "step": STEP_OPEN,
            "steps": [s.to_json() for s in pb.steps], "snapshot_path": snapshot_path,
            "summary": f"opened; commander {commander}",
        }
        if commander == UNASSIGNED:
            detail["commander_warning"] = (f"no on-call person for role {pb.page_role!r}; "
                                           f"commander unassigned")
            _log.warning("%s: %s", incident_id, detail["commander_warning"])
        title = f"{pb.title or pb.name}: {trigger}"
        self.runtime.record(
            Incident(incident_id=incident_id, priority=pb.priority, trigger=trigger,
                     status="open", commander=commander, title=title, detail=detail),
            actor=actor, reason_code="GOV_INCIDENT_DECLARED", correlation_id=incident_id,
            durable=True)
        self._post(self._notice(incident_id, pb.priority, f"{incident_id} opened: {title}",
                                f"Commander: {commander}. Playbook {pb.name}.",
                                {"trigger": trigger, "commander": commander, **facts},
                                event="opened"))
        # 4. remedy steps
        self._continue([IncidentContext(incident_id, pb, step, trigger, trigger_entry, self.runtime,
                                        self.dispatcher, actor, self.params, snapshot_path)
                        for step in pb.remedy_steps], commander)
        return incident_id

    def _continue(self, contexts: list[IncidentContext], commander: str) -> None:
        """Run steps in order; a step that waits suspends the rest until :meth:`tick` resumes."""
        for i, ctx in enumerate(contexts):
            until = self._run_step(ctx, commander)
            if until is not None:
                self._suspended.append(_Suspended(
                    dataclasses.replace(ctx, wait_started_ms=self.runtime.clock.now_ms()),
                    commander, [c.step for c in contexts[i + 1:]], until))
                return

    def waiting(self) -> list[str]:
        """Incident ids whose playbook waits on a step now."""
        return [s.ctx.incident_id for s in self._suspended]

    def _resume(self, now_ms: int) -> None:
        for sus in list(self._suspended):
            result = self._call(sus.ctx)
            if not result.ok and result.wait_until_ms is not None and now_ms < sus.until_ms:
                continue  # still waiting
            self._suspended.remove(sus)
            self._record_result(sus.ctx, result)
            c = sus.ctx
            self._continue([IncidentContext(c.incident_id, c.playbook, step, c.trigger,
                                            c.trigger_entry, c.runtime, c.dispatcher, c.actor,
                                            c.params, c.snapshot_path)
                            for step in sus.remaining], sus.commander)

    def _resume_interrupted(self, now_ms: int) -> None:
        """After a crash: an open incident whose playbook stopped at a waiting step (``running``)
        gets that step checked once more, and the steps never started (no entry yet) run after
        it; a page interrupted between its ``started`` and its outcome is left failed-looking
        (``running``) for a person, since paging twice is worse than asking."""
        for inc in self.incidents.all():
            pb = self._playbook_of(inc)
            if pb is None or inc["status"] == "resolved" or self.incidents.get(inc["incident_id"]) is None:
                continue
            running = [s for s in pb.remedy_steps if inc["steps"].get(s.id, {}).get("status") == "running"
                       and s.action not in (None, "page")]
            if not running or inc.get("trigger_seq") is None:
                continue
            entry = next(iter(self.runtime.journal.read(inc["trigger_seq"], inc["trigger_seq"])), None)
            if entry is None:
                continue
            step = running[0]
            after = pb.remedy_steps[pb.remedy_steps.index(step) + 1:]
            todo = [s for s in after if inc["steps"].get(s.id, {}).get("seq") is None]
            ctx = IncidentContext(inc["incident_id"], pb, step, str(inc["trigger"]), entry, self.runtime,
                                  self.dispatcher, self.actor_for(pb), self.params,
                                  (inc.get("snapshot") or {}).get("path"), wait_started_ms=now_ms)
            first = self._call(ctx)  # a fresh wait from the restart: the crash cost the old one
            self._suspended.append(_Suspended(ctx, inc["commander"], todo, first.wait_until_ms or now_ms))

    def _call(self, ctx: IncidentContext) -> StepResult:
        action = self.actions.get(ctx.step.action or "")
        try:
            if action is None:
                raise LookupError(f"no action wired for {ctx.step.action!r}")
            result = action(ctx)
            if not isinstance(result, StepResult):
                raise TypeError("action did not return a StepResult")
        except Exception as exc:  # a failed step becomes a manual item, never an exception
            result = StepResult(False, f"{type(exc).__name__}: {exc}"[:300])
        return result

    def _run_step(self, ctx: IncidentContext, commander: str) -> int | None:
        """Run one step; return the time it waits until, when it waits."""
        pb, step, inc = ctx.playbook, ctx.step, ctx.incident_id
        if not step.applies_to(ctx.trigger):
            self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="skipped",
                            summary=f"skipped: only for {', '.join(sorted(step.when or ()))}")
            return None
        if step.kind == "manual":
            self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="pending",
                            summary=f"manual: {step.title}")
            self._post(self._notice(inc, pb.priority, f"{inc}: to do by hand", step.title,
                                    {"step": step.id}, event="to_do"))
            return None
        if step.action == "page":
            self._page(ctx, commander)
            return None
        result = self._call(ctx)
        if not result.ok and result.wait_until_ms is not None:
            self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="started",
                            summary=result.summary, result=_jsonable(result.detail),
                            wait_until_ms=result.wait_until_ms)
            self._post(self._notice(inc, pb.priority, f"{inc}: {step.id} waiting", result.summary,
                                    {"step": step.id}, event="step_waiting"))
            return result.wait_until_ms
        self._record_result(ctx, result)
        return None

    def _record_result(self, ctx: IncidentContext, result: StepResult) -> None:
        pb, step, inc = ctx.playbook, ctx.step, ctx.incident_id
        if result.ok:
            self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="done",
                            summary=result.summary, result=_jsonable(result.detail))
            title = f"{inc}: {step.id} done"
        else:
            self._step_note("GOV_INCIDENT_STEP_FAILED", pb, inc, step, error=result.summary,
                            summary=f"failed; do by hand: {step.title}",
                            result=_jsonable(result.detail))
            title = f"{inc}: {step.id} FAILED, do it by hand"
        self._post(self._notice(inc, pb.priority, title, result.summary, {"step": step.id},
                                event="step_done" if result.ok else "step_failed"))

    def _page(self, ctx: IncidentContext, commander: str) -> None:
        pb, step, inc = ctx.playbook, ctx.step, ctx.incident_id
        self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="started",
                        role=pb.page_role, commander=commander, dedup_key=inc,
                        summary=f"paging {pb.page_role} on-call ({commander})")
        notice = self._notice(
            inc, pb.priority, f"{pb.title or pb.name}: {ctx.trigger}",
            f"Incident {inc}; commander {commander}. Follow playbook {pb.name}.",
            {"trigger": ctx.trigger, "role": pb.page_role, "commander": commander}, event="page")
        if not self.dispatcher.pagers:
            # nothing to fail: no pager is configured, so the channel is where the page goes
            posted = self.dispatcher.post(notice)
            where = [f"{r.target}: {'ok' if r.ok else r.error}" for r in posted]
            if any(r.ok for r in posted):
                self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="done", targets=where,
                                summary="no pager configured, posted to the channel")
            else:
                self._step_note("GOV_INCIDENT_STEP_FAILED", pb, inc, step, targets=where,
                                error="no pager configured, and the channel could not be written; "
                                      "reach the on-call by hand")
            return
        outcome = self.dispatcher.page(notice)
        results = [f"{r.target}: {'ok' if r.ok else r.error}" for r in outcome.results]
        if outcome.delivered:
            self._step_note("GOV_PAGE_SENT", pb, inc, step, targets=results,
                            summary=f"paged {pb.page_role} on-call")
        else:
            self._step_note("GOV_PAGING_SYSTEM_UNAVAILABLE", pb, inc, step, targets=results,
                            fallback=[r.target for r in outcome.fallback_results],
                            summary="no pager accepted; posted to the channel instead")

    # -- operator actions ------------------------------------------------------------------------

    def _incident(self, incident_id: str, operator: Operator, action: str) -> dict[str, Any]:
        inc = self.incidents.get(incident_id)
        if inc is None or inc["status"] == "opening":
            self._refuse(incident_id, operator, action, "unknown_incident",
                         f"Refused '{action}': there is no incident {incident_id!r}; see "
                         f"'polytraders incidents list'.")
        assert inc is not None
        return inc

    def _refuse(self, incident_id: str, operator: Operator, action: str, reason: str,
                message: str) -> None:
        self.runtime.note(REFUSED, actor=operator.actor, durable=True, correlation_id=incident_id,
                          incident_id=incident_id, action=action, reason=reason,
                          summary=message)
        raise RefusedError(message, code=REFUSED)

    def _playbook_of(self, inc: dict[str, Any]) -> Playbook | None:
        return PLAYBOOKS.get(str(inc.get("playbook")))

    def _update_incident(self, inc: dict[str, Any], status: str, code: str, operator: Operator,
                         summary: str) -> JournalEntry:
        return self.runtime.record(
            Incident(incident_id=inc["incident_id"], priority=inc["priority"],
                     trigger=inc["trigger"], status=status,
                     commander=inc["commander"], title=inc["title"],
                     detail={"summary": summary}),
            actor=operator.actor, reason_code=code, correlation_id=inc["incident_id"],
            durable=True)

    def _tell(self, inc: dict[str, Any], title: str, body: str, action: Action) -> None:
        notice = self._notice(inc["incident_id"], inc["priority"], title, body, {}, action,
                              event={"acknowledge": "acknowledged", "resolve": "resolved"}.get(action))
        self._post(notice)
        if self.dispatcher.pagers and action != "trigger":
            outcome = self.dispatcher.page(notice)  # acknowledge/resolve reach the same pager
            if not outcome.delivered:
                self.runtime.note("GOV_PAGING_SYSTEM_UNAVAILABLE", durable=True,
                                  correlation_id=inc["incident_id"],
                                  incident_id=inc["incident_id"], action=action,
                                  summary=f"pager did not accept the {action}")

    def acknowledge(self, incident_id: str, operator: Operator) -> JournalEntry:
        inc = self._incident(incident_id, operator, "ack")
        if inc["status"] != "open":
            self._refuse(incident_id, operator, "ack", f"status_{inc['status']}",
                         f"Refused 'ack': incident {incident_id} is already {inc['status']}.")
        entry = self._update_incident(inc, "acknowledged", "GOV_INCIDENT_ACKNOWLEDGED", operator,
                                      f"acknowledged by {operator.name}")
        self._tell(inc, f"{incident_id} acknowledged by {operator.name}", "", "acknowledge")
        return entry

    def complete_step(self, incident_id: str, step_id: str, operator: Operator,
                      note: str) -> JournalEntry:
        inc = self._incident(incident_id, operator, "step")
        if inc["status"] == "resolved":
            self._refuse(incident_id, operator, "step", "resolved",
                         f"Refused 'step': incident {incident_id} is resolved.")
        step = inc["steps"].get(step_id)
        if step is None:
            self._refuse(incident_id, operator, "step", "unknown_step",
                         f"Refused 'step': incident {incident_id} has no step {step_id!r}; "
                         f"steps are {', '.join(inc['step_order'])}.")
        assert step is not None
        if step["status"] not in ("pending", "failed", "running"):
            self._refuse(incident_id, operator, "step", f"step_{step['status']}",
                         f"Refused 'step': step {step_id} of {incident_id} is already "
                         f"{step['status']}.")
        self._refuse_unproven(inc, step_id, operator)
        entry = self.runtime.note("GOV_INCIDENT_STEP", actor=operator.actor, durable=True,
                                  correlation_id=incident_id, incident_id=incident_id,
                                  step=step_id, status="done", note=note, manual=True,
                                  summary=f"done by {operator.name}: {note}")
        self._post(self._notice(incident_id, inc["priority"], f"{incident_id}: {step_id} done",
                                note, {"step": step_id, "by": operator.name}, event="step_done"))
        return entry

    def _refuse_unproven(self, inc: dict[str, Any], step_id: str, operator: Operator) -> None:
        """A step the system can check is never closed by a note: it closes on its evidence."""
        incident_id = inc["incident_id"]
        trip = self.runtime.kill_switch.active.get(inc["trip_id"]) if inc["trip_id"] else None
        if step_id == STEP_RESET and trip is not None:
            self._refuse(incident_id, operator, "step", "evidence_required",
                         f"Refused 'step': {STEP_RESET} closes by itself when the reset is journaled, and "
                         f"kill-switch trip {trip.trip_id} is still active; reset it with 'polytraders "
                         f"killswitch request-reset {trip.trip_id}' and a second person's 'approve-reset'.")
        if step_id == STEP_RCA and inc.get("rca") is None:
            self._refuse(incident_id, operator, "step", "evidence_required",
                         f"Refused 'step': {STEP_RCA} closes when the RCA is recorded; record it with "
                         f"'polytraders incidents rca {incident_id} --text ...'.")

    def resolve(self, incident_id: str, operator: Operator) -> JournalEntry:
        inc = self._incident(incident_id, operator, "resolve")
        if inc["status"] == "resolved":
            self._refuse(incident_id, operator, "resolve", "resolved",
                         f"Refused 'resolve': incident {incident_id} is already resolved.")
        trip = self.runtime.kill_switch.active.get(inc["trip_id"]) if inc["trip_id"] else None
        if trip is not None:
            self._refuse(incident_id, operator, "resolve", "kill_switch_still_tripped",
                         f"Refused 'resolve': kill-switch trip {trip.trip_id} ({trip.trigger}, "
                         f"scope {trip.label()}) that opened {incident_id} is still active; "
                         f"reset it first with 'polytraders killswitch request-reset' and "
                         f"'approve-reset'.")
        outstanding = self.incidents.outstanding_steps(incident_id, required_only=True)
        if outstanding:
            self._refuse(incident_id, operator, "resolve", "steps_outstanding",
                         f"Refused 'resolve': step(s) {', '.join(outstanding)} of {incident_id} "
                         f"are not done; mark each with 'polytraders incidents step "
                         f"{incident_id} STEP --done --note ...'.")
        entry = self._update_incident(inc, "resolved", "GOV_INCIDENT_RESOLVED", operator,
                                      f"resolved by {operator.name}")
        self._tell(inc, f"{incident_id} resolved by {operator.name}",
                   f"RCA due within {self.incidents.require_rca_within_h} h.", "resolve")
        return entry

    def record_rca(self, incident_id: str, operator: Operator, text: str) -> JournalEntry:
        inc = self._incident(incident_id, operator, "rca")
        if not text.strip():
            self._refuse(incident_id, operator, "rca", "empty_text",
                         "Refused 'rca': the RCA text is empty.")
        entry = self.runtime.note("GOV_RCA_RECORDED", actor=operator.actor, durable=True,
                                  correlation_id=incident_id, incident_id=incident_id,
                                  text=text, summary=f"RCA by {operator.name}")
        self._post(self._notice(incident_id, inc["priority"], f"{incident_id}: RCA recorded",
                                text[:2000], {"by": operator.name}, event="rca_recorded"))
        return entry

    def tick(self, now_ms: int) -> list[str]:
        """Resume waiting steps; journal GOV_RCA_OVERDUE once for each resolved incident whose
        RCA is overdue."""
        if not self._resumed:
            self._resumed = True
            self._resume_interrupted(now_ms)
        if self._suspended:
            self._resume(now_ms)
        flagged = []
        for incident_id in self.incidents.overdue_rcas(now_ms):
            inc = self.incidents.incidents[incident_id]
            if inc["rca_overdue_seq"] is not None:
                continue
            hours = self.incidents.require_rca_within_h
            self.runtime.note("GOV_RCA_OVERDUE", durable=True, correlation_id=incident_id,
                              incident_id=incident_id, require_rca_within_h=hours,
                              resolved_at_ms=inc["resolved_at_ms"],
                              summary=f"no RCA {hours} h after resolution")
            self._post(self._notice(incident_id, inc["priority"], f"{incident_id}: RCA overdue",
                                    f"No RCA {hours} h after resolution.", {}, event="rca_overdue"))
            flagged.append(incident_id)
        return flagged
