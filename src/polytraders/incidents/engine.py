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

Actions: ``page`` is the engine's own. ``confirm_no_inflight`` and ``publish_positions`` have
defaults here (a single read of the ``orders`` / ``portfolio`` projections); the caller's
``actions`` mapping overrides them and supplies the rest (``replay``). An action with its own
outside side effect must journal durably before it, as ``publish_positions`` does.

Operator actions (the CLI authenticates first): acknowledge, complete a step, resolve, attach
an RCA. Resolve rule: refused while the kill-switch trip that opened the incident is still
active (named in the refusal), and while any step required for resolution is pending, running
or failed (named). The root-cause step is not required: the RCA closes it, due
``require_rca_within_h`` after resolution; ``tick`` journals ``GOV_RCA_OVERDUE`` once per
incident. Every refusal is journaled as ``GOV_INCIDENT_ACTION_REFUSED`` before it is raised.
"""

from __future__ import annotations

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
    capture_state,
    default_snapshots_dir,
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


StepAction = Callable[[IncidentContext], StepResult]


def incident_id_for(entry: JournalEntry) -> str:
    return f"inc_{entry.seq}"


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


def confirm_no_inflight(ctx: IncidentContext) -> StepResult:
    """One read of the orders projection. The live engine overrides this with an action that
    waits up to ``inflight_wait_s`` for the OLM; here, with no event loop, there is nothing to
    wait for, so whatever is in flight now is what gets recorded. A market-scoped trip only
    asks about its own market: the other markets keep trading, so their orders may be in flight."""
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
    if ids:
        return StepResult(False, f"{len(ids)} order(s) still in flight",
                          {"in_flight": ids, "waited_s": str(ctx.params.get("inflight_wait_s"))})
    return StepResult(True, "no order in flight", {"in_flight": []})


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
        ts_ms=ctx.runtime.clock.now_ms()))
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
        dedup_key=ctx.incident_id, ts_ms=ctx.runtime.clock.now_ms()))
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
    ) -> None:
        self.runtime = runtime
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
                fields: Mapping[str, Any], action: Action = "trigger") -> Notice:
        return Notice(incident_id=incident_id, priority=priority, title=title, body=body,
                      fields={k: str(v) for k, v in fields.items()}, action=action,
                      dedup_key=incident_id, ts_ms=self.runtime.clock.now_ms())

    def _post(self, notice: Notice) -> None:
        for result in self.dispatcher.post(notice):
            if not result.ok:
                _log.warning("incident channel %s: %s", result.target, result.error)

    def _step_note(self, code: str, pb: Playbook, incident_id: str, step: Step,
                   **detail: Any) -> JournalEntry:
        return self.runtime.note(code, actor=playbook_actor(pb), durable=True,
                                 correlation_id=incident_id, incident_id=incident_id,
                                 step=step.id, **detail)

    # -- running a playbook --------------------------------------------------------------------

    def handle_trip(self, entry: JournalEntry) -> str | None:
        """Open the kill-switch incident for a ``tripped`` event (confirmed by definition)."""
        event = entry.envelope.decode()
        if not isinstance(event, KillSwitchEvent) or event.event != "tripped":
            return None
        facts = {"trip_id": event.trip_id, "scope": event.scope.label(),
                 "observed": str(event.observed), "threshold": str(event.threshold),
                 "caused_by_seq": str(event.caused_by_seq)}
        return self.run(playbook_for_trip(event.trigger), entry, trigger=event.trigger,
                        trip_id=event.trip_id, facts=facts)

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
    ) -> str | None:
        """Run ``pb`` for the alert behind ``trigger_entry``; return the incident id, or None
        when the alert is not confirmed. Running again for the same entry does nothing."""
        incident_id = incident_id_for(trigger_entry)
        if self.incidents.get(incident_id) is not None:
            return incident_id
        actor = playbook_actor(pb)
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
                          summary=f"{trigger_kind} ({trigger}) confirmed")
        # 2. capture state, strictly before any remedy
        snapshot_path: str | None = None
        try:
            snap = capture_state(self.runtime, chain_reader=self.chain_reader)
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
                                {"trigger": trigger, "commander": commander, **facts}))
        # 4. remedy steps
        for step in pb.remedy_steps:
            ctx = IncidentContext(incident_id, pb, step, trigger, trigger_entry, self.runtime,
                                  self.dispatcher, actor, self.params, snapshot_path)
            self._run_step(ctx, commander)
        return incident_id

    def _run_step(self, ctx: IncidentContext, commander: str) -> None:
        pb, step, inc = ctx.playbook, ctx.step, ctx.incident_id
        if not step.applies_to(ctx.trigger):
            self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="skipped",
                            summary=f"skipped: only for {', '.join(sorted(step.when or ()))}")
            return
        if step.kind == "manual":
            self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="pending",
                            summary=f"manual: {step.title}")
            self._post(self._notice(inc, pb.priority, f"{inc}: to do by hand", step.title,
                                    {"step": step.id}))
            return
        if step.action == "page":
            self._page(ctx, commander)
            return
        action = self.actions.get(step.action or "")
        try:
            if action is None:
                raise LookupError(f"no action wired for {step.action!r}")
            result = action(ctx)
            if not isinstance(result, StepResult):
                raise TypeError("action did not return a StepResult")
        except Exception as exc:  # a failed step becomes a manual item, never an exception
            result = StepResult(False, f"{type(exc).__name__}: {exc}"[:300])
        if result.ok:
            self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="done",
                            summary=result.summary, result=_jsonable(result.detail))
            title = f"{inc}: {step.id} done"
        else:
            self._step_note("GOV_INCIDENT_STEP_FAILED", pb, inc, step, error=result.summary,
                            summary=f"failed; do by hand: {step.title}",
                            result=_jsonable(result.detail))
            title = f"{inc}: {step.id} FAILED, do it by hand"
        self._post(self._notice(inc, pb.priority, title, result.summary, {"step": step.id}))

    def _page(self, ctx: IncidentContext, commander: str) -> None:
        pb, step, inc = ctx.playbook, ctx.step, ctx.incident_id
        self._step_note("GOV_INCIDENT_STEP", pb, inc, step, status="started",
                        role=pb.page_role, commander=commander, dedup_key=inc,
                        summary=f"paging {pb.page_role} on-call ({commander})")
        outcome = self.dispatcher.page(self._notice(
            inc, pb.priority, f"{pb.title or pb.name}: {ctx.trigger}",
            f"Incident {inc}; commander {commander}. Follow playbook {pb.name}.",
            {"trigger": ctx.trigger, "role": pb.page_role, "commander": commander}))
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
        notice = self._notice(inc["incident_id"], inc["priority"], title, body, {}, action)
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
                                note, {"step": step_id, "by": operator.name}))
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
                                text[:2000], {"by": operator.name}))
        return entry

    def tick(self, now_ms: int) -> list[str]:
        """Journal GOV_RCA_OVERDUE once for each resolved incident whose RCA is overdue."""
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
                                    f"No RCA {hours} h after resolution.", {}))
            flagged.append(incident_id)
        return flagged
