"""The reconciler's driver: the only code that reads the chain for reconciliation.

`ReconcileDriver.run()` reads the head at the confirmation depth and then every balance at that
block (pUSD and `balanceOfBatch` over every token the ledger has ever held), journals what it
got as a `chain_read` input envelope, and only then asks `gov.reconciler` to decide from state.
Replay re-feeds the journaled read and never calls the node. An unreachable node, a reorg during
the read or a lagging head is journaled as such and yields GOV_RECONCILE_UNAVAILABLE. When the
API monitor samples the `rpc` surface (`rpc_lagging` given: the reader is a sampled one), every
call is a sample and a lagging head one failed sample more, and the monitor decides the level;
without the monitor, the driver reports the surface itself (`gov_api_health`, surface `rpc`) on
each change of its health.

Under `polytraders run`, the runtime calls `driver.maybe_run(now_ms)` once per event-loop turn
(after the guardian has acted); `polytraders reconcile` calls `run()` once. With `off_loop` (the
live runtime) the node is read on a daemon thread and the read is journaled, and judged, at the
first turn after it finished: a node that hangs until its timeouts never stops the loop from
obeying the kill switch. The simulation and the demo read in the loop, so they stay deterministic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from polytraders.bots.gov.reconciler import Reconciler, ReconcileTick
from polytraders.chain.base import ChainReader, ChainUnavailable, read_balances
from polytraders.contracts import ApiDegraded, ChainRead, KillSwitchEvent, Note, ReconcileMismatch, Scope
from polytraders.contracts.envelope import Actor
from polytraders.journal.base import Journal, JournalEntry
from polytraders.operators.auth import Operator
from polytraders.runtime.config import build_config, last_loaded_values
from polytraders.runtime.kinds import Mode
from polytraders.runtime.runner import Runtime
from polytraders.state.reconcile import ReconcileProjection

CHAIN_ACTOR = Actor(kind="system", id="chain.reader")


class ReconcileDriver:
    def __init__(self, runtime: Runtime, reader: ChainReader | None, address: str,
                 bot: Reconciler | None = None, overrides: dict[str, Any] | None = None,
                 rpc_lagging: Callable[[], None] | None = None, off_loop: bool = False) -> None:
        self.rt = runtime
        self.off_loop = off_loop
        self._pending: list[ChainRead] = []  # the finished off-loop read, handed over once
        self._reading: threading.Thread | None = None
        self.rpc_lagging = rpc_lagging
        self.reader = reader
        self.address = address
        if bot is None:
            existing = runtime.bots.get(Reconciler.bot_id)
            bot = existing if isinstance(existing, Reconciler) else None
        if bot is None:
            bot = Reconciler()
            runtime.add_bot(bot, overrides, mode=Mode.ENFORCED)
        self.bot: Reconciler = bot
        if reader is not None:
            reader.confirmations = self.bot.config.integer("confirmations")
        self.last_run_ms: int | None = None
        self._rpc_ok: bool | None = None

    @property
    def ledger(self) -> ReconcileProjection:
        return self.rt.state.typed("reconcile", ReconcileProjection)

    def due(self, now_ms: int) -> bool:
        interval = self.bot.config.integer("reconcile_interval_s") * 1000
        return self.last_run_ms is None or now_ms - self.last_run_ms >= interval

    def maybe_run(self, now_ms: int) -> JournalEntry | None:
        """Run when `reconcile_interval_s` has passed since the last run (the periodic hook)."""
        if self.reader is None:
            return None
        if not self.off_loop:
            return self.run() if self.due(now_ms) else None
        if self._pending:
            read = self._pending.pop()
            self._reading = None
            return self._judge(read, None)
        if self._reading is None and self.due(now_ms):
            self.last_run_ms = now_ms
            tokens = self.ledger.tokens()  # folded state is read here, in the loop, never on the thread
            self._reading = threading.Thread(target=lambda: self._pending.append(self.read(tokens)),
                                             name="chain-read", daemon=True)
            self._reading.start()
        return None

    def read(self, tokens: list[str] | None = None) -> ChainRead:
        tokens = self.ledger.tokens() if tokens is None else tokens
        if self.reader is None:
            return ChainRead(status="unreachable", address=self.address, error="no chain reader configured")
        try:
            head, bal = read_balances(self.reader, self.address, tokens)
        except ChainUnavailable as exc:
            status = "reorged" if exc.kind == "reorged" else "unreachable"
            return ChainRead(status=status, address=self.address, error=exc.message[:500],
                             confirmations=self.reader.confirmations)
        return ChainRead(status="ok", address=self.address, block_number=head.number, block_hash=head.hash,
                         block_ts_ms=head.timestamp_ms, latest_block=head.latest,
                         confirmations=self.reader.confirmations, pusd=bal.pusd, outcome=dict(bal.outcome))

    def run(self, operator: Operator | None = None) -> JournalEntry | None:
        """One reconciliation: read, journal the read, decide. Returns the report's entry.

        With `operator` (the on-demand CLI, which is not the running system) the read and the
        bot's verdict are journaled as that operator's signed entries: every entry is accounted
        for, and the verdict is still the bot's pure decision over the journaled read."""
        self.rt.sync()
        self.last_run_ms = self.rt.clock.now_ms()
        return self._judge(self.read(), operator)

    def _judge(self, read: ChainRead, operator: Operator | None) -> JournalEntry | None:
        """Journal the read, then the reconciler's verdict on it."""
        if operator is None:
            read_entry = self.rt.record(read, actor=CHAIN_ACTOR, reason_code="GOV_CHAIN_READ")
            cid = f"rec_{read_entry.seq}"
            out = self.rt.decide(self.bot, ReconcileTick(read, read_entry.seq), correlation_id=cid)
            report = out.decision.output if out.decision is not None else None
            entry = out.entry
        else:
            read_entry = self.rt.record(read, actor=operator.actor, reason_code="GOV_CHAIN_READ", durable=True,
                                        signer=operator.signer)
            cid = f"rec_{read_entry.seq}"
            decision = self.bot.decide(ReconcileTick(read, read_entry.seq), self.rt.context(self.bot, cid))
            report = decision.output
            entry = self.rt.record(report if report is not None else Note(detail=decision.detail),
                                   actor=operator.actor, reason_code=decision.reason_code, correlation_id=cid,
                                   durable=True, signer=operator.signer)
        if isinstance(report, ReconcileMismatch) and operator is None:
            if self.rpc_lagging is None:
                self._rpc_health(report)
            elif report.status == "unavailable" and read.status == "ok":
                self.rpc_lagging()
        self.rt.journal.flush()
        return entry

    def _rpc_health(self, report: ReconcileMismatch) -> None:
        ok = report.status != "unavailable"
        if ok == self._rpc_ok:
            return
        self._rpc_ok = ok
        self.rt.record(ApiDegraded(surface="rpc", level="ok" if ok else "hard",
                                   last_success_ms=self.rt.clock.now_ms() if ok else None),
                       actor=CHAIN_ACTOR, reason_code="GOV_API_OK" if ok else "GOV_API_DEGRADED")


def reconciler_from_journal(journal: Journal) -> Reconciler:
    """The reconciler with the config the running system last journaled (else defaults), built
    without journaling anything (a CLI process is not the system)."""
    values = last_loaded_values(journal.read(kinds=["note"]), Reconciler.bot_id)
    config, _ = build_config(Reconciler.bot_id, Reconciler.params, values)
    bot = Reconciler()
    bot.init(config)
    return bot


def trip_on_mismatch(rt: Runtime, operator: Operator, report: JournalEntry) -> str:
    """Trip the kill switch for a mismatch found on demand while no system runs (signed by the
    operator who ran the reconcile); returns the trip id."""
    rt.journal.begin()  # the write lock folds what others wrote: a trip made meanwhile is seen
    for trip in rt.kill_switch.active.values():
        if trip.trigger == "reconcile_mismatch":
            return trip.trip_id  # already tripped: never twice
    trip_id = f"ks_{report.seq}_reconcile_mismatch"
    rt.record(KillSwitchEvent(event="tripped", trip_id=trip_id, trigger="reconcile_mismatch",
                              scope=Scope(scope="global", value="*"), observed=Decimal(1), threshold=Decimal(1),
                              caused_by_seq=report.seq, at_ms=rt.clock.now_ms(),
                              detail={"operator": operator.name, "via": "polytraders reconcile"}),
              actor=operator.actor, reason_code="RISK_KILLSWITCH_TRIPPED", durable=True, signer=operator.signer)
    return trip_id


def block_height(reader: ChainReader) -> int:
    """The incident snapshot's block height: the pinned head (raises when the node is down, and the
    snapshot records that error)."""
    return reader.head().number
