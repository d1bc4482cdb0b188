"""The market scope (`market:<condition_id>`) and the `venue_anomaly` trigger of the kill switch."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.bots.risk.kill_switch import KillSwitch, TriggerCheck
from polytraders.contracts import BUILDER_CODE, MarketSnapshot, Note, OrderIntent, OrderRecord, Scope
from polytraders.contracts.envelope import Actor
from polytraders.engine.kill_switch_ops import approve_reset, manual_trip, parse_scope, request_reset
from polytraders.engine.system import build_state
from polytraders.errors import BadInputError
from polytraders.incidents.engine import IncidentContext, confirm_no_inflight
from polytraders.journal import SqliteJournal
from polytraders.operators.auth import Operator
from polytraders.runtime.clock import SimClock
from polytraders.runtime.config import build_config
from polytraders.runtime.runner import Runtime
from polytraders.state.kill_switch import ActiveTrip

A, B = "0x" + "aa" * 32, "0x" + "bb" * 32
T0 = 1_767_571_200_000
FEED = Actor(kind="system", id="feed.test")
OLM = Actor(kind="bot", id="exec.order_lifecycle_manager")
CAROL = Operator("carol", "operator")  # on a bare test journal an unsigned manual trip still counts


def runtime(path: Path) -> Runtime:
    rt = Runtime(SqliteJournal(path, synchronous="NORMAL"), SimClock(T0), build_state())
    rt.state.rebuild(rt.journal)
    for n, market_id in enumerate((A, B)):
        rt.record(MarketSnapshot(market_id=market_id, question="q?", yes_token=f"{n}01", no_token=f"{n}02",
                                 tick=Decimal("0.01"), min_size=Decimal(5), cluster="POLITICS",
                                 observed_at_ms=T0), actor=FEED, reason_code="GOV_MARKET_DATA")
    return rt


def ks() -> KillSwitch:
    bot = KillSwitch()
    bot.init(build_config(KillSwitch.bot_id, KillSwitch.params, {})[0])
    return bot


def intent(market_id: str, n: int = 1) -> OrderIntent:
    token = "001" if market_id == A else "101"
    return OrderIntent(intent_id=f"oi_mkt{n:05d}", correlation_id=f"corr_mkt{n:05d}", strategy_id="strat.maker_tight",
                       market_id=market_id, token_id=token, outcome="YES", side="BUY", price=Decimal("0.5"),
                       size=Decimal(5), emitted_at_ms=T0, builder_code=BUILDER_CODE)


def anomaly(rt: Runtime, market_id: str) -> int:
    """Journal a venue anomaly the way the OLM does; return its seq."""
    entry = rt.record(Note(detail={"market_id": market_id, "client_order_id": "co_1", "field": "size",
                                   "observed": "1E+30", "limit": "<= 10 (open on the order)", "event": "fill"}),
                      actor=OLM, reason_code="EXEC_VENUE_ANOMALY")
    return entry.seq


def trip_on(rt: Runtime, bot: KillSwitch, seq: int) -> list[tuple[str, str, str]]:
    """What the guardian does after an input: check, and journal every breach as a trip."""
    found = bot.check_triggers(rt.state, rt.clock.now_ms(), seq, "venue_anomaly")
    for breach in found:
        rt.decide(bot, TriggerCheck(breach))
    return [(b.trigger, b.scope, b.scope_value) for b in found]


# -- parse_scope and covers ----------------------------------------------------------------------


def test_parse_scope_accepts_a_condition_id_and_normalises_its_case() -> None:
    assert parse_scope("market:0x" + "AB" * 32) == Scope(scope="market", value="0x" + "ab" * 32)
    assert parse_scope("market:" + A).label() == f"market:{A}"


@pytest.mark.parametrize("text", ["market", "market:", "market:CRYPTO", "market:0x1234", "market:" + A + "00"])
def test_parse_scope_refuses_a_market_that_is_not_a_condition_id(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_scope(text)


def test_a_market_trip_covers_only_its_market_and_never_a_whole_bot() -> None:
    trip = ActiveTrip("ks_1", "venue_anomaly", "market", A, "1", "1", 1, T0, 2)
    assert trip.covers(strategy_id="strat.x", cluster="POLITICS", bot_id="strat.x", market_id=A)
    assert not trip.covers(strategy_id="strat.x", cluster="POLITICS", bot_id="strat.x", market_id=B)
    assert not trip.covers(strategy_id="strat.x", cluster="", bot_id="strat.x")  # a bot has no market


def test_a_manual_market_trip_rejects_that_market_and_approves_the_others(tmp_path: Path) -> None:
    rt = runtime(tmp_path / "m.db")
    bot = rt.add_bot(ks())
    manual_trip(rt, CAROL, parse_scope(f"market:{A}"), "drill")
    blocked = rt.decide(bot, intent(A, 1))
    assert blocked.blocked and blocked.entry is not None
    assert blocked.entry.envelope.reason_code == "RISK_KILLSWITCH_ACTIVE"
    assert f"market:{A}" in blocked.entry.envelope.payload["message"]
    free = rt.decide(bot, intent(B, 2))
    assert not free.blocked and free.entry is not None
    assert free.entry.envelope.reason_code == "RISK_KILLSWITCH_ARMED"


# -- the venue_anomaly trigger -------------------------------------------------------------------


def test_an_anomaly_trips_its_market_once_and_names_what_was_wrong(tmp_path: Path) -> None:
    rt = runtime(tmp_path / "a.db")
    bot = rt.add_bot(ks())
    seq = anomaly(rt, A)
    assert trip_on(rt, bot, seq) == [("venue_anomaly", "market", A)]
    (trip,) = rt.kill_switch.active.values()
    assert (trip.trip_id, trip.caused_by_seq) == (f"ks_{seq}_venue_anomaly", seq)
    tripped = [e for e in rt.journal.read() if e.envelope.kind == "killswitch_event"]
    assert tripped[-1].envelope.payload["detail"]["observed"] == "1E+30"
    # only the anomaly's own entry trips: a later input finds nothing, so a restart cannot re-trip
    assert bot.check_triggers(rt.state, rt.clock.now_ms(), rt.state.last_seq, "venue_anomaly") == []
    assert trip_on(rt, bot, anomaly(rt, A)) == []  # a second anomaly there: already tripped
    assert trip_on(rt, bot, anomaly(rt, B)) == [("venue_anomaly", "market", B)]  # another market trips too
    assert len(rt.kill_switch.active) == 2


def test_an_anomaly_no_market_can_place_trips_globally(tmp_path: Path) -> None:
    rt = runtime(tmp_path / "g.db")
    bot = rt.add_bot(ks())
    assert trip_on(rt, bot, anomaly(rt, "")) == [("venue_anomaly", "global", "*")]
    assert rt.decide(bot, intent(B)).blocked


def test_only_two_people_end_an_anomaly_trip(tmp_path: Path, trusted_runtime: Any) -> None:
    rt, ops = trusted_runtime(tmp_path / "r.db", SimClock(T0))
    ALICE, BOB = ops["alice"], ops["bob"]
    bot = rt.add_bot(ks())
    trip_on(rt, bot, anomaly(rt, A))
    (trip_id,) = rt.kill_switch.active
    rt.clock.advance(30 * 24 * 3_600_000)
    assert trip_id in rt.kill_switch.active  # nothing disarms by itself
    request_id = request_reset(rt, ALICE, trip_id, bot.config)  # the event is past: no condition holds
    assert approve_reset(rt, BOB, request_id, bot.config) == trip_id
    assert not rt.kill_switch.active
    assert not rt.decide(bot, intent(A, 3)).blocked


def test_the_playbook_confirms_nothing_in_flight_in_the_tripped_market_only(tmp_path: Path) -> None:
    rt = runtime(tmp_path / "p.db")
    bot = rt.add_bot(ks())

    def in_flight(market_id: str, n: int) -> None:
        rt.record(OrderRecord(client_order_id=f"co_{n}", intent_id=f"oi_{n:08d}", strategy_id="strat.x",
                              market_id=market_id, token_id="001", side="BUY", price=Decimal("0.5"),
                              size=Decimal(5), order_type="GTC", status="submitted"),
                  actor=OLM, reason_code="EXEC_SUBMITTED")

    def confirm(trip_entry: Any) -> tuple[bool, list[str]]:
        ctx = IncidentContext(incident_id="inc_1", playbook=None, step=None, trigger="venue_anomaly",  # type: ignore[arg-type]
                              trigger_entry=trip_entry, runtime=rt, dispatcher=None,  # type: ignore[arg-type]
                              actor=OLM, params={}, snapshot_path=None)
        result = confirm_no_inflight(ctx)
        return result.ok, result.detail.get("in_flight", [])

    in_flight(B, 1)  # another market keeps trading: its orders may be in flight
    trip_on(rt, bot, anomaly(rt, A))
    trip = [e for e in rt.journal.read() if e.envelope.kind == "killswitch_event"][-1]
    assert confirm(trip) == (True, [])
    in_flight(A, 2)
    assert confirm(trip) == (False, ["co_2"])
    manual_trip(rt, CAROL, Scope(), "drill")
    wider = [e for e in rt.journal.read() if e.envelope.kind == "killswitch_event"][-1]
    assert confirm(wider) == (False, ["co_1", "co_2"])  # a global trip still asks about every market
