"""The demo hour: CPU, cost per envelope, growth over the hour, and scaling with markets.

Run: python benchmarks/bench_demo.py [--minutes 60] [--markets 5,10,20,40] [--runs 3] [--seeds 7,8,12]
For each seed and market count, runs the calm demo in this process `--runs` times and prints:
- CPU seconds (process time) and wall seconds for the whole run (median of runs, and max);
- envelopes journaled, orders placed, how many markets have the 0.001 tick, CPU µs per envelope
  and per simulated market-minute (the workload's own unit: a market whose book moves more
  journals more envelopes per minute);
- growth: CPU per simulated minute in the last 5 minutes over the first 5 (1.0 = flat), and the
  same per envelope journaled in those minutes (a busier end of the hour is not a cost that grew);
- per-minute CPU median and p99 (ms), and bytes on disk per envelope;
- with --replay: CPU to replay the hour, and how many times faster than real time.
Then, per seed, µs per envelope and per market-minute at the largest market count over the next
smaller one. A seed's N markets are the first N of one universe, and each market's tick is drawn
on its own, so the added markets may be a different mix (seed 7: 3 of the first 20 have the
0.001 tick, 15 of 40): a fine-tick market re-quotes far more, and order-path envelopes cost more
than book updates. With several seeds the median ratio over seeds is printed as well.

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
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.engine.system import TradingSystem
from polytraders.journal.sqlite import open_journal
from polytraders.replay.engine import replay


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def one_run(markets: int, minutes: int, seed: int, with_replay: bool) -> dict[str, Any]:
    marks: list[tuple[float, int]] = []  # (CPU so far, entries journaled) at each simulated minute
    seen: list[TradingSystem] = []

    def after_step(system: TradingSystem) -> None:
        if not seen:
            seen.append(system)

    def progress(_minute: int, _total: int) -> None:
        marks.append((time.process_time(), seen[0].runtime.state.last_seq))

    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "demo.db"
        args = DemoArgs(minutes=minutes, markets=markets, seed=seed, db=db)
        c0, w0 = time.process_time(), time.perf_counter()
        summary = run_demo(args, progress=progress, after_step=after_step)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        size = db.stat().st_size + sum(p.stat().st_size for p in Path(d).glob("demo.db-wal"))
        replay_s = verdict = None
        if with_replay:
            with open_journal(db, readonly=True) as j:
                r0 = time.process_time()
                report = replay(j, window_ms=minutes * 60_000)
                replay_s, verdict = time.process_time() - r0, report.verdict
    per_minute = [(b - a, m - n) for (a, n), (b, m) in zip([(c0, 0), *marks], marks, strict=False)]
    head, tail = per_minute[:5], per_minute[-5:]
    entries = int(summary["journal"]["entries"])
    fine = sum(1 for info in seen[0].venue.markets() if info.tick < FINE_TICK_BELOW)
    return {"cpu_s": cpu, "wall_s": wall, "entries": entries, "us_per_envelope": cpu / entries * 1e6,
            "us_per_market_minute": cpu / (markets * minutes) * 1e6,
            "growth": _growth(head, tail, per_envelope=False),
            "growth_per_envelope": _growth(head, tail, per_envelope=True),
            "minute_ms": [c * 1000 for c, _ in per_minute], "bytes_per_envelope": size / entries,
            "orders": int(summary["orders"]["total"]), "fine_tick_markets": fine,
            "head_hash": summary["journal"]["head_hash"], "replay_cpu_s": replay_s, "replay_verdict": verdict}


FINE_TICK_BELOW = Decimal("0.01")  # 0.001-tick markets re-quote far more often than 0.01-tick ones


def _growth(head: list[tuple[float, int]], tail: list[tuple[float, int]], *, per_envelope: bool) -> float:
    """CPU of the last minutes over the first; `per_envelope`: CPU per envelope journaled in them,
    so a busier end of the hour (more orders, not more cost per unit of work) does not count."""
    (hc, hn), (tc, tn) = ((sum(c for c, _ in xs), sum(n for _, n in xs)) for xs in (head, tail))
    if not hc or not hn or not tn:
        return float("nan")
    return float((tc / tn) / (hc / hn) if per_envelope else tc / hc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--markets", default="5,10,20,40")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seeds", default=None,
                    help="several seeds, e.g. 7,8,12: each seed's markets are another universe (another "
                         "share of 0.001-tick markets), so the market-count comparison is made per seed")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--replay", action="store_true", help="also replay each run's hour (CPU, speed-up)")
    a = ap.parse_args()
    seeds = [int(x) for x in a.seeds.split(",")] if a.seeds else [a.seed]
    counts = [int(x) for x in a.markets.split(",")]
    ratios: dict[str, list[float]] = {"envelope": [], "market_minute": []}
    for seed in seeds:
        results: dict[int, list[dict[str, Any]]] = {}
        for m in counts:
            results[m] = rs = [one_run(m, a.minutes, seed, a.replay) for _ in range(a.runs)]
            line = _summary_line(seed, m, a.minutes, rs, a.replay)
            print(json.dumps(line) if a.json else "  ".join(f"{k}={v}" for k, v in line.items()), flush=True)
        if len(counts) < 2:
            continue
        big, half = sorted(results)[-1], sorted(results)[-2]
        for unit in ratios:
            ratio = (statistics.median(r[f"us_per_{unit}"] for r in results[big])
                     / statistics.median(r[f"us_per_{unit}"] for r in results[half]))
            ratios[unit].append(ratio)
            print(f"seed {seed}: cost per {unit.replace('_', '-')}, {big} markets vs {half}: {ratio:.2f}x "
                  f"(0.001-tick markets: {results[big][0]['fine_tick_markets']} of {big}, "
                  f"{results[half][0]['fine_tick_markets']} of {half}; orders per 1,000 envelopes: "
                  f"{_orders_per_k(results[big]):.1f} vs {_orders_per_k(results[half]):.1f})", flush=True)
    if len(seeds) > 1 and ratios["envelope"]:
        for unit, xs in ratios.items():
            print(f"median over seeds {','.join(map(str, seeds))}: cost per {unit.replace('_', '-')} "
                  f"{statistics.median(xs):.2f}x (range {min(xs):.2f}-{max(xs):.2f})")


def _orders_per_k(rs: list[dict[str, Any]]) -> float:
    return 1000 * int(rs[0]["orders"]) / int(rs[0]["entries"])


def _summary_line(seed: int, markets: int, minutes: int, rs: list[dict[str, Any]],
                  with_replay: bool) -> dict[str, Any]:
    per_minute = [x for r in rs for x in r["minute_ms"]]
    line = {
        "seed": seed, "markets": markets, "minutes": minutes, "runs": len(rs),
        "cpu_s_median": round(statistics.median(r["cpu_s"] for r in rs), 2),
        "cpu_s_max": round(max(r["cpu_s"] for r in rs), 2),
        "wall_s_median": round(statistics.median(r["wall_s"] for r in rs), 2),
        "entries": rs[0]["entries"], "orders": rs[0]["orders"],
        "fine_tick_markets": rs[0]["fine_tick_markets"],
        "us_per_envelope_median": round(statistics.median(r["us_per_envelope"] for r in rs), 1),
        "us_per_market_minute_median": round(statistics.median(r["us_per_market_minute"] for r in rs)),
        "growth_last5_over_first5": round(statistics.median(r["growth"] for r in rs), 2),
        "growth_per_envelope": round(statistics.median(r["growth_per_envelope"] for r in rs), 2),
        "minute_ms_median": round(statistics.median(per_minute), 1),
        "minute_ms_p99": round(pct(per_minute, 0.99), 1),
        "bytes_per_envelope": round(statistics.median(r["bytes_per_envelope"] for r in rs)),
        "head_hashes": sorted({r["head_hash"][:16] for r in rs}),
    }
    if with_replay:
        replay_cpu = statistics.median(r["replay_cpu_s"] for r in rs)
        line.update({"replay_cpu_s_median": round(replay_cpu, 2),
                     "replay_x_real_time": round(minutes * 60 / replay_cpu),
                     "replay_verdicts": sorted({r["replay_verdict"] for r in rs})})
    return line


if __name__ == "__main__":
    main()
