"""Journal benchmark: envelope validation + serialisation, and hash-chained appends per second.

Run: python benchmarks/bench_journal.py [--n 50000] [--rounds 5]
Each round appends N pre-built envelopes to a fresh SQLite journal (WAL, group commit) and
times it; we report the median and worst (p99 over rounds is the max at this round count)
throughput, plus the per-envelope cost of building (validating) and serialising an envelope.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from polytraders.contracts import RiskVote
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal import SqliteJournal
from polytraders.journal.base import canonical_bytes

ACTOR = Actor(kind="bot", id="risk.drawdown_guard")


def make(i: int) -> ReportEnvelope:
    vote = RiskVote(guard_id="risk.drawdown_guard", intent_id=f"oi_{i:012d}", decision="APPROVE",
                    reason_code="RISK_APPROVED", message="within caps",
                    observed={"gross": str(Decimal(i) / 100)})
    return ReportEnvelope.wrap(vote, actor=ACTOR, reason_code="RISK_APPROVED", ts_ms=i,
                               correlation_id=f"corr_{i:012d}", config_version="3")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sync", choices=["FULL", "NORMAL"], default="NORMAL")
    args = ap.parse_args()

    per_env_us: list[float] = []
    for i in range(20_000):
        t0 = time.perf_counter_ns()
        canonical_bytes(make(i).to_json_dict())
        per_env_us.append((time.perf_counter_ns() - t0) / 1000)
    print(f"validate+serialise one envelope: median {statistics.median(per_env_us):.1f} us, "
          f"p99 {pct(per_env_us, 0.99):.1f} us "
          f"(= {1e6 / statistics.median(per_env_us):,.0f} envelopes/s)")

    envelopes = [make(i) for i in range(args.n)]
    rates, cpu_us = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as d:
            j = SqliteJournal(Path(d) / "bench.db", synchronous=args.sync)
            c0, t0 = time.process_time(), time.perf_counter()
            for env in envelopes:
                j.append(env)
            j.flush()
            rates.append(args.n / (time.perf_counter() - t0))
            cpu_us.append((time.process_time() - c0) / args.n * 1e6)
            assert j.verify().ok
            j.close()
    print(f"append (hash chain, synchronous={args.sync}, group commit): "
          f"median {statistics.median(rates):,.0f}/s, worst {min(rates):,.0f}/s over {args.rounds} "
          f"rounds of {args.n:,}")
    # on a shared machine the process's own CPU time per append is the steadier figure
    print(f"append CPU: median {statistics.median(cpu_us):.2f} us per entry, worst {max(cpu_us):.2f} us")


if __name__ == "__main__":
    main()
