"""A manual trip is a real incident, with real processes on one live journal (the simulator as
venue): with no system running the operator's CLI opens the incident itself and the next `run`
cancels the resting orders before it trades; with a system running, the system opens it (after
the commander's confirmation) and cancels at once. Either way `orders --open` ends empty."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from factories import journal_rows as rows

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]
TOML = ('[venue]\nkind = "sim"\n[run]\nstep_ms = 100\nsim_markets = 4\non_exit = "leave"\n'
        '[oncall]\nrisk = ["ann"]\n[bots."exec.order_lifecycle_manager"]\nreconcile_interval_s = 1\n')


@pytest.fixture
def live(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "live.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True)
    (tmp_path / "polytraders.toml").write_text(TOML, encoding="utf-8")
    return {**os.environ, "POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"}


def cli(env: dict[str, str], cwd: Path, *args: str) -> Any:
    proc = subprocess.run([*CLI, *args, "--json"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def run_for(env: dict[str, str], cwd: Path, seconds: float) -> None:
    proc = subprocess.run([*CLI, "run", "--json", "--duration", str(seconds)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_manual_trip_with_no_system_running_is_an_incident_and_the_next_run_cancels_first(
        live: dict[str, str], tmp_path: Path) -> None:
    db = Path(live["POLYTRADERS_DB"])
    run_for(live, tmp_path, 2)  # leaves its quotes resting
    resting = cli(live, tmp_path, "orders", "--open")
    assert resting, "the first run left no resting orders to protect"

    trip = cli(live, tmp_path, "killswitch", "trip", "--scope", "global", "--reason", "drill")
    assert trip["system_running"] is False
    incident = trip["incident_id"]
    trip_seq = int(trip["trip_id"].split("_")[1])
    assert incident.startswith(f"inc_{trip_seq}_")

    shown = cli(live, tmp_path, "incidents", "show", incident)
    steps = shown["steps"]
    assert steps["confirm"]["status"] == "done" and steps["capture_state"]["status"] == "done"
    assert steps["page_oncall"]["status"] == "done"
    assert steps["page_oncall"]["result"] == "no pager configured, posted to the channel"
    assert steps["reset_kill_switch"]["status"] == "pending"
    assert shown["commander"] == "ann" and shown["snapshot"]["file_matches_journal"] is True
    # the snapshot holds the orders resting at the trip, before any remedy
    snap = cli(live, tmp_path, "snapshot", "show", incident)["snapshot"]
    assert snap["as_of_trigger"]["seq"] == trip_seq
    assert sorted(o["client_order_id"] for o in snap["as_of_trigger"]["open_orders"]) == \
        sorted(o["client_order_id"] for o in resting)
    # every entry of the incident is the operator's, signed: the journal still verifies
    incident_rows = [e for s, c, e in rows(db) if s > trip_seq and c.startswith("GOV_")]
    assert incident_rows and all(e["actor"] == {"kind": "operator", "id": "ann"} for e in incident_rows)
    channel = [json.loads(line) for line in (Path(f"{db}.incidents") / "channel.jsonl").read_text().splitlines()]
    assert [c["action"] for c in channel][:2] == ["opened", "page"]
    assert {c["incident_id"] for c in channel} == {incident}

    before = len(rows(db))
    run_for(live, tmp_path, 4)
    second = [(s, c, e) for s, c, e in rows(db) if s > before]
    cancel_all = next(s for s, c, e in second if c == "EXEC_CANCEL_ALL")
    assert sorted(next(e for s, c, e in second if c == "EXEC_CANCEL_ALL")["payload"]["detail"]["orders"]) == \
        sorted(o["client_order_id"] for o in resting)
    assert not [s for s, c, _ in second if c in ("EXEC_SUBMITTED", "EXEC_RESTING") and s > cancel_all]
    assert [c for _, c, _ in second].count("GOV_INCIDENT_DECLARED") == 0  # the CLI already opened it
    assert cli(live, tmp_path, "orders", "--open") == []
    verify = subprocess.run([*CLI, "journal", "verify", "--json"], env=live, cwd=tmp_path, capture_output=True,
                            text=True)
    assert verify.returncode == 0, verify.stdout


def test_a_manual_trip_while_run_trades_is_opened_by_the_system(live: dict[str, str], tmp_path: Path) -> None:
    db = Path(live["POLYTRADERS_DB"])
    proc = subprocess.Popen([*CLI, "run", "--json", "--duration", "60"], env=live, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while "EXEC_RESTING" not in [c for _, c, _ in rows(db)]:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        trip = cli(live, tmp_path, "killswitch", "trip", "--scope", "global", "--reason", "drill")
        assert trip["system_running"] is True and trip["incident_id"] is None
        trip_seq = int(trip["trip_id"].split("_")[1])
        while not any(c == "GOV_INCIDENT_STEP" and e["payload"]["detail"].get("step") == "run_replay_last_hour"
                      for s, c, e in rows(db) if s > trip_seq):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    after = [(s, c, e) for s, c, e in rows(db) if s > trip_seq]
    codes = [c for _, c, _ in after]
    # protection first, then the commander's confirmation, then the incident
    cancel = codes.index("EXEC_CANCEL_ALL")
    decided = next(i for i, (_, c, e) in enumerate(after)
                   if c == "GOV_ALERT_CONFIRMED" and e["actor"]["id"] == "gov.incident_commander")
    declared = codes.index("GOV_INCIDENT_DECLARED")
    assert cancel < decided < declared
    inc = after[declared][2]["payload"]
    assert inc["incident_id"].startswith(f"inc_{trip_seq}_") and inc["trigger"] == "manual"
    assert after[declared][2]["actor"] == {"kind": "system", "id": "playbook:kill_switch"}
    assert cli(live, tmp_path, "orders", "--open") == []
