"""`polytraders killswitch status|trip|request-reset|approve-reset|history`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, TokenOpt, console, friendly, journal_from, print_json
from polytraders.runtime.clock import WallClock
from polytraders.runtime.runner import Runtime
from polytraders.state.kill_switch import vars_of

app = typer.Typer(help="The kill switch: status, manual trip, two-person reset.", no_args_is_help=True)


@contextmanager
def live_runtime(db: str | None) -> Iterator[Runtime]:
    from polytraders.engine.system import build_state

    with journal_from(db) as j:
        rt = Runtime(j, WallClock(), build_state())
        rt.state.rebuild(j)
        yield rt


@app.command("status")
@friendly
def status(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Active trips and open reset requests."""
    with live_runtime(db) as rt:
        ks = rt.kill_switch
        active = [vars_of(t) for t in ks.active.values()]
        requests = {k: v for k, v in ks.requests.items() if not v["used"]}
    data = {"state": "tripped" if active else "armed", "active": active, "reset_requests": requests}
    if as_json:
        print_json(data)
        raise typer.Exit(0)
    if not active:
        console.print("Kill switch ARMED: no active trips.")
        return
    table = Table(title="kill switch TRIPPED")
    for col in ("trip id", "trigger", "scope", "observed", "threshold", "caused by seq"):
        table.add_column(col)
    for t in active:
        table.add_row(str(t["trip_id"]), str(t["trigger"]), str(t["scope"]) if t["scope"] == "global"
                      else f"{t['scope']}:{t['scope_value']}", str(t["observed"]), str(t["threshold"]),
                      str(t["caused_by_seq"]))
    console.print(table)
    for rid, r in requests.items():
        console.print(f"reset request {rid} for {r['trip_id']} by {r['requester']}, "
                      f"expires at {r['expires_at_ms']}")


@app.command("trip")
@friendly
def trip(
    scope: Annotated[str, typer.Option(
        "--scope", help="global | cluster:NAME | strategy:ID | family:F | bot:ID | market:CONDITION_ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the journal).")],
    db: DbOpt = None, token: TokenOpt = None, as_json: JsonOpt = False,
) -> None:
    """Trip the kill switch by hand."""
    from polytraders.engine.kill_switch_ops import manual_trip, parse_scope
    from polytraders.operators.auth import authenticate

    parsed = parse_scope(scope)
    with live_runtime(db) as rt:
        op = authenticate(rt.journal, token, "killswitch.trip")
        trip_id = manual_trip(rt, op, parsed, reason)
    if as_json:
        print_json({"trip_id": trip_id, "scope": parsed.label(), "operator": op.name})
    else:
        console.print(f"Tripped {trip_id} ({parsed.label()}) by {op.name}.")


@app.command("request-reset")
@friendly
def request_reset_cmd(
    trip_id: Annotated[str, typer.Argument(help="The trip to reset (see status).")],
    db: DbOpt = None, token: TokenOpt = None, as_json: JsonOpt = False,
) -> None:
    """Ask for a reset; refused while the trip's condition still holds."""
    from polytraders.engine.kill_switch_ops import kill_switch_config, request_reset
    from polytraders.operators.auth import authenticate

    with live_runtime(db) as rt:
        op = authenticate(rt.journal, token, "killswitch.request_reset")
        rid = request_reset(rt, op, trip_id, kill_switch_config(rt.journal))
    if as_json:
        print_json({"request_id": rid, "trip_id": trip_id, "requester": op.name})
    else:
        console.print(f"Reset request {rid} recorded; a different approver must run "
                      f"'polytraders killswitch approve-reset {rid}'.")


@app.command("approve-reset")
@friendly
def approve_reset_cmd(
    request_id: Annotated[str, typer.Argument(help="The reset request id.")],
    db: DbOpt = None, token: TokenOpt = None, as_json: JsonOpt = False,
) -> None:
    """Approve another operator's reset request (approver or admin role)."""
    from polytraders.engine.kill_switch_ops import approve_reset, kill_switch_config
    from polytraders.operators.auth import authenticate

    with live_runtime(db) as rt:
        op = authenticate(rt.journal, token, "killswitch.approve_reset")
        trip_id = approve_reset(rt, op, request_id, kill_switch_config(rt.journal))
    if as_json:
        print_json({"reset": trip_id, "approver": op.name})
    else:
        console.print(f"Trip {trip_id} reset, approved by {op.name}.")


@app.command("history")
@friendly
def history(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every trip and reset, in order."""
    with journal_from(db, create=False) as j:
        rows = [{"seq": e.seq, "event": e.envelope.payload["event"], "trip_id": e.envelope.payload["trip_id"],
                 "trigger": e.envelope.payload["trigger"], "scope": e.envelope.payload["scope"],
                 "actor": e.envelope.actor.label(), "at_ms": e.envelope.payload["at_ms"]}
                for e in j.read(kinds=["killswitch_event"])]
    if as_json:
        print_json(rows)
        return
    table = Table(title="kill switch history")
    for col in ("seq", "event", "trip id", "trigger", "scope", "actor"):
        table.add_column(col)
    for r in rows:
        scope = r["scope"]
        table.add_row(str(r["seq"]), str(r["event"]), str(r["trip_id"]), str(r["trigger"]),
                      "global" if scope["scope"] == "global" else f"{scope['scope']}:{scope['value']}",
                      str(r["actor"]))
    console.print(table)
