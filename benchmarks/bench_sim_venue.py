"""Benchmark: one simulated hour of 20 markets stepped every second, with our own order flow.

What: 3,600 ``advance`` calls plus roughly 3,600 post-only quotes, their cancels and a few
hundred FAK takers, then prints wall time and event counts.  Why: the simulator sits inside
replay and scenario tests, which must stay fast.  The driver's choices come from its own seeded
``random.Random``; ``time.perf_counter`` only measures, it never drives the simulation.

Run: ``python benchmarks/bench_sim_venue.py``
"""

from __future__ import annotations

import random
import time
from collections import Counter
from decimal import Decimal

from polytraders.venues.base import Side, VenueOrder
from polytraders.venues.sim import SimVenue


def run(seed: int = 7, n_markets: int = 20, seconds: int = 3_600) -> tuple[float, Counter[str]]:
    start_ms = 1_760_000_000_000
    venue = SimVenue(seed, n_markets, start_ms)
    driver = random.Random(seed + 1)
    markets = venue.markets()
    kinds: Counter[str] = Counter()
    resting: list[str] = []
    submits = cancels = 0
    began = time.perf_counter()
    for second in range(1, seconds + 1):
        now = start_ms + second * 1_000
        for event in venue.advance(now):
            kinds[event.kind] += 1
        market = markets[driver.randrange(n_markets)]
        token = market.yes_token if driver.random() < 0.5 else market.no_token
        view = venue.book(token)
        if view is None or not view.bids or not view.asks:
            continue
        side: Side = "BUY" if driver.random() < 0.5 else "SELL"
        price = view.bids[0].price if side == "BUY" else view.asks[0].price
        order = VenueOrder(f"q-{second}", token, side, price, Decimal(10), "GTC", post_only=True)
        for event in venue.submit(order, now):
            kinds[event.kind] += 1
            if event.kind == "ack":
                resting.append(event.venue_order_id)
        submits += 1
        if len(resting) > 40:
            for event in venue.cancel(resting.pop(0), now):
                kinds[event.kind] += 1
            cancels += 1
        if second % 10 == 0:
            take = VenueOrder(f"t-{second}", token, "BUY", view.asks[0].price, Decimal(20), "FAK")
            for event in venue.submit(take, now):
                kinds[event.kind] += 1
            submits += 1
    elapsed = time.perf_counter() - began
    kinds["_submits"] = submits
    kinds["_cancels"] = cancels
    return elapsed, kinds


if __name__ == "__main__":
    elapsed, kinds = run()
    print(f"elapsed {elapsed:.2f} s")
    for kind, count in sorted(kinds.items()):
        print(f"  {kind}: {count}")
