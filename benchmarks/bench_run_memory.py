"""Memory of `polytraders run` over time: resident set size at minute 2 and minute 10.

Run: python benchmarks/bench_run_memory.py [--minutes 10] [--venue sim|polymarket]
Starts a live journal (`polytraders init`) in a temporary folder and `polytraders run` on the
in-process simulator (default) for the given minutes, sampling VmRSS from /proc every 10 s.
Target: RSS at minute 10 is at most minute 2's plus 20 MB.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-m", "polytraders.cli.main"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(d / "live.db")], check=True,
                       capture_output=True)
        (d / "polytraders.toml").write_text('[venue]\nkind = "sim"\n[run]\nsim_markets = 20\n', encoding="utf-8")
        env = {**os.environ, "POLYTRADERS_DB": str(d / "live.db"),
               "POLYTRADERS_KEY_FILE": str(d / "live.db.keys/ann.key"),
               "POLYTRADERS_WALLET_KEY": "0x" + secrets.token_hex(32)}
        proc = subprocess.Popen([*CLI, "run", "--json", "--duration", str(args.minutes * 60)], env=env, cwd=d,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        start = time.monotonic()
        samples: list[tuple[float, float]] = []
        while proc.poll() is None:
            samples.append(((time.monotonic() - start) / 60, rss_mb(proc.pid)))
            time.sleep(10)
        proc.communicate()

    def at(minute: float) -> float:
        return min(samples, key=lambda s: abs(s[0] - minute))[1]

    end = min(args.minutes, samples[-1][0])
    print(f"run on the simulator, 20 markets: RSS at minute 2 {at(2):.1f} MB, at minute {end:.0f} {at(end):.1f} MB "
          f"(growth {at(end) - at(2):+.1f} MB; target <= +20 MB)")


if __name__ == "__main__":
    main()
