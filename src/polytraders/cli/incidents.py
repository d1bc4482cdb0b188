"""`polytraders incidents list|show|ack|step|resolve|rca` and `polytraders snapshot [show]`.

Reads need no key. Every change is signed with the operator's key ($POLYTRADERS_KEY_FILE)
and authenticated (`incidents.ack`, `incidents.step`, `incidents.resolve`, `incidents.rca`); a
refusal of an authenticated operator is journaled before the error is printed. State is rebuilt
from the journal, so these commands work without a running system.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from polytraders.cli.common import (
    EXIT_REFUSED,
    DbOpt,
    JsonOpt,
    console,
    err_console,
    fail,
    friendly,
    journal_from,
    operator_session,
    print_json,
)
from polytraders.cli.readable import MarketNames, add_columns
from polytraders.cli.snapshot_view import render_snapshot
from polytraders.cli.timefmt import iso_utc, when
from polytraders.engine.kill_switch_ops import bounded_text
from polytraders.errors import BadInputError
from polytraders.incidents.config import IncidentConfig, load_incident_config
from polytraders.incidents.engine import PlaybookRunner
from polytraders.incidents.notifiers import build_dispatcher
from polytraders.incidents.projection import IncidentsProjection
from polytraders.incidents.snapshot import (
    capture_state,
    journal_tag,
    load_snapshot,
    store_snapshot,
)
from polytraders.journal.sqlite import SqliteJournal
from polytraders.runtime.clock import WallClock
from polytraders.runtime.runner import Runtime
from polytraders.state.store import StateStore

app = typer.Typer(help="Incidents: list, inspect, acknowledge, step, resolve, RCA.",
                  no_args_is_help=True)
snapshot_app = typer.Typer(help="Capture state now (positions, orders, last envelopes, ...), "
                           "or show a stored snapshot.", invoke_without_command=True)


ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="Incident config TOML (default $POLYTRADERS_INCIDENTS_CONFIG)."),
]


def register(app_: typer.Typer) -> None:
    """Add the `incidents` and `snapshot` groups to the main app."""
    app_.add_typer(app, name="incidents")
    app_.add_typer(snapshot_app, name="snapshot")


@dataclass
class _Session:
    journal: SqliteJournal
    runtime: Runtime
    runner: PlaybookRunner
    config: IncidentConfig
    degraded: str | None
    operator: Any = None


def _state() -> tuple[StateStore, str | None]:
    try:
        from polytraders.state.standard import build_state

        return build_state(), None
    except Exception as exc:  # the engine may be mid-build; incidents must still work
        return StateStore(), f"positions and orders unavailable ({type(exc).__name__}: {exc})"


@contextmanager
def _session(db: str | None, config_path: str | None, command: str | None = None) -> Iterator[_Session]:
    """Read-only without `command`; with it, the operator's key is loaded and authenticated."""
    config = load_incident_config(config_path)
    state, degraded = _state()
    if state.find("incidents") is None:
        state.add(IncidentsProjection())
    if command is not None:
        with operator_session(db, command, state=state) as os_:
            yield _make_session(os_.journal, os_.runtime, config, degraded, os_.operator)
        return
    with journal_from(db) as j:
        rt = Runtime(j, WallClock(), state)
        state.rebuild(j)
        yield _make_session(j, rt, config, degraded, None)


def _make_session(j: SqliteJournal, rt: Runtime, config: IncidentConfig, degraded: str | None,
                  operator: Any) -> _Session:
    config = config.for_journal(j.path)
    runner = PlaybookRunner(rt, {}, build_dispatcher(config.notifiers), config.roster,
                            snapshots_dir=config.snapshots_dir)
    return _Session(j, rt, runner, config, degraded, operator)


def _get(s: _Session, incident_id: str) -> dict[str, Any]:
    inc = s.runner.incidents.get(incident_id)
    if inc is None:
        raise fail(f"Error: there is no incident {incident_id!r} in this journal; see 'polytraders "
                   f"incidents list'.", EXIT_REFUSED, "GOV_CLI_NOT_FOUND")
    return inc


@app.command("list")
@friendly
def list_(db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every incident with its status, commander and outstanding steps."""
    with _session(db, config) as s:
        proj = s.runner.incidents
        rows = [{"incident_id": i["incident_id"], "priority": i["priority"],
                 "status": i["status"], "trigger": i["trigger"], "commander": i["commander"],
                 "playbook": i["playbook"], "opened_at_ms": i["opened_at_ms"],
                 "outstanding": proj.outstanding_steps(i["incident_id"]),
                 "rca": i["rca"] is not None} for i in proj.all()]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} incident(s)")
    cells = [(r["incident_id"], str(r["priority"]), r["status"], when(r["opened_at_ms"]), str(r["trigger"]),
              str(r["commander"]), ", ".join(r["outstanding"]) or "-", "yes" if r["rca"] else "no") for r in rows]
    add_columns(table, ("id", "prio", "status", "opened (UTC)", "trigger", "commander", "outstanding", "rca"),
                ids=("id",), values=cells)
    for row in cells:
        table.add_row(*row)
    console.print(table)


@app.command("show")
@friendly
def show(incident_id: str, db: DbOpt = None, config: ConfigOpt = None,
         as_json: JsonOpt = False) -> None:
    """One incident: steps, timeline, snapshot (checked against its journaled sha256), RCA."""
    with _session(db, config) as s:
        inc = dict(_get(s, incident_id))
    snap = inc.get("snapshot")
    if snap and snap.get("path"):
        try:
            _, digest = load_snapshot(Path(snap["path"]).parent, Path(snap["path"]).stem)
            snap = {**snap, "file_matches_journal": digest == snap.get("sha256")}
        except (OSError, ValueError) as exc:
            snap = {**snap, "file_matches_journal": False, "file_error": type(exc).__name__}
        inc["snapshot"] = snap
    if as_json:
        print_json(inc)
        return
    console.print(f"{incident_id} {inc['priority']} {inc['status']} — {inc['title']} (commander "
                  f"{inc['commander']}), opened {when(inc.get('opened_at_ms'))}"
                  + (f", resolved {when(inc['resolved_at_ms'])}" if inc.get("resolved_at_ms") else ""),
                  markup=False, highlight=False)
    table = Table(title="steps")
    for col in ("step", "kind", "status", "result / error", "by"):
        table.add_column(col)
    for sid in inc["step_order"]:
        st = inc["steps"][sid]
        table.add_row(sid, st["kind"], st["status"], str(st["error"] or st["result"] or ""),
                      str(st["by"] or ""))
    console.print(table)
    if snap:
        console.print(f"snapshot: {snap.get('path')} sha256 {snap.get('sha256')} "
                      f"(file matches journal: {snap.get('file_matches_journal')})", markup=False)
    div = inc.get("divergence")
    if div:
        console.print(f"divergence at block {div.get('block_number')} {div.get('block_hash')}, last-applied seq "
                      f"{div.get('last_applied_seq')}:", markup=False)
        for i in div.get("items", []):
            console.print(f"  {i['item']}: internal {i['internal']}  on-chain {i['onchain']}  "
                          f"difference {i['difference']}  in flight {i['in_flight']}", markup=False)
    for t in inc["timeline"]:
        at = iso_utc(t["ts_ms"]) if isinstance(t.get("ts_ms"), int) else "-"
        console.print(f"  #{t['seq']} {at} {t['code']} {t['actor']} {t['step'] or ''} {t['summary']}",
                      markup=False, highlight=False)
    console.print(f"RCA: {inc['rca']['text'] if inc['rca'] else 'not recorded'}", markup=False)


@app.command("ack")
@friendly
def ack(incident_id: str, db: DbOpt = None, config: ConfigOpt = None,
        as_json: JsonOpt = False) -> None:
    """Acknowledge an incident (you are handling it)."""
    with _session(db, config, "incidents.ack") as s:
        op = s.operator
        entry = s.runner.acknowledge(incident_id, op)
    _done(as_json, entry.seq, f"{incident_id} acknowledged by {op.name}")


@app.command("step")
@friendly
def step(
    incident_id: str,
    step_id: Annotated[str, typer.Argument(metavar="STEP")],
    done: Annotated[bool, typer.Option("--done", help="Mark the step done.")] = False,
    note: Annotated[str, typer.Option("--note", help="What was done.")] = "",
    db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False,
) -> None:
    """Mark a manual (or failed automatic) step done, with a note."""
    if not done:
        raise BadInputError("Say what happened to the step: pass --done (and --note TEXT).")
    if not note.strip():
        raise BadInputError("Pass --note TEXT saying what was done; the note is journaled.")
    bounded_text("note", note)
    with _session(db, config, "incidents.step") as s:
        op = s.operator
        entry = s.runner.complete_step(incident_id, step_id, op, note)
    _done(as_json, entry.seq, f"{incident_id}: {step_id} done by {op.name}")


@app.command("resolve")
@friendly
def resolve(incident_id: str, db: DbOpt = None, config: ConfigOpt = None,
            as_json: JsonOpt = False) -> None:
    """Resolve an incident (refused while its kill-switch trip is active or steps are open)."""
    with _session(db, config, "incidents.resolve") as s:
        op = s.operator
        entry = s.runner.resolve(incident_id, op)
        has_rca = (s.runner.incidents.get(incident_id) or {}).get("rca") is not None
    _done(as_json, entry.seq, f"{incident_id} resolved by {op.name}; " + (
        "its RCA is recorded" if has_rca else
        f"the RCA is now due within {s.runner.incidents.require_rca_within_h} h "
        f"('polytraders incidents rca {incident_id} --text ...')"))


@app.command("rca")
@friendly
def rca(incident_id: str,
        text: Annotated[str, typer.Option("--text", help="The root-cause analysis.")],
        db: DbOpt = None, config: ConfigOpt = None,
        as_json: JsonOpt = False) -> None:
    """Attach the root-cause analysis to an incident."""
    bounded_text("text", text)
    with _session(db, config, "incidents.rca") as s:
        op = s.operator
        entry = s.runner.record_rca(incident_id, op, text)
    _done(as_json, entry.seq, f"RCA recorded for {incident_id} by {op.name}")


def _done(as_json: bool, seq: int, message: str) -> None:
    if as_json:
        print_json({"ok": True, "seq": seq, "message": message})
    else:
        console.print(message, markup=False)


# -- snapshot -------------------------------------------------------------------------------------


def _chain_height_from_env() -> Any:
    """The block height reader the snapshot records, when the chain is configured in the
    environment ($POLYTRADERS_RPC_URL, $POLYTRADERS_PUSD, $POLYTRADERS_CTF); else None."""
    import os

    url, pusd, ctf = (os.environ.get(k) for k in ("POLYTRADERS_RPC_URL", "POLYTRADERS_PUSD", "POLYTRADERS_CTF"))
    if not (url and pusd and ctf):
        return None
    from polytraders.chain.rpc import RpcChainReader
    from polytraders.engine.reconcile import block_height

    try:
        reader = RpcChainReader(url, pusd, ctf)
    except Exception as exc:  # a bad address: the snapshot records the error instead of a height
        message = f"{type(exc).__name__}: {exc}"

        def failing() -> int:
            raise RuntimeError(message)
        return failing
    return lambda: block_height(reader)


@snapshot_app.callback()
@friendly
def snapshot(
    ctx: typer.Context,
    save: Annotated[bool, typer.Option("--save", help="Store it and journal GOV_STATE_CAPTURED.")]
    = False,
    db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False,
) -> None:
    """Capture state now from the journal (no running system needed). With --save, the file is
    stored and journaled, signed with the operator's key ($POLYTRADERS_KEY_FILE)."""
    if ctx.invoked_subcommand is not None:
        return
    with _session(db, config, "incidents.ack" if save else None) as s:
        snap = capture_state(s.runtime, chain_reader=_chain_height_from_env())
        names = MarketNames.from_journal(s.runtime.journal)
        if s.degraded:
            snap["degraded"] = s.degraded
        stored = None
        if save:
            tag = journal_tag(s.runtime.journal)[:6]
            name = f"snap_{s.runtime.journal.head()[0]}" + (f"_{tag}" if tag else "")
            entry = store_snapshot(s.runtime, snap, name=name, directory=s.runner.snapshots_dir,
                                   actor=s.operator.actor, extra={"summary": "captured from the CLI"})
            stored = entry.envelope.payload["detail"]
    if as_json:
        print_json(snap if stored is None else {**snap, "stored": stored})
        return
    if s.degraded:
        err_console.print(f"Note: {s.degraded}", markup=False)
    render_snapshot(console, snap, names)
    if stored:
        console.print(f"stored {stored['path']} sha256 {stored['sha256']}", markup=False)


@snapshot_app.command("show")
@friendly
def snapshot_show(name: Annotated[str, typer.Argument(help="Incident id or snapshot name.")],
                  db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show a stored snapshot of THIS journal (by incident id or name), checked against the sha256
    its journal recorded. Exit 1 when this journal never captured it, when the file belongs to
    another journal, or when it does not match."""
    with _session(db, config) as s:
        inc = s.runner.incidents.get(name)
        recorded = inc.get("snapshot") if inc else None
        if not recorded:
            recorded = _captured(s.journal, name)
        journal_id = s.journal.journal_id
        db_path = s.journal.path
        names = MarketNames.from_journal(s.runtime.journal)
    if not recorded or not recorded.get("path"):
        raise fail(f"Error: journal {db_path} never captured a snapshot named {name!r}; see "
                   f"'polytraders incidents list' (a file of that name elsewhere belongs to another "
                   f"journal).")
    path = Path(recorded["path"])
    try:
        snap, digest = load_snapshot(path.parent, path.stem)
    except (OSError, ValueError) as exc:
        problem = type(exc).__name__
        raise fail(f"Error: no readable snapshot {name} at {path} ({problem}).") from None
    owner = snap.get("journal_id")
    if owner is not None and owner != journal_id:
        raise fail(f"Error: {path} is a snapshot of journal {owner}, not of {db_path} ({journal_id}).")
    if digest != recorded.get("sha256"):
        raise fail(f"Error: {path} does not match the sha256 journaled at seq {recorded.get('seq')} "
                   f"({digest} != {recorded.get('sha256')}): the file was changed or replaced.")
    if as_json:
        print_json({"path": str(path), "sha256": digest, "matches_journal": True,
                    "journaled_seq": recorded.get("seq"), "snapshot": snap})
        return
    console.print(f"{path} sha256 {digest} (matches the journal, seq {recorded.get('seq')})",
                  markup=False)
    render_snapshot(console, snap, names)


def _captured(journal: SqliteJournal, name: str) -> dict[str, Any] | None:
    """The GOV_STATE_CAPTURED note this journal wrote for snapshot ``name``, if any."""
    found = None
    for e in journal.read(kinds=["note"]):
        d = e.envelope.payload.get("detail", {})
        if e.envelope.reason_code == "GOV_STATE_CAPTURED" and d.get("snapshot") == name:
            found = {"path": d.get("path"), "sha256": d.get("sha256"), "seq": e.seq}
    return found
