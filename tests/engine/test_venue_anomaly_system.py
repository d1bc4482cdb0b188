"""End to end on the simulator: an impossible fill injected into a running TradingSystem is
journaled as a venue anomaly, never applied, trips `market:<cid>` (written before the cancels),
cancels only that market's orders, rejects that market's next intents while the other markets
keep trading, and replays to MATCH."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.contracts import OrderIntent, OrderRecord
from polytraders.contracts.order_batch import order_records
from polytraders.engine.demo import DEMO_START_MS, STEP_MS
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.journal import SqliteJournal
from polytraders.journal.base import JournalEntry
from polytraders.replay.engine import replay
from polytraders.runtime.decisions import decision_steps
from polytraders.runtime.kinds import Mode
from polytraders.venues.base import VenueEvent
from polytraders.venues.sim.venue import SimVenue


class InjectingVenue(SimVenue):
    """The simulator, plus events a test slips into the next `advance` (a broken adapter)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.injected: list[VenueEvent] = []

    def advance(self, now_ms: int) -> list[VenueEvent]:
        events, self.injected = [*self.injected, *super().advance(now_ms)], []
        return events


@dataclass
class Run:
    system: TradingSystem
    journal: SqliteJournal
    venue: InjectingVenue
    now: int

    def step(self, seconds: int = 1) -> None:
        for _ in range(seconds):
            self.now += STEP_MS
            self.system.step(self.now)

    def entries(self) -> list[JournalEntry]:
        self.journal.flush()
        return list(self.journal.read())

    def open_markets(self) -> set[str]:
        return {o.market_id for o in self.system.orders.open_orders()}


@pytest.fixture
def run(tmp_path: Path) -> Any:
    journal = SqliteJournal(tmp_path / "j.db", synchronous="NORMAL")
    venue = InjectingVenue(11, 6, DEMO_START_MS)
    system = TradingSystem(journal, venue, SystemConfig(seed=11, n_markets=6, start_ms=DEMO_START_MS))
    system.start()
    r = Run(system, journal, venue, DEMO_START_MS)
    for _ in range(120):  # until quotes rest in at least two markets
        r.step()
        if len(r.open_markets()) >= 2:
            break
    assert len(r.open_markets()) >= 2, "the calm simulator should rest quotes in several markets"
    yield r
    journal.close()


def test_an_impossible_fill_trips_only_its_market(run: Run) -> None:
    system = run.system
    target: OrderRecord = system.orders.open_orders()[0]
    a = target.market_id
    info_a = next(m for m in system.venue.markets() if m.condition_id == a)
    tokens_a = {info_a.yes_token, info_a.no_token}
    others_before = [o for o in system.orders.open_orders() if o.market_id != a]
    assert others_before
    filled_before = system.orders.filled_by_fills(target.client_order_id)
    held_before = {t: system.portfolio.position_size(t) for t in tokens_a}
    cash_before = system.portfolio.cash_pusd()

    run.venue.injected.append(VenueEvent(
        kind="fill", venue_order_id=target.venue_order_id or "", client_order_id=target.client_order_id,
        token_id=target.token_id, ts_ms=run.now, side=target.side, price=target.price,
        size=Decimal("1E+30"), remaining=Decimal(0), fee=Decimal(0), trade_id="evil-1", liquidity="maker",
        trade_status="MATCHED"))
    run.step()
    entries = run.entries()

    # journaled as an anomaly naming order, field, value and limit ...
    [note] = [e for e in entries if e.envelope.reason_code == "EXEC_VENUE_ANOMALY"]
    detail = note.envelope.payload["detail"]
    assert (detail["client_order_id"], detail["market_id"], detail["field"]) == (target.client_order_id, a, "size")
    open_size = target.size - filled_before
    assert (detail["observed"], detail["limit"]) == ("1E+30", f"<= {open_size} (open on the order)")
    # ... and never applied as a fill
    assert not [e for e in entries if e.envelope.kind == "fill" and e.envelope.payload["trade_id"] == "evil-1"]
    assert system.orders.filled_by_fills(target.client_order_id) == filled_before
    assert {t: system.portfolio.position_size(t) for t in tokens_a} == held_before
    assert system.portfolio.cash_pusd() == cash_before

    # the kill switch tripped for that market, journaled before the cancels it caused
    [trip] = [e for e in entries if e.envelope.kind == "killswitch_event"]
    payload = trip.envelope.payload
    assert (payload["trigger"], payload["scope"]["scope"], payload["scope"]["value"], payload["caused_by_seq"]) == (
        "venue_anomaly", "market", a, note.seq)
    [cancel_all] = [e for e in entries if e.envelope.reason_code == "EXEC_CANCEL_ALL"]
    assert note.seq < trip.seq < cancel_all.seq
    assert set(cancel_all.envelope.payload["detail"]["token_ids"]) == tokens_a
    assert target.client_order_id in cancel_all.envelope.payload["detail"]["orders"]
    cancelled = [r for e in entries if e.seq > trip.seq for r in order_records(e)
                 if r.payload["status"] == "cancelled"]
    assert cancelled and all(r.payload["market_id"] == a for r in cancelled)

    # only that market's orders were cancelled; the strategy is not halted
    assert a not in run.open_markets()
    assert not [o for o in system.venue.open_orders() if o.token_id in tokens_a]
    still_open = {o.client_order_id for o in system.orders.open_orders()}
    assert {o.client_order_id for o in others_before} <= still_open
    assert system.strategy.mode is Mode.ENFORCED

    # the next intents: the strategy stops quoting that market only, and an intent for it is
    # rejected by the kill switch, while the other markets keep being quoted and sent
    run.step(60)
    entries = run.entries()
    halted = {e.envelope.payload["detail"]["market_id"] for e in entries
              if e.seq > trip.seq and e.envelope.reason_code == "STRAT_HALTED"}
    assert halted == {a}
    sent = [e for e in entries if e.seq > trip.seq and e.envelope.kind == "order_record"
            and e.envelope.payload["status"] == "submitted"]
    assert sent and all(e.envelope.payload["market_id"] != a for e in sent)
    assert a not in run.open_markets()
    earlier = [OrderIntent.model_validate(e.envelope.payload) for e in entries if e.envelope.kind == "order_intent"]
    again = {m: next(i for i in reversed(earlier) if i.market_id == m) for m in (a, others_before[0].market_id)}
    outcomes = {}
    for n, (market_id, old) in enumerate(again.items()):
        fresh = old.model_copy(update={"intent_id": f"oi_again{n:04d}", "correlation_id": f"oc_again{n:04d}",
                                       "emitted_at_ms": run.now})
        system.path.process(fresh)
        [vote] = [step for e in run.entries() for step in decision_steps(e) if step.kind == "risk_vote"
                  and step.correlation_id == fresh.correlation_id and step.bot_id == "risk.kill_switch"]
        outcomes[market_id] = vote.payload["decision"], vote.reason_code
    assert outcomes[a] == ("REJECT", "RISK_KILLSWITCH_ACTIVE")
    assert outcomes[others_before[0].market_id] == ("APPROVE", "RISK_KILLSWITCH_ARMED")

    # replay re-derives the same trip from the same anomaly entry
    system.stop()
    report = replay(run.journal)
    assert report.verdict == "GOV_REPLAY_MATCH", report.to_json()["first_divergence"]
    assert {"caused_by_seq": note.seq, "trigger": "venue_anomaly", "scope": f"market:{a}"} in report.trips_recorded
