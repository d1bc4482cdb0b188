"""Where the demo's instructions per envelope go, per function, counted by valgrind's callgrind.

Run: python benchmarks/instruction_breakdown.py [--parts order] [--markets 20,40] [--minutes 5]

Callgrind sees only C functions, and under CPython 3.11 every Python function is the same
`_PyEval_EvalFrameDefault`. So each Python function to measure is called through a different C
function that nothing else in the demo calls (`sys.call_tracing`, `operator.call`,
`itertools.starmap`, ...): that C function's inclusive count is the Python function's cost,
everything it calls included. Like `count_instructions.py`, each market count runs for
`--minutes` and for 1 minute and divides the difference by the difference in entries (start-up
left out). The wrappers cost a few hundred instructions a call, counted in what they wrap.

`--parts` picks one set of eight functions (`PARTS`); nested parts are fine (the inclusive count
of the outer one holds the inner one's). Needs `valgrind` and compiled `.pyc` files, as
`count_instructions.py` does; slow (four runs under callgrind, two at a time).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# C functions the demo itself never calls, each the marker of one wrapped function
MARKERS = ("sys_call_tracing", "_operator_call", "starmap_next", "functools_reduce",
           "takewhile_next", "dropwhile_next", "filterfalse_next", "accumulate_next")

# (module, class, method) per part set, in marker order
PARTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "top": (
        ("polytraders.engine.system", "TradingSystem", "_quote"),
        ("polytraders.bots.exec.order_lifecycle_manager", "OrderLifecycleManager", "on_venue_events"),
        ("polytraders.venues.sim.venue", "SimVenue", "advance"),
        ("polytraders.engine.feed", "MarketFeed", "poll"),
        ("polytraders.runtime.runner", "Runtime", "record"),
        ("polytraders.state.store", "StateStore", "checkpoint_contract"),
        ("polytraders.engine.system", "TradingSystem", "stop"),
        ("polytraders.execution.signer_service", "SignerService", "sign"),
    ),
    "order": (
        ("polytraders.journal.sqlite", "SqliteJournal", "append"),
        ("polytraders.state.store", "StateStore", "apply"),
        ("polytraders.runtime.runner", "Runtime", "_notify"),
        ("polytraders.journal.sqlite", "SqliteJournal", "flush"),
        ("polytraders.runtime.runner", "Runtime", "decide"),
        ("polytraders.bots.exec.order_lifecycle_manager", "OrderLifecycleManager", "submit"),
        ("polytraders.runtime.runner", "Runtime", "evaluate"),
        ("polytraders.bots.exec.order_lifecycle_manager", "OrderLifecycleManager", "cancel"),
    ),
    "journal": (
        ("polytraders.journal.sqlite", "SqliteJournal", "_insert"),
        ("polytraders.journal.sqlite", "SqliteJournal", "_write_rows"),
        ("polytraders.journal.sqlite", "SqliteJournal", "_begin"),
        ("polytraders.contracts.envelope", "ReportEnvelope", "to_json_dict"),
        ("polytraders.bots.exec.order_lifecycle_manager", "OrderLifecycleManager", "_transition"),
        ("polytraders.runtime.runner", "Runtime", "begin_decision"),
        ("polytraders.runtime.runner", "Runtime", "record_decision"),
        ("polytraders.execution.signer_service", "SignerService", "prepare"),
    ),
}

_CHILD = """
import functools, importlib, itertools, operator, sys, tempfile
from pathlib import Path

def m0(t): return sys.call_tracing(t, ())
def m1(t): return operator.call(t)
def m2(t): return next(itertools.starmap(t, ((),)))
def m3(t): return functools.reduce(lambda a, b: t(), (0, 0))
def _boxed(make):
    def marker(t):
        box = []
        next(make(lambda _: box.append(t()) or make is itertools.takewhile, (0,)))
        return box[0]
    return marker
m4, m5, m6 = _boxed(itertools.takewhile), _boxed(itertools.dropwhile), _boxed(itertools.filterfalse)
def m7(t): return list(itertools.accumulate((0, 0), lambda a, b: t()))[-1]

def wrap(cls, name, marker):
    inner = getattr(cls, name)
    def wrapper(*a, **k):
        return marker(lambda: inner(*a, **k))
    setattr(cls, name, wrapper)

markers = (m0, m1, m2, m3, m4, m5, m6, m7)
for marker, spec in zip(markers, sys.argv[4].split(";")):
    module, cls, name = spec.split(":")
    wrap(getattr(importlib.import_module(module), cls), name, marker)
from polytraders.engine.demo import DemoArgs, run_demo
markets, minutes, seed = map(int, sys.argv[1:4])
with tempfile.TemporaryDirectory() as d:
    summary = run_demo(DemoArgs(minutes=minutes, markets=markets, seed=seed, db=Path(d) / "demo.db"))
print(summary["journal"]["entries"])
"""


def start(markets: int, minutes: int, seed: int, parts: str, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", _CHILD,
         str(markets), str(minutes), str(seed), parts],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def inclusive(out: Path) -> tuple[int, dict[str, int]]:
    """The run's total and each marker's inclusive count (its first, outermost line)."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
                          capture_output=True, text=True, check=True).stdout
    total = re.search(r"^\s*([\d,]+) \([ \d.]+%\)\s+PROGRAM TOTALS", text, re.MULTILINE)
    if total is None:
        raise SystemExit(f"{out}: callgrind_annotate printed no total")
    found: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+\S*?:(\w+) \[", line)
        if m and m.group(2) in MARKERS and m.group(2) not in found:
            found[m.group(2)] = int(m.group(1).replace(",", ""))
    return int(total.group(1).replace(",", "")), found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", choices=sorted(PARTS), default="top")
    ap.add_argument("--markets", default="20,40")
    ap.add_argument("--minutes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if a.minutes < 2:
        ap.error("--minutes must be at least 2 (a 1-minute run is subtracted)")
    parts = PARTS[a.parts]
    spec = ";".join(":".join(p) for p in parts)
    names = ["TOTAL"] + [f"{cls}.{name}" for _, cls, name in parts]
    per_env: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for markets in [int(x) for x in a.markets.split(",")]:
            runs = {m: start(markets, m, a.seed, spec, Path(tmp) / f"cg.{markets}.{m}") for m in (1, a.minutes)}
            counted = {}
            for minutes, proc in runs.items():
                stdout, _ = proc.communicate()
                if proc.returncode != 0:
                    raise SystemExit(f"the demo under callgrind failed (exit {proc.returncode})")
                total, found = inclusive(Path(tmp) / f"cg.{markets}.{minutes}")
                counted[minutes] = ([total] + [found.get(mk, 0) for mk in MARKERS[:len(parts)]],
                                    int(stdout.split()[-1]))
            (c1, n1), (c2, n2) = counted[1], counted[a.minutes]
            per_env[markets] = {name: (x2 - x1) / (n2 - n1) for name, x1, x2 in zip(names, c1, c2, strict=True)}
    counts = sorted(per_env)
    print(f"instructions per envelope (thousands), seed {a.seed}, {a.minutes} minutes less 1; "
          f"parts {a.parts!r}")
    print(f"{'':46s}" + "".join(f"{m:>10d}" for m in counts))
    for name in names:
        print(f"{name:46s}" + "".join(f"{per_env[m][name] / 1000:10.1f}" for m in counts))


if __name__ == "__main__":
    main()
