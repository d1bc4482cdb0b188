"""`polytraders reconcile` end to end through the CLI against a real anvil process, with signed
operator keys: a match, a mismatch that trips the switch (no system running), the by-hand
resolution, its refused self-approval and the second person's approval, a fresh match, then the
two-person kill-switch reset."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from chain_helpers import FUNDER, THIEF, Anvil
from factories import make_trusted_runtime, operator_key
from typer.testing import CliRunner

from polytraders.cli.main import app
from polytraders.contracts import ChainTransfer
from polytraders.contracts.envelope import Actor
from polytraders.operators.keys import write_key_file

pytestmark = pytest.mark.slow


def test_reconcile_cli_flow(tmp_path: Path, anvil: Anvil, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "j.db"
    rt, _ = make_trusted_runtime(db, anvil.clock)
    anvil.admin.mint_pusd(FUNDER, 1_000_000_000)
    rt.record(ChainTransfer(direction="deposit", item="pusd", amount=Decimal(1000), address=FUNDER),
              actor=Actor(kind="system", id="wallet.sim"), reason_code="GOV_CHAIN_TRANSFER", durable=True)
    rt.write_digest(final=True)
    rt.journal.close()
    anvil.mine(3)
    keys = {n: str(write_key_file(tmp_path / f"{n}.key", n, operator_key(n).signer, "simulation"))
            for n in ("alice", "bob")}
    dep = anvil.admin.deployment
    base_env = {"POLYTRADERS_DB": str(db), "POLYTRADERS_RPC_URL": anvil.node.url, "POLYTRADERS_PUSD": dep.pusd,
                "POLYTRADERS_CTF": dep.ctf, "POLYTRADERS_FUNDER": FUNDER}
    # the CLI runs on the wall clock: keep the chain's head fresh for the lag check
    import time
    now_ms = int(time.time() * 1000)

    def mine() -> None:
        nonlocal now_ms
        for _ in range(3):
            now_ms += 1000
            anvil.admin.mine(1, max(now_ms, int(time.time() * 1000)))

    def run(who: str, *argv: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(argv), env={**base_env, "POLYTRADERS_KEY_FILE": keys[who]})
        return result.exit_code, result.output

    mine()
    code, out = run("alice", "reconcile", "--json")
    assert code == 0, out
    assert json.loads(out)["reason_code"] == "GOV_RECONCILE_OK"

    anvil.admin.transfer_pusd(FUNDER, THIEF, 100_000_000)
    mine()
    code, out = run("alice", "reconcile", "--json")
    data = json.loads(out)
    assert code == 1 and data["reason_code"] == "GOV_RECONCILE_MISMATCH"
    assert data["items"][0]["internal"] == "1000" and data["items"][0]["onchain"] == "900"
    assert data["last_block_hash"].startswith("0x") and data["last_applied_seq"] >= 1
    trip_id = data["kill_switch_trip"]
    assert trip_id and trip_id.endswith("_reconcile_mismatch")

    code, out = run("alice", "killswitch", "request-reset", trip_id)
    assert code != 0 and "no by-hand reconciliation" in out
    code, out = run("alice", "reconcile", "resolve", trip_id, "--explain", "ops moved 100 pUSD to cold storage",
                    "--adjust", "pusd=-100", "--json")
    assert code == 0, out
    adjustment = json.loads(out)["adjustment_id"]
    code, out = run("alice", "reconcile", "approve", adjustment)
    assert code != 0 and "different person" in out
    code, out = run("bob", "reconcile", "approve", adjustment)
    assert code == 0, out
    code, out = run("alice", "killswitch", "request-reset", trip_id)
    assert code != 0 and "no reconcile has matched" in out
    mine()
    code, out = run("bob", "reconcile", "--json")
    assert code == 0 and json.loads(out)["reason_code"] == "GOV_RECONCILE_OK"
    code, out = run("alice", "reconcile", "status", "--json")
    assert json.loads(out)["mismatched"] is False
    code, out = run("alice", "killswitch", "request-reset", trip_id, "--json")
    assert code == 0, out
    request_id = json.loads(out)["request_id"]
    code, out = run("bob", "killswitch", "approve-reset", request_id)
    assert code == 0, out
    # the same reader gives a snapshot its block height (no longer "no chain reader configured")
    code, out = run("alice", "snapshot", "--json")
    assert code == 0, out
    assert json.loads(out)["block"]["height"] >= 1 and json.loads(out)["block"]["error"] is None
