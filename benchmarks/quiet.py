"""Run a benchmark command several times, each only once the machine is quiet.

Run: python benchmarks/quiet.py [--runs 3] [--load 0.5] [--timeout 900] -- COMMAND...
e.g. python benchmarks/quiet.py --runs 3 -- python benchmarks/bench_demo.py --markets 20 --runs 1

Before each run it waits until the 1-minute load average is under --load (the issue's rule for a
figure in the README), then prints the load it started at and the command's own output. The load
average counts the previous run for about a minute after it ends, so back-to-back runs each wait.
Exits 1 if the machine never got quiet within --timeout seconds, or with the command's code if a run
failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def wait_for_quiet(limit: float, timeout_s: float) -> float | None:
    """The 1-minute load once it is under `limit`; None if it never was within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        load = os.getloadavg()[0]
        if load < limit:
            return load
        if time.monotonic() > deadline:
            return None
        time.sleep(5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--load", type=float, default=0.5, help="start a run only under this 1-minute load")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for quiet per run")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        ap.error("give the command to run after --")
    for run in range(1, a.runs + 1):
        load = wait_for_quiet(a.load, a.timeout)
        if load is None:
            print(f"the 1-minute load stayed at or over {a.load} for {a.timeout:.0f} s; run {run} not started",
                  file=sys.stderr)
            return 1
        print(f"# run {run}/{a.runs} at {time.strftime('%H:%M:%S', time.gmtime())} UTC, "
              f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        code = subprocess.run(command, check=False).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
