"""`polytraders run` as a real process on a live journal (the in-process simulator as venue):
a CLI trip is obeyed while it runs, SIGTERM shuts it down cleanly and says what it did, and a
kill -9 then restart rebuilds, reconciles and submits no duplicate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import journal_rows as rows
from factories import start_run as start
from factories import wait_for

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]


@pytest.fixture
def live(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "live.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True)
    (tmp_path / "polytraders.toml").write_text('[venue]\nkind = "sim"\n[run]\nstep_ms = 100\nsim_markets = 4\n'
                                               '[oncall]\nrisk = ["ann"]\nsecurity = ["ben"]\n', encoding="utf-8")
    return {**os.environ, "POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"}


def test_a_cli_trip_is_obeyed_while_run_trades(live: dict[str, str], tmp_path: Path) -> None:
    db = Path(live["POLYTRADERS_DB"])
    proc = start(live, tmp_path, "--duration", "60")
    try:
        wait_for(db, "EXEC_RESTING", proc)
        tripped = time.monotonic()
        trip = subprocess.run([*CLI, "killswitch", "trip", "--scope", "global", "--reason", "drill", "--json"],
                              env=live, capture_output=True, text=True, timeout=60)
        assert trip.returncode == 0, trip.stderr
        trip_seq = int(json.loads(trip.stdout)["trip_id"].split("_")[1])
        deadline = time.monotonic() + 30
        while not any(c == "EXEC_CANCEL_ALL" and s > trip_seq for s, c, _ in rows(db)):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        obeyed_s = time.monotonic() - tripped
        print(f"trip obeyed {obeyed_s:.3f} s after the CLI started (CLI start-up included)")
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    after = [c for s, c, _ in rows(db) if s > trip_seq]
    assert "RISK_KILLSWITCH_ARMED" not in after and "EXEC_SUBMITTED" not in after
    report = json.loads(out)
    assert report["stop_reason"] == "SIGTERM" and report["left_resting"] == 0


def test_sigterm_stops_cleanly_and_says_what_it_did(live: dict[str, str], tmp_path: Path) -> None:
    db = Path(live["POLYTRADERS_DB"])
    proc = start(live, tmp_path)
    wait_for(db, "EXEC_RESTING", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["stop_reason"] == "SIGTERM" and report["cancelled_at_exit"] >= 1
    assert report["left_resting"] == 0 and "cancelled" in report["notes"][0]
    codes = [c for _, c, _ in rows(db)]
    assert codes[-1] == "GOV_JOURNAL_DIGEST" and "GOV_RUN_STOPPED" in codes[-4:]
    verify = subprocess.run([*CLI, "journal", "verify", "--json"], env=live, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout
    assert [f for f in json.loads(verify.stdout)["findings"] if f["kind"] == "unanchored"] == []


def test_leaving_orders_on_exit_says_the_exchange_will_cancel_them(live: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "polytraders.toml").write_text('[venue]\nkind = "sim"\n[run]\nstep_ms = 100\nsim_markets = 4\n'
                                               'on_exit = "leave"\n', encoding="utf-8")
    db = Path(live["POLYTRADERS_DB"])
    proc = start(live, tmp_path)
    wait_for(db, "EXEC_RESTING", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    report = json.loads(out)
    assert proc.returncode == 0 and report["left_resting"] >= 1, err
    assert "within about 15 s" in report["notes"][-1]
    assert "GOV_RUN_STOPPING" in [c for _, c, _ in rows(db)]


def test_kill_9_then_restart_rebuilds_and_submits_no_duplicate(live: dict[str, str], tmp_path: Path) -> None:
    db = Path(live["POLYTRADERS_DB"])
    proc = start(live, tmp_path)
    wait_for(db, "EXEC_RESTING", proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = rows(db)
    again = start(live, tmp_path, "--duration", "3")
    out, err = again.communicate(timeout=90)
    assert again.returncode == 0, err
    journal = rows(db)
    restart_seq = next(s for s, c, e in journal if s > len(before) and c == "GOV_SESSION_OPENED")
    adopted = [e for s, c, e in journal if c == "GOV_JOURNAL_DIGEST" and len(before) < s < restart_seq]
    assert adopted and adopted[0]["payload"]["adopted"] is True  # type: ignore[index]
    submitted = [e["payload"]["client_order_id"] for _, c, e in journal if c == "EXEC_SUBMITTED"]  # type: ignore[index]
    assert len(submitted) == len(set(submitted)), "an order was submitted twice"
    verify = subprocess.run([*CLI, "journal", "verify", "--json"], env=live, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout
    kinds = {f["kind"] for f in json.loads(verify.stdout)["findings"]}
    assert "adopted" in kinds


def test_run_refuses_a_simulation_journal_and_a_second_run(live: dict[str, str], tmp_path: Path) -> None:
    sim = tmp_path / "sim.db"
    subprocess.run([*CLI, "demo", "--minutes", "1", "--markets", "2", "--db", str(sim), "--json"], check=True,
                   capture_output=True, cwd=tmp_path)
    refused = subprocess.run([*CLI, "run", "--db", str(sim), "--duration", "1"], env=live, capture_output=True,
                             text=True, cwd=tmp_path)
    assert refused.returncode == 1 and "simulation journal" in refused.stderr
    first = start(live, tmp_path, "--duration", "20")
    try:
        wait_for(Path(live["POLYTRADERS_DB"]), "GOV_RUN_STARTED", first)
        second = subprocess.run([*CLI, "run", "--duration", "1"], env=live, capture_output=True, text=True,
                                cwd=tmp_path)
        assert second.returncode == 1 and "already running" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
