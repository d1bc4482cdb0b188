"""`polytraders replay`: re-run a recorded window against the current code, optionally with a
checked what-if config, and write a report and a chart of both runs.

The window: `--window` (default 1h) ending at the last recorded input, or at `--until`, or
starting at `--since`; `--since` with `--until` is exactly that span. `--last-hour` is the
default said out loud. A window with no recorded inputs is refused (exit 1): nothing replayed
is not a match. `--set` is checked before anything runs (exit 2 naming the allowed parameters).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from polytraders.cli.common import DbOpt, JsonOpt, console, friendly, journal_from, print_json
from polytraders.errors import BadInputError, RefusedError

BASELINE_COLOUR, WHATIF_COLOUR = "#1f5fbf", "#d35400"


def _run_json(report: Any) -> dict[str, Any]:
    from polytraders.replay.window import fmt_utc

    data: dict[str, Any] = report.to_json()
    run = {k: data[k] for k in ("verdict", "inputs_replayed", "votes_compared", "trips_recorded",
                                "trips_replayed", "first_divergence", "divergences", "network_violations",
                                "books", "overrides")}
    run["trips_replayed_at"] = [fmt_utc(ms) for ms in report.trips_replayed_at_ms]
    return run


WindowOpt = Annotated[str | None, typer.Option("--window", help="Window length: 1h (default), 30m, 2h30m, 1d.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Window start (epoch ms or ISO 8601 UTC).")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="Window end (epoch ms or ISO 8601 UTC); default the last recorded input.")]
LastHourOpt = Annotated[bool, typer.Option("--last-hour", help="The default window, said explicitly.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="What-if config: BOT.PARAM=VALUE (repeatable).")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for the report and chart (new files only).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a report or chart an earlier replay wrote.")]
VerifyOpt = Annotated[bool, typer.Option("--verify", help="Exit 1 unless the verdict is MATCH.")]


@friendly
def replay(
    window: WindowOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    last_hour: LastHourOpt = False,
    verify: VerifyOpt = False,
    sets: SetOpt = None,
    out: OutOpt = Path("replay"),
    force: ForceOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild state at the window start, re-feed the window's inputs, compare decisions."""
    from polytraders.replay.engine import last_input_ms
    from polytraders.replay.engine import replay as run_replay
    from polytraders.replay.output import GENERATOR, check_writable, prepare_out, write_out
    from polytraders.replay.sets import parse_sets
    from polytraders.replay.window import fmt_utc, resolve_window

    if last_hour and (window not in (None, "1h") or since is not None):
        raise BadInputError("--last-hour is the 1h window ending at --until (default the last input); it "
                            "cannot be combined with --since or another --window.")
    overrides = parse_sets(sets or [])
    with journal_from(db) as j:
        last = None
        if until is None:
            try:
                last = last_input_ms(j)
            except BadInputError:
                raise RefusedError("Nothing to replay: the journal holds no recorded inputs.") from None
        start, end = resolve_window(since=since, until=until, window=window, last_input_ms=last)
        # read-only: the verdict goes to the report file; only the running system journals one
        baseline = run_replay(j, since_ms=start, until_ms=end)
        whatif = run_replay(j, since_ms=start, until_ms=end, overrides=overrides) if overrides else None
    if baseline.inputs == 0:
        raise RefusedError(f"Nothing to replay: no recorded inputs between {fmt_utc(start)} and {fmt_utc(end)}; "
                           f"nothing was compared, so there is no verdict. Widen --window or move --since/--until.")
    main = whatif or baseline
    stem = f"replay_{end}" + ("_whatif" if whatif else "")
    report_path, chart_path = out / f"{stem}.json", out / f"{stem}.svg"
    prepare_out(out)
    check_writable([report_path, chart_path], force=force)
    data: dict[str, Any] = {
        "generator": GENERATOR,
        **_run_json(main),
        "window": {**main.to_json()["window"], "start_utc": fmt_utc(start), "end_utc": fmt_utc(end),
                   "length_ms": end - start},
        "set": main.overrides,
        "config_versions": main.config_versions,
        "baseline": _run_json(baseline),
        "whatif": None if whatif is None else _run_json(whatif),
        "caveats": [] if whatif is None else [
            "What-if re-runs decisions, not the market: a trip the recording lacks stops the fills in its "
            "scope from then to the end of the window; where the what-if removes a recorded trip, the "
            "trades that might have followed are unknown and its books follow the recording."],
        "chart": str(chart_path),
        "report": str(report_path),
    }
    write_out(chart_path, _chart(baseline, whatif, start, end))
    write_out(report_path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    if as_json:
        print_json(data)
    else:
        _tell(data)
    if verify and data["verdict"] != "GOV_REPLAY_MATCH":
        raise typer.Exit(1)


def _chart(baseline: Any, whatif: Any, start: int, end: int) -> str:
    from polytraders.replay.chart import Series, TripMark, render_chart
    from polytraders.replay.window import fmt_utc

    series = [Series("baseline (recorded config)", BASELINE_COLOUR, baseline.replayed_curve, baseline.replayed_perf)]
    trips = [TripMark(at, f"trip {t['trigger']}", BASELINE_COLOUR)
             for t, at in zip(baseline.trips_replayed, baseline.trips_replayed_at_ms, strict=True)]
    title = f"replay {fmt_utc(start)} to {fmt_utc(end)}"
    if whatif is not None:
        sets = ", ".join(f"{b}.{k}={v}" for b, p in whatif.overrides.items() for k, v in p.items())
        series.append(Series(f"what-if ({sets})", WHATIF_COLOUR, whatif.replayed_curve, whatif.replayed_perf,
                             dashed=True))
        trips += [TripMark(at, f"what-if trip {t['trigger']}", WHATIF_COLOUR, dashed=True)
                  for t, at in zip(whatif.trips_replayed, whatif.trips_replayed_at_ms, strict=True)]
        title += f", what-if {sets}"
    return render_chart(series, trips, title, start, end)


def _books_line(name: str, run: dict[str, Any]) -> str:
    b = run["books"]["replayed"]
    return (f"{name}: {run['verdict']}, {len(run['trips_replayed'])} trip(s); equity {b['equity_start']} -> "
            f"{b['equity_end']} pUSD, PnL {b['pnl']} pUSD, max drawdown {b['max_drawdown_pct']}%")


def _tell(data: dict[str, Any]) -> None:
    w = data["window"]
    console.print(f"Replay of {w['start_utc']} to {w['end_utc']} (seq {w['first_seq']}..{w['last_seq']}): "
                  f"[bold]{data['verdict']}[/bold] — {data['inputs_replayed']} inputs replayed, "
                  f"{data['votes_compared']} votes compared, {len(data['trips_recorded'])} trips recorded / "
                  f"{len(data['trips_replayed'])} replayed.", soft_wrap=True)
    console.print(_books_line("Baseline", data["baseline"]), markup=False, soft_wrap=True)
    if data["whatif"] is not None:
        sets = ", ".join(f"{b}.{k}={v}" for b, p in data["set"].items() for k, v in p.items())
        console.print(_books_line(f"What-if ({sets})", data["whatif"]), markup=False, soft_wrap=True)
        for caveat in data["caveats"]:
            console.print(caveat, markup=False, soft_wrap=True)
    if data["first_divergence"]:
        console.print(f"First divergence: {data['first_divergence']}", markup=False, soft_wrap=True)
    console.print(f"Report {data['report']}, chart {data['chart']}", markup=False, soft_wrap=True)
