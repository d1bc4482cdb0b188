"""Reconciling 500 position tokens against a local anvil node. Target: at most 2 s.

Run: python benchmarks/bench_reconcile.py [--tokens 500] [--runs 30]
Setup: anvil on loopback (chain id 137), the stand-ins deployed, the funder holding pUSD and 500
positions (one mintBatch), a signed simulation journal whose ledger holds the same 500 positions
(one confirmed fill each) and the deposit. Each run is one full `ReconcileDriver.run()`: the
head at depth 2, pUSD `balanceOf` and one `balanceOfBatch` over 500 ids pinned to that block,
the block hash re-read, the `chain_read` envelope journaled, the bot's comparison of 501 items
and its `gov_reconcile` envelope. Reports median and p99 in ms; also the chain read alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from polytraders.chain.anvil import AnvilNode, ChainAdmin
from polytraders.chain.base import read_balances
from polytraders.contracts import ChainTransfer, FillRecord
from polytraders.contracts.envelope import Actor
from polytraders.engine.reconcile import ReconcileDriver
from polytraders.runtime.clock import SimClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from factories import make_trusted_runtime  # noqa: E402

T0_S = 1_767_571_200
FUNDER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=500)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    tokens = [str(10**30 + i) for i in range(args.tokens)]
    with AnvilNode(timestamp_s=T0_S) as node, tempfile.TemporaryDirectory() as tmp:
        admin = ChainAdmin.deploy(node.url, timestamp_s=T0_S)
        clock = SimClock(T0_S * 1000 + 10_000)
        rt, _ = make_trusted_runtime(Path(tmp) / "bench.db", clock)
        admin.mint_pusd(FUNDER, 10**12)
        admin.mint_tokens(FUNDER, tokens, 1_000_000)
        rt.record(ChainTransfer(direction="deposit", item="pusd", amount=Decimal(10**6 + len(tokens) // 2),
                                address=FUNDER), actor=Actor(kind="system", id="wallet.sim"),
                  reason_code="GOV_CHAIN_TRANSFER")
        for i, t in enumerate(tokens):  # 1 share each at 0.5: the deposit above covers the cost
            rt.record(FillRecord(trade_id=f"t{i}", client_order_id=f"c{i}", market_id="0x" + "ab" * 32, token_id=t,
                                 side="BUY", price=Decimal("0.5"), size=Decimal(1), liquidity="maker",
                                 settlement="CONFIRMED", ts_ms=clock.now_ms()),
                      actor=Actor(kind="system", id="venue"), reason_code="EXEC_FILL")
        rt.journal.flush()
        clock.advance_to(clock.now_ms() + 60_000)
        admin.mine(3, clock.now_ms())
        reader = admin.reader()
        driver = ReconcileDriver(rt, reader, FUNDER)
        first = driver.run()
        assert first is not None and first.envelope.reason_code == "GOV_RECONCILE_OK", first.envelope.payload
        full: list[float] = []
        reads: list[float] = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            entry = driver.run()
            full.append((time.perf_counter() - t0) * 1000)
            assert entry is not None and entry.envelope.reason_code == "GOV_RECONCILE_OK"
            t0 = time.perf_counter()
            read_balances(reader, FUNDER, tokens)
            reads.append((time.perf_counter() - t0) * 1000)
    print(f"reconcile {args.tokens} position tokens against anvil, {args.runs} runs")
    print(f"  full reconcile (read + journal + decide): median {statistics.median(full):.1f} ms, "
          f"p99 {pct(full, 0.99):.1f} ms (target <= 2000 ms)")
    print(f"  chain read alone (head + pUSD + balanceOfBatch + hash check): median {statistics.median(reads):.1f} ms, "
          f"p99 {pct(reads, 0.99):.1f} ms")


if __name__ == "__main__":
    main()
