"""A trip committed while `polytraders run` trades, the run process killed -9 before it could fold
the trip (stopped first, so it never protects, halts or journals anything after it): on restart
the strategy is halted from the start and nothing trades; `health` shows it halted by the kill
switch; after a two-person reset a restarted run trades again. Real processes throughout: the
halt is derived from the journaled trip, so no hold note has to survive the crash."""

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
from factories import start_run as run
from factories import wait_for

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]
STRATEGY = "strat.maker_tight"
TRADING = ("EXEC_SUBMITTED", "SEC_ORDER_SIGNED", "RISK_KILLSWITCH_ARMED")


def cli(env: dict[str, str], who: str, *args: str) -> tuple[int, Any]:
    db = env["POLYTRADERS_DB"]
    done = subprocess.run([*CLI, *args, "--json"], env={**env, "POLYTRADERS_KEY_FILE": f"{db}.keys/{who}.key"},
                          capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else done.stderr


def strategy_entries(db: Path, after: int) -> list[tuple[int, str]]:
    return [(s, c) for s, c, e in rows(db) if s > after and e["actor"]["id"] == STRATEGY]


def test_a_run_killed_right_after_a_trip_restarts_halted_and_resumes_after_the_reset(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True)
    (tmp_path / "polytraders.toml").write_text('[venue]\nkind = "sim"\n[run]\nstep_ms = 100\nsim_markets = 4\n',
                                               encoding="utf-8")
    env = {**os.environ, "POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"}  # run's operator

    first = run(env, tmp_path)
    try:
        wait_for(db, "EXEC_RESTING", first)
        for _ in range(20):  # stopped between steps, so the trip gets the write lock (else: the halt file)
            first.send_signal(signal.SIGSTOP)
            code, out = cli(env, "ann", "killswitch", "trip", "--scope", "global", "--reason", "drill")
            if code == 0 and "trip_id" in out:
                break
            assert code == 0, out
            halt = Path(str(db) + ".halt")
            assert halt.exists(), out
            halt.unlink()  # the test's own halt file: the CLI created it for this drill
            first.send_signal(signal.SIGCONT)
            time.sleep(0.2)
        else:
            pytest.fail("the trip never got the journal's write lock")
        trip_id = out["trip_id"]
    finally:
        first.send_signal(signal.SIGKILL)  # stopped: it never folded the trip
        first.wait(timeout=30)
    trip_seq = int(trip_id.split("_")[1])
    journal = rows(db)
    assert journal[-1][0] == trip_seq, "the killed run journaled nothing after the trip"
    assert not [s for s, c, _ in journal if c == "EXEC_CANCEL_ALL" and s > trip_seq]

    code, health = cli(env, "ann", "health")
    assert code == 0, health
    assert health["halted_by_kill_switch"] == [STRATEGY]

    again = run(env, tmp_path, "--duration", "2")
    out_, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    restarted = next(s for s, c, _ in rows(db) if s > trip_seq and c == "GOV_SESSION_OPENED")
    after = [c for s, c, _ in rows(db) if s > trip_seq]
    assert "EXEC_CANCEL_ALL" in after, "the restart protects the trip it never saw"
    assert not [c for c in after if c in TRADING], "nothing trades after the restart"
    # the strategy is off from the start: it never decides (its mode-setting notes are the system's)
    assert strategy_entries(db, restarted) == []
    assert "GOV_MODE_HOLD" not in [c for _, c, _ in rows(db)], "the halt is derived, never journaled"
    code, health = cli(env, "ann", "health")
    assert code == 0 and health["halted_by_kill_switch"] == [STRATEGY], health
    code, status = cli(env, "ann", "killswitch", "status")
    assert code == 0 and status["state"] == "tripped", status

    code, req = cli(env, "ann", "killswitch", "request-reset", trip_id)
    assert code == 0, req
    code, done = cli(env, "ben", "killswitch", "approve-reset", req["request_id"])
    assert code == 0, done
    reset_seq = rows(db)[-1][0]
    code, health = cli(env, "ann", "health")
    assert code == 0 and health["halted_by_kill_switch"] == [], health

    third = run(env, tmp_path, "--duration", "30")
    try:
        wait_for(db, "EXEC_SUBMITTED", third, after=reset_seq)  # trading resumed: the reset released the halt
    finally:
        third.send_signal(signal.SIGTERM)
        third.communicate(timeout=60)
    assert strategy_entries(db, reset_seq), "the strategy decides again"
