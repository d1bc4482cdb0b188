"""CPU instructions per envelope of the demo, counted by valgrind's callgrind.

Run: python benchmarks/count_instructions.py [--markets 20,40] [--minutes 5] [--seed 7]
On a shared machine CPU time moves with the host's load (the same 20-market hour took 6.6 s and
11 s within minutes); a count of instructions does not, so it shows what a change did to the code.
For each market count it runs the calm demo under callgrind for `--minutes` and for 1 minute (in
parallel, one process each) and prints the instructions per envelope of the difference, which
leaves start-up out, then the ratio between the largest market count and the next smaller one.
Needs `valgrind` on the PATH. Compiled `.pyc` files should exist (`python -m compileall src`):
with PYTHONDONTWRITEBYTECODE set, every start would otherwise compile the sources again. Slow:
callgrind runs the interpreter about 50 times slower.

With `--trips-as automatic,operator,manual` it counts the kill switch's trip window instead
(trip -> cancel-all dispatched -> next intent rejected, as `bench_order_path.py --parts trip`
times it): that bench runs `--trips` trips under callgrind with each window called through
`sys.call_tracing`, a C function nothing else calls, and the inclusive count of that function
divided by the trips is the instructions per window.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from instruction_breakdown import inclusive  # this folder's: the marker counts callgrind gives

_CHILD = """
import sys, tempfile
from pathlib import Path
from polytraders.engine.demo import DemoArgs, run_demo
markets, minutes, seed = map(int, sys.argv[1:4])
with tempfile.TemporaryDirectory() as d:
    summary = run_demo(DemoArgs(minutes=minutes, markets=markets, seed=seed, db=Path(d) / "demo.db"))
print(summary["journal"]["entries"])
"""


def start(markets: int, minutes: int, seed: int, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict orders, so the same work, every run
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", _CHILD,
         str(markets), str(minutes), str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def instructions(out: Path) -> int:
    m = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
    if m is None:
        raise SystemExit(f"{out}: callgrind wrote no summary line")
    return int(m.group(1))


def trip_windows(kinds: list[str], trips: int) -> None:
    bench = Path(__file__).with_name("bench_order_path.py")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {how: subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={Path(tmp) / how}", sys.executable, str(bench),
             "--markets", "20", "--parts", "trip", "--trips", str(trips), "--trips-as", how, "--marked"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})
            for how in kinds}
        for how, proc in runs.items():
            if proc.wait() != 0:
                raise SystemExit(f"the trip bench under callgrind failed ({how}, exit {proc.returncode})")
            window = inclusive(Path(tmp) / how)[1].get("sys_call_tracing")
            if window is None:
                raise SystemExit(f"{how}: callgrind counted no sys_call_tracing")
            print(f"[20 markets] {how} trip window: {window / trips / 1e6:.2f}M "
                  f"instructions per window ({trips} trips)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", default="20,40")
    ap.add_argument("--minutes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--trips-as", default="", help="count trip windows of these kinds instead (see above)")
    ap.add_argument("--trips", type=int, default=20)
    a = ap.parse_args()
    if a.trips_as:
        trip_windows(a.trips_as.split(","), a.trips)
        return
    if a.minutes < 2:
        ap.error("--minutes must be at least 2 (a 1-minute run is subtracted)")
    per_envelope: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for markets in [int(x) for x in a.markets.split(",")]:
            runs = {minutes: (start(markets, minutes, a.seed, Path(tmp) / f"cg.{markets}.{minutes}"),
                              Path(tmp) / f"cg.{markets}.{minutes}") for minutes in (1, a.minutes)}
            counted = {}
            for minutes, (proc, out) in runs.items():
                stdout, _ = proc.communicate()
                if proc.returncode != 0:
                    raise SystemExit(f"the demo under callgrind failed (exit {proc.returncode})")
                counted[minutes] = (instructions(out), int(stdout.split()[-1]))
            (i1, n1), (i2, n2) = counted[1], counted[a.minutes]
            per_envelope[markets] = (i2 - i1) / (n2 - n1)
            print(f"[{markets} markets, seed {a.seed}] {per_envelope[markets] / 1000:.1f}k instructions per "
                  f"envelope ({a.minutes} minutes: {i2:,} for {n2:,} entries; 1 minute: {i1:,} for {n1:,})",
                  flush=True)
    counts = sorted(per_envelope)
    if len(counts) >= 2:
        big, half = counts[-1], counts[-2]
        print(f"instructions per envelope, {big} markets vs {half}: {per_envelope[big] / per_envelope[half]:.3f}x")


if __name__ == "__main__":
    main()
