"""The reconciler's driver: the only code that reads the chain for reconciliation.

`ReconcileDriver.run()` reads the head at the confirmation depth and then every balance at that
block (pUSD and `balanceOfBatch` over every token the ledger has ever held), journals what it
got as a `chain_read` input envelope, and only then asks `gov.reconciler` to decide from state.
Replay re-feeds the journaled read and never calls the node. An unreachable node, a reorg during
the read or a lagging head is journaled as such and yields GOV_RECONCILE_UNAVAILABLE; the RPC
surface is also reported to the API monitor as degraded (`gov_api_health`, surface `rpc`) on
each change of its health.

Under `polytraders run`, the runtime calls `driver.maybe_run(now_ms)` once per event-loop turn
(after the guardian has acted); `polytraders reconcile` calls `run()` once.
"""

from __future__ import annotations

from typing import Any

from polytraders.bots.gov.reconciler import Reconciler, ReconcileTick
from polytraders.chain.base import ChainReader, ChainUnavailable, read_balances
from polytraders.contracts import ApiDegraded, ChainRead, ReconcileMismatch
from polytraders.contracts.envelope import Actor
from polytraders.journal.base import JournalEntry
from polytraders.runtime.kinds import Mode
from polytraders.runtime.runner import Runtime
from polytraders.state.reconcile import ReconcileProjection

CHAIN_ACTOR = Actor(kind="system", id="chain.reader")


class ReconcileDriver:
    def __init__(self, runtime: Runtime, reader: ChainReader | None, address: str,
                 bot: Reconciler | None = None, overrides: dict[str, Any] | None = None) -> None:
        self.rt = runtime
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
        if self.reader is None or not self.due(now_ms):
            return None
        return self.run()

    def read(self) -> ChainRead:
        tokens = self.ledger.tokens()
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

    def run(self) -> JournalEntry | None:
        """One reconciliation: read, journal the read, decide. Returns the report's entry."""
        self.rt.sync()
        self.last_run_ms = self.rt.clock.now_ms()
        read = self.read()
        read_entry = self.rt.record(read, actor=CHAIN_ACTOR, reason_code="GOV_CHAIN_READ")
        out = self.rt.decide(self.bot, ReconcileTick(read, read_entry.seq), correlation_id=f"rec_{read_entry.seq}")
        report = out.decision.output if out.decision is not None else None
        if isinstance(report, ReconcileMismatch):
            self._rpc_health(report)
        self.rt.journal.flush()
        return out.entry

    def _rpc_health(self, report: ReconcileMismatch) -> None:
        ok = report.status != "unavailable"
        if ok == self._rpc_ok:
            return
        self._rpc_ok = ok
        self.rt.record(ApiDegraded(surface="rpc", level="ok" if ok else "hard",
                                   last_success_ms=self.rt.clock.now_ms() if ok else None),
                       actor=CHAIN_ACTOR, reason_code="GOV_API_OK" if ok else "GOV_API_DEGRADED")


def block_height(reader: ChainReader) -> int:
    """The incident snapshot's block height: the pinned head (raises when the node is down, and the
    snapshot records that error)."""
    return reader.head().number
