"""The demo's market-data path without the journal: simulator step, market listing, book reads,
snapshot building and the payload the journal would encode.

What: for each market count, a ``SimVenue`` stepped once a simulated second and the engine's
``MarketFeed`` polling it, exactly as the demo does, with a recorder in place of the runtime that
only turns each snapshot into its JSON payload (``to_json_dict``) and counts it.  Prints CPU per
simulated minute (median, p99), CPU per market-second, snapshots recorded, and growth (last 5
minutes over the first 5).  The last line compares the cost per market-second at the largest
market count with the one at half of it (1.0 = linear).

Why: the demo hour's market-data share must be linear in markets and flat over the hour; this
isolates it from the decision path and the journal, so an A/B between trees is less noisy.

Run: python benchmarks/bench_market_data.py [--minutes 20] [--markets 5,10,20,40] [--runs 3]
A/B: alternate PYTHONPATH=<tree>/src between trees, same arguments.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from polytraders.contracts.base import Contract
from polytraders.engine.feed import MarketFeed
from polytraders.venues.sim import SimVenue

START_MS = 1_760_000_000_000


class _Recorder:
    """Stands in for the runtime: builds each payload as the journal would, keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    def record(self, contract: Contract, **_: Any) -> None:
        contract.to_json_dict()
        self.count += 1


def one_run(markets: int, minutes: int, seed: int) -> dict[str, float]:
    venue = SimVenue(seed, markets, START_MS)
    recorder = _Recorder()
    feed = MarketFeed(recorder, venue)  # type: ignore[arg-type]
    per_minute: list[float] = []
    c0 = time.process_time()
    mark = c0
    for second in range(1, minutes * 60 + 1):
        now = START_MS + second * 1_000
        venue.advance(now)
        feed.poll(now)
        if second % 60 == 0:
            t = time.process_time()
            per_minute.append(t - mark)
            mark = t
    cpu = time.process_time() - c0
    head, tail = per_minute[:5], per_minute[-5:]
    return {
        "cpu_s": cpu,
        "us_per_market_second": cpu / (markets * minutes * 60) * 1e6,
        "minute_ms_median": statistics.median(per_minute) * 1e3,
        "minute_ms_p99": sorted(per_minute)[min(len(per_minute) - 1, int(0.99 * len(per_minute)))] * 1e3,
        "snapshots": recorder.count,
        "growth": sum(tail) / sum(head) if sum(head) else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=20)
    ap.add_argument("--markets", default="5,10,20,40")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    per_market: dict[int, float] = {}
    for markets in [int(m) for m in a.markets.split(",")]:
        runs = [one_run(markets, a.minutes, a.seed) for _ in range(a.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        per_market[markets] = med["us_per_market_second"]
        print(f"markets={markets} cpu_s={med['cpu_s']:.3f} us_per_market_second="
              f"{med['us_per_market_second']:.1f} minute_ms_median={med['minute_ms_median']:.1f} "
              f"minute_ms_p99={med['minute_ms_p99']:.1f} snapshots={int(med['snapshots'])} "
              f"growth={med['growth']:.2f}", flush=True)
    big = max(per_market)
    if big // 2 in per_market:
        print(f"cost per market-second, {big} markets vs {big // 2}: "
              f"{per_market[big] / per_market[big // 2]:.2f}x")


if __name__ == "__main__":
    main()
