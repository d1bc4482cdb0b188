"""`polytraders run` with the real Polymarket adapter against `polytraders exchange serve`: real
processes on loopback. It trades for over a minute with fills arriving from the exchange, obeys
a CLI trip, survives a kill -9 without a duplicate order, runs the API-degraded playbook through
an injected 503 window and a WebSocket stall, and never lets its keys reach the journal or logs."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from factories import journal_rows as rows
from factories import start_run as start
from factories import wait_for

from .helpers import ServerProcess

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]


def setup_run(tmp_path: Path, server: ServerProcess, extra: str = "") -> dict[str, str]:
    db = tmp_path / "live.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True)
    (tmp_path / "polytraders.toml").write_text(
        f'[venue]\nkind = "polymarket"\nclob_url = "{server.url}"\nws_url = "ws://127.0.0.1:{server.port}/ws"\n'
        f'gamma_url = "{server.url}/gamma"\ndata_url = "{server.url}/data-api"\n'
        f'[run]\nstep_ms = 200\n[oncall]\ntrading_ops = ["ann"]\nrisk = ["ann"]\n' + extra, encoding="utf-8")
    key = "0x" + secrets.token_hex(32)
    return {**os.environ, "POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key",
            "POLYTRADERS_WALLET_KEY": key}


def test_run_trades_on_the_exchange_for_a_minute_and_obeys_a_cli_trip(tmp_path: Path) -> None:
    server = ServerProcess("--seed", "5", "--markets", "3", "--taker-delay-ms", "2000")
    try:
        env = setup_run(tmp_path, server)
        db = Path(env["POLYTRADERS_DB"])
        proc = start(env, tmp_path, "--duration", "75")
        try:
            wait_for(db, "EXEC_RESTING", proc)
            time.sleep(50)
            trip = subprocess.run([*CLI, "killswitch", "trip", "--scope", "global", "--reason", "drill", "--json"],
                                  env=env, capture_output=True, text=True, timeout=60)
            assert trip.returncode == 0, trip.stderr
            trip_seq = int(json.loads(trip.stdout)["trip_id"].split("_")[1])
            wait_for(db, "EXEC_CANCEL_ALL", proc, after=trip_seq, timeout=10)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        report = json.loads(out)
        assert report["venue"] == "polymarket" and report["steps"] > 250  # > 60 s of 200 ms steps
        journal = rows(db)
        fills = [e for _, c, e in journal if c in ("EXEC_FILL", "EXEC_PARTIAL_FILL_HANDLED")]
        assert fills, "no fill arrived from the exchange"
        after = [c for s, c, _ in journal if s > trip_seq]
        assert "RISK_KILLSWITCH_ARMED" not in after and "EXEC_SUBMITTED" not in after
        # the keys never reach the journal, the anchors or the logs
        secret = env["POLYTRADERS_WALLET_KEY"].removeprefix("0x")
        for path in tmp_path.rglob("*"):
            if path.is_file() and not path.name.endswith(".key"):
                assert secret.encode() not in path.read_bytes(), path
        assert secret not in out and secret not in err
    finally:
        server.stop()


def test_kill_9_then_restart_on_the_exchange_submits_no_duplicate(tmp_path: Path) -> None:
    server = ServerProcess("--seed", "6", "--markets", "3")
    try:
        env = setup_run(tmp_path, server)
        db = Path(env["POLYTRADERS_DB"])
        proc = start(env, tmp_path)
        wait_for(db, "EXEC_RESTING", proc)
        time.sleep(2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        before = len(rows(db))
        again = start(env, tmp_path, "--duration", "8")
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        journal = rows(db)
        submitted = [e["payload"]["client_order_id"] for _, c, e in journal if c == "EXEC_SUBMITTED"]  # type: ignore[index]
        assert len(submitted) == len(set(submitted)), "an order was submitted twice"
        assert any(c == "GOV_SESSION_OPENED" for s, c, _ in journal if s > before)
        # the exchange holds no order of ours the journal does not know (the restart cancels them at exit)
        state = httpx.get(f"{server.url}/admin/state", timeout=5).json()
        assert json.loads(out)["left_resting"] == 0, state
    finally:
        server.stop()


def test_api_degraded_playbook_under_run_with_a_503_window_and_a_ws_stall(tmp_path: Path) -> None:
    server = ServerProcess("--seed", "7", "--markets", "3")
    monitor = ('[bots."gov.api_degradation_monitor"]\nsummary_interval_s = 2\nprobe_interval_s = 1\n'
               'short_window_s = 6\nlong_window_s = 60\ngreen_before_promote_s = 5\nmax_orderbook_age_ms = 30000\n')
    try:
        env = setup_run(tmp_path, server, monitor)
        db = Path(env["POLYTRADERS_DB"])
        proc = start(env, tmp_path, "--duration", "90")
        try:
            wait_for(db, "EXEC_RESTING", proc)
            time.sleep(3)
            httpx.post(f"{server.url}/admin/faults", timeout=5, json={
                "window": {"status": 503, "surfaces": ["trading", "account"], "seconds": 8, "mode": "disabled"},
                "ws": {"channel": "market", "kind": "stall", "seconds": 8}}).raise_for_status()
            degraded = wait_for(db, "GOV_API_DEGRADED", proc, timeout=30)
            # a book the stall left stale is resynced from REST within the adapter's stale-feed time
            wait_for(db, "GOV_API_RESTORED", proc, after=degraded, timeout=70)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        journal = rows(db)
        holds = [(c, e["payload"]["detail"]["action"]) for _, c, e in journal  # type: ignore[index]
                 if c == "GOV_MODE_HOLD" and e["actor"]["id"] == "playbook:api_degraded"]  # type: ignore[index]
        assert [a for _, a in holds] == ["place", "release"]
        steps = [e["payload"]["detail"]["step"] for _, c, e in journal if c == "GOV_INCIDENT_STEP"  # type: ignore[index]
                 and e["actor"]["id"] == "playbook:api_degraded"]  # type: ignore[index]
        for step in ("demote_strategies", "cancel_unreadable_markets", "watch_and_restore"):
            assert step in steps, steps
        restored = next(s for s, c, _ in journal if c == "GOV_API_RESTORED")
        last_bad = max(s for s, c, e in journal if c in ("GOV_API_DEGRADED", "GOV_API_UNKNOWN") and s < restored)
        assert restored > last_bad
    finally:
        server.stop()
