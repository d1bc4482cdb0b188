"""Every guardrail fixture pack, run through the real Runtime (temp SqliteJournal, SimClock).

A pack's state is built by folding envelopes: market snapshots, then positions (an order
record for attribution and a CONFIRMED BUY fill at the average price), then the wallet balance
note (cash after those buys), then books. Reservations come from a tiny fake "orders"
projection implementing the `ReservationsView` protocol.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polytraders.bots.risk._common import ReservationsView
from polytraders.bots.risk.guardrails import GUARDRAILS_IN_ORDER, DrawdownGuard
from polytraders.contracts import (
    FillRecord,
    MarketSnapshot,
    OrderBookSnapshot,
    OrderIntent,
    OrderRecord,
    RiskVote,
)
from polytraders.contracts.envelope import Actor
from polytraders.journal import SqliteJournal
from polytraders.journal.base import JournalEntry
from polytraders.runtime.bot import Bot
from polytraders.runtime.clock import SimClock
from polytraders.runtime.config import Option
from polytraders.runtime.runner import Runtime
from polytraders.state.portfolio import add_accounting
from polytraders.state.store import StateStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bots"
SYS = Actor(kind="system", id="fixture")
BOTS = {cls.bot_id: cls for cls in GUARDRAILS_IN_ORDER}


class FakeOrders:
    """The orders projection as the guardrails see it: reservations only."""

    name = "orders"

    def __init__(self, pusd: Decimal, shares: dict[str, Decimal]) -> None:
        self._pusd = pusd
        self._shares = shares

    def reserved_pusd(self) -> Decimal:
        return self._pusd

    def reserved_shares(self, token_id: str) -> Decimal:
        return self._shares.get(token_id, Decimal(0))

    def apply(self, entry: JournalEntry) -> None:
        return None

    def snapshot(self) -> dict[str, Any]:
        return {"pusd": str(self._pusd), "shares": {k: str(v) for k, v in self._shares.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        self._pusd = Decimal(data["pusd"])
        self._shares = {k: Decimal(v) for k, v in data["shares"].items()}


def _cases() -> list[tuple[str, str]]:
    out = []
    for folder in sorted(FIXTURES.glob("risk.*")):
        if folder.name not in BOTS:
            continue
        for path in sorted(folder.glob("*.json")):
            if not path.name.startswith("expected."):
                out.append((folder.name, path.stem))
    return out


def _overrides(cls: type[Bot[Any, Any]], config: dict[str, Any]) -> dict[str, Any]:
    options = {p.name for p in cls.params if isinstance(p, Option)}
    return {k: tuple(v) if k in options and isinstance(v, list) else v for k, v in config.items()}


def run_pack(cls: type[Bot[Any, Any]], pack: dict[str, Any], db: Path) -> tuple[RiskVote, Runtime]:
    state = pack["state"]
    clock = SimClock(pack["now_ms"])
    store = StateStore()
    add_accounting(store)
    res = state["reservations"]
    if "pusd" in res:
        store.add(FakeOrders(Decimal(res["pusd"]),
                             {k: Decimal(v) for k, v in res["shares"].items()}))
    rt = Runtime(SqliteJournal(db, synchronous="NORMAL"), clock, store)
    if "pusd" in res:
        assert isinstance(store.get("orders"), ReservationsView)
    for m in state["markets"]:
        rt.record(MarketSnapshot.model_validate(m), actor=SYS, reason_code="GOV_MARKET_DATA")
    for i, p in enumerate(state["positions"]):
        coid = f"fixture-order-{i:04d}"
        if p.get("strategy_id"):
            rt.record(OrderRecord(client_order_id=coid, intent_id=f"fixture-intent-{i:04d}",
                                  strategy_id=p["strategy_id"], market_id=p["market_id"],
                                  token_id=p["token_id"], side="BUY", price=p["avg_price"],
                                  size=p["size"], filled=p["size"], order_type="GTC",
                                  status="filled"),
                      actor=SYS, reason_code="GOV_VENUE_EVENT")
        rt.record(FillRecord(trade_id=f"fixture-trade-{i:04d}", client_order_id=coid,
                             market_id=p["market_id"], token_id=p["token_id"], side="BUY",
                             price=p["avg_price"], size=p["size"], liquidity="maker",
                             settlement="CONFIRMED", ts_ms=pack["now_ms"]),
                  actor=SYS, reason_code="GOV_VENUE_EVENT")
    if state["cash"] is not None:
        rt.note("GOV_WALLET_BALANCE", pusd=state["cash"], source="sim")
    for b in state["books"]:
        rt.record(OrderBookSnapshot.model_validate(b), actor=SYS, reason_code="GOV_MARKET_DATA")
    bot = rt.add_bot(cls(), _overrides(cls, pack["config"]))
    intent = OrderIntent.model_validate(pack["intent"])
    outcome = rt.decide(bot, intent, correlation_id=intent.correlation_id)
    assert outcome.entry is not None
    vote = outcome.decision.output if outcome.decision is not None else None
    assert isinstance(vote, RiskVote), f"no vote: {outcome.entry.envelope.payload}"
    assert outcome.entry.envelope.reason_code == vote.reason_code
    return vote, rt


@pytest.mark.parametrize(("bot_id", "case"), _cases())
def test_fixture_pack(bot_id: str, case: str, tmp_path: Path) -> None:
    folder = FIXTURES / bot_id
    pack = json.loads((folder / f"{case}.json").read_text())
    expected = json.loads((folder / f"expected.{case}.json").read_text())
    vote, rt = run_pack(BOTS[bot_id], pack, tmp_path / "j.db")
    got = {
        "decision": vote.decision,
        "reason_code": vote.reason_code,
        "constraints": None if vote.constraints is None else {
            k: v for k, v in vote.constraints.to_json_dict().items()
            if v not in (None, False) and k != "schema_version"},
    }
    assert got == expected, vote.observed
    assert rt.journal.verify().ok
    rt.journal.close()


def test_every_guardrail_has_the_four_packs() -> None:
    for bot_id in BOTS:
        names = {p.stem for p in (FIXTURES / bot_id).glob("*.json")}
        for case in ("normal", "warning", "hard", "failure"):
            assert case in names and f"expected.{case}" in names, (bot_id, case)


def test_guardrails_declare_order_codes_and_authority() -> None:
    assert [c.bot_id for c in GUARDRAILS_IN_ORDER] == [
        "risk.market_halt_guard", "risk.compliance_gate", "risk.stale_book_guard",
        "risk.wallet_funding_guard", "risk.drawdown_guard", "risk.exposure_guard"]
    from polytraders.contracts.reasons import is_registered
    from polytraders.runtime.kinds import Layer

    for cls in GUARDRAILS_IN_ORDER:
        assert cls.layer is Layer.RISK and cls.bot_class == "Guardrail"
        assert all(is_registered(c) for c in cls.reason_codes)
        assert cls.__module__ == "polytraders.bots." + cls.bot_id
        doc = __import__(cls.__module__, fromlist=["_"]).__doc__ or ""
        assert doc.startswith(cls.bot_id) and "Reason codes" in doc and "Parameters" in doc


def test_missing_projections_fail_closed(tmp_path: Path) -> None:
    """With no markets/portfolio/orders projections at all, every guardrail rejects."""
    rt = Runtime(SqliteJournal(tmp_path / "j.db", synchronous="NORMAL"), SimClock(10_000))
    pack = json.loads((FIXTURES / "risk.drawdown_guard" / "normal.json").read_text())
    intent = OrderIntent.model_validate(pack["intent"])
    for cls in GUARDRAILS_IN_ORDER:
        bot = rt.add_bot(cls())
        outcome = rt.decide(bot, intent)
        assert outcome.blocked, cls.bot_id
        assert outcome.effective is not None and outcome.effective.decision == "REJECT"


# -- property: the drawdown guard never approves above its remaining cap ---------------------

MARKET = "0x" + "5a" * 32
OTHER = "0x" + "6b" * 32


def _drawdown_state(held: Decimal, other: Decimal, price: Decimal) -> StateStore:
    store = StateStore()
    _markets, _portfolio = add_accounting(store)
    seq = 0

    def put(contract: Any, code: str) -> None:
        nonlocal seq
        from polytraders.contracts.envelope import ReportEnvelope

        seq += 1
        env = ReportEnvelope.wrap(contract, actor=SYS, reason_code=code, ts_ms=1_000)
        store.apply(JournalEntry(seq, "0" * 64, "0" * 64, env))

    for mid, yes, no in ((MARKET, "71001", "71002"), (OTHER, "72001", "72002")):
        put(MarketSnapshot(market_id=mid, question="q", yes_token=yes, no_token=no,
                           tick=Decimal("0.01"), min_size=Decimal(5), cluster="politics",
                           observed_at_ms=1_000), "GOV_MARKET_DATA")
    from polytraders.contracts import Note

    for i, (mid, tok, size) in enumerate(((MARKET, "71001", held), (OTHER, "72001", other))):
        if size > 0:
            put(FillRecord(trade_id=f"p{i}", client_order_id=f"c{i}", market_id=mid,
                           token_id=tok, side="BUY", price=price, size=size,
                           liquidity="maker", settlement="CONFIRMED", ts_ms=1_000),
                "GOV_VENUE_EVENT")
    put(Note(detail={"pusd": "100000", "source": "sim"}), "GOV_WALLET_BALANCE")
    return store


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    held=st.integers(0, 3000), other=st.integers(0, 6000),
    pos_price=st.integers(1, 99), price=st.integers(1, 99), size=st.integers(1, 50_000),
    caps=st.tuples(st.integers(1, 100_000), st.integers(1, 25_000), st.integers(1, 50_000)),
)
def test_drawdown_guard_never_approves_above_remaining_cap(
    held: int, other: int, pos_price: int, price: int, size: int, caps: tuple[int, int, int],
) -> None:
    from polytraders.runtime.config import build_config
    from polytraders.runtime.context import BotContext
    from polytraders.state.kill_switch import KillSwitchProjection

    p0 = Decimal(pos_price) / 100
    store = _drawdown_state(Decimal(held), Decimal(other), p0)
    bot = DrawdownGuard()
    config, _ = build_config(bot.bot_id, bot.params, {
        "max_gross_exposure_pusd": caps[0], "max_market_exposure_pusd": caps[1],
        "max_cluster_exposure_pusd": caps[2]})
    bot.init(config)
    ctx = BotContext(clock=SimClock(2_000), config=config, state=store,
                     kill_switch=KillSwitchProjection(), correlation_id=None, builder_code="")
    intent = OrderIntent(intent_id="intent-prop", correlation_id="corr-prop",
                         strategy_id="s", market_id=MARKET, token_id="71001", outcome="YES",
                         side="BUY", price=Decimal(price) / 100, size=Decimal(size),
                         emitted_at_ms=1_000)
    vote = bot.decide(intent, ctx).output
    assert vote is not None
    mkt, oth = Decimal(held) * p0, Decimal(other) * p0
    room = min(caps[0] - (mkt + oth), caps[1] - mkt, caps[2] - (mkt + oth))
    if vote.decision in ("APPROVE", "WARNING_ONLY"):
        assert intent.notional <= room
    elif vote.decision == "RESHAPE_REQUIRED":
        assert vote.constraints is not None and vote.constraints.max_size is not None
        assert vote.constraints.max_size * intent.price <= room
        assert Decimal(5) <= vote.constraints.max_size < intent.size
    else:
        assert intent.notional > room and room / intent.price < 5 + Decimal("0.01")
