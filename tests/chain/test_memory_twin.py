"""The in-memory twin keeps the ChainReader contract (fast, no node): pinned reads, a reorg caught
mid-read, the node down; and the reconciler over it refuses to call a partial read a match."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from chain_helpers import make_harness

from polytraders.bots.gov.reconciler import ReconcileTick
from polytraders.chain.base import ChainUnavailable, read_balances
from polytraders.chain.memory import MemoryChain
from polytraders.contracts import ChainRead
from polytraders.engine.reconcile import CHAIN_ACTOR
from polytraders.runtime.clock import SimClock

A = "0xAbC0000000000000000000000000000000000001"


def test_reads_are_pinned_at_the_confirmation_depth() -> None:
    chain = MemoryChain(confirmations=2, start_ms=1_000)
    chain.mint_pusd(A, 5_000_000)
    head, bal = read_balances(chain, A, [])
    assert head.latest == 1 and head.number == 0 and bal.pusd == 0  # not deep enough yet
    chain.mine(2)
    head, bal = read_balances(chain, A, ["7"])
    assert head.number == 1 and bal.pusd == Decimal(5) and bal.outcome == {"7": Decimal(0)}


def test_a_reorg_during_the_read_and_a_down_node_are_unavailable() -> None:
    chain = MemoryChain(confirmations=0)
    chain.mint_pusd(A, 1)
    head = chain.head()
    snap = chain.snapshot() - 1
    chain.revert(snap)
    chain.mint_pusd(A, 2)  # same height, different block
    with pytest.raises(ChainUnavailable) as reorg:
        chain.balances(A, [], block=head.number, block_hash=head.hash)
    assert reorg.value.kind == "reorged"
    chain.down = True
    with pytest.raises(ChainUnavailable) as down:
        chain.head()
    assert down.value.kind == "unreachable"


def test_a_read_that_omits_a_known_item_is_never_a_match(tmp_path: Path) -> None:
    clock = SimClock(1_767_571_200_000)
    h = make_harness(tmp_path, clock, None)
    entry = h.rt.record(ChainRead(status="ok", address=A, block_number=1, block_hash="0x01",
                                  block_ts_ms=clock.now_ms(), latest_block=3, pusd=Decimal(0)),
                        actor=CHAIN_ACTOR, reason_code="GOV_CHAIN_READ")
    h.driver.ledger.items.add("123")  # a token held before, which the read above does not cover
    read = entry.envelope.decode()
    assert isinstance(read, ChainRead)
    decision = h.driver.bot.decide(ReconcileTick(read, entry.seq), h.rt.context(h.driver.bot, None))
    assert decision.reason_code == "GOV_RECONCILE_UNAVAILABLE" and "omitted" in str(decision.detail)


def test_no_reader_is_reported_not_matched(tmp_path: Path) -> None:
    h = make_harness(tmp_path, SimClock(1_767_571_200_000), None)
    entry = h.driver.run()
    assert entry is not None and entry.envelope.reason_code == "GOV_RECONCILE_UNAVAILABLE"
    assert "no chain reader configured" in entry.envelope.payload["error"]
