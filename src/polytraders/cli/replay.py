"""`polytraders replay --last-hour`: re-run a recorded window against the current code."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from polytraders.cli.common import DbOpt, JsonOpt, console, friendly, journal_from, print_json
from polytraders.errors import BadInputError


def parse_until(text: str | None) -> int | None:
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise BadInputError(
            f"--until {text!r} is neither epoch milliseconds nor an ISO-8601 time such as "
            f"2026-01-05T00:30:00Z.") from None


def parse_sets(sets: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in sets:
        key, eq, value = item.partition("=")
        bot, dot, param = key.rpartition(".")
        if not eq or not dot or not bot:
            raise BadInputError(f"--set {item!r}: expected BOT_ID.PARAM=VALUE, for example "
                                f"risk.kill_switch.drawdown_intraday_pct=6.")
        out.setdefault(bot, {})[param] = value
    return out


@friendly
def replay(
    last_hour: Annotated[bool, typer.Option("--last-hour", help="Replay the hour before --until.")] = True,
    until: Annotated[str | None, typer.Option("--until", help="Window end (epoch ms or ISO time); default the last entry.")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Exit 1 unless the verdict is MATCH.")] = False,
    sets: Annotated[list[str] | None, typer.Option("--set", help="What-if config: BOT.PARAM=VALUE (repeatable).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and chart.")] = Path("replay"),
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild state at the window start, re-feed the window's inputs, compare decisions."""
    from polytraders.replay.chart import write_chart
    from polytraders.replay.engine import HOUR_MS
    from polytraders.replay.engine import replay as run_replay

    overrides = parse_sets(sets or [])
    with journal_from(db) as j:
        # read-only: the verdict goes to the report file; only the running system journals one
        report = run_replay(j, until_ms=parse_until(until), window_ms=HOUR_MS if last_hour else HOUR_MS,
                            overrides=overrides)
    data = report.to_json()
    stem = f"replay_{report.window_end_ms}"
    out.mkdir(parents=True, exist_ok=True)
    chart = write_chart(out / f"{stem}.svg", report.equity_curve,
                        f"equity and drawdown, {report.window_start_ms} to {report.window_end_ms}")
    data["chart"] = str(chart)
    report_path = out / f"{stem}.json"
    report_path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    data["report"] = str(report_path)
    if as_json:
        print_json(data)
    else:
        console.print(f"Replay verdict: [bold]{data['verdict']}[/bold] — {data['inputs_replayed']} "
                      f"inputs replayed, {data['votes_compared']} votes compared, "
                      f"{len(data['trips_recorded'])} trips recorded / "
                      f"{len(data['trips_replayed'])} replayed.")
        if data["first_divergence"]:
            console.print(f"First divergence: {data['first_divergence']}", markup=False)
        console.print(f"Report {report_path}, chart {chart}")
    if verify and data["verdict"] != "GOV_REPLAY_MATCH":
        raise typer.Exit(1)
