"""Growth over the demo hour in CPU instructions: minutes 56-60 against minutes 1-5.

Run: python benchmarks/count_growth.py [--markets 40] [--minutes 60] [--seed 7]

`bench_demo.py` measures growth in CPU time, but a 5-minute slice is 0.5-1.6 s of CPU and the
shared host's slow spells move single runs by +-20 %. This runs the demo hour once under valgrind's
callgrind: every step (and every GC freeze) of the first five simulated minutes is called through
`sys.call_tracing`, and of the last five through `operator.call`, C functions nothing else in the
demo calls, so their inclusive counts are the two slices' instructions (start-up left out). It
prints instructions per envelope in each slice and the two ratios (per envelope, per minute).
Needs `valgrind` and compiled `.pyc` files, as `count_instructions.py` does; slow (the 40-market
hour takes about 12 minutes under callgrind).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from instruction_breakdown import inclusive  # this folder's: the marker counts callgrind gives

_CHILD = """
import operator, sys, tempfile
from pathlib import Path
from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.engine.gc_policy import GcPolicy
from polytraders.engine.system import TradingSystem

markets, minutes, seed = map(int, sys.argv[1:4])
first, last = 300, minutes * 60 - 300  # seconds: the first slice ends, the last one starts after
step, freeze = TradingSystem.step, GcPolicy.freeze
count = [0]
seqs = {}

def via(f, *a):
    n = count[0]
    if 1 <= n <= first:
        return sys.call_tracing(f, a)
    if n > last:
        return operator.call(f, *a)
    return f(*a)

def counted_step(self, now):
    count[0] += 1
    n = count[0]
    if n in (1, last + 1):
        seqs[n] = self.runtime.state.last_seq
    out = via(step, self, now)
    if n in (first, minutes * 60):
        seqs[n] = self.runtime.state.last_seq
    return out

TradingSystem.step = counted_step
GcPolicy.freeze = lambda self: via(freeze, self)
with tempfile.TemporaryDirectory() as d:
    run_demo(DemoArgs(minutes=minutes, markets=markets, seed=seed, db=Path(d) / "demo.db"))
print(seqs[first] - seqs[1], seqs[minutes * 60] - seqs[last + 1])
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=40)
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if a.minutes < 10:
        ap.error("--minutes must be at least 10 (two 5-minute slices)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg"
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", _CHILD,
             str(a.markets), str(a.minutes), str(a.seed)],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"the demo under callgrind failed (exit {proc.returncode})")
        head_n, tail_n = map(int, proc.stdout.split()[-2:])
        counts = inclusive(out)[1]
    head, tail = counts.get("sys_call_tracing"), counts.get("_operator_call")
    if head is None or tail is None:
        raise SystemExit("callgrind counted no marker function: is valgrind's output complete?")
    print(f"[{a.markets} markets, seed {a.seed}] minutes 1-5: {head / head_n / 1000:.1f}k instructions per "
          f"envelope ({head_n:,} envelopes); minutes {a.minutes - 4}-{a.minutes}: {tail / tail_n / 1000:.1f}k "
          f"({tail_n:,}); growth per envelope {(tail / tail_n) / (head / head_n):.3f}x, per minute "
          f"{tail / head:.3f}x", flush=True)


if __name__ == "__main__":
    main()
