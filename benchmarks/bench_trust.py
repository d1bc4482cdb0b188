"""Trust-model costs: the head check, signing and verifying a command, and a CLI trip landing
while a trading process runs.

Run: python benchmarks/bench_trust.py
- head check: `SqliteJournal.changed()` (PRAGMA data_version) and `Runtime.sync()` (that plus the
  halt-file stat) on a 20,000-entry journal when nothing changed: the cost paid before every
  order-path decision. Target: at most 5 µs.
- Ed25519: sign and verify one operator command's signing bytes.
- CLI trip under load: `polytraders demo` runs (simulated time, as fast as it goes, holding the
  write lock most of the time); `polytraders killswitch trip` is run 10 times from another
  process. Reports the lock-to-commit time the CLI measures and the whole command's wall time
  (Python start-up included). Target for the commit: 100 ms.
Reports median and p99.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from polytraders.contracts import Note
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal import signatures
from polytraders.journal.signatures import Signer, signing_bytes, verify
from polytraders.runtime.clock import SimClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from factories import journal_count as count  # noqa: E402
from factories import make_trusted_runtime  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def per_call_us(fn: object, n: int = 20_000, rounds: int = 30) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter_ns()
        for _ in range(n):
            fn()  # type: ignore[operator]
        out.append((time.perf_counter_ns() - t) / n / 1000)
    return out


def bench_head_check(d: Path) -> None:
    rt, _ = make_trusted_runtime(d / "head.db", SimClock(1_767_571_200_000), crew=())
    for i in range(20_000):
        rt.note("GOV_MARKET_DATA", n=i)
    rt.journal.flush()
    rt.halt_path = d / "head.db.halt"
    changed = per_call_us(rt.journal.changed)  # type: ignore[attr-defined]
    sync = per_call_us(rt.sync)
    print(f"head check journal.changed(): median {statistics.median(changed):.2f} us, p99 {pct(changed, .99):.2f} us")
    print(f"Runtime.sync() (head check + halt file): median {statistics.median(sync):.2f} us, "
          f"p99 {pct(sync, .99):.2f} us")


def bench_signatures() -> None:
    signer = Signer.generate()
    env = ReportEnvelope.wrap(Note(detail={"reason": "drill"}), actor=Actor(kind="operator", id="ann"),
                              reason_code="RISK_KILLSWITCH_TRIPPED", ts_ms=1)
    data = signing_bytes("0" * 32, 42, "f" * 64, env.unsigned_json_dict())
    sig = signer.sign(data)
    signs = per_call_us(lambda: signer.sign(data), n=500, rounds=20)

    def fresh_verify() -> None:
        # as another process verifies it: neither this process's signed-here memo nor a cached
        # result (the key object stays loaded, as it does for a journal's few signers)
        signatures._SIGNED_HERE.clear()
        signatures._verify.cache_clear()
        assert verify(signer.public_hex, data, sig)

    verifies = per_call_us(fresh_verify, n=500, rounds=20)
    print(f"Ed25519 sign a command: median {statistics.median(signs):.1f} us; verify: median "
          f"{statistics.median(verifies):.1f} us (once per entry, when it is applied)")


def bench_cli_trip(d: Path, trips: int = 10) -> None:
    cli = [sys.executable, "-m", "polytraders.cli.main"]
    db = d / "busy.db"
    env = {**os.environ, "POLYTRADERS_DB": str(db)}
    demo = subprocess.Popen([*cli, "demo", "--minutes", "1440", "--markets", "10", "--json"], env=env, cwd=d,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    commit, wall = [], []
    try:
        while count(db) < 3_000:
            if demo.poll() is not None:
                raise SystemExit("the demo stopped before the trips")
            time.sleep(0.05)
        for i in range(trips):
            t = time.perf_counter()
            out = subprocess.run([*cli, "killswitch", "trip", "--scope", "global", "--reason", f"bench {i}",
                                  "--json"], env={**env, "POLYTRADERS_KEY_FILE": str(db) + ".keys/root.key"},
                                 capture_output=True, text=True, check=True)
            wall.append((time.perf_counter() - t) * 1000)
            data = json.loads(out.stdout)
            if data.get("lock_to_commit_ms") is not None:
                commit.append(float(data["lock_to_commit_ms"]))
            time.sleep(0.3)
    finally:
        demo.send_signal(signal.SIGKILL)
        demo.wait()
    print(f"CLI trip while a session runs: lock-to-commit median {statistics.median(commit):.1f} ms, "
          f"max {max(commit):.1f} ms over {len(commit)} trips; whole command median "
          f"{statistics.median(wall):.0f} ms (Python start-up included)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        bench_head_check(d)
        bench_signatures()
        bench_cli_trip(d)


if __name__ == "__main__":
    main()
