"""CPU instructions per envelope of the demo, counted by valgrind's callgrind.

Run: python benchmarks/count_instructions.py [--markets 20,40] [--minutes 5] [--seed 7 | --seeds 1-7]
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

With `--seeds 1-7` it counts each seed's demo at each market count and asks whether cost is linear
in the work done, whatever a seed's mix of markets: it fits the instructions of every counted
window to `a * market-data updates + x * orders` (least squares), once per market count and once
over all of them, and then the same with one more term, `k * envelopes` for the largest market
count only. A cost that grows with the number of markets (a scan over them, bigger state per
envelope) shows as k > 0 and as a worse fit of the shared model; the ratio per seed that the
shared model predicts, next to the measured one, shows how much of it the mix explains.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from instruction_breakdown import inclusive  # this folder's: the marker counts callgrind gives

_CHILD = """
import sys, tempfile
from pathlib import Path
from polytraders.engine.demo import DemoArgs, run_demo
markets, minutes, seed = map(int, sys.argv[1:4])
with tempfile.TemporaryDirectory() as d:
    summary = run_demo(DemoArgs(minutes=minutes, markets=markets, seed=seed, db=Path(d) / "demo.db"))
codes = summary["reason_codes"]
print(summary["journal"]["entries"], codes.get("GOV_MARKET_DATA", 0), codes.get("SEC_ORDER_SIGNED", 0))
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


class Window(NamedTuple):
    """What one seed's demo did between minute 1 and minute `--minutes` at one market count."""

    instructions: int
    entries: int
    market_data: int
    orders: int


def count_window(markets: int, minutes: int, seed: int, tmp: Path) -> Window:
    """Run the demo for 1 and for `minutes` minutes under callgrind, in parallel; the difference."""
    runs = {m: (start(markets, m, seed, tmp / f"cg.{seed}.{markets}.{m}"), tmp / f"cg.{seed}.{markets}.{m}")
            for m in (1, minutes)}
    counted = {}
    for m, (proc, out) in runs.items():
        stdout, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"the demo under callgrind failed (exit {proc.returncode})")
        entries, market_data, orders = map(int, stdout.split()[-3:])
        counted[m] = Window(instructions(out), entries, market_data, orders)
    short, long = counted[1], counted[minutes]
    window = Window(*(b - a for a, b in zip(short, long, strict=True)))
    print(f"[{markets} markets, seed {seed}] {window.instructions / window.entries / 1000:.1f}k instructions per "
          f"envelope ({minutes} minutes: {long.instructions:,} for {long.entries:,} entries; 1 minute: "
          f"{short.instructions:,} for {short.entries:,}); {1000 * window.orders / window.entries:.1f} orders "
          f"per 1,000 envelopes", flush=True)
    return window


def least_squares(rows: list[list[float]], ys: list[float]) -> list[float]:
    """Coefficients minimising the squared error of `rows @ c` against `ys` (normal equations,
    solved by Gaussian elimination: a handful of unknowns, no library needed)."""
    n = len(rows[0])
    m = [[sum(r[i] * r[j] for r in rows) for j in range(n)] + [sum(r[i] * y for r, y in zip(rows, ys, strict=True))]
         for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit_work(windows: dict[tuple[int, int], Window]) -> None:
    """Is the cost linear in the work? See the module's docstring."""
    counts = sorted({markets for _, markets in windows})
    big, half = counts[-1], counts[-2]

    def fitted(keys: list[tuple[int, int]]) -> tuple[list[float], float]:
        ws = [windows[k] for k in keys]
        coef = least_squares([[w.market_data, w.orders] for w in ws], [w.instructions for w in ws])
        worst = max(abs(w.instructions - coef[0] * w.market_data - coef[1] * w.orders) / w.instructions for w in ws)
        return coef, worst

    print(f"instructions = a * market-data update + x * order, fitted over {len(windows)} windows:")
    for markets in [*counts, None]:
        coef, worst = fitted([k for k in windows if markets is None or k[1] == markets])
        label = f"{markets} markets" if markets is not None else "all, one model"
        print(f"  {label:16s} a = {coef[0] / 1000:.0f}k, x = {coef[1] / 1e6:.2f}M; "
              f"largest miss {100 * worst:.1f} % of a window")
    ws = list(windows.items())
    extra = least_squares([[w.market_data, w.orders, w.entries if k[1] == big else 0] for k, w in ws],
                          [w.instructions for _, w in ws])
    big_entries = sum(w.entries for k, w in ws if k[1] == big)
    big_instructions = sum(w.instructions for k, w in ws if k[1] == big)
    print(f"  with k * envelope at {big} markets only: k = {extra[2] / 1000:+.1f}k instructions per envelope "
          f"({100 * extra[2] * big_entries / big_instructions:+.1f} % of the {big}-market windows)")
    coef, _ = fitted(list(windows))
    print(f"{big} vs {half} markets per envelope, measured and as the one model (no market term) predicts:")
    for seed in sorted({s for s, _ in windows}):
        w_big, w_half = windows[(seed, big)], windows[(seed, half)]
        model = [(coef[0] * w.market_data + coef[1] * w.orders) / w.entries for w in (w_big, w_half)]
        measured = w_big.instructions / w_big.entries / (w_half.instructions / w_half.entries)
        print(f"  seed {seed}: measured {measured:.3f}x, model {model[0] / model[1]:.3f}x")


def seeds_of(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last) + 1)) if last else [int(x) for x in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", default="20,40")
    ap.add_argument("--minutes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seeds", default="", help="several seeds (1-7 or 1,3,7) and a fit of cost against work")
    ap.add_argument("--trips-as", default="", help="count trip windows of these kinds instead (see above)")
    ap.add_argument("--trips", type=int, default=20)
    a = ap.parse_args()
    if a.trips_as:
        trip_windows(a.trips_as.split(","), a.trips)
        return
    if a.minutes < 2:
        ap.error("--minutes must be at least 2 (a 1-minute run is subtracted)")
    seeds = seeds_of(a.seeds) if a.seeds else [a.seed]
    counts = sorted(int(x) for x in a.markets.split(","))
    windows: dict[tuple[int, int], Window] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for markets in counts:
                windows[(seed, markets)] = count_window(markets, a.minutes, seed, Path(tmp))
            if len(counts) >= 2:
                w_big, w_half = windows[(seed, counts[-1])], windows[(seed, counts[-2])]
                print(f"instructions per envelope, {counts[-1]} markets vs {counts[-2]}, seed {seed}: "
                      f"{w_big.instructions / w_big.entries / (w_half.instructions / w_half.entries):.3f}x",
                      flush=True)
    if len(seeds) >= 3 and len(counts) >= 2:
        fit_work(windows)


if __name__ == "__main__":
    main()
