"""Real-process helpers for `run` against `exchange serve --chain` on a real anvil: the exchange
process (with the stand-ins' addresses it printed), a miner (a live chain keeps making blocks;
anvil's automine makes one only per transaction), a live journal with its settings, and the CLI
run as a given operator."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from factories import journal_rows as rows

from polytraders.chain.anvil import free_port
from polytraders.chain.base import read_balances
from polytraders.chain.rpc import RpcChainReader

CLI = [sys.executable, "-m", "polytraders.cli.main"]
SRC = str(Path(__file__).resolve().parents[1] / "src")
# Fast windows; latency thresholds at their limits, because a loaded 2-core test machine (and the
# exchange settling on anvil in its one event loop) makes p99 alone cross the defaults.
FAST_MONITOR = ('[bots."gov.api_degradation_monitor"]\nsummary_interval_s = 2\nprobe_interval_s = 1\n'
                'short_window_s = 6\nlong_window_s = 60\ngreen_before_promote_s = 5\n'
                'warn_p99_ms = 10000\nhard_p99_ms = 30000\n')


class Exchange:
    def __init__(self, chain_url: str, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen([*CLI, "exchange", "serve", "--port", str(self.port), "--seed", "5",
                                      "--markets", "3", "--chain", chain_url, *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        lines = [self.proc.stdout.readline().strip() for _ in range(3)]
        chain = next(line.split() for line in lines if line.startswith("chain:"))
        self.chain_url, self.pusd, self.ctf = chain_url, chain[3], chain[5]

    def faults(self, spec: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/admin/faults", json=spec, timeout=5).raise_for_status()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Miner:
    def __init__(self, url: str, every_s: float = 1.0) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(url, every_s), daemon=True)
        self._thread.start()

    def _loop(self, url: str, every_s: float) -> None:
        while not self._stop.wait(every_s):
            with contextlib.suppress(httpx.HTTPError):  # a stopped node: the test is ending
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []}, timeout=5)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class LiveSetup:
    db: Path
    cwd: Path
    env: dict[str, str]
    funder: str

    def cli(self, who: str, *argv: str) -> tuple[int, Any]:
        """One CLI process as operator `who` (--json); the parsed answer, or its text."""
        env = {**self.env, "POLYTRADERS_KEY_FILE": f"{self.db}.keys/{who}.key"}
        out = subprocess.run([*CLI, *argv, "--json"], env=env, cwd=self.cwd, capture_output=True, text=True,
                             timeout=120)
        text = out.stdout.strip() or out.stderr.strip()
        try:
            return out.returncode, json.loads(text)
        except ValueError:
            return out.returncode, text

    def start_run(self, duration_s: int) -> subprocess.Popen[str]:
        return subprocess.Popen([*CLI, "run", "--json", "--duration", str(duration_s)], cwd=self.cwd, text=True,
                                env={**self.env, "POLYTRADERS_KEY_FILE": f"{self.db}.keys/ann.key"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def live_setup(tmp_path: Path, exchange: Exchange, rpc_url: str, extra: str = "") -> LiveSetup:
    """A live journal (admins ann and ben), settings for `run` on the exchange with [chain], and the
    exchange's starting 10,000 pUSD recorded as a deposit (the exchange mints it on chain)."""
    db = tmp_path / "live.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": SRC})
    key = "0x" + secrets.token_hex(32)
    funder = Account.from_key(key).address
    (tmp_path / "polytraders.toml").write_text(
        f'[venue]\nkind = "polymarket"\nclob_url = "{exchange.url}"\n'
        f'ws_url = "ws://127.0.0.1:{exchange.port}/ws"\ngamma_url = "{exchange.url}/gamma"\n'
        f'data_url = "{exchange.url}/data-api"\n[run]\nstep_ms = 200\n'
        f'[chain]\nrpc_url = "{rpc_url}"\npusd = "{exchange.pusd}"\nctf = "{exchange.ctf}"\n'
        f'[oncall]\ntrading_ops = ["ann"]\nrisk = ["ann"]\nsecurity = ["ben"]\n'
        '[bots."gov.reconciler"]\nreconcile_interval_s = 3\nconfirm_grace_s = 10\n' + extra, encoding="utf-8")
    env = {**os.environ, "POLYTRADERS_DB": str(db), "POLYTRADERS_WALLET_KEY": key,
           "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    setup = LiveSetup(db, tmp_path, env, funder)
    # as an operator would: open the account (the exchange mints its balance), wait until the chain
    # shows it at the confirmation depth, then record the deposit
    httpx.post(f"{exchange.url}/admin/fund", json={"address": funder, "amount": "0"}, timeout=10).raise_for_status()
    reader = RpcChainReader(exchange.chain_url, exchange.pusd, exchange.ctf, confirmations=2)
    deadline = time.monotonic() + 30
    while read_balances(reader, funder, [])[1].pusd != Decimal(10_000):
        assert time.monotonic() < deadline, "the starting balance never reached the chain"
        time.sleep(0.2)
    code, out = setup.cli("ann", "reconcile", "transfer", "deposit", "10000",
                          "--reference", "starting balance from the exchange", "--funder", funder)
    assert code == 0, out
    return setup


def wait_for(db: Path, proc: subprocess.Popen[str], pred: Any, what: str, timeout: float = 90) -> int:
    """The first journal seq whose (seq, code, envelope) satisfies `pred`, while `proc` runs."""
    deadline = time.monotonic() + timeout
    while True:
        hits = [s for s, c, e in rows(db) if pred(s, c, e)]
        if hits:
            return hits[0]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{what} never appeared"
        time.sleep(0.2)


def tear_down(node: Any, exchange: Exchange | None, miner: Miner | None, proc: subprocess.Popen[str] | None) -> None:
    """Stop whatever a rehearsal got as far as starting: the miner, `run`, the exchange, the node."""
    if miner is not None:
        miner.stop()
    if proc is not None and proc.poll() is None:
        proc.kill()
    if exchange is not None:
        exchange.stop()
    node.stop()
