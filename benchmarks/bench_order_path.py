"""Order-path benchmarks on a warmed-up simulated system.

Run: python benchmarks/bench_order_path.py [--markets 5,10,20,40] [--n 2000]
- decision path: one intent through the kill switch, the six guardrails, the router and both
  security checks, journaled as the order path does it (one decision record holding every step),
  signing excluded, 2,000 intents;
- trip to protection: a kill-switch trip observed -> all in-scope intents rejected and cancel-all
  dispatched (the guardian's protective action), 200 trips;
- demo: wall time of `polytraders demo` (60 minutes, 20 markets) is measured separately with
  `time polytraders demo --json`.
Reports median and p99 in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from polytraders.bots.exec.smart_router import RouteRequest
from polytraders.contracts import OrderIntent, Scope
from polytraders.contracts.decisions import DecisionStep
from polytraders.engine.demo import DEMO_START_MS
from polytraders.engine.kill_switch_ops import manual_trip
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.journal import SqliteJournal
from polytraders.operators.auth import Operator
from polytraders.venues.sim import SimVenue


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def warm_system(d: Path, markets: int = 20) -> TradingSystem:
    journal = SqliteJournal(d / "bench.db", synchronous="NORMAL")
    venue = SimVenue(7, markets, DEMO_START_MS)
    system = TradingSystem(journal, venue, SystemConfig(seed=7, n_markets=markets, start_ms=DEMO_START_MS))
    system.start()
    for s in range(1, 121):
        system.step(DEMO_START_MS + s * 1000)
    return system


def decision_path(system: TradingSystem, n: int = 2000) -> list[float]:
    rt = system.runtime
    info = system.venue.markets()[0]
    market = system.markets.market(info.condition_id)
    book = system.markets.book(info.yes_token)
    assert market is not None and book is not None and book.best_bid is not None
    times = []
    for i in range(n):
        intent = OrderIntent(intent_id=f"oi_bench{i:08d}", correlation_id=f"corr_bench{i:08d}",
                             strategy_id="strat.maker_tight", market_id=info.condition_id,
                             token_id=info.yes_token, outcome="YES", side="BUY",
                             order_type="POST_ONLY", price=book.best_bid, size=Decimal(5),
                             emitted_at_ms=rt.clock.now_ms())
        t0 = time.perf_counter_ns()
        # what OrderPath.process does up to signing: every step evaluated, one decision record
        corr, iid = intent.correlation_id, intent.intent_id
        steps: list[DecisionStep] = []
        for guard in (system.kill_switch, *system.guardrails):
            out = rt.evaluate(guard, intent, correlation_id=corr, intent_id=iid)
            if out.step is not None:
                steps.append(out.step)
            if out.blocked:
                rt.record_decision(iid, "rejected", steps, reason_code=steps[-1].reason_code, correlation_id=corr)
                break
        else:
            routed = rt.evaluate(system.router, RouteRequest(intent=intent, market=market, book=book),
                                 correlation_id=corr, intent_id=iid)
            plan = routed.effective
            assert plan is not None and routed.step is not None
            steps.append(routed.step)
            req = system.signer.prepare(plan, plan.steps[0], market, rt.clock.now_ms())
            for check in system.security:
                step = rt.evaluate(check, req, correlation_id=corr, intent_id=iid).step
                assert step is not None
                steps.append(step)
            rt.record_decision(iid, "passed", steps, reason_code=routed.step.reason_code, correlation_id=corr)
        times.append((time.perf_counter_ns() - t0) / 1000)
        if i % 256 == 0:
            rt.journal.flush()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", default="5,10,20,40", help="market counts to measure at")
    ap.add_argument("--n", type=int, default=2000)
    a = ap.parse_args()
    for markets in [int(x) for x in a.markets.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "a").mkdir()
            system = warm_system(d / "a", markets)
            decision_path(system, 300)  # warm caches
            times = decision_path(system, a.n)
            print(f"[{markets} markets] decision path (kill switch + 6 guardrails + router + 2 security "
                  f"checks, journaled, no signing): median {statistics.median(times):.0f} us, "
                  f"p99 {pct(times, 0.99):.0f} us over {len(times)} intents", flush=True)
            system.guardian.after_trip = None  # measure the protective action alone
            t = trip_to_protection_on(system, 200)
            print(f"[{markets} markets] trip -> cancel-all dispatched -> next intent rejected: median "
                  f"{statistics.median(t):.0f} us, p99 {pct(t, 0.99):.0f} us over {len(t)} trips "
                  f"(incident playbook excluded; it follows the protective action)", flush=True)


def trip_to_protection_on(system: TradingSystem, n: int) -> list[float]:
    from polytraders.contracts import KillSwitchEvent
    from polytraders.contracts.envelope import Actor

    rt = system.runtime
    info = system.venue.markets()[0]
    times = []
    for i in range(n):
        intent = OrderIntent(intent_id=f"oi_trip{i:08d}", correlation_id=f"corr_trip{i:08d}",
                             strategy_id="strat.maker_tight", market_id=info.condition_id,
                             token_id=info.yes_token, outcome="YES", side="BUY",
                             price=Decimal("0.5"), size=Decimal(5), emitted_at_ms=rt.clock.now_ms())
        t0 = time.perf_counter_ns()
        trip_id = manual_trip(rt, Operator("bench", "operator"), Scope(), "bench")
        system.guardian.act()
        blocked = rt.decide(system.kill_switch, intent).blocked
        times.append((time.perf_counter_ns() - t0) / 1000)
        assert blocked
        rt.record(KillSwitchEvent(event="reset", trip_id=trip_id, trigger="manual", scope=Scope(),
                                  observed=Decimal(0), threshold=Decimal(1), at_ms=rt.clock.now_ms()),
                  actor=Actor(kind="operator", id="bench"), reason_code="RISK_KILLSWITCH_RESET")
        system.guardian.act()
    return times


if __name__ == "__main__":
    main()
