"""Order-path benchmarks on a warmed-up simulated system.

Run: python benchmarks/bench_order_path.py [--markets 5,10,20,40] [--n 2000]
- decision path: one intent through the kill switch, the six guardrails, the router and both
  security checks, journaled as the order path does it (one decision record holding every step),
  signing excluded, 2,000 intents;
- trip to protection: a global trip -> cancel-all dispatched -> the next intent rejected (the
  guardian's protective action), 200 trips on a trusted journal, in four variants (`--trips-as`):
  `manual`: an operator's signed trip written through the system's own runtime, so the window
  holds the operator's signing as well as the system's check of that signature (the figure the
  README has carried); `operator`: the trip written and signed before the window by the operator's
  own session on a second connection, as `polytraders killswitch trip --scope global` does it, the
  window starting when the running system syncs (reads, verifies and folds the trip): the system's
  latency, signing excluded, with the operator's session run in this process just before (the
  worst case for the caches the window finds: it has just been through the operator's work);
  `operator-process`: the same session in a process of its own, as the CLI's is, so the window
  shares the CPU but no interpreter, heap or allocator with it; `automatic`: a wallet read below
  the reserve (an input) trips wallet_funding by itself, the window starting at that read. Between
  trips, outside the timed region, the trigger is cleared (the money put back), a signed
  two-person reset (alice requests, bob approves) re-arms the switch and the system trades on until
  quotes rest again, so every trip starts from an armed switch on a warm system with open orders
  and positions;
- demo: wall time of `polytraders demo` (60 minutes, 20 markets) is measured separately with
  `time polytraders demo --json`.
Reports median and p99 in microseconds.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from polytraders.bots.exec.smart_router import RouteRequest
from polytraders.contracts import OrderIntent, Scope
from polytraders.contracts.decisions import DecisionStep
from polytraders.contracts.transfers import TRANSFER_REASON, Transfer
from polytraders.engine.demo import DEMO_START_MS, sim_genesis
from polytraders.engine.kill_switch_ops import approve_reset, kill_switch_config, manual_trip, request_reset
from polytraders.engine.scenarios import _as, add_crew, crew_keys
from polytraders.engine.system import WALLET, SystemConfig, TradingSystem, build_state
from polytraders.journal import SqliteJournal, signatures
from polytraders.journal.sqlite import create_journal
from polytraders.operators.auth import authenticate
from polytraders.runtime.clock import Clock, SimClock
from polytraders.runtime.runner import Runtime
from polytraders.venues.sim import SimVenue


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def warm_system(d: Path, markets: int = 20, *, trusted: bool = False) -> TradingSystem:
    """120 simulated seconds of trading; `trusted`: a genesis, the system's key and the crew
    (alice and bob, approvers) registered, so operators' signed actions count."""
    venue = SimVenue(7, markets, DEMO_START_MS)
    if trusted:
        genesis, system_key = sim_genesis(7, "bench", DEMO_START_MS)
        journal = create_journal(d / "bench.db", genesis, synchronous="NORMAL")
        config = SystemConfig(seed=7, n_markets=markets, start_ms=DEMO_START_MS, system_signer=system_key)
    else:
        journal = SqliteJournal(d / "bench.db", synchronous="NORMAL")
        config = SystemConfig(seed=7, n_markets=markets, start_ms=DEMO_START_MS)
    system = TradingSystem(journal, venue, config)
    system.start()
    if trusted:
        add_crew(system)
    for s in range(1, 121):
        system.step(DEMO_START_MS + s * 1000)
    return system


def decision_path(system: TradingSystem, n: int = 2000, cpu: list[float] | None = None) -> list[float]:
    """Wall time (us) of n decisions; `cpu`, when given, receives each one's CPU time (us) on
    this thread: on a shared machine, the work alone."""
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
        c0 = time.thread_time_ns()
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
        if cpu is not None:
            cpu.append((time.thread_time_ns() - c0) / 1000)
        if i % 256 == 0:
            rt.journal.flush()
            idle()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", default="5,10,20,40", help="market counts to measure at")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--trips", type=int, default=200)
    ap.add_argument("--parts", default="decision,trip", help="which parts to run: decision, trip or both")
    ap.add_argument("--marked", action="store_true",
                    help="call each timed trip window through sys.call_tracing (count_instructions.py --trips-as)")
    ap.add_argument("--trips-as", default=",".join(TRIPS_AS),
                    help="trip variants: manual (signed in the window), operator (signed before it by the "
                         "operator's own session in this process), operator-process (the same session in a "
                         "process of its own), automatic (a wallet read trips wallet_funding)")
    a = ap.parse_args()
    for markets in [int(x) for x in a.markets.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            if "decision" in a.parts:
                (d / "a").mkdir()
                system = warm_system(d / "a", markets)
                decision_path(system, 300)  # warm caches
                cpu: list[float] = []
                load0 = os.getloadavg()[0]
                with run_gc_policy():
                    times = decision_path(system, a.n, cpu)
                print(f"[{markets} markets] decision path (kill switch + 6 guardrails + router + 2 security "
                      f"checks, journaled, no signing): median {statistics.median(times):.0f} us, "
                      f"p99 {pct(times, 0.99):.0f} us over {len(times)} intents (CPU: median "
                      f"{statistics.median(cpu):.0f} us, p99 {pct(cpu, 0.99):.0f} us; load "
                      f"{load0:.2f}->{os.getloadavg()[0]:.2f})", flush=True)
            if "trip" not in a.parts:
                continue
            for how in a.trips_as.split(","):
                if how not in TRIPS_AS:
                    ap.error(f"--trips-as: {how!r} is not one of {', '.join(TRIPS_AS)}")
                (d / how).mkdir()
                tripping = warm_system(d / how, markets, trusted=True)
                tripping.guardian.after_trip = None  # measure the protective action alone
                with run_gc_policy():
                    t, cancelled, load = trip_to_protection_on(tripping, a.trips, how, a.marked)
                print(f"[{markets} markets] {TRIPS_AS[how]} trip -> cancel-all dispatched -> next intent "
                      f"rejected: median {statistics.median(t):.0f} us, p99 {pct(t, 0.99):.0f} us, p99.9 "
                      f"{pct(t, 0.999):.0f} us, max {max(t):.0f} us over {len(t)} trips, each from an armed "
                      f"switch after a signed two-person reset ({statistics.median(cancelled):.0f} open orders "
                      f"cancelled per trip, median; load {load}) (incident playbook excluded; it follows the "
                      f"protective action)", flush=True)


YOUNG_THRESHOLD = 10_000  # engine/gc_policy.py's, for trees that have it
YOUNG_COLLECT_AT = YOUNG_THRESHOLD // 2


@contextmanager
def run_gc_policy() -> Iterator[None]:
    """The collector as `polytraders run` sets it once warm (engine/gc_policy.py; inline so that
    this file also measures trees without it): the warm heap frozen, full collections only in idle
    time, so none (~25-37 ms CPU at 20 markets) lands inside a timed decision or trip; the first
    threshold raised, the young generations collected in idle time (`idle`) before it is reached."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, thresholds[1], 1_000_000_000)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def idle() -> None:
    """What `GcPolicy.idle` does between a running system's steps when no refreeze is due."""
    if gc.get_count()[0] >= YOUNG_COLLECT_AT:
        gc.collect(1)


TRIPS_AS = {"manual": "manual (signed in the window)",
            "operator": "operator's session (signed before the window)",
            "operator-process": "operator's own process (signed before the window)",
            "automatic": "automatic (wallet_funding on a wallet read)"}
LEFT_PUSD = Decimal(30)  # a wallet read below the kill switch's 50 pUSD reserve trips wallet_funding


def operator_trip(system: TradingSystem, name: str, reason: str) -> str:
    """What `polytraders killswitch trip --scope global` does: the operator's own session on a
    second connection (only who-may-act folded), a trip signed with their key, committed."""
    path = system.runtime.journal.path  # type: ignore[attr-defined]
    return _operator_trip(path, system.runtime.clock, system.config.seed, name, reason)


def _operator_trip(path: Path, clock: Clock, seed: int, name: str, reason: str) -> str:
    journal = SqliteJournal(path, synchronous="NORMAL")
    leave = getattr(journal, "leave_wal_checkpoints", None)
    if leave is not None:  # as the CLI's writes do (trees before it checkpointed in any commit)
        leave()
    try:
        rt = Runtime(journal, clock, build_state())
        rt.state.load_trust(journal)
        operator = authenticate(rt.state.trust, crew_keys(seed)[name], "killswitch.trip")
        assert operator.signer is not None
        rt.operator_signers[operator.name] = operator.signer
        return manual_trip(rt, operator, Scope(), reason)
    finally:
        journal.close()
        # the operator's process is not the running system's: nothing it signed is known here
        signed_here = getattr(signatures, "_SIGNED_HERE", None)
        if signed_here is not None:
            signed_here.clear()


def operator_process(path: Path, seed: int, conn: Connection) -> None:
    """The operator's own process (`--trips-as operator-process`): for each (time, reason) it is
    sent, the session `operator_trip` opens, in a process of its own as the CLI's is, so its work
    shares no interpreter, heap or allocator with the running system's; answers the trip's id."""
    while (asked := conn.recv()) is not None:
        now_ms, reason = asked
        conn.send(_operator_trip(path, SimClock(now_ms), seed, "alice", reason))


def _move_money(system: TradingSystem, direction: str, amount: Decimal) -> None:
    """A transfer, journaled before the wallet read that shows it (so the read agrees with the
    books: an external flow, not PnL)."""
    system.runtime.record(Transfer(direction=direction, amount_pusd=amount, source="sim"), actor=WALLET,
                          reason_code=TRANSFER_REASON[direction])


def trip_to_protection_on(system: TradingSystem, n: int, how: str = "manual",
                          marked: bool = False) -> tuple[list[float], list[int], str]:
    """Time n global trips (`how`: see TRIPS_AS), each from an armed switch with quotes resting;
    returns the times (us), the open orders each trip found, and the load average over the run."""
    rt = system.runtime
    info = system.venue.markets()[0]
    config = kill_switch_config(rt.journal)
    alice = _as(system, "alice", "killswitch.trip")
    requester = _as(system, "alice", "killswitch.request_reset")
    approver = _as(system, "bob", "killswitch.approve_reset")
    now = rt.clock.now_ms()
    times: list[float] = []
    cpu: list[float] = []  # this thread's CPU time in the window: on a shared machine, the work alone
    cancelled: list[int] = []
    load0 = os.getloadavg()[0]
    # when the cancel-all leaves for the venue (the rest of the window is the venue's answers
    # being journaled, the strategies' holds and the next intent's rejection)
    venue = system.olm.venue
    sent: list[int] = []
    send = venue.cancel_all

    def timed_cancel_all(token_ids: frozenset[str] | None, now_ms: int) -> Any:
        sent.append(time.perf_counter_ns())
        return send(token_ids, now_ms)

    venue.cancel_all = timed_cancel_all

    def window(intent: OrderIntent) -> bool:
        """The timed part: the trip, the guardian's protective action, the next intent."""
        if how == "manual":
            manual_trip(rt, alice, Scope(), "bench")
        elif how.startswith("operator"):
            rt.sync()  # the running system's head check: reads, verifies and folds the trip
        else:
            rt.note("GOV_WALLET_BALANCE", actor=WALLET, pusd=str(LEFT_PUSD), source="sim")
        system.guardian.act()
        return rt.decide(system.kill_switch, intent).blocked

    # through `sys.call_tracing` when counted: a C function nothing else calls, so callgrind's
    # inclusive count of it is the windows' instructions (count_instructions.py --trips-as)
    def call(f: Callable[[OrderIntent], bool], intent: OrderIntent) -> bool:
        return bool(sys.call_tracing(f, (intent,))) if marked else f(intent)
    to_dispatch: list[float] = []
    to_answered: list[float] = []
    operator: tuple[Connection, Any] | None = None
    if how == "operator-process":
        spawn = multiprocessing.get_context("spawn")
        ours, theirs = spawn.Pipe()
        path = rt.journal.path  # type: ignore[attr-defined]
        child = spawn.Process(target=operator_process, args=(path, system.config.seed, theirs), daemon=True)
        child.start()
        operator = (ours, child)
    for i in range(n):
        assert not rt.kill_switch.active, "every timed trip starts from an armed switch"
        open_before = len(system.orders.open_orders())
        intent = OrderIntent(intent_id=f"oi_trip{i:08d}", correlation_id=f"corr_trip{i:08d}",
                             strategy_id="strat.maker_tight", market_id=info.condition_id,
                             token_id=info.yes_token, outcome="YES", side="BUY",
                             price=Decimal("0.5"), size=Decimal(5), emitted_at_ms=rt.clock.now_ms())
        moved = Decimal(0)
        if how == "operator":
            operator_trip(system, "alice", "bench")
        elif operator is not None:
            operator[0].send((rt.clock.now_ms(), "bench"))
            operator[0].recv()  # committed: the running system's next head check finds it
        elif how == "automatic":
            cash = system.portfolio.cash_pusd()
            assert cash is not None and cash > LEFT_PUSD, "a wallet read came before the first trip"
            moved = cash - LEFT_PUSD
            _move_money(system, "withdrawal", moved)
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        blocked = call(window, intent)
        times.append((time.perf_counter_ns() - t0) / 1000)
        cpu.append((time.thread_time_ns() - c0) / 1000)
        assert blocked and len(sent) == i + 1, "one cancel-all per trip"
        to_dispatch.append((sent[-1] - t0) / 1000)
        # the next safe point, as the running system reaches it next: the venue's answer to the
        # cancel-all is journaled there (trees before that change journaled it inside `act`)
        system.guardian.act()
        to_answered.append((time.perf_counter_ns() - t0) / 1000)
        assert not system.orders.open_orders(), "the trip cancelled every resting order"
        cancelled.append(open_before)
        [trip_id] = rt.kill_switch.active
        if how == "automatic":  # clear the condition: the money comes back, and a read shows it
            _move_money(system, "deposit", moved)
            rt.note("GOV_WALLET_BALANCE", actor=WALLET, pusd=str(LEFT_PUSD + moved), source="sim")
        # re-arm, untimed: the two-person reset the CLI writes, then trade on until quotes rest
        request_id = request_reset(rt, requester, trip_id, config)
        approve_reset(rt, approver, request_id, config)
        assert trip_id not in rt.kill_switch.active, "the signed reset counted"
        for _ in range(QUOTE_EVERY_S):
            now += 1000
            system.step(now)
            idle()  # as `polytraders run` does after each step
    if operator is not None:
        operator[0].send(None)
        operator[1].join()
    load = f"{load0:.2f}->{os.getloadavg()[0]:.2f}; CPU in the window: p10 {pct(cpu, 0.1):.0f} us, median " \
           f"{statistics.median(cpu):.0f} us, p99 {pct(cpu, 0.99):.0f} us; trip -> cancel-all dispatched alone: " \
           f"median {statistics.median(to_dispatch):.0f} us, p99 {pct(to_dispatch, 0.99):.0f} us; trip -> the " \
           f"venue's answer journaled at the next safe point: median {statistics.median(to_answered):.0f} us, " \
           f"p99 {pct(to_answered, 0.99):.0f} us"
    return times, cancelled, load


QUOTE_EVERY_S = 10  # SystemConfig.quote_every_ms: every market re-quotes within this many seconds


if __name__ == "__main__":
    main()
