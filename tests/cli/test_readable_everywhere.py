"""Every command a person reads at 3 a.m., on a journal with trips, incidents, rejections, fills
and positions: no raw epoch milliseconds, no long decimals, no full 77-digit token ids, no Python
dict dumps; times are ISO 8601 UTC and markets appear by question and outcome."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polytraders.cli.main import app

EPOCH_MS = re.compile(r"\b1[6-9]\d{11}\b")
LONG_DECIMAL = re.compile(r"\d\.\d{5,}")
FULL_TOKEN = re.compile(r"\d{30,}")
PY_DICT = re.compile(r"\{'[a-z_]+': ")
ISO = re.compile(r"\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ\b")


@pytest.fixture(scope="module")
def spiky(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reject-spike scenario: two trips, two incidents with snapshots, venue rejections."""
    db = tmp_path_factory.mktemp("readable") / "spike.db"
    ran = CliRunner().invoke(app, ["demo", "--scenario", "reject-spike", "--minutes", "26", "--markets", "3",
                                   "--db", str(db), "--json"])
    assert ran.exit_code == 0, ran.output
    return db


def _run(args: list[str]) -> str:
    ran = CliRunner().invoke(app, args)
    assert ran.exit_code == 0, (args, ran.output)
    return ran.output


def _ids(db: Path) -> tuple[str, str]:
    incidents = json.loads(_run(["incidents", "list", "--db", str(db), "--json"]))
    orders = json.loads(_run(["orders", "--db", str(db), "--json"]))
    rejected = next(o for o in orders if o["status"] == "rejected")
    return incidents[0]["incident_id"], rejected["client_order_id"]


def test_every_read_command_is_readable(spiky: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from polytraders.cli import common

    monkeypatch.setattr(common.console, "width", 200)
    monkeypatch.setattr(common.err_console, "width", 200)
    incident, rejected = _ids(spiky)
    db = ["--db", str(spiky)]
    commands = {
        "orders": ["orders", *db], "orders --open": ["orders", "--open", *db], "positions": ["positions", *db],
        "trace": ["trace", rejected, *db], "journal tail": ["journal", "tail", "-n", "60", *db],
        "killswitch status": ["killswitch", "status", *db], "killswitch history": ["killswitch", "history", *db],
        "incidents list": ["incidents", "list", *db], "incidents show": ["incidents", "show", incident, *db],
        "snapshot": ["snapshot", *db], "snapshot show": ["snapshot", "show", incident, *db],
        "reconcile status": ["reconcile", "status", *db], "health": ["health", *db], "bots": ["bots", *db],
        "board": ["board", *db], "codes": ["codes", "--family", "RISK"], "operators list": ["operators", "list", *db],
    }
    timed = {"orders", "trace", "journal tail", "killswitch history", "incidents list", "incidents show",
             "snapshot", "snapshot show"}
    named = {"orders", "positions", "trace", "snapshot", "reconcile status"}
    problems = []
    for name, args in commands.items():
        text = _run(args)
        for label, pattern in (("epoch ms", EPOCH_MS), ("long decimal", LONG_DECIMAL), ("full token id", FULL_TOKEN),
                               ("python dict", PY_DICT)):
            if m := pattern.search(text):
                problems.append(f"{name}: {label} {m.group(0)!r}")
        if name in timed and not ISO.search(text):
            problems.append(f"{name}: no ISO 8601 UTC time")
        if name in named and not re.search(r"Synthetic market \d+: will .*· (Yes|No)", text):
            problems.append(f"{name}: markets not shown by question and outcome")
    assert not problems, "\n".join(problems)


def test_trace_of_a_venue_rejection_names_the_venue_error(spiky: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from polytraders.cli import common

    monkeypatch.setattr(common.console, "width", 200)
    _, rejected = _ids(spiky)
    text = _run(["trace", rejected, "--db", str(spiky)])
    assert "proposed: BUY" in text and "REJECTED at seq" in text
    assert re.search(r"observed: venue_error=[A-Z_]+", text)


def test_board_and_bots_label_readiness(spiky: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from polytraders.cli import common

    monkeypatch.setattr(common.console, "width", 250)
    for args in (["board", "--db", str(spiky)], ["bots", "--db", str(spiky)]):
        text = _run(args)
        assert "readiness" in text
        assert re.search(r"Docs \d+/27 · Impl \d+/15 · Backtest \d+/4 · Runtime \d+/8", text), args
