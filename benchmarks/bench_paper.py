"""Paper venue latency on loopback: the live book moves on ``polytraders exchange serve`` -> our
paper order's fill, and the local matcher's cost.

Run: PYTHONPATH=src:tests python benchmarks/bench_paper.py [--fills 40]

What is timed:
1. cross -> paper fill (milliseconds, median / p90 / max): a paper BUY rests locally; another
   trader POSTs a crossing ask to the exchange; from just before that POST to the moment the
   paper venue's ``advance()`` returns the fill (exchange checks and matching, market-channel
   push, BookKeeper fold, PaperBook.sync).  Nothing of ours is ever sent to the exchange.
2. ``PaperBook.sync`` (microseconds per call): a 20-level-a-side live book with 20 resting paper
   orders, alternating between two snapshots so every call does the full work.
"""

from __future__ import annotations

import argparse
import statistics
import time
from decimal import Decimal

from exchange.helpers import ServerProcess
from venues.contract import of
from venues.paper.conftest import PaperHarness

from polytraders.venues.base import BookLevel
from polytraders.venues.polymarket.paper import PaperBook


def cross_to_fill(n: int) -> list[float]:
    server = ServerProcess("--seed", "3", "--markets", "3", "--no-background", "--taker-delay-ms", "0")
    h = PaperHarness(server)
    out = []
    try:
        for i in range(n):
            order = h.order(f"bench-{i}", "BUY", "0.40", "5")
            assert of(h.venue.submit(order, h.now()), "ack")
            t0 = time.perf_counter()
            h.post("SELL", "0.40", "5")
            events: list = []
            while not of(events, "fill", order.order_hash):
                events += h.venue.advance(h.now())
            out.append((time.perf_counter() - t0) * 1000)
            h.counterparty.call(h.http, "DELETE", "/cancel-all")
            time.sleep(0.05)
    finally:
        h.close()
        server.stop()
    return sorted(out)


def sync_cost(calls: int = 5_000) -> float:
    book = PaperBook("tok", Decimal("0.01"), Decimal(5))
    bids = tuple(BookLevel(Decimal(30 - i) / 100, Decimal(100)) for i in range(20))
    asks_a = tuple(BookLevel(Decimal(70 + i) / 100, Decimal(100)) for i in range(20))
    asks_b = tuple(BookLevel(Decimal(71 + i) / 100, Decimal(90)) for i in range(20))
    book.sync(bids, asks_a)
    for i in range(20):
        book.place(venue_order_id=f"o{i}", client_order_id=f"o{i}", side="BUY" if i % 2 else "SELL",
                   price=Decimal(35 + i) / 100 if i % 2 else Decimal(50 + i) / 100, size=Decimal(10),
                   order_type="GTC", created_ms=i)
    t0 = time.perf_counter()
    for i in range(calls):
        book.sync(bids, asks_a if i % 2 else asks_b)
    return (time.perf_counter() - t0) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fills", type=int, default=40)
    args = parser.parse_args()
    lat = cross_to_fill(args.fills)
    print(f"cross -> paper fill: n={len(lat)} median {statistics.median(lat):.1f} ms, "
          f"p90 {lat[int(0.9 * len(lat)) - 1]:.1f} ms, max {lat[-1]:.1f} ms")
    print(f"PaperBook.sync, 20+20 levels, 20 resting orders: {sync_cost():.1f} us per call")


if __name__ == "__main__":
    main()
