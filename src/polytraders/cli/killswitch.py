"""`polytraders killswitch status|trip|request-reset|approve-reset|history`.

`status` fails closed: a journal that cannot be verified reads "unknown", never "ARMED".
`trip` is the emergency stop: when the journal cannot be written (a full disk, or another
process holding its write lock for 2 s), it creates the halt file `<db>.halt` instead, which
every running process obeys at its next step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from polytraders.cli.common import DbOpt, JsonOpt, console, fail, friendly, journal_from, operator_session, print_json
from polytraders.cli.readable import add_columns, amount
from polytraders.cli.timefmt import when
from polytraders.errors import EXIT_REFUSED, JournalCorruptError
from polytraders.journal.sqlite import resolve_db_path

app = typer.Typer(help="The kill switch: status, manual trip, two-person reset.", no_args_is_help=True)


def kill_switch_state(db: str | None) -> dict[str, Any]:
    """The kill switch as every process folds it, or an 'unknown' verdict naming the damage."""
    from polytraders.journal.digests import anchors_dir
    from polytraders.journal.verify import CheckedRow, verify_journal
    from polytraders.runtime.clock import WallClock
    from polytraders.state.kill_switch import KillSwitchProjection
    from polytraders.state.modes import ModesProjection
    from polytraders.state.store import StateStore

    path = resolve_db_path(db)
    with journal_from(db) as j:
        # from the last checkpoint a signed digest vouches for: a second, not a minute, on a long
        # journal; rewrites, cuts and missing digests anywhere are still found (journal/verify.py)
        checked: list[CheckedRow] = []
        report = verify_journal(j, anchors_dir(path), from_checkpoint=True, keep=checked)
        if report.damaged:
            return {"state": "unknown", "damaged_at_seq": report.first_bad_seq(),
                    "findings": [f.to_json() for f in report.findings if f.kind != "unanchored"]}
        # the trust gate, the kill switch and modes only (what a Runtime folds, without
        # importing one): no book, order or fill payload needs decoding to know the switch's
        # state, so only the entries those three read are decoded (StateStore.rebuild)
        state = StateStore()
        state.trust.clock = WallClock()
        ks = KillSwitchProjection(state.trust)
        state.add(ks)
        state.add(ModesProjection())
        only = (KillSwitchProjection.relevant[0] | ModesProjection.relevant[0],
                KillSwitchProjection.relevant[1] | ModesProjection.relevant[1])
        try:
            state.rebuild(j, only=only, rows=checked)
        except JournalCorruptError as exc:
            return {"state": "unknown", "damaged_at_seq": None, "findings": [{"kind": "chain", "detail": exc.message}]}
        from polytraders.journal.sqlite import halt_path
        from polytraders.state.kill_switch import vars_of

        halt = halt_path(path)
        return {
            "state": "tripped" if ks.active or halt.exists() else "armed",
            "active": [vars_of(t) for t in ks.active.values()],
            "reset_requests": {k: v for k, v in ks.requests.items() if not v["used"]},
            "halt_file": str(halt) if halt.exists() else None,
            "refused_entries": [p for p in state.trust.problems],
            "skipped_payloads": list(state.skipped),
            "verified_from_seq": report.verified_from_seq,
        }


@app.command("status")
@friendly
def status(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Active trips, open reset requests, the halt file; exit 1 when the journal is damaged."""
    data = kill_switch_state(db)
    if as_json:
        print_json(data)
        raise typer.Exit(EXIT_REFUSED if data["state"] == "unknown" else 0)
    if data["state"] == "unknown":
        first = data["findings"][0] if data["findings"] else {"detail": "?"}
        raise fail(f"Kill switch state unknown: journal damaged at seq {data['damaged_at_seq']} "
                   f"({first['detail']}). Run 'polytraders journal verify' for the full report.")
    for p in data["refused_entries"]:
        console.print(f"warning: seq {p['seq']} was not applied ({p['verdict']}: {p['reason']})",
                      markup=False, highlight=False)
    if data["halt_file"]:
        console.print(f"HALT FILE present at {data['halt_file']}: every running process halts; it is "
                      f"removed by the reset of the trip that journals it.", markup=False)
    if not data["active"]:
        if not data["halt_file"]:
            console.print("Kill switch ARMED: no active trips.")
        return

    from rich.table import Table  # only a tripped switch draws one: the armed answer stays fast

    table = Table(title="kill switch TRIPPED")
    rows = [(str(t["trip_id"]), str(t["trigger"]), str(t["scope"]) if t["scope"] == "global"
             else f"{t['scope']}:{t['scope_value']}", str(t["observed"]), str(t["threshold"]),
             "-" if t["caused_by_seq"] is None else str(t["caused_by_seq"]), when(t["at_ms"])) for t in data["active"]]
    add_columns(table, ("trip id", "trigger", "scope", "observed", "threshold", "caused by seq", "tripped at (UTC)"),
                ids=("trip id",), values=rows)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if data["reset_requests"]:
        requests = Table(title="open reset requests")
        pending = [(rid, str(r["trip_id"]), str(r["requester"]), when(r["expires_at_ms"]))
                   for rid, r in data["reset_requests"].items()]
        add_columns(requests, ("request", "trip id", "requested by", "expires (UTC)"), ids=("request", "trip id"),
                    values=pending)
        for request in pending:
            requests.add_row(*request)
        console.print(requests)


@app.command("trip")
@friendly
def trip(
    scope: Annotated[str, typer.Option(
        "--scope", help="global | cluster:NAME | strategy:ID | family:F | bot:ID | market:CONDITION_ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the journal, at most 2 KB).")],
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Trip the kill switch by hand (signed with $POLYTRADERS_KEY_FILE). If the journal cannot be
    written within 2 s, creates the halt file <db>.halt instead."""
    from polytraders.engine.kill_switch_ops import (
        bounded_text,
        check_scope_exists,
        create_halt_file,
        manual_trip,
        parse_scope,
    )
    from polytraders.journal.sqlite import JournalBusyError, JournalWriteError

    parsed = parse_scope(scope)
    bounded_text("reason", reason)
    try:
        with operator_session(db, "killswitch.trip", full_state=parsed.scope not in ("global", "family")) as s:
            check_scope_exists(s.runtime, parsed)
            started = time.perf_counter()
            trip_id = manual_trip(s.runtime, s.operator, parsed, reason)
            commit_ms = round((time.perf_counter() - started) * 1000, 2)
            name = s.operator.name
    except (JournalBusyError, JournalWriteError) as exc:
        halt = create_halt_file(resolve_db_path(db), f"killswitch trip: {reason}\n")
        message = (f"The journal could not be written ({exc.message}). Created the halt file {halt}: "
                   f"every running process halts at its next step and journals the trip when it can.")
        if as_json:
            print_json({"trip_id": None, "halt_file": str(halt), "scope": "global", "problem": exc.message})
        else:
            console.print(message, markup=False)
        return
    running, incident, next_step = _incident_for(db, trip_id)
    if as_json:
        print_json({"trip_id": trip_id, "scope": parsed.label(), "operator": name,
                    "lock_to_commit_ms": commit_ms, "system_running": running,
                    "incident_id": incident, "next": next_step})
    else:
        console.print(f"Tripped {trip_id} ({parsed.label()}) by {name}. {next_step}", markup=False)


def _incident_for(db: str | None, trip_id: str) -> tuple[bool, str | None, str]:
    """A manual trip is a real incident: the running system opens it (and cancels) at its next
    step; with none running this process opens it now, after the trip is already committed,
    holding the run lock meanwhile so no system starts and opens it a second time."""
    import os

    from polytraders.engine.kill_switch_ops import open_trip_incident
    from polytraders.engine.live import take_run_lock
    from polytraders.errors import PolytradersError
    from polytraders.settings import load_settings

    lock = take_run_lock(resolve_db_path(db))
    if lock is None:
        return True, None, ("A running system holds this journal: it cancels resting orders in scope and "
                            "opens the incident at its next step; see 'polytraders incidents list'.")
    try:
        _, incidents, _ = load_settings(None)
        with operator_session(db, "killswitch.trip") as s:
            incident = open_trip_incident(s.runtime, s.operator, trip_id,
                                          incidents.for_journal(s.journal.path))
    except PolytradersError as exc:
        return False, None, (f"No system is running and the incident could not be opened here ({exc.message}); "
                             f"the next 'polytraders run' opens it and cancels resting orders in scope before it "
                             f"trades.")
    finally:
        os.close(lock)
    return False, incident, (f"No system is running: opened incident {incident} (see 'polytraders incidents "
                             f"show {incident}'); the next 'polytraders run' cancels resting orders in scope "
                             f"before it trades.")


@app.command("request-reset")
@friendly
def request_reset_cmd(
    trip_id: Annotated[str, typer.Argument(help="The trip to reset (see status).")],
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Ask for a reset; refused while the trip's condition still holds."""
    from polytraders.engine.kill_switch_ops import kill_switch_config, request_reset

    with operator_session(db, "killswitch.request_reset") as s:
        rid = request_reset(s.runtime, s.operator, trip_id, kill_switch_config(s.journal))
        name = s.operator.name
    if as_json:
        print_json({"request_id": rid, "trip_id": trip_id, "requester": name})
    else:
        console.print(f"Reset request {rid} recorded; a different approver, not registered by {name}, must run "
                      f"'polytraders killswitch approve-reset {rid}'.")


@app.command("approve-reset")
@friendly
def approve_reset_cmd(
    request_id: Annotated[str, typer.Argument(help="The reset request id.")],
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Approve another operator's reset request (approver or admin role). Removes the halt file
    when the trip being reset is the one that journaled it."""
    from polytraders.engine.kill_switch_ops import approve_reset, halt_path, kill_switch_config

    with operator_session(db, "killswitch.approve_reset") as s:
        trip_id = approve_reset(s.runtime, s.operator, request_id, kill_switch_config(s.journal),
                                halt_file=halt_path(Path(s.journal.path)))
        name = s.operator.name
    if as_json:
        print_json({"reset": trip_id, "approver": name})
    else:
        console.print(f"Trip {trip_id} reset, approved by {name}.")


@app.command("history")
@friendly
def history(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every trip and reset, in order."""
    with journal_from(db) as j:
        rows = [{"seq": e.seq, "event": e.envelope.payload["event"], "trip_id": e.envelope.payload["trip_id"],
                 "trigger": e.envelope.payload["trigger"], "scope": e.envelope.payload["scope"],
                 "actor": e.envelope.actor.label(), "at_ms": e.envelope.payload["at_ms"],
                 "observed": e.envelope.payload.get("observed"), "threshold": e.envelope.payload.get("threshold")}
                for e in j.read(kinds=["killswitch_event"])]
    if as_json:
        print_json(rows)
        return
    now = int(time.time() * 1000)
    from rich.table import Table

    table = Table(title=f"kill switch history ({len(rows)} events)")
    for col in ("seq", "when (UTC)", "event", "trip id", "trigger", "observed / threshold", "scope", "actor"):
        table.add_column(col, overflow="fold", no_wrap=col.startswith(("time", "when", "since")))
    for r in rows:
        scope = r["scope"]
        seen = f"{amount(r['observed'])} / {amount(r['threshold'])}" if r["event"] == "tripped" else "-"
        table.add_row(str(r["seq"]), when(r["at_ms"], now), str(r["event"]), str(r["trip_id"]), str(r["trigger"]),
                      seen, "global" if scope["scope"] == "global" else f"{scope['scope']}:{scope['value']}",
                      str(r["actor"]))
    console.print(table)
