"""The live runtime behind `polytraders run`: the demo's `TradingSystem`, on the wall clock.

One loop, one turn every `step_ms`: the head check (commands other processes committed: trips,
resets, mode changes; the halt file), venue events, market data, strategy decisions through the
order path, housekeeping, a group commit. A command committed elsewhere is therefore obeyed
within one step.

Start: the system rebuilds from the journal (a crashed session's tail is adopted by a signed
digest), opens its signed session, and reconciles with the venue before trading. Stop (SIGTERM,
SIGINT, or the end of `duration_s`): resting orders are cancelled or left as configured —
leaving them stops our heartbeats, so the exchange cancels them within about 15 s — then a
checkpoint and a final digest are written and the run says what it did.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from polytraders.engine.gc_policy import GcPolicy
from polytraders.engine.system import TradingSystem
from polytraders.runtime.clock import StepClock


def take_run_lock(db: str | os.PathLike[str]) -> int | None:
    """One running system per journal: an exclusive flock on `<db>.run.lock`. Returns the fd to
    hold (closing it releases the lock), or None when another process holds it: a running
    system, or an operator's CLI running a playbook because none was."""
    fd = os.open(str(db) + ".run.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


HEARTBEAT_CANCEL_S = 15  # Polymarket's dead-man rule: 10 s without a heartbeat, plus up to 5 s


@dataclass(frozen=True)
class LiveOptions:
    step_ms: int = 250
    on_exit: Literal["cancel", "leave"] = "cancel"
    duration_s: float | None = None  # None: until signalled
    status_every_s: float = 5.0
    feed: str = "venue"


@dataclass
class RunReport:
    steps: int = 0
    started_ms: int = 0
    stopped_ms: int = 0
    stop_reason: str = ""
    on_exit: str = "cancel"
    cancelled_at_exit: int = 0
    left_resting: int = 0
    slow_steps: int = 0
    max_step_ms: float = 0.0
    journal_unwritable: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class LiveRunner:
    def __init__(self, system: TradingSystem, options: LiveOptions,
                 status: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.system = system
        self.options = options
        self.status = status
        self._stop: str | None = None
        self.gc = GcPolicy()

    def request_stop(self, reason: str) -> None:
        self._stop = self._stop or reason

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            self.request_stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> RunReport:
        system, opts = self.system, self.options
        report = RunReport(on_exit=opts.on_exit, started_ms=system.clock.now_ms())
        system.start(feed=opts.feed)
        system.olm.request_reconcile()  # the venue is the truth: reconcile before trading
        step_s = opts.step_ms / 1000
        started = time.monotonic()
        next_status = started
        next_step = started
        while self._stop is None:
            if opts.duration_s is not None and time.monotonic() - started >= opts.duration_s:
                self.request_stop("duration reached")
                break
            t0 = time.monotonic()
            system.step(self._now())
            spent = time.monotonic() - t0
            report.steps += 1
            report.max_step_ms = max(report.max_step_ms, spent * 1000)
            if spent > step_s:
                report.slow_steps += 1
            if self.status is not None and t0 >= next_status:
                next_status = t0 + opts.status_every_s
                self.status(self.snapshot(report))
            next_step += step_s
            self.gc.idle()  # a due full collection runs here, between steps, never inside one
            pause = next_step - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                next_step = time.monotonic()  # behind: do not try to catch up in a burst
        report.stop_reason = self._stop or "stopped"
        self._shutdown(report)
        self.gc.release()
        return report

    def _now(self) -> int:
        clock = self.system.clock
        return clock.wall_ms() if isinstance(clock, StepClock) else clock.now_ms()

    def snapshot(self, report: RunReport) -> dict[str, Any]:
        system = self.system
        ks = system.runtime.kill_switch
        return {"steps": report.steps, "kill_switch": ks.label(), "active_trips": sorted(ks.active),
                "open_orders": len(system.orders.open_orders()), "journal_seq": system.runtime.state.last_seq,
                "equity_pusd": str(system.portfolio.equity()), "journal_unwritable": system.journal_unwritable}

    def _shutdown(self, report: RunReport) -> None:
        system = self.system
        system.step(self._now())  # fold and obey anything committed meanwhile
        resting = len(system.orders.open_orders())
        if self.options.on_exit == "cancel" and resting:
            report.cancelled_at_exit = system.olm.cancel_all(None, reason=f"shutdown ({report.stop_reason})")
            system.step(self._now())
            report.notes.append(f"cancelled {report.cancelled_at_exit} of {resting} resting orders at the venue")
        left = len(system.orders.open_orders())
        report.left_resting = left
        if left:
            report.notes.append(
                f"left {left} resting orders: our heartbeats stop now, so the exchange cancels them within about "
                f"{HEARTBEAT_CANCEL_S} s")
            system.runtime.note("GOV_RUN_STOPPING", durable=True, left_resting=left,
                                note=f"heartbeats stop; the exchange cancels them within {HEARTBEAT_CANCEL_S} s")
        report.journal_unwritable = system.journal_unwritable
        system.stop()
        report.stopped_ms = system.clock.now_ms()
