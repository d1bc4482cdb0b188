"""`polytraders demo`: run a governed trading session on simulated markets and tell its story."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from polytraders.cli.common import JsonOpt, console, friendly, print_json
from polytraders.cli.readable import amount
from polytraders.contracts.reasons import registry


@friendly
def demo(
    minutes: Annotated[int, typer.Option(min=1, max=24 * 60, help="Simulated minutes.")] = 60,
    markets: Annotated[int, typer.Option(min=1, max=200, help="Synthetic markets.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same journal hash.")] = 7,
    db: Annotated[Path | None, typer.Option("--db", help="New simulation journal (default $POLYTRADERS_DB, "
                                            "else a new folder under ./demo-runs/).")] = None,
    scenario: Annotated[str, typer.Option(help="Scenario name (calm, ...).")] = "calm",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing SIMULATION journal at "
                                            "--db that no process has open (never a live journal or another "
                                            "file).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the system over simulated time against the simulator, then explain what happened.

    Writes only new files: a new journal (refusing an existing path unless --overwrite names a
    simulation journal no process is using), its anchors, and the simulated crew's key files."""
    import os

    from polytraders.engine.demo import DemoArgs, new_run_path, run_demo
    from polytraders.engine.scenarios import get_scenario

    get_scenario(scenario)  # bad names fail before anything is written
    env_db = os.environ.get("POLYTRADERS_DB")
    path = db or (Path(env_db) if env_db else new_run_path(scenario, seed))
    args = DemoArgs(minutes=minutes, markets=markets, seed=seed, db=path, scenario=scenario,
                    overwrite=overwrite)
    if as_json:
        print_json(run_demo(args))
        return
    with Progress(TextColumn("[bold]simulating"), BarColumn(), TextColumn("{task.completed}/{task.total} min"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("demo", total=minutes)
        summary = run_demo(args, lambda done, total: bar.update(task, completed=done))
    tell_story(summary)


def _transfers(t: dict[str, str | None]) -> str:
    return ", ".join(f"{k} {amount(v)} pUSD" for k, v in t.items()) or "none"


def tell_story(s: dict[str, Any]) -> None:
    o = s["orders"]
    pnl = s["pnl"]
    console.print(
        f"\n[bold]{s['minutes']} simulated minutes on {s['markets']} synthetic markets[/bold] "
        f"(scenario {s['scenario']}, seed {s['seed']}).\n"
        f"{s.get('scenario_story', '')}\n"
        f"The market-making strategy sent {o.get('total', 0)} orders through the kill switch, "
        f"six guardrails, the router and the security checks; {s['fills']} fills came back. "
        f"Realised PnL {amount(pnl['realised_pusd'])} pUSD, unrealised {amount(pnl['unrealised_pusd'])} pUSD, "
        f"fees {amount(pnl['fees_pusd'])} pUSD, equity {amount(pnl['equity_pusd'])} pUSD. "
        f"Intraday drawdown {s['drawdown']['intraday_pct']}%. "
        f"Transfers (never PnL): {_transfers(s.get('transfers', {}))}.\n"
        f"The journal holds {s['journal']['entries']} envelopes, head hash "
        f"{s['journal']['head_hash']} (verify it with 'polytraders journal verify --db "
        f"{s['journal']['db']}').",
        soft_wrap=True,
    )
    table = Table(title="orders by final status")
    table.add_column("status")
    table.add_column("count", justify="right")
    for k, v in o.items():
        if k != "total":
            table.add_row(k, str(v))
    console.print(table)
    reg = registry()
    codes = Table(title="envelopes by reason code")
    for col in ("code", "count", "what it means"):
        codes.add_column(col)
    for code, n in sorted(s["reason_codes"].items(), key=lambda kv: -kv[1]):
        codes.add_row(code, str(n), reg[code].user_message)
    console.print(codes)
    chain = s.get("chain")
    if chain:
        console.print(f"Chain: {chain['note']}", markup=False, soft_wrap=True)
        rec = s.get("reconcile") or {}
        console.print(f"Reconcile reports: {rec.get('reports')}; still mismatched: {rec.get('mismatched')}",
                      markup=False)
    _kill_switch_story(s.get("kill_switch") or {})
    story = s.get("story", [])
    if story:
        console.print("\n[bold]What happened[/bold] (the playbooks, and the scripted crew: the two-person "
                      "reset drill, refusals included)")
        for line in story:
            console.print(f"- {line}", markup=False, soft_wrap=True)
    _incidents_story(s)


def _kill_switch_story(ks: dict[str, Any]) -> None:
    from polytraders.cli.timefmt import iso_utc

    trips, resets = ks.get("trips", []), {r["trip_id"]: r for r in ks.get("resets", [])}
    if not trips:
        console.print("Kill switch: never tripped; armed at the end.")
        return
    end = ("ARMED at the end" if not ks.get("active")
           else "still TRIPPED at the end: " + ", ".join(ks["active"]))
    console.print(f"\n[bold]Kill switch[/bold]: {len(trips)} trip(s); {end}.")
    for t in trips:
        reset = resets.get(t["trip_id"])
        after = (f"reset {iso_utc(reset['at_ms'])} (seq {reset['seq']})" if reset else "not reset")
        console.print(f"- {t['trip_id']}: {t['trigger']} tripped {iso_utc(t['at_ms'])} (seq {t['seq']}); {after}",
                      markup=False)


def _incidents_story(s: dict[str, Any]) -> None:
    j = s["journal"]
    db = Path(j["db"]).resolve()
    keys = Path(j["keys"]).resolve()
    incidents = s.get("incidents", [])
    if incidents:
        table = Table(title="incidents opened")
        for col in ("incident", "prio", "trigger", "status", "commander", "still to do"):
            table.add_column(col)
        for i in incidents:
            table.add_row(i["id"], str(i.get("priority") or ""), str(i["trigger"]), str(i["status"]),
                          str(i["commander"]), ", ".join(i.get("outstanding", [])) or "-")
        console.print(table)
        console.print(f"Snapshots and the incident channel (channel.jsonl) are in "
                      f"{Path(j.get('incidents_dir', str(db) + '.incidents')).resolve()}/.", markup=False,
                      soft_wrap=True)
    console.print(f"\n[bold]To act on this run[/bold] (the simulated crew's keys are in {keys}/; they work on "
                  f"this simulation journal only):", soft_wrap=True)
    lines = [f"export POLYTRADERS_DB={db}", f"export POLYTRADERS_KEY_FILE={keys}/alice.key"]
    open_ = [i for i in incidents if i["status"] != "resolved"]
    for i in open_[:3]:
        lines.append(f"polytraders incidents show {i['id']}")
        if "investigate_root_cause" in i.get("outstanding", []):
            lines.append(f"polytraders incidents rca {i['id']} --text 'what happened and why'")
        lines.append(f"polytraders incidents resolve {i['id']}")
    active = (s.get("kill_switch") or {}).get("active", [])
    for trip in active[:2]:
        lines.append(f"polytraders killswitch request-reset {trip}   # then, as bob: "
                     f"POLYTRADERS_KEY_FILE={keys}/bob.key polytraders killswitch approve-reset REQUEST_ID")
    if not open_ and not active:
        lines.append("polytraders incidents list")
    for line in lines:
        console.print(f"  {line}", markup=False, soft_wrap=True, highlight=False)
