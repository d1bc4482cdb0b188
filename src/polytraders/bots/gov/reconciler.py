"""gov.reconciler — compares the internal ledger with the chain, item by item, at one block.

Purpose: catch any difference between what the books say the funder holds and what the chain
holds (a transfer behind the system's back, a settlement that never landed, a reorg that undid
one, a bug in accounting), and stop trading through the kill switch when there is one. It never
blocks anything itself; the kill switch's `reconcile_mismatch` trigger reads its verdict.

Inputs: `ReconcileTick` — a `chain_read` envelope the driver (`engine/reconcile.py`) journaled
just before: pUSD and `balanceOfBatch` for every token held now or before, pinned to one block
(number, hash, timestamp) at the configured confirmation depth, or why there are none. The bot
does no I/O: replay feeds the same entry and gets the same verdict. The internal side comes from
the `reconcile` projection (`state/reconcile.py`): confirmed fills, explicit transfers, approved
by-hand adjustments; trades still MATCHED/MINED/RETRYING, or CONFIRMED less than
`confirm_grace_s` ago, are in flight and widen the accepted band instead of counting.
Outputs: `ReconcileMismatch` (kind `gov_reconcile`) with `status`:
- `match` (GOV_RECONCILE_OK, P3): every item within its band ± `tolerance`;
- `mismatch` (GOV_RECONCILE_MISMATCH, P0): the divergence record, one item per difference with
  the internal value, on-chain value, in-flight amount and difference, plus the block number and
  hash read and the last-applied journal seq;
- `unavailable` (GOV_RECONCILE_UNAVAILABLE, P1): the node could not be read, a reorg hit the read,
  or the head is older than `max_head_age_s` (lagging). Never a match.
Parameters (default / warning / hard):
- reconcile_interval_s 30 / 120 / 600 (s): how often the driver reads and the bot compares;
- tolerance 0 / 100 / 10000 (base units, 1e-6 pUSD or share): differences up to this are noise;
- max_head_age_s 120 / 300 / 900 (s): an older head means the node lags: unavailable;
- confirm_grace_s 30 / 120 / 600 (s): a fill confirmed this recently may not be at depth yet;
- confirmations 2 / 1 / 0 (blocks, a floor): depth below the latest block the driver reads at.
Reason codes: GOV_RECONCILE_OK, GOV_RECONCILE_MISMATCH, GOV_RECONCILE_UNAVAILABLE.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytraders.chain.base import SCALE
from polytraders.contracts import ChainRead, DivergenceItem, ReconcileMismatch
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer
from polytraders.state.reconcile import PUSD, ReconcileProjection

ZERO = Decimal(0)
HALF_UNIT = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class ReconcileTick:
    read: ChainRead
    read_seq: int


class Reconciler(Bot[ReconcileTick, ReconcileMismatch]):
    bot_id = "gov.reconciler"
    version = "1.0.0"
    layer = Layer.GOVERNANCE
    bot_class = "Governance Service"
    authority = frozenset({Authority.EXPLAIN})
    params = (
        Param("reconcile_interval_s", 30, 120, 600, unit="s", doc="Seconds between reconciliations."),
        Param("tolerance", 0, 100, 10_000, unit=" base units",
              doc="Largest difference (in 1e-6 units) that is not a mismatch."),
        Param("max_head_age_s", 120, 300, 900, unit="s", doc="A head older than this means the node lags."),
        Param("confirm_grace_s", 30, 120, 600, unit="s",
              doc="A fill confirmed this recently counts as in flight."),
        Param("confirmations", 2, 1, 0, direction="min", doc="Blocks below the latest that reads are pinned to."),
    )
    reason_codes = ("GOV_RECONCILE_OK", "GOV_RECONCILE_MISMATCH", "GOV_RECONCILE_UNAVAILABLE")

    def decide(self, input: ReconcileTick, ctx: BotContext) -> Decision[ReconcileMismatch]:
        read, cfg = input.read, ctx.config
        base: dict[str, Any] = {"address": read.address, "last_block_number": read.block_number,
                                "last_block_hash": read.block_hash, "last_applied_seq": ctx.state.last_seq,
                                "chain_read_seq": input.read_seq}
        recon = ctx.state.find("reconcile")
        if not isinstance(recon, ReconcileProjection):
            return self._unavailable(base, "no internal ledger (reconcile projection) in this process")
        if read.status != "ok" or read.pusd is None or read.block_ts_ms is None:
            return self._unavailable(base, f"chain {read.status}: {read.error or 'no balances'}")
        age_ms = ctx.now() - read.block_ts_ms
        if age_ms > cfg.integer("max_head_age_s") * 1000:
            return self._unavailable(base, f"chain lagging: head block {read.block_number} is {age_ms // 1000} s "
                                           f"old (max_head_age_s {cfg.integer('max_head_age_s')})")
        # The chain holds whole base units, so an exact ledger value may sit up to half a unit away.
        tolerance = (Decimal(cfg.integer("tolerance")) + HALF_UNIT) / SCALE
        bands = recon.bands(ctx.now(), cfg.integer("confirm_grace_s") * 1000)
        onchain = {PUSD: read.pusd, **read.outcome}
        missing = sorted(set(bands) - set(onchain))
        if missing:  # the read did not cover every item the ledger knows: never call that a match
            return self._unavailable(base, f"chain read omitted {len(missing)} item(s), e.g. {missing[0]}")
        items: list[DivergenceItem] = []
        internal_all: dict[str, str] = {}
        onchain_all: dict[str, str] = {}
        for item in sorted(set(bands) | set(onchain)):
            band = bands.get(item)
            internal = band.internal if band is not None else ZERO
            chain = onchain.get(item, ZERO)
            internal_all[item], onchain_all[item] = str(internal), str(chain)
            low = internal + (band.low if band else ZERO) - tolerance
            high = internal + (band.high if band else ZERO) + tolerance
            if not low <= chain <= high:
                items.append(DivergenceItem(item=item, internal=internal, onchain=chain,
                                            in_flight=band.in_flight if band else ZERO,
                                            difference=chain - internal))
        if items:
            report = ReconcileMismatch(status="mismatch", priority="P0", internal=internal_all,
                                       onchain=onchain_all, items=items, **base)
            return Decision(report, "GOV_RECONCILE_MISMATCH",
                            {"items": len(items), "block": str(read.block_number), "first": items[0].item})
        report = ReconcileMismatch(status="match", priority="P3", internal=internal_all, onchain=onchain_all,
                                   **base)
        return Decision(report, "GOV_RECONCILE_OK", {"items": len(internal_all), "block": str(read.block_number)})

    def _unavailable(self, base: dict[str, Any], why: str) -> Decision[ReconcileMismatch]:
        report = ReconcileMismatch(status="unavailable", priority="P1", internal={}, onchain={}, error=why[:500],
                                   **base)
        return Decision(report, "GOV_RECONCILE_UNAVAILABLE", {"error": why[:200]})
