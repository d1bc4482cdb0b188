"""`polytraders replay` says what it replayed: window flags that mean what they say, nothing
replayed is not a match, a checked --set, a report of both runs, a chart with axes, markers and
the what-if against the baseline, and files that are only ever new or a replay's own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polytraders.cli.main import app
from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.replay.window import fmt_utc, parse_time

HOUR = 3_600_000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("replay") / "j.db"
    run_demo(DemoArgs(minutes=26, markets=6, seed=5, db=db, scenario="wallet-short"))
    return db


@pytest.fixture()
def db(recorded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "j.db"
    shutil.copy(recorded, copy)
    return copy


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["replay", *args], catch_exceptions=False)
    return result.exit_code, result.output


def run_json(db: Path, out: Path, *args: str) -> dict[str, Any]:
    code, text = run("--db", str(db), "--out", str(out), "--json", *args)
    assert code == 0, text
    data: dict[str, Any] = json.loads(text)
    return data


def test_default_window_is_the_hour_before_the_last_input_and_matches(db: Path, tmp_path: Path) -> None:
    data = run_json(db, tmp_path / "out")
    w = data["window"]
    assert w["length_ms"] == HOUR and w["end_ms"] - w["start_ms"] == HOUR
    assert data["verdict"] == "GOV_REPLAY_MATCH" and data["inputs_replayed"] > 1000
    assert data["set"] == {} and data["whatif"] is None
    assert data["config_versions"]["risk.kill_switch"] == "1"
    books = data["baseline"]["books"]["replayed"]
    assert books == data["baseline"]["books"]["recorded"]  # a MATCH keeps the recorded books
    # the wallet-short withdrawal and deposit are transfers: PnL is the small trading result
    assert abs(float(books["pnl"])) < 100 and float(books["max_drawdown_pct"]) < 5
    alias = run_json(db, tmp_path / "alias", "--last-hour")
    assert alias["window"] == w


def test_since_until_and_window_each_mean_what_they_say(db: Path, tmp_path: Path) -> None:
    base = run_json(db, tmp_path / "a")["window"]
    end = base["end_ms"]
    since = fmt_utc(end - 20 * 60_000)
    w = run_json(db, tmp_path / "b", "--since", since, "--window", "10m")["window"]
    assert (w["start_ms"], w["end_ms"]) == (parse_time("--since", since), parse_time("--since", since) + 600_000)
    w = run_json(db, tmp_path / "c", "--until", str(end - 60_000), "--window", "5m")["window"]
    assert (w["start_ms"], w["end_ms"]) == (end - 360_000, end - 60_000)
    w = run_json(db, tmp_path / "d", "--since", str(end - 900_000), "--until", str(end - 300_000))["window"]
    assert (w["start_ms"], w["end_ms"]) == (end - 900_000, end - 300_000)
    short = run_json(db, tmp_path / "e", "--window", "2m")
    assert short["window"]["start_ms"] == end - 120_000
    assert 0 < short["inputs_replayed"] < run_json(db, tmp_path / "f")["inputs_replayed"]


@pytest.mark.parametrize("args", [
    ["--since", "2026-01-05T00:00:00Z", "--until", "2026-01-05T00:10:00Z", "--window", "1h"],
    ["--since", "2026-01-05T00:10:00Z", "--until", "2026-01-05T00:00:00Z"],
    ["--window", "soon"],
    ["--window", "0m"],
    ["--until", "yesterday"],
    ["--last-hour", "--since", "2026-01-05T00:00:00Z"],
])
def test_contradictory_or_malformed_windows_are_usage_errors(db: Path, tmp_path: Path, args: list[str]) -> None:
    code, text = run("--db", str(db), "--out", str(tmp_path / "o"), *args)
    assert code == 2, text
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_window_with_no_inputs_is_nothing_to_replay_not_a_match(db: Path, tmp_path: Path) -> None:
    code, text = run("--db", str(db), "--out", str(tmp_path / "o"), "--since", "2020-01-01T00:00:00Z")
    assert code == 1, text
    assert "Nothing to replay" in text and "MATCH" not in text
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize(("item", "names"), [
    ("nosuch.bot.param=1", ["risk.kill_switch.drawdown_intraday_pct (0..15%)", "risk.drawdown_guard"]),
    ("risk.kill_switch.nosuch=1", ["risk.kill_switch.min_reserve_pusd", "has no parameter 'nosuch'"]),
    ("risk.kill_switch.drawdown_intraday_pct=-5", ["outside the hard limit", "0..15%"]),
    ("risk.kill_switch.drawdown_intraday_pct=16", ["outside the hard limit", "0..15%"]),
    ("risk.kill_switch.reject_rate_min_sample=2", ["outside the hard limit", ">= 3"]),
    ("risk.kill_switch.drawdown_intraday_pct=NaN", ["not a whole number"]),
    ("risk.kill_switch.drawdown_intraday_pct", ["expected BOT_ID.PARAM=VALUE"]),
])
def test_set_is_checked_and_names_the_allowed_parameters(db: Path, tmp_path: Path, item: str,
                                                         names: list[str]) -> None:
    code, text = run("--db", str(db), "--out", str(tmp_path / "o"), "--set", item)
    assert code == 2, text
    flat = " ".join(text.split())
    for name in names:
        assert name in flat, flat
    assert not (tmp_path / "o").exists()


def test_a_what_if_reports_both_runs_and_its_chart_differs_from_the_baseline(db: Path, tmp_path: Path) -> None:
    base = run_json(db, tmp_path / "o")
    data = run_json(db, tmp_path / "o", "--set", "risk.kill_switch.drawdown_intraday_pct=0")
    assert data["set"] == {"risk.kill_switch": {"drawdown_intraday_pct": "0"}}
    assert data["verdict"] == "GOV_REPLAY_REGRESSION"  # an earlier trip is a different decision
    assert data["baseline"]["verdict"] == "GOV_REPLAY_MATCH"
    assert len(data["whatif"]["trips_replayed"]) > len(data["baseline"]["trips_replayed"])
    before, after = data["baseline"]["books"]["replayed"], data["whatif"]["books"]["replayed"]
    assert set(before) == set(after) == {"equity_start", "equity_end", "pnl", "max_drawdown_pct"}
    # halted from the first minute, the what-if trades nothing: no PnL, no drawdown
    assert after["pnl"] == "0.00" and after["max_drawdown_pct"] == "0.00" and before["pnl"] != "0.00"
    assert data["caveats"]
    chart = Path(data["chart"]).read_text(encoding="utf-8")
    baseline_chart = Path(base["chart"]).read_text(encoding="utf-8")
    assert Path(data["chart"]) != Path(base["chart"]) and chart != baseline_chart
    assert "what-if (risk.kill_switch.drawdown_intraday_pct=0)" in chart
    assert "what-if trip drawdown_intraday" in chart and "trip wallet_funding" in chart
    assert "what-if" not in baseline_chart


def test_the_chart_has_time_axes_labelled_values_and_trip_markers(db: Path, tmp_path: Path) -> None:
    data = run_json(db, tmp_path / "o")
    chart = Path(data["chart"]).read_text(encoding="utf-8")
    assert chart.count("time (UTC)") == 2  # one time axis under each panel
    start = data["window"]["start_utc"][11:16]
    assert f">{start}<" in chart  # the first tick is the window start, HH:MM UTC
    assert "equity, pUSD" in chart and "drawdown from peak, %" in chart
    assert f"end {float(data['baseline']['books']['replayed']['equity_end']):,.2f}" in chart
    trip, at = data["trips_replayed"][0], data["trips_replayed_at"][0]
    assert f"trip {trip['trigger']} {at[11:16]}" in chart


def test_out_writes_new_files_and_force_replaces_only_a_replays_own(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    first = run_json(db, out)
    report = Path(first["report"])
    stamp = report.read_bytes()
    code, text = run("--db", str(db), "--out", str(out))
    assert code == 1 and "exists already" in text
    assert report.read_bytes() == stamp
    forced = run_json(db, out, "--force")
    assert forced["report"] == first["report"]
    # a file the replay did not write is never replaced, even with --force
    report.write_text('{"mine": true}\n', encoding="utf-8")
    chart = Path(first["chart"])
    chart_before = chart.read_bytes()
    code, text = run("--db", str(db), "--out", str(out), "--force")
    assert code == 1 and "not written by a replay" in text
    assert report.read_text(encoding="utf-8") == '{"mine": true}\n'
    assert chart.read_bytes() == chart_before


HOSTILE = {
    "out-is-a-file": lambda tmp: ["--out", str(_file(tmp))],
    "out-under-proc": lambda tmp: ["--out", "/proc/self/replay-out"],
    "out-unicode": lambda tmp: ["--out", str(tmp / "отчёт-✓"), "--window", "5m"],
    "window-100kb": lambda tmp: ["--window", "1h" * 50_000],
    "window-negative": lambda tmp: ["--window", "-5m"],
    "since-nan": lambda tmp: ["--since", "NaN"],
    "until-negative": lambda tmp: ["--until", "-1"],
    "until-huge": lambda tmp: ["--until", "9" * 40],
    "set-100kb": lambda tmp: ["--set", "risk.kill_switch.drawdown_intraday_pct=" + "9" * 100_000],
    "set-nan": lambda tmp: ["--set", "risk.kill_switch.feed_loss_ms=NaN"],
    "set-unicode": lambda tmp: ["--set", "risk.kill_switch.ünïcode=1"],
}


def _file(tmp: Path) -> Path:
    path = tmp / "plain-file"
    path.write_text("x", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_arguments_give_one_clear_error_never_a_traceback(db: Path, tmp_path: Path, kind: str) -> None:
    args = HOSTILE[kind](tmp_path)
    result = CliRunner().invoke(app, ["replay", "--db", str(db), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if kind == "out-unicode":
        assert result.exit_code == 0, result.output  # a unicode folder name is fine
    else:
        assert result.exit_code in (1, 2), result.output
        assert "Error" in result.output
