"""Polymarket adapter latency on loopback, against a real ``polytraders exchange serve`` process.

Run: PYTHONPATH=src python benchmarks/bench_adapter.py [--orders 300] [--fills 150]

What is timed (median and p99, milliseconds):
1. ``submit``: ``PolymarketVenue.submit`` of a pre-signed post-only order, i.e. POST /order through
   the official client's serialisation and L2 headers -> the exchange's full checks -> the ack
   event returned.
2. ack -> journaled: the same orders submitted through the Order Lifecycle Manager (SQLite
   journal, NORMAL sync): from the moment the venue's ack is in hand to the moment the OLM has
   journaled the order as ``live`` (the issue's 20 ms p99 target).
3. fill -> advance: a counterparty's FAK takes a resting order of ours; from just before its POST
   to the moment our ``advance()`` returns the fill (user WebSocket -> decode -> inbox -> drain).
   An upper bound of WS-fill -> advance, since it includes the counterparty's POST and matching;
   "WS frame -> advance()" starts when the trade frame is off our socket (decode, fold, drain).
4. advance -> journaled: that fill handed to the OLM until its ``fill`` envelope is journaled.
Orders are signed before timing (signing is benchmarked in bench_signing.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from eth_account import Account  # noqa: E402
from exchange.helpers import ServerProcess, Trader  # noqa: E402
from venues.factories import signed_venue_order  # noqa: E402

from polytraders.bots.exec.order_lifecycle_manager import OrderLifecycleBot, OrderLifecycleManager  # noqa: E402
from polytraders.contracts import OrderIntent, PlannedOrder  # noqa: E402
from polytraders.journal.sqlite import SqliteJournal  # noqa: E402
from polytraders.runtime.clock import WallClock  # noqa: E402
from polytraders.runtime.runner import Runtime  # noqa: E402
from polytraders.signing import OrderSigner  # noqa: E402
from polytraders.state.orders import OrdersProjection  # noqa: E402
from polytraders.state.store import StateStore  # noqa: E402
from polytraders.venues.base import VenueEvent, VenueOrder  # noqa: E402
from polytraders.venues.polymarket import PolymarketConfig, PolymarketVenue, PrivateKey  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, values: list[float]) -> None:
    print(f"{name:<28} n={len(values):<5} median {statistics.median(values):7.2f} ms   "
          f"p99 {pct(values, 0.99):7.2f} ms   max {max(values):7.2f} ms")


class TimedVenue:
    """Wraps the venue to note when each submit's answer (the ack) is in hand."""

    def __init__(self, venue: Any) -> None:
        self._venue = venue
        self.acked_at = 0.0

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        events: list[VenueEvent] = self._venue.submit(order, now_ms)
        self.acked_at = time.perf_counter()
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--fills", type=int, default=150)
    args = parser.parse_args()
    server = ServerProcess("--seed", "9", "--markets", "4", "--no-background", "--taker-delay-ms", "0")
    try:
        key_hex = "0x" + bytes(Account.create().key).hex()
        signer = OrderSigner(key_hex)
        config = PolymarketConfig.for_local_exchange(server.url, heartbeat_interval_s=2.0,
                                                     reconcile_interval_s=30.0)
        venue = PolymarketVenue(config, PrivateKey(key_hex))
        frame_at = {"user": 0.0}
        on_frame = venue._on_frame

        def stamped(channel: str, text: str) -> None:
            if channel == "user" and '"trade"' in text:
                frame_at["user"] = time.perf_counter()  # the trade frame is off the socket
            on_frame(channel, text)

        venue._on_frame = stamped  # type: ignore[method-assign]
        venue.start()
        market = next(m for m in venue.markets() if m.tick == Decimal("0.01") and not m.neg_risk
                      and m.cluster != "sports")
        token = market.yes_token

        def signed(i: int, price: str, tag: str) -> VenueOrder:
            return signed_venue_order(signer, f"bench-{tag}-{i:06d}", token, "BUY", price, "5", post_only=True)

        # 1. submit (POST -> ack)
        batch = [signed(i, "0.10", "post") for i in range(args.orders)]
        submit_ms: list[float] = []
        for order in batch:
            t0 = time.perf_counter()
            events = venue.submit(order, 0)
            submit_ms.append((time.perf_counter() - t0) * 1000)
            assert events and events[0].kind == "ack", events
        venue.cancel_all(None, 0)

        # 2. ack -> journaled live, through the OLM
        with tempfile.TemporaryDirectory() as tmp:
            journal = SqliteJournal(Path(tmp) / "journal.db", synchronous="NORMAL")
            runtime = Runtime(journal, WallClock(), StateStore([OrdersProjection()]))
            bot = OrderLifecycleBot()
            runtime.add_bot(bot)
            timed = TimedVenue(venue)
            olm = OrderLifecycleManager(runtime, timed, bot)  # type: ignore[arg-type]
            journaled_ms: list[float] = []
            def through_olm(order: VenueOrder, price: str, i: int) -> Any:
                assert order.signed is not None
                intent = OrderIntent(intent_id=f"intent-{order.client_order_id}",
                                     correlation_id=f"corr-{order.client_order_id}", strategy_id="strat.bench",
                                     market_id=market.condition_id, token_id=token, outcome="YES", side="BUY",
                                     price=Decimal(price), size=Decimal(5), emitted_at_ms=int(time.time() * 1000))
                planned = PlannedOrder(client_order_id=order.client_order_id, token_id=token, side="BUY",
                                       price=Decimal(price), size=Decimal(5), order_type="GTC", post_only=True)
                return olm.submit(order.signed, planned, intent)

            for i in range(args.orders):
                rec = through_olm(signed(i, "0.11", "olm"), "0.11", i)
                journaled_ms.append((time.perf_counter() - timed.acked_at) * 1000)
                assert rec.status == "live", rec

            # 3./4. fill -> advance -> journaled
            olm.cancel_all()
            counterparty = Trader.new()
            http = httpx.Client(base_url=server.url, timeout=10)
            counterparty.login(http)
            http.post("/admin/fund", json={"address": counterparty.address, "amount": str(args.fills * 4),
                                           "token_id": token})
            fill_ms: list[float] = []
            frame_ms: list[float] = []
            to_journal_ms: list[float] = []
            for i in range(args.fills):
                order = signed(i, "0.40", "fill")
                assert through_olm(order, "0.40", i).status == "live"
                body, _ = counterparty.order(token, "SELL", "0.40", "3", order_type="FAK", salt=10_000 + i)
                t0 = time.perf_counter()
                assert counterparty.call(http, "POST", "/order", body).status_code == 200
                got: list[VenueEvent] = []
                while not any(e.kind == "fill" for e in got):
                    got += venue.advance(0)
                    if time.perf_counter() - t0 > 5:
                        raise RuntimeError("no fill within 5 s")
                t1 = time.perf_counter()
                fill_ms.append((t1 - t0) * 1000)
                frame_ms.append((t1 - frame_at["user"]) * 1000)
                olm.on_venue_events(got)
                journal.flush()
                to_journal_ms.append((time.perf_counter() - t1) * 1000)
                rec = olm.orders.order(order.client_order_id)
                assert rec is not None and rec.filled == 3, rec
                olm.cancel(order.client_order_id)
            journal.close()
        venue.close()
        print(f"bench_adapter: loopback, {args.orders} orders, {args.fills} fills")
        report("submit (POST -> ack)", submit_ms)
        report("ack -> journaled live", journaled_ms)
        report("fill: POST -> advance()", fill_ms)
        report("fill: WS frame -> advance()", frame_ms)
        report("advance -> fill journaled", to_journal_ms)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
