"""A trip made from another process is obeyed by the running system: real processes, random
moments. The running system is `polytraders demo` (simulated time, as fast as the CPU goes: the
hardest case, since it holds the journal's write lock most of the time); the trip is
`polytraders killswitch trip` signed with a genesis admin's key file."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import journal_count as _count
from factories import journal_rows as _rows

pytestmark = pytest.mark.slow
DEMO = [sys.executable, "-m", "polytraders.cli.main"]


@pytest.mark.parametrize("run", range(20))
def test_a_trip_from_another_process_is_obeyed_with_no_approval_after_it(tmp_path: Path, run: int) -> None:
    rng = random.Random(1000 + run)
    db = tmp_path / "live.db"
    env = {**os.environ, "POLYTRADERS_DB": str(db)}
    env.pop("POLYTRADERS_KEY_FILE", None)
    demo = subprocess.Popen([*DEMO, "demo", "--minutes", "600", "--markets", str(rng.choice((4, 8, 12))),
                             "--seed", str(run), "--json"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wanted = rng.randrange(1_500, 9_000)  # trip at a random moment of the session
        deadline = time.monotonic() + 60
        while _count(db) < wanted:
            assert demo.poll() is None, demo.stderr.read() if demo.stderr else ""
            assert time.monotonic() < deadline, "the demo never got going"
            time.sleep(0.02)
        trip = subprocess.run([*DEMO, "killswitch", "trip", "--scope", "global", "--reason", f"drill {run}",
                               "--json"], env={**env, "POLYTRADERS_KEY_FILE": str(db) + ".keys/root.key"},
                              capture_output=True, text=True, timeout=60)
        assert trip.returncode == 0, trip.stderr
        out = json.loads(trip.stdout)
        # the running system must answer the trip: cancel-all, journaled after the trip
        deadline = time.monotonic() + 30
        while True:
            rows = _rows(db)
            trip_seq = next(s for s, code, env_ in rows if code == "RISK_KILLSWITCH_TRIPPED"
                            and env_["actor"] == {"kind": "operator", "id": "root"})
            if any(code == "EXEC_CANCEL_ALL" and s > trip_seq for s, code, _ in rows):
                break
            assert time.monotonic() < deadline, "the running system never cancelled after the trip"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.1, 0.5))  # let it run on, tripped
    finally:
        demo.send_signal(signal.SIGKILL)
        demo.wait(timeout=30)
    rows = _rows(db)
    trip_seq = next(s for s, code, env_ in rows if code == "RISK_KILLSWITCH_TRIPPED"
                    and env_["actor"] == {"kind": "operator", "id": "root"})
    assert out["trip_id"] == f"ks_{trip_seq}_manual"
    after = [(s, code) for s, code, env_ in rows if s > trip_seq]
    approvals = [s for s, code in after if code == "RISK_KILLSWITCH_ARMED"]
    submits = [s for s, code in after if code in ("EXEC_SUBMITTED", "SEC_ORDER_SIGNED")]
    assert approvals == [] and submits == [], (trip_seq, approvals[:3], submits[:3])
    assert any(code == "RISK_KILLSWITCH_ACTIVE" for _, code in after) or not any(
        code == "STRAT_QUOTE_REFRESHED" for _, code in after)
    # the strategy is halted by the trip itself (no hold is journaled for it): once the trip is
    # protected, it decides nothing more
    cancel_seq = next(s for s, code in after if code == "EXEC_CANCEL_ALL")
    assert not [s for s, _, env_ in rows if s > cancel_seq and env_["actor"]["id"] == "strat.maker_tight"]  # type: ignore[index]
    assert not [s for s, code in after if code == "GOV_MODE_HOLD"]
