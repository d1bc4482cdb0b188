"""`polytraders health [--json]`, `health hold [--release]`, `health promote [--approve REQUEST]`.

`health` reads the journal: each configured surface's level (from gov.api_degradation_monitor),
its last figures and how stale they are, how long it has been green, the API playbook's holds
on strategies, the bots the kill switch halts, and any operator hold or early-promotion request.
`hold` keeps the demotion in place (signed); `promote` asks to restore early and `promote
--approve` approves another operator's request (a second person, not registered by the requester).
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, console, friendly, journal_from, operator_session, print_json
from polytraders.errors import RefusedError

app = typer.Typer(help="API health: levels per surface, hold or promote the API-degraded demotion.",
                  invoke_without_command=True)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def health_state(db: str | None) -> dict[str, Any]:
    from polytraders.health.playbook import HOLD_SOURCE
    from polytraders.state.api_health import ApiHealthProjection
    from polytraders.state.modes import ModesProjection
    from polytraders.state.standard import build_full_state

    with journal_from(db) as j:
        state = build_full_state()
        state.rebuild(j)
    health = state.typed("api_health", ApiHealthProjection)
    modes = state.typed("modes", ModesProjection)
    now = time.time_ns() // 1_000_000
    surfaces = []
    for surface in sorted(set(health.level) | set(health.recent)):
        last = health.summaries(surface)[-1] if health.recent.get(surface) else {}
        green = health.green_since.get(surface)
        surfaces.append({
            "surface": surface, "level": health.level.get(surface, "unknown"),
            "error_rate_short_pct": last.get("error_rate_short_pct"),
            "error_rate_long_pct": last.get("error_rate_long_pct"),
            "p50_ms": last.get("p50_ms"), "p99_ms": last.get("p99_ms"), "summary_at": _iso(last.get("at_ms")),
            "summary_age_s": None if not last else round((now - int(last["at_ms"])) / 1000, 1),
            "green_since": _iso(green)})
    held = {b: m for b in modes.holds for s, m in modes.holds_of(b).items() if s == HOLD_SOURCE}
    return {"surfaces": surfaces, "demoted_by_playbook": held,
            "halted_by_kill_switch": halted_by_kill_switch(state), "operator_hold": health.operator_hold,
            "promote_requests": {k: v for k, v in health.promote_requests.items()},
            "promote_approved_seq": health.promote_approved_seq}


def halted_by_kill_switch(state: Any) -> list[str]:
    """The Trade-authority bots the kill switch halts, as a running system derives it from the
    active trips (and any kill-switch hold an older version journaled)."""
    from polytraders.state.kill_switch import KillSwitchProjection
    from polytraders.state.modes import KILL_SWITCH_SOURCE, ModesProjection, kill_switch_halt

    ks = state.typed("kill_switch", KillSwitchProjection)
    modes = state.typed("modes", ModesProjection)
    halted = {b for b, held in modes.holds.items() if KILL_SWITCH_SOURCE in held}
    if ks.active:
        trade = trade_bot_ids()
        halted |= {b for b in modes.modes if b in trade and kill_switch_halt(ks, b) is not None}
    return sorted(halted)


def trade_bot_ids() -> frozenset[str]:
    """The registry's bots with Trade authority, from its catalogue read as plain JSON: importing
    the bot classes to ask them costs about a second (the router's signing stack). A test holds
    it equal to the classes' own authority for every bot the running system builds."""
    from importlib import resources

    import orjson

    raw = resources.files("polytraders.registry").joinpath("catalogue.json").read_bytes()
    return frozenset(str(e["id"]) for e in orjson.loads(raw) if "Trade" in e.get("authority", ()))


@app.callback()
@friendly
def health(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Level and figures per API surface, with how stale each is."""
    if ctx.invoked_subcommand is not None:
        return
    data = health_state(db)
    if as_json:
        print_json(data)
        return
    table = Table(title="API health")
    for col in ("surface", "level", "errors (short/long)", "p50 / p99 ms", "as of", "green since"):
        table.add_column(col)
    for s in data["surfaces"]:
        age = "" if s["summary_age_s"] is None else f" ({s['summary_age_s']} s ago)"
        table.add_row(s["surface"], s["level"], f"{s['error_rate_short_pct']}% / {s['error_rate_long_pct']}%",
                      f"{s['p50_ms']} / {s['p99_ms']}", f"{s['summary_at']}{age}", str(s["green_since"] or "-"))
    console.print(table)
    if not data["surfaces"]:
        console.print("No API health has been journaled (is a system with the monitor running?).")
    for bot_id in data["halted_by_kill_switch"]:
        console.print(f"{bot_id} halted (off) by the kill switch", markup=False)
    for bot_id, mode in data["demoted_by_playbook"].items():
        console.print(f"{bot_id} held at {mode} by the API-degraded playbook", markup=False)
    if data["operator_hold"]:
        console.print(f"Held in place by {data['operator_hold']}.", markup=False)


@app.command("hold")
@friendly
def hold(release: Annotated[bool, typer.Option("--release", help="Let the playbook restore again.")] = False,
         db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Keep the API-degraded demotion in place (or release that hold)."""
    with operator_session(db, "health.hold") as s:
        entry = s.runtime.note("GOV_API_HOLD", actor=s.operator.actor, durable=True, hold=not release)
        name = s.operator.name
    if as_json:
        print_json({"seq": entry.seq, "hold": not release, "operator": name})
    else:
        console.print(f"{'Released' if release else 'Holding'} the API-degraded demotion ({name}, seq {entry.seq}).")


@app.command("promote")
@friendly
def promote(approve: Annotated[str | None, typer.Option("--approve", help="Approve this request id.")] = None,
            db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Ask to restore strategies early; a second operator approves with --approve REQUEST."""
    command = "health.approve" if approve else "health.promote"
    with operator_session(db, command) as s:
        rt, op = s.runtime, s.operator
        health = rt.state.find("api_health")
        if approve is None:
            request_id = "pr_" + hashlib.sha256(f"{op.name}:{rt.clock.now_ms()}".encode()).hexdigest()[:12]
            entry = rt.note("GOV_API_PROMOTE_REQUESTED", actor=op.actor, durable=True, request_id=request_id)
            result: dict[str, Any] = {"request_id": request_id, "seq": entry.seq, "requester": op.name}
            message = (f"Early promotion requested as {request_id}; a different operator, not registered by "
                       f"{op.name}, must run 'polytraders health promote --approve {request_id}'.")
        else:
            req = health.promote_requests.get(approve) if health is not None else None
            if req is None:
                raise RefusedError(f"No early-promotion request {approve!r}.", code="GOV_COMMAND_REFUSED")
            problem = rt.state.trust.separation_problem(str(req["requester"]), op.name)
            if problem:
                raise RefusedError(f"Refused: {problem}.", code="GOV_COMMAND_REFUSED")
            entry = rt.note("GOV_API_PROMOTE_APPROVED", actor=op.actor, durable=True, request_id=approve)
            result = {"request_id": approve, "seq": entry.seq, "approver": op.name}
            message = f"Early promotion {approve} approved by {op.name}; the running system restores at its next step."
    if as_json:
        print_json(result)
    else:
        console.print(message, markup=False)
