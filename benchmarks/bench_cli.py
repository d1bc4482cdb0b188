"""CLI start-up and reads on a long journal, each command a real process.

Run: python benchmarks/bench_cli.py [--entries 100000] [--runs 5] [--db PATH]
Builds a journal of about `--entries` entries from the calm demo (20 markets), left as a
running system leaves it: no final checkpoint and digest, only the periodic ones (the worst
case for a reader). `--stopped` ends it the way `demo` does instead. Then times, `--runs`
times each: `polytraders --help`, `killswitch status`, `orders`, `orders --json`, `positions`,
`incidents list`, `trace <the last decision>`, and prints the median and the worst wall time
(p99 at this run count) and the median CPU time of the process. `--db` reuses a journal built before.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from polytraders.engine.demo import DEMO_START_MS, STEP_MS, sim_genesis
from polytraders.engine.kill_switch_ops import halt_path
from polytraders.engine.scenarios import write_crew_keys
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.journal.sqlite import create_journal, open_journal
from polytraders.venues.sim import SimVenue


def build(db: Path, entries: int, *, stopped: bool, markets: int = 20, seed: int = 7) -> None:
    genesis, system_key = sim_genesis(seed, "calm", DEMO_START_MS)
    journal = create_journal(db, genesis, synchronous="NORMAL", lock_timeout_s=1.0)
    write_crew_keys(db, seed)
    venue = SimVenue(seed, markets, DEMO_START_MS)
    system = TradingSystem(journal, venue, SystemConfig(seed=seed, n_markets=markets, start_ms=DEMO_START_MS,
                                                        system_signer=system_key, halt_path=halt_path(db)))
    system.start()
    second = 0
    while system.runtime.state.last_seq < entries:
        second += 1
        system.step(DEMO_START_MS + second * STEP_MS)
    if stopped:
        system.stop()
    journal.close()


def last_intent(db: Path) -> str:
    with open_journal(db, readonly=True) as j:
        row = j._db.execute("SELECT correlation_id FROM journal WHERE kind = ? AND correlation_id IS NOT NULL "
                            "ORDER BY seq DESC LIMIT 1",
                            (b"decision_record",)).fetchone()  # every order-path decision
    return bytes(row[0]).decode()


def time_cmd(args: list[str], runs: int) -> tuple[float, float, float, int]:
    """(median wall, worst wall, median CPU of the process, exit code). On a loaded machine
    the CPU figure is the steadier one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYTRADERS_")}
    times, cpus = [], []
    code = 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        ran = subprocess.run([sys.executable, "-m", "polytraders.cli.main", *args], env=env,
                             capture_output=True, timeout=600)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        code = ran.returncode
    return statistics.median(times), max(times), statistics.median(cpus), code


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--stopped", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        db = a.db
        if db is None or not db.exists():
            db = db or Path(d) / "long.db"
            t0 = time.perf_counter()
            build(db, a.entries, stopped=a.stopped)
            print(f"built {db} in {time.perf_counter() - t0:.0f} s", flush=True)
        with open_journal(db, readonly=True) as j:
            n = j.head()[0]
        print(f"journal: {n:,} entries, {db.stat().st_size / n:,.0f} B per entry on disk")
        corr = last_intent(db)
        cases = {
            "--help": ["--help"],
            "killswitch status": ["killswitch", "status", "--db", str(db)],
            "orders": ["orders", "--db", str(db)],
            "orders --json": ["orders", "--json", "--db", str(db)],
            "positions": ["positions", "--db", str(db)],
            "incidents list": ["incidents", "list", "--db", str(db)],
            "trace": ["trace", corr, "--db", str(db)],
        }
        for name, args in cases.items():
            med, worst, cpu, code = time_cmd(args, a.runs)
            print(f"{name:20s} median {med * 1000:6.0f} ms  worst {worst * 1000:6.0f} ms  "
                  f"CPU median {cpu * 1000:6.0f} ms  exit {code}", flush=True)


if __name__ == "__main__":
    main()
