"""gov.reconciler against a real anvil process: match, a transfer behind the system's back, a fill
in flight, the RPC down, a reorg, the divergence record, and the reset refused until a second
person approved the by-hand reconciliation and a fresh reconcile matched."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from chain_helpers import FUNDER, THIEF, Anvil, Harness, make_harness

from polytraders.contracts import ChainTransfer, FillRecord
from polytraders.contracts.envelope import Actor
from polytraders.engine.kill_switch_ops import approve_reset, kill_switch_config, request_reset
from polytraders.engine.reconcile_ops import approve_resolution, record_resolution
from polytraders.errors import RefusedError
from polytraders.runtime.kinds import Mode
from polytraders.state.reconcile import ReconcileProjection

pytestmark = pytest.mark.slow
WALLET = Actor(kind="system", id="wallet.sim")
VENUE = Actor(kind="system", id="venue")
MARKET = "0x" + "ab" * 32
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO_GRACE = {"confirm_grace_s": 0}


def deposit(h: Harness, chain: Anvil, pusd: str) -> None:
    """Fund the funder on chain and journal the deposit that explains it."""
    chain.admin.mint_pusd(FUNDER, int(Decimal(pusd) * 10**6))
    h.rt.record(ChainTransfer(direction="deposit", item="pusd", amount=Decimal(pusd), address=FUNDER),
                actor=WALLET, reason_code="GOV_CHAIN_TRANSFER")


def fill(h: Harness, status: str, trade_id: str = "t1", size: str = "10", price: str = "0.5") -> None:
    h.rt.record(FillRecord(trade_id=trade_id, client_order_id="c1", market_id=MARKET, token_id=TOKEN, side="BUY",
                           price=Decimal(price), size=Decimal(size), liquidity="maker", settlement=status,
                           ts_ms=h.rt.clock.now_ms()), actor=VENUE, reason_code="EXEC_FILL")


def ledger(h: Harness) -> ReconcileProjection:
    return h.rt.state.typed("reconcile", ReconcileProjection)


def test_match(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    entry = h.reconcile()
    assert entry.envelope.reason_code == "GOV_RECONCILE_OK"
    assert entry.envelope.payload["onchain"]["pusd"] == "1000"
    assert not h.rt.kill_switch.active


def test_fresh_deposit_not_yet_at_depth_is_not_a_mismatch(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader())  # default grace: 30 s
    deposit(h, anvil, "1000")  # mined at the head; the read is pinned 2 blocks below it
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"


def test_transfer_behind_the_systems_back_trips_and_pages_security(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"
    anvil.admin.transfer_pusd(FUNDER, THIEF, 250_000_000)
    anvil.mine(3)
    entry = h.reconcile()
    env = entry.envelope
    assert env.reason_code == "GOV_RECONCILE_MISMATCH" and env.payload["priority"] == "P0"
    [item] = env.payload["items"]
    assert (item["item"], Decimal(item["internal"]), Decimal(item["onchain"])) == ("pusd", 1000, 750)
    # the divergence record names the block read (number and hash, as the node has them) and the journal seq
    block = anvil.admin.w3.eth.get_block(env.payload["last_block_number"])
    assert env.payload["last_block_hash"] == "0x" + bytes(block["hash"]).hex()
    assert env.payload["chain_read_seq"] <= env.payload["last_applied_seq"] == entry.seq - 1
    # the kill switch tripped (global), Trade bots are halted, the incident holds the record, security paged
    [trip] = h.rt.kill_switch.active.values()
    assert (trip.trigger, trip.scope, trip.caused_by_seq) == ("reconcile_mismatch", "global", entry.seq)
    assert h.strategy.mode is Mode.OFF
    [inc] = h.runner.incidents.all()
    assert inc["trigger"] == "reconcile_mismatch" and inc["playbook"] == "reconcile_mismatch"
    assert inc["steps"]["capture_divergence"]["status"] == "done"
    assert inc["steps"]["confirm_trade_halted"]["status"] == "done"
    after = list(h.rt.journal.read(entry.seq))
    codes = [e.envelope.reason_code for e in after]
    captured = next(e for e in after if e.envelope.reason_code == "GOV_RECONCILE_DIVERGENCE_CAPTURED")
    record = captured.envelope.payload["detail"]["divergence"]
    assert record["block_hash"] == env.payload["last_block_hash"] and record["last_applied_seq"] == entry.seq - 1
    assert record["block_number"] == env.payload["last_block_number"]
    assert record["items"][0]["internal"] == "1000" and record["items"][0]["onchain"] == "750"
    # no pager is configured here: the page goes to the channel, and the step says so (not "failed")
    assert "GOV_PAGING_SYSTEM_UNAVAILABLE" not in codes
    assert inc["steps"]["page_security"]["result"] == "no pager configured, posted to the channel"
    paged = [e for e in after if e.envelope.payload.get("detail", {}).get("step") == "page_security"]
    assert any(e.envelope.payload["detail"].get("role") == "security" for e in paged)
    snap = next(e for e in h.rt.journal.read(entry.seq) if e.envelope.reason_code == "GOV_STATE_CAPTURED")
    assert snap.envelope.payload["detail"]  # block height from the same chain reader


def test_fill_in_flight_is_not_a_mismatch(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    fill(h, "MATCHED")  # booked by the venue, nothing on chain yet
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"
    # settled on chain while the venue still says MINED: 5 pUSD out, 10 shares in
    anvil.admin.transfer_pusd(FUNDER, THIEF, 5_000_000)
    anvil.admin.mint_token(FUNDER, TOKEN, 10_000_000)
    fill(h, "MINED")
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"
    fill(h, "CONFIRMED")
    anvil.mine(3)
    ok = h.reconcile()
    assert ok.envelope.reason_code == "GOV_RECONCILE_OK"
    assert ok.envelope.payload["onchain"] == {"pusd": "995", TOKEN: "10"}
    # the same fill confirmed but never settled would be a mismatch: shares missing on chain
    fill(h, "CONFIRMED", trade_id="t2", size="4")
    anvil.mine(3)
    bad = h.reconcile()
    assert bad.envelope.reason_code == "GOV_RECONCILE_MISMATCH"
    assert {i["item"] for i in bad.envelope.payload["items"]} == {"pusd", TOKEN}


def test_tolerance_in_base_units(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides={**NO_GRACE, "tolerance": 5})
    deposit(h, anvil, "1000")
    anvil.admin.transfer_pusd(FUNDER, THIEF, 5)  # 5 base units: noise
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"
    anvil.admin.transfer_pusd(FUNDER, THIEF, 1)  # 6: beyond tolerance
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_MISMATCH"


def test_rpc_down_is_unavailable_never_a_match(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"
    anvil.node.stop()
    entry = h.reconcile()
    assert entry.envelope.reason_code == "GOV_RECONCILE_UNAVAILABLE"
    assert entry.envelope.payload["status"] == "unavailable" and "unreachable" in entry.envelope.payload["error"]
    read = next(h.rt.journal.read(entry.seq - 1, entry.seq - 1))
    assert read.envelope.kind == "chain_read" and read.envelope.payload["status"] == "unreachable"
    health = [e.envelope for e in h.rt.journal.read(kinds=["gov_api_health"])]
    assert [(e.payload["surface"], e.payload["level"]) for e in health] == [("rpc", "ok"), ("rpc", "hard")]
    assert not h.rt.kill_switch.active  # unknown is not a mismatch either: it is reported, not guessed


def test_lagging_head_is_unavailable(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    anvil.clock.advance_to(anvil.clock.now_ms() + 600_000)  # ten minutes without a block
    entry = h.reconcile()
    assert entry.envelope.reason_code == "GOV_RECONCILE_UNAVAILABLE"
    assert "lagging" in entry.envelope.payload["error"]


def test_reorg_that_removes_a_settled_transfer_is_a_mismatch(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    snap = anvil.admin.snapshot()
    deposit(h, anvil, "500")  # settled and journaled...
    anvil.mine(3)
    before = h.reconcile()
    assert before.envelope.reason_code == "GOV_RECONCILE_OK"
    anvil.admin.revert(snap)  # ...then the chain reorganises onto a fork without it
    anvil.mine(5)
    after = h.reconcile()
    assert after.envelope.reason_code == "GOV_RECONCILE_MISMATCH"
    [item] = after.envelope.payload["items"]
    assert (Decimal(item["internal"]), Decimal(item["onchain"])) == (1500, 1000)
    assert after.envelope.payload["last_block_hash"] != before.envelope.payload["last_block_hash"]


def test_reset_refused_until_reconciled_by_hand_approved_by_a_second_person_and_matched(
        tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    rt, ops = h.rt, h.ops
    deposit(h, anvil, "1000")
    anvil.admin.transfer_pusd(FUNDER, THIEF, 250_000_000)
    anvil.mine(3)
    mismatch = h.reconcile()
    assert mismatch.envelope.reason_code == "GOV_RECONCILE_MISMATCH"
    [trip_id] = rt.kill_switch.active
    incident_id = h.runner.incidents.all()[0]["incident_id"]
    config = kill_switch_config(rt.journal)

    with pytest.raises(RefusedError, match="no by-hand reconciliation"):
        request_reset(rt, ops["alice"], trip_id, config)
    adj = record_resolution(rt, ops["alice"], incident_id, "250 pUSD withdrawn by treasury without a ticket",
                            {"pusd": Decimal(-250)})
    with pytest.raises(RefusedError, match="awaits a second operator"):
        request_reset(rt, ops["alice"], trip_id, config)
    with pytest.raises(RefusedError, match="second, different person"):
        approve_resolution(rt, ops["alice"], adj)
    with pytest.raises(RefusedError, match="role operator"):
        approve_resolution(rt, ops["carol"], adj)
    approve_resolution(rt, ops["bob"], adj)
    with pytest.raises(RefusedError, match="no reconcile has matched since the approval"):
        request_reset(rt, ops["alice"], trip_id, config)
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"
    assert not ledger(h).mismatched
    request_id = request_reset(rt, ops["alice"], trip_id, config)
    approve_reset(rt, ops["bob"], request_id, config)
    h.guardian.act()
    assert not rt.kill_switch.active and h.strategy.mode is Mode.ENFORCED
    refused = [e for e in rt.journal.read() if e.envelope.reason_code == "GOV_RECONCILE_ADJUSTMENT_REFUSED"]
    assert len(refused) == 2  # both refusals are journaled


def test_a_match_alone_never_clears_a_mismatch(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.admin.transfer_pusd(FUNDER, THIEF, 1_000_000)
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_MISMATCH"
    anvil.admin.mint_pusd(FUNDER, 1_000_000)  # someone puts it back quietly
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_OK"
    assert ledger(h).mismatched  # still needs an explanation and a second person
    assert "no by-hand reconciliation" in (ledger(h).reset_blocker() or "")


def test_positions_held_before_are_read_even_at_zero(tmp_path: Path, anvil: Anvil) -> None:
    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    fill(h, "FAILED")  # never settled, but the token is known from now on
    entry = h.reconcile()
    assert entry.envelope.payload["onchain"][TOKEN] == "0"
    anvil.admin.mint_token(FUNDER, TOKEN, 1)  # one unexplained base unit of a token we do not hold
    anvil.mine(3)
    assert h.reconcile().envelope.reason_code == "GOV_RECONCILE_MISMATCH"


def _process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            todo.extend(int(c) for c in children)
    return out


def test_off_loop_reads_never_stall_the_loop_on_a_hung_node(tmp_path: Path, anvil: Anvil) -> None:
    """The live runtime reads the node on a thread: with anvil frozen (SIGSTOP) every turn of the
    loop still returns at once; the read is judged at the first turn after the node answers."""
    import os
    import signal
    import time

    from polytraders.chain.rpc import RpcChainReader
    from polytraders.engine.reconcile import ReconcileDriver

    h = make_harness(tmp_path, anvil.clock, anvil.admin.reader(), overrides=NO_GRACE)
    deposit(h, anvil, "1000")
    anvil.mine(3)
    driver = ReconcileDriver(h.rt, RpcChainReader(anvil.node.url, anvil.admin.deployment.pusd,
                                                  anvil.admin.deployment.ctf, timeout_s=1),
                             FUNDER, bot=h.driver.bot, off_loop=True)
    frozen = _process_tree(anvil.node.proc.pid)  # the npm shim and the anvil binary it runs
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    verdicts = []
    try:
        slowest = 0.0
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # web3 retries the timeouts: the read hangs for seconds
            t0 = time.monotonic()
            entry = driver.maybe_run(anvil.clock.now_ms())
            slowest = max(slowest, time.monotonic() - t0)
            if entry is not None:
                verdicts.append(entry.envelope.reason_code)
            time.sleep(0.05)
        assert slowest < 0.2, slowest
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert verdicts in ([], ["GOV_RECONCILE_UNAVAILABLE"])  # a frozen node is never a match
    deadline = time.monotonic() + 60
    while not verdicts:  # thawed: the hanging read comes back (timed out, or answered late)
        assert time.monotonic() < deadline, "the off-loop read never came back"
        entry = driver.maybe_run(anvil.clock.now_ms())
        if entry is not None:
            verdicts.append(entry.envelope.reason_code)
        time.sleep(0.05)
    anvil.mine(3)
    driver.last_run_ms = None
    entry = None
    while entry is None:
        assert time.monotonic() < deadline
        entry = driver.maybe_run(anvil.clock.now_ms())
        time.sleep(0.05)
    assert entry.envelope.reason_code == "GOV_RECONCILE_OK"
