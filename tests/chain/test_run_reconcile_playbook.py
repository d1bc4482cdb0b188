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
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
from chain_helpers import THIEF
from factories import journal_rows as rows
from live_chain import FAST_MONITOR, Exchange, Miner, live_setup, tear_down, wait_for

from polytraders.chain.anvil import AnvilMissing, AnvilNode, ChainAdmin, Deployment

pytestmark = pytest.mark.slow


def test_reconcile_mismatch_playbook_under_run_against_exchange_serve_chain(tmp_path: Path) -> None:
    try:
        node = AnvilNode(timestamp_s=int(time.time()))  # blocks on wall time: the run's lag check
    except AnvilMissing as exc:
        pytest.skip(f"anvil unavailable: {exc}")
    exchange: Exchange | None = None
    miner: Miner | None = None
    proc = None
    try:
        exchange = Exchange(node.url)
        miner = Miner(node.url)
        live = live_setup(tmp_path, exchange, node.url, FAST_MONITOR)
        db, funder = live.db, live.funder
        proc = live.start_run(240)

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
        gap = Decimal(pusd["internal"]) - Decimal(pusd["onchain"])  # the theft, give or take trades in flight
        assert abs(gap - 123) <= abs(Decimal(pusd["in_flight"])) and Decimal(pusd["difference"]) != 0, pusd
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
        code, incidents = live.cli("ann", "incidents", "list")
        assert code == 0, incidents
        inc = next(i for i in incidents if i["trigger"] == "reconcile_mismatch")
        code, shown = live.cli("ann", "incidents", "show", inc["incident_id"])
        assert code == 0, shown
        div = shown["divergence"]  # the record the on-call reads: values, block, journal seq
        assert div["block_hash"] == record["last_block_hash"] and div["block_number"] == record["last_block_number"]
        assert div["last_applied_seq"] == record["last_applied_seq"]
        assert [(i["item"], i["internal"], i["onchain"]) for i in div["items"]] == \
            [(i["item"], str(i["internal"]), str(i["onchain"])) for i in record["items"]]
        assert incident > 0

        # no reset until resolved, approved by a second person, and a fresh reconcile matches
        code, out = live.cli("ann", "killswitch", "request-reset", trip_id)
        assert code == 1 and "reconcil" in json.dumps(out), out
        code, out = live.cli("ann", "reconcile", "transfer", "withdrawal", "123", "--reference", "x")
        assert code == 1 and "mismatch is open" in json.dumps(out), out  # not a way around the approval
        code, out = live.cli("ann", "reconcile", "resolve", inc["incident_id"], "--explain",
                        "ops swept 123 pUSD to cold storage without journaling it", "--adjust", "pusd=-123")
        assert code == 0, out
        adjustment = out["adjustment_id"]
        code, out = live.cli("ann", "reconcile", "approve", adjustment)
        assert code == 1, out
        code, out = live.cli("ann", "killswitch", "request-reset", trip_id)
        assert code == 1, out
        code, out = live.cli("ben", "reconcile", "approve", adjustment)
        assert code == 0, out
        approved = max(s for s, c, _ in rows(db) if c == "GOV_RECONCILE_ADJUSTMENT_APPROVED")
        wait_for(db, proc, lambda s, c, e: c == "GOV_RECONCILE_OK" and s > approved, "a fresh match", 60)
        code, out = live.cli("ann", "killswitch", "request-reset", trip_id)
        assert code == 0, out
        code, out = live.cli("ben", "killswitch", "approve-reset", out["request_id"])
        assert code == 0, out
        wait_for(db, proc, lambda s, c, e: c == "RISK_KILLSWITCH_RESET" and s > approved, "the reset", 30)

        # the chain RPC was a sampled surface all along
        code, health = live.cli("ann", "health")
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
        tear_down(node, exchange, miner, proc)
