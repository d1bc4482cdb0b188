"""The "on-chain reconcile mismatch" playbook under `polytraders run` against `polytraders exchange
serve --chain`, all real processes on loopback: a real anvil, the exchange settling every trade on
it, `run` trading through the real adapter and reconciling from [chain], and the operators' CLI
in processes of their own.

It trades until fills have CONFIRMED and a reconcile matches them, then someone moves pUSD off
the funder behind the system's back (anvil impersonation). The run must trip the kill switch
(reconcile_mismatch) and stop trading, open the incident with the divergence record, and refuse
the reset until one operator resolves it, a second approves, and a fresh reconcile matches.
The chain RPC is a sampled surface of the API monitor all along."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from chain_helpers import THIEF
from eth_account import Account
from factories import journal_rows as rows

from polytraders.chain.anvil import AnvilMissing, AnvilNode, ChainAdmin, Deployment, free_port

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


class Exchange:
    def __init__(self, chain_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen([*CLI, "exchange", "serve", "--port", str(self.port), "--seed", "5",
                                      "--markets", "3", "--chain", chain_url], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        lines = [self.proc.stdout.readline().strip() for _ in range(3)]
        chain = next(line.split() for line in lines if line.startswith("chain:"))
        self.pusd, self.ctf = chain[3], chain[5]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def miner(url: str, stop: threading.Event) -> None:
    """A live chain keeps making blocks; anvil (automine) makes one only per transaction."""
    while not stop.wait(1.0):
        try:
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []}, timeout=5)
        except httpx.HTTPError:
            pass


def cli(env: dict[str, str], cwd: Path, who: str, *argv: str) -> tuple[int, Any]:
    db = env["POLYTRADERS_DB"]
    out = subprocess.run([*CLI, *argv, "--json"], env={**env, "POLYTRADERS_KEY_FILE": f"{db}.keys/{who}.key"},
                         cwd=cwd, capture_output=True, text=True, timeout=120)
    text = out.stdout.strip() or out.stderr.strip()
    try:
        return out.returncode, json.loads(text)
    except ValueError:
        return out.returncode, text


def wait_for(db: Path, proc: subprocess.Popen[str], pred: Any, what: str, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while True:
        hits = [s for s, c, e in rows(db) if pred(s, c, e)]
        if hits:
            return hits[0]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{what} never appeared"
        time.sleep(0.2)


def test_reconcile_mismatch_playbook_under_run_against_exchange_serve_chain(tmp_path: Path) -> None:
    try:
        node = AnvilNode(timestamp_s=int(time.time()))  # blocks on wall time: the run's lag check
    except AnvilMissing as exc:
        pytest.skip(f"anvil unavailable: {exc}")
    stop_mining = threading.Event()
    exchange: Exchange | None = None
    proc: subprocess.Popen[str] | None = None
    try:
        exchange = Exchange(node.url)
        threading.Thread(target=miner, args=(node.url, stop_mining), daemon=True).start()
        db = tmp_path / "live.db"
        subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": SRC})
        key = "0x" + secrets.token_hex(32)
        funder = Account.from_key(key).address
        (tmp_path / "polytraders.toml").write_text(
            f'[venue]\nkind = "polymarket"\nclob_url = "{exchange.url}"\n'
            f'ws_url = "ws://127.0.0.1:{exchange.port}/ws"\ngamma_url = "{exchange.url}/gamma"\n'
            f'data_url = "{exchange.url}/data-api"\n[run]\nstep_ms = 200\n'
            f'[chain]\nrpc_url = "{node.url}"\npusd = "{exchange.pusd}"\nctf = "{exchange.ctf}"\n'
            f'[oncall]\ntrading_ops = ["ann"]\nrisk = ["ann"]\nsecurity = ["ben"]\n'
            '[bots."gov.reconciler"]\nreconcile_interval_s = 3\nconfirm_grace_s = 10\n'
            '[bots."gov.api_degradation_monitor"]\nsummary_interval_s = 2\nprobe_interval_s = 1\n'
            'short_window_s = 6\nlong_window_s = 60\nmax_orderbook_age_ms = 30000\n', encoding="utf-8")
        env = {**os.environ, "POLYTRADERS_DB": str(db), "POLYTRADERS_WALLET_KEY": key,
               "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        # the exchange mints every account's starting 10,000 pUSD on chain: the ledger is told so
        code, out = cli(env, tmp_path, "ann", "reconcile", "transfer", "deposit", "10000",
                        "--reference", "starting balance from the exchange", "--funder", funder)
        assert code == 0, out
        proc = subprocess.Popen([*CLI, "run", "--json", "--duration", "240"], cwd=tmp_path, text=True,
                                env={**env, "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        confirmed = wait_for(db, proc, lambda s, c, e: e["kind"] == "fill"
                             and e["payload"]["settlement"] == "CONFIRMED", "a CONFIRMED fill", 120)
        matched = wait_for(db, proc, lambda s, c, e: c == "GOV_RECONCILE_OK" and s > confirmed
                           and e["payload"]["internal"] != {"pusd": "10000"}, "a match after fills", 90)
        match = next(e for s, c, e in rows(db) if s == matched)["payload"]
        assert any(item != "pusd" and v != "0" for item, v in match["internal"].items()), match

        # behind the system's back: 123 pUSD leave the funder
        ChainAdmin(node.url, Deployment(exchange.pusd, exchange.ctf, "")).transfer_pusd(funder, THIEF, 123_000_000)
        mismatch = wait_for(db, proc, lambda s, c, e: c == "GOV_RECONCILE_MISMATCH" and s > matched,
                            "the mismatch", 60)
        record = next(e for s, c, e in rows(db) if s == mismatch)["payload"]
        pusd = next(i for i in record["items"] if i["item"] == "pusd")
        assert str(pusd["difference"]).lstrip("-").startswith("123")
        assert record["last_block_hash"].startswith("0x") and record["last_block_number"] > 0
        assert record["last_applied_seq"] > 0
        trip = wait_for(db, proc, lambda s, c, e: c == "RISK_KILLSWITCH_TRIPPED" and s >= mismatch,
                        "the trip", 30)
        trip_env = next(e for s, c, e in rows(db) if s == trip)
        assert trip_env["payload"]["trigger"] == "reconcile_mismatch", trip_env
        trip_id = trip_env["payload"]["trip_id"]
        wait_for(db, proc, lambda s, c, e: c == "EXEC_CANCEL_ALL" and s > trip, "the cancel-all", 30)

        # the incident holds the divergence record and pages security
        incident = wait_for(db, proc, lambda s, c, e: c == "GOV_INCIDENT_DECLARED" and s > trip, "the incident", 30)
        time.sleep(3)
        code, incidents = cli(env, tmp_path, "ann", "incidents", "list")
        assert code == 0, incidents
        inc = next(i for i in incidents if i["trigger"] == "reconcile_mismatch")
        code, shown = cli(env, tmp_path, "ann", "incidents", "show", inc["incident_id"])
        assert code == 0, shown
        assert "123" in json.dumps(shown) and record["last_block_hash"] in json.dumps(shown), shown
        assert incident > 0

        # no reset until resolved, approved by a second person, and a fresh reconcile matches
        code, out = cli(env, tmp_path, "ann", "killswitch", "request-reset", trip_id)
        assert code == 1 and "reconcil" in json.dumps(out), out
        code, out = cli(env, tmp_path, "ann", "reconcile", "transfer", "withdrawal", "123", "--reference", "x")
        assert code == 1 and "mismatch is open" in json.dumps(out), out  # not a way around the approval
        code, out = cli(env, tmp_path, "ann", "reconcile", "resolve", inc["incident_id"], "--explain",
                        "ops swept 123 pUSD to cold storage without journaling it", "--adjust", "pusd=-123")
        assert code == 0, out
        adjustment = out["adjustment_id"]
        code, out = cli(env, tmp_path, "ann", "reconcile", "approve", adjustment)
        assert code == 1, out
        code, out = cli(env, tmp_path, "ann", "killswitch", "request-reset", trip_id)
        assert code == 1, out
        code, out = cli(env, tmp_path, "ben", "reconcile", "approve", adjustment)
        assert code == 0, out
        approved = max(s for s, c, _ in rows(db) if c == "GOV_RECONCILE_ADJUSTMENT_APPROVED")
        wait_for(db, proc, lambda s, c, e: c == "GOV_RECONCILE_OK" and s > approved, "a fresh match", 60)
        code, out = cli(env, tmp_path, "ann", "killswitch", "request-reset", trip_id)
        assert code == 0, out
        code, out = cli(env, tmp_path, "ben", "killswitch", "approve-reset", out["request_id"])
        assert code == 0, out
        wait_for(db, proc, lambda s, c, e: c == "RISK_KILLSWITCH_RESET" and s > approved, "the reset", 30)

        # the chain RPC was a sampled surface all along
        code, health = cli(env, tmp_path, "ann", "health")
        assert code == 0, health
        levels = {s["surface"]: s["level"] for s in health["surfaces"]}
        assert set(levels) == {"clob_rest", "clob_ws_market", "clob_ws_user", "gamma", "data_api", "rpc"}, levels
        assert levels["rpc"] == "ok", health
        rpc = [e["payload"] for _, c, e in rows(db) if c == "GOV_API_SUMMARY" and e["payload"]["surface"] == "rpc"]
        assert rpc and max(p["samples_short"] for p in rpc) >= 3
        proc.send_signal(signal.SIGTERM)
        out_text, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        journal = rows(db)
        submits_while_tripped = [s for s, c, _ in journal if c == "EXEC_SUBMITTED" and trip < s < approved]
        assert not submits_while_tripped
    finally:
        stop_mining.set()
        if proc is not None and proc.poll() is None:
            proc.kill()
        if exchange is not None:
            exchange.stop()
        node.stop()
