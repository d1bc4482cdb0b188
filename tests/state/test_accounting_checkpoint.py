"""A restart from a checkpoint equals a fold from seq 1 (markets and portfolio together)."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytraders.contracts import BookLevel, FillRecord, MarketSnapshot, Note, OrderBookSnapshot
from polytraders.contracts.envelope import Actor
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime
from polytraders.state.kill_switch import KillSwitchProjection
from polytraders.state.modes import ModesProjection
from polytraders.state.portfolio import PortfolioProjection, add_accounting
from polytraders.state.store import StateStore

SYS = Actor(kind="system", id="test")
MARKET = "0x" + "c3" * 32
TOKENS = ("3001", "3002")
START = 19_999 * 86_400_000 + 23 * 3_600_000  # an hour before a UTC midnight


def _store() -> StateStore:
    store = StateStore([KillSwitchProjection(), ModesProjection()])
    add_accounting(store)
    return store


def _script(rt: Runtime, clock: SimClock, rng: random.Random, n: int, trade0: int) -> None:
    statuses = ("MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED")
    trades: list[FillRecord] = []
    for i in range(n):
        clock.advance(rng.randint(1, 400_000))
        roll = rng.random()
        token = rng.choice(TOKENS)
        if roll < 0.45:
            bid = Decimal(rng.randint(5, 90)) / 100
            rt.record(OrderBookSnapshot(market_id=MARKET, token_id=token, ts_ms=clock.now_ms(),
                                        tick=Decimal("0.01"),
                                        bids=(BookLevel(price=bid, size=Decimal(10)),),
                                        asks=(BookLevel(price=bid + Decimal("0.02"),
                                                        size=Decimal(10)),),
                                        book_hash=f"hash{i:06d}"),
                      actor=SYS, reason_code="GOV_MARKET_DATA")
        elif roll < 0.8 or not trades:
            fill = FillRecord(trade_id=f"T{trade0 + i}", client_order_id=f"c{i:06d}",
                              market_id=MARKET, token_id=token,
                              side=rng.choice(("BUY", "BUY", "SELL")),
                              price=Decimal(rng.randint(5, 95)) / 100,
                              size=Decimal(rng.randint(1, 500)) / 10,
                              fee_pusd=Decimal(rng.randint(0, 30)) / 100, liquidity="taker",
                              ts_ms=clock.now_ms())
            trades.append(fill)
            rt.record(fill, actor=SYS, reason_code="GOV_VENUE_EVENT")
        elif roll < 0.95:
            old = rng.choice(trades)
            rt.record(old.model_copy(update={"settlement": rng.choice(statuses)}), actor=SYS,
                      reason_code="GOV_VENUE_EVENT")
        else:
            rt.record(Note(detail={"pusd": str(rng.randint(500, 2000)), "source": "sim"}),
                      actor=SYS, reason_code="GOV_WALLET_BALANCE")


def test_checkpoint_restore_equals_full_fold(tmp_path: Path, trusted_runtime: Any) -> None:
    rng = random.Random(7)
    clock = SimClock(START)
    live = _store()
    rt, _ = trusted_runtime(tmp_path / "j.db", clock, state=live)
    journal = rt.journal
    rt.record(MarketSnapshot(market_id=MARKET, question="q?", yes_token=TOKENS[0],
                             no_token=TOKENS[1], tick=Decimal("0.01"), min_size=Decimal(5),
                             observed_at_ms=START), actor=SYS, reason_code="GOV_MARKET_DATA")
    rt.note("GOV_WALLET_BALANCE", pusd="1000", source="sim")
    _script(rt, clock, rng, 150, 0)
    rt.record(live.checkpoint_contract(), actor=SYS, reason_code="GOV_CHECKPOINT")
    rt.write_digest()  # a checkpoint counts only once a signed digest vouches for it
    _script(rt, clock, rng, 150, 1000)
    journal.flush()

    from_cp, from_zero = _store(), _store()
    applied_cp = from_cp.rebuild(journal, use_checkpoint=True)
    applied_all = from_zero.rebuild(journal, use_checkpoint=False)
    assert applied_cp < applied_all  # the checkpoint really was used
    expected = live.snapshot()
    assert from_zero.snapshot() == expected
    assert from_cp.snapshot() == expected
    # the snapshot is plain JSON
    json.dumps(expected)
    a = from_cp.typed("portfolio", PortfolioProjection)
    b = live.typed("portfolio", PortfolioProjection)
    now = clock.now_ms()
    assert a.equity() == b.equity() and a.realised_pnl() == b.realised_pnl()
    assert a.drawdown_intraday_pct(now) == b.drawdown_intraday_pct(now)
    assert a.drawdown_weekly_pct(now) == b.drawdown_weekly_pct(now)
    assert a.positions() == b.positions()
    assert len(b.equity_curve()) > 10
    journal.close()
