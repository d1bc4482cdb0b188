"""`polytraders demo`: run a governed trading session on simulated markets and tell its story."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from polytraders.cli.common import JsonOpt, console, friendly, print_json
from polytraders.contracts.reasons import registry


@friendly
def demo(
    minutes: Annotated[int, typer.Option(min=1, max=24 * 60, help="Simulated minutes.")] = 60,
    markets: Annotated[int, typer.Option(min=1, max=200, help="Synthetic markets.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same journal hash.")] = 7,
    db: Annotated[Path, typer.Option("--db", help="Journal file (recreated).")] = Path("polytraders.db"),
    scenario: Annotated[str, typer.Option(help="Scenario name (calm, ...).")] = "calm",
    as_json: JsonOpt = False,
) -> None:
    """Run the system over simulated time against the simulator, then explain what happened."""
    from polytraders.engine.demo import DemoArgs, run_demo
    from polytraders.engine.scenarios import get_scenario

    get_scenario(scenario)  # bad names fail before anything is written
    args = DemoArgs(minutes=minutes, markets=markets, seed=seed, db=db, scenario=scenario)
    if as_json:
        print_json(run_demo(args))
        return
    with Progress(TextColumn("[bold]simulating"), BarColumn(), TextColumn("{task.completed}/{task.total} min"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("demo", total=minutes)
        summary = run_demo(args, lambda done, total: bar.update(task, completed=done))
    tell_story(summary)


def tell_story(s: dict[str, Any]) -> None:
    o = s["orders"]
    pnl = s["pnl"]
    console.print(
        f"\n[bold]{s['minutes']} simulated minutes on {s['markets']} synthetic markets[/bold] "
        f"(scenario {s['scenario']}, seed {s['seed']}).\n"
        f"The market-making strategy sent {o.get('total', 0)} orders through the kill switch, "
        f"six guardrails, the router and the security checks; {s['fills']} fills came back. "
        f"Realised PnL {pnl['realised_pusd']} pUSD, unrealised {pnl['unrealised_pusd']} pUSD, "
        f"fees {pnl['fees_pusd']} pUSD, equity {pnl['equity_pusd']} pUSD. "
        f"Intraday drawdown {s['drawdown']['intraday_pct']}%.\n"
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
    extra = s.get("kill_switch")
    if extra:
        console.print(f"Kill switch: {extra}")
