"""Kill switch: each trigger at, just under and just over its threshold; scopes; durability
across a restart; every refusal path of the two-person reset; replay MATCH and REGRESSION."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.bots.risk.kill_switch import KillSwitch
from polytraders.contracts import (
    FillRecord,
    MarketSnapshot,
    OrderBookSnapshot,
    OrderIntent,
    OrderRecord,
    Scope,
)
from polytraders.contracts.base import BUILDER_CODE
from polytraders.contracts.envelope import Actor
from polytraders.engine.kill_switch_ops import approve_reset, manual_trip, request_reset
from polytraders.engine.system import build_state
from polytraders.errors import RefusedError
from polytraders.journal import SqliteJournal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.config import build_config
from polytraders.runtime.runner import Runtime

M = "0x" + "ab" * 32
YES, NO = "101", "102"
T0 = 1_767_571_200_000 + 3_600_000  # 01:00 UTC
FEED = Actor(kind="system", id="feed.test")
OLM = Actor(kind="bot", id="exec.order_lifecycle_manager")


def runtime(path: Path) -> Runtime:
    rt = Runtime(SqliteJournal(path, synchronous="NORMAL"), SimClock(T0), build_state())
    rt.state.rebuild(rt.journal)
    return rt


def market(rt: Runtime, cluster: str = "POLITICS") -> None:
    rt.record(MarketSnapshot(market_id=M, question="q?", yes_token=YES, no_token=NO,
                             tick=Decimal("0.01"), min_size=Decimal(5), cluster=cluster,
                             observed_at_ms=rt.clock.now_ms()), actor=FEED, reason_code="GOV_MARKET_DATA")


def book(rt: Runtime, bid: str, ask: str) -> None:
    rt.record(OrderBookSnapshot(market_id=M, token_id=YES, ts_ms=rt.clock.now_ms(), tick=Decimal("0.01"),
                                bids=({"price": bid, "size": "100"},),  # type: ignore[arg-type]
                                asks=({"price": ask, "size": "100"},),  # type: ignore[arg-type]
                                book_hash=f"h{bid}{ask}{rt.clock.now_ms()}"),
              actor=FEED, reason_code="GOV_MARKET_DATA")


def wallet(rt: Runtime, pusd: str) -> None:
    rt.note("GOV_WALLET_BALANCE", actor=Actor(kind="system", id="wallet"), pusd=pusd, source="sim")


def buy(rt: Runtime, size: str, price: str, trade: str = "t1") -> None:
    rt.record(FillRecord(trade_id=trade, client_order_id="co_" + trade, market_id=M, token_id=YES,
                         side="BUY", price=Decimal(price), size=Decimal(size), liquidity="maker",
                         ts_ms=rt.clock.now_ms()), actor=OLM, reason_code="EXEC_FILL")


def order(rt: Runtime, n: int, status: str) -> None:
    rt.record(OrderRecord(client_order_id=f"co_order{n:04d}", intent_id=f"oi_{n:08d}",
                          strategy_id="strat.maker_tight", market_id=M, token_id=YES, side="BUY",
                          price=Decimal("0.50"), size=Decimal(5), order_type="GTC",
                          status=status, previous="submitted",  # type: ignore[arg-type]
                          venue_error="X" if status == "rejected" else None),
              actor=OLM, reason_code="EXEC_REJECTED" if status == "rejected" else "EXEC_RESTING")


def ks(**overrides: Any) -> KillSwitch:
    bot = KillSwitch()
    bot.init(build_config(KillSwitch.bot_id, KillSwitch.params, overrides)[0])
    return bot


def breaches(rt: Runtime, bot: KillSwitch) -> list[str]:
    return [b.trigger for b in bot.check_triggers(rt.state, rt.clock.now_ms(), rt.state.last_seq)]


@pytest.mark.parametrize(("mark", "expect"), [("0.41", False), ("0.40", True), ("0.39", True)])
def test_intraday_drawdown_at_under_over(tmp_path: Path, mark: str, expect: bool) -> None:
    # 1000 cash, buy 1000 @ 0.50 marked at 0.50 => equity 1000; a mark of 0.40 loses 100 = 10%
    rt = runtime(tmp_path / "d.db")
    market(rt)
    wallet(rt, "1000")
    book(rt, "0.49", "0.51")
    buy(rt, "1000", "0.50")
    rt.clock.advance(1000)
    book(rt, str(Decimal(mark) - Decimal("0.01")), str(Decimal(mark) + Decimal("0.01")))
    bot = ks(drawdown_intraday_pct=10)
    assert ("drawdown_intraday" in breaches(rt, bot)) is expect


@pytest.mark.parametrize(("rejects", "expect"), [(4, False), (5, True), (6, True)])
def test_reject_rate_at_under_over_with_min_sample(tmp_path: Path, rejects: int, expect: bool) -> None:
    rt = runtime(tmp_path / "r.db")
    for n in range(10):
        order(rt, n, "rejected" if n < rejects else "live")
    assert ("reject_rate" in breaches(rt, ks())) is expect  # 50% of 10


def test_one_reject_in_two_orders_is_not_a_spike(tmp_path: Path) -> None:
    rt = runtime(tmp_path / "r2.db")
    order(rt, 1, "rejected")
    order(rt, 2, "live")
    assert "reject_rate" not in breaches(rt, ks())


@pytest.mark.parametrize(("age_ms", "expect"), [(14_999, False), (15_000, True), (15_001, True)])
def test_feed_loss_at_under_over_only_with_a_position(tmp_path: Path, age_ms: int, expect: bool) -> None:
    rt = runtime(tmp_path / "f.db")
    market(rt, "CRYPTO")
    wallet(rt, "1000")
    book(rt, "0.49", "0.51")
    rt.clock.advance(age_ms)
    assert "feed_loss" not in breaches(rt, ks())  # no position: a silent feed is not a trip
    buy(rt, "10", "0.50")
    found = ks().check_triggers(rt.state, rt.clock.now_ms(), rt.state.last_seq)
    feed = [b for b in found if b.trigger == "feed_loss"]
    assert bool(feed) is expect
    if expect:
        assert (feed[0].scope, feed[0].scope_value) == ("cluster", "CRYPTO")


@pytest.mark.parametrize(("cash", "expect"), [("51", False), ("50", False), ("49.99", True)])
def test_wallet_funding_at_under_over(tmp_path: Path, cash: str, expect: bool) -> None:
    rt = runtime(tmp_path / "w.db")
    wallet(rt, cash)  # no reservations; reserve 50: 50 is enough, 49.99 is short
    assert ("wallet_funding" in breaches(rt, ks())) is expect


def _intent(strategy: str = "strat.maker_tight") -> OrderIntent:
    return OrderIntent(intent_id="oi_scope0001", correlation_id="corr_scope0001", strategy_id=strategy,
                       market_id=M, token_id=YES, outcome="YES", side="BUY", price=Decimal("0.5"),
                       size=Decimal(5), emitted_at_ms=T0, builder_code=BUILDER_CODE)


@pytest.mark.parametrize(("scope", "blocked", "free"), [
    ("global", "strat.maker_tight", None),
    ("cluster:POLITICS", "strat.maker_tight", None),
    ("strategy:strat.maker_tight", "strat.maker_tight", "strat.other"),
    ("family:strat", "strat.maker_tight", "xyz.other"),
    ("bot:strat.maker_tight", "strat.maker_tight", "strat.other"),
])
def test_every_scope_rejects_inside_and_only_inside(tmp_path: Path, scope: str, blocked: str,
                                                    free: str | None, trusted_runtime: Any) -> None:
    from polytraders.engine.kill_switch_ops import parse_scope

    rt, ops = trusted_runtime(tmp_path / "s.db", SimClock(T0))
    CAROL = ops["carol"]
    market(rt, "POLITICS")
    bot = rt.add_bot(ks())
    manual_trip(rt, CAROL, parse_scope(scope), "drill")
    out = rt.decide(bot, _intent(blocked))
    assert out.blocked and out.entry is not None
    assert out.entry.envelope.reason_code == "RISK_KILLSWITCH_ACTIVE"
    if free is not None:
        assert not rt.decide(bot, _intent(free)).blocked


def test_trip_survives_a_restart_and_nothing_disarms_itself(tmp_path: Path, trusted_runtime: Any) -> None:
    path = tmp_path / "durable.db"
    rt, ops = trusted_runtime(path, SimClock(T0))
    CAROL = ops["carol"]
    trip_id = manual_trip(rt, CAROL, Scope(), "drill")
    rt.journal.close()  # the process "crashes" here: only the journal survives
    again = runtime(path)
    again.clock.advance(30 * 24 * 3_600_000)  # a month later
    assert trip_id in again.kill_switch.active
    bot = again.add_bot(ks())
    assert again.decide(bot, _intent()).blocked


def test_every_refusal_path_of_the_two_person_reset(tmp_path: Path, trusted_runtime: Any) -> None:
    rt, ops = trusted_runtime(tmp_path / "reset.db", SimClock(T0))
    ALICE, BOB, CAROL = ops["alice"], ops["bob"], ops["carol"]
    wallet(rt, "10")  # short of the 50 reserve
    bot = rt.add_bot(ks())
    for b in bot.check_triggers(rt.state, rt.clock.now_ms(), rt.state.last_seq):
        from polytraders.bots.risk.kill_switch import TriggerCheck

        rt.decide(bot, TriggerCheck(b))
    (trip_id,) = rt.kill_switch.active
    config = bot.config
    with pytest.raises(RefusedError, match="condition is not clear"):
        request_reset(rt, ALICE, trip_id, config)
    with pytest.raises(RefusedError, match="no active trip"):
        request_reset(rt, ALICE, "ks_nope", config)
    wallet(rt, "1000")
    request_id = request_reset(rt, ALICE, trip_id, config)
    with pytest.raises(RefusedError, match="second, different person"):
        approve_reset(rt, ALICE, request_id, config)
    with pytest.raises(RefusedError, match="only an approver or admin"):
        approve_reset(rt, CAROL, request_id, config)
    with pytest.raises(RefusedError, match="no reset request"):
        approve_reset(rt, BOB, "rr_unknown", config)
    wallet(rt, "10")  # the condition came back before approval
    with pytest.raises(RefusedError, match="condition is not clear"):
        approve_reset(rt, BOB, request_id, config)
    wallet(rt, "1000")
    rt.clock.advance(config.integer("reset_request_ttl_s") * 1000 + 1)
    with pytest.raises(RefusedError, match="expired"):
        approve_reset(rt, BOB, request_id, config)
    fresh = request_reset(rt, ALICE, trip_id, config)
    assert approve_reset(rt, BOB, fresh, config) == trip_id
    assert not rt.kill_switch.active
    with pytest.raises(RefusedError, match="already used"):
        approve_reset(rt, BOB, fresh, config)
    rt.journal.flush()
    reasons = [e.envelope.payload["detail"]["reason"] for e in rt.journal.read()
               if e.envelope.reason_code == "RISK_KILLSWITCH_RESET_REFUSED"]
    assert reasons == ["condition_present", "unknown_trip", "same_person", "role_not_permitted",
                       "unknown_request", "condition_present", "expired", "already_used"]


def test_replay_matches_an_unchanged_build_and_flags_a_changed_threshold(tmp_path: Path) -> None:
    from polytraders.engine.demo import DemoArgs, run_demo
    from polytraders.replay.engine import replay

    run_demo(DemoArgs(minutes=26, markets=6, seed=5, db=tmp_path / "r.db", scenario="wallet-short"))
    with SqliteJournal(tmp_path / "r.db") as j:
        same = replay(j)
        changed = replay(j, overrides={"risk.kill_switch": {"min_reserve_pusd": 20}})
        wider = replay(j, overrides={"risk.kill_switch": {"min_reserve_pusd": 0,
                                                          "drawdown_intraday_pct": 15,
                                                          "drawdown_weekly_pct": 25}})
        tighter = replay(j, overrides={"risk.kill_switch": {"drawdown_intraday_pct": 0}})
    assert same.verdict == "GOV_REPLAY_MATCH" and same.trips_recorded
    assert same.to_json()["first_divergence"] is None
    assert [t["trigger"] for t in same.trips_replayed] == ["wallet_funding"]
    # min_reserve 20 still trips at 30 pUSD: a changed threshold need not change decisions, and
    # replay must not call that a regression; the same trip at the same input, same books
    assert changed.verdict == "GOV_REPLAY_MATCH", changed.to_json()["first_divergence"]
    assert changed.trips_replayed == same.trips_replayed
    assert changed.overrides == {"risk.kill_switch": {"min_reserve_pusd": "20"}}
    assert changed.books_replayed == same.books_replayed == same.books_recorded
    # no reserve at all still trips: the 30 pUSD left cannot cover the orders resting at the time
    assert wider.verdict == "GOV_REPLAY_MATCH" and wider.trips_replayed == same.trips_replayed
    # a limit of 0 % trips at the first loss: a decision the recording never made
    assert tighter.verdict == "GOV_REPLAY_REGRESSION"
    first = tighter.to_json()["first_divergence"]
    assert first["recorded"] is None and first["replayed"]["trigger"] == "drawdown_intraday"
    assert first["seq"] >= same.first_seq
    # halted from that trip on, the what-if books differ from the recorded ones
    assert tighter.books_replayed != tighter.books_recorded == same.books_recorded
