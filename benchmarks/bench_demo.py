"""The demo hour: CPU, cost per envelope, growth over the hour, and scaling with markets.

Run: python benchmarks/bench_demo.py [--minutes 60] [--markets 5,10,20,40] [--runs 3]
For each market count, runs the calm demo in this process `--runs` times and prints:
- CPU seconds (process time) and wall seconds for the whole run (median of runs, and max);
- envelopes journaled and CPU µs per envelope, and CPU µs per simulated market-minute (the
  workload's own unit: a market whose book moves more journals more envelopes per minute);
- growth: CPU per simulated minute in the last 5 minutes over the first 5 (1.0 = flat);
- per-minute CPU median and p99 (ms), and bytes on disk per envelope;
- with --replay: CPU to replay the hour, and how many times faster than real time.
The last lines compare µs per envelope and per market-minute at the largest market count with
the next smaller one.

A/B: run it twice with different source trees, alternating, in one session, e.g.
  for i in 1 2 3; do PYTHONPATH=old/src python benchmarks/bench_demo.py --runs 1 --markets 20;
                     PYTHONPATH=src python benchmarks/bench_demo.py --runs 1 --markets 20; done
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.journal.sqlite import open_journal
from polytraders.replay.engine import replay


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def one_run(markets: int, minutes: int, seed: int, with_replay: bool) -> dict[str, Any]:
    marks: list[float] = []

    def progress(_minute: int, _total: int) -> None:
        marks.append(time.process_time())

    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "demo.db"
        args = DemoArgs(minutes=minutes, markets=markets, seed=seed, db=db)
        c0, w0 = time.process_time(), time.perf_counter()
        summary = run_demo(args, progress=progress)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        size = db.stat().st_size + sum(p.stat().st_size for p in Path(d).glob("demo.db-wal"))
        replay_s = verdict = None
        if with_replay:
            with open_journal(db, readonly=True) as j:
                r0 = time.process_time()
                report = replay(j, window_ms=minutes * 60_000)
                replay_s, verdict = time.process_time() - r0, report.verdict
    per_minute = [b - a for a, b in zip([c0, *marks], marks, strict=False)]
    head, tail = per_minute[:5], per_minute[-5:]
    entries = int(summary["journal"]["entries"])
    return {"cpu_s": cpu, "wall_s": wall, "entries": entries, "us_per_envelope": cpu / entries * 1e6,
            "us_per_market_minute": cpu / (markets * minutes) * 1e6,
            "growth": (sum(tail) / sum(head)) if head and sum(head) else float("nan"),
            "minute_ms": [m * 1000 for m in per_minute], "bytes_per_envelope": size / entries,
            "head_hash": summary["journal"]["head_hash"], "replay_cpu_s": replay_s, "replay_verdict": verdict}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--markets", default="5,10,20,40")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--replay", action="store_true", help="also replay each run's hour (CPU, speed-up)")
    a = ap.parse_args()
    results: dict[int, list[dict[str, Any]]] = {}
    for m in [int(x) for x in a.markets.split(",")]:
        results[m] = [one_run(m, a.minutes, a.seed, a.replay) for _ in range(a.runs)]
        rs = results[m]
        minutes = [x for r in rs for x in r["minute_ms"]]
        line = {
            "markets": m, "minutes": a.minutes, "runs": len(rs),
            "cpu_s_median": round(statistics.median(r["cpu_s"] for r in rs), 2),
            "cpu_s_max": round(max(r["cpu_s"] for r in rs), 2),
            "wall_s_median": round(statistics.median(r["wall_s"] for r in rs), 2),
            "entries": rs[0]["entries"],
            "us_per_envelope_median": round(statistics.median(r["us_per_envelope"] for r in rs), 1),
            "us_per_market_minute_median": round(statistics.median(r["us_per_market_minute"] for r in rs)),
            "growth_last5_over_first5": round(statistics.median(r["growth"] for r in rs), 2),
            "minute_ms_median": round(statistics.median(minutes), 1),
            "minute_ms_p99": round(pct(minutes, 0.99), 1),
            "bytes_per_envelope": round(statistics.median(r["bytes_per_envelope"] for r in rs)),
            "head_hashes": sorted({r["head_hash"][:16] for r in rs}),
        }
        if a.replay:
            replay_cpu = statistics.median(r["replay_cpu_s"] for r in rs)
            line.update({"replay_cpu_s_median": round(replay_cpu, 2),
                         "replay_x_real_time": round(a.minutes * 60 / replay_cpu),
                         "replay_verdicts": sorted({r["replay_verdict"] for r in rs})})
        print(json.dumps(line) if a.json else "  ".join(f"{k}={v}" for k, v in line.items()), flush=True)
    ms = sorted(results)
    if len(ms) >= 2:
        big, half = ms[-1], ms[-2]
        for unit in ("envelope", "market_minute"):
            ratio = (statistics.median(r[f"us_per_{unit}"] for r in results[big])
                     / statistics.median(r[f"us_per_{unit}"] for r in results[half]))
            print(f"cost per {unit.replace('_', '-')}, {big} markets vs {half}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
