"""Incidents in the running system (simulated time, so every check is deterministic): the
snapshot holds the state as of the trip before any remedy; the in-flight check really waits for
orders in flight and names those that never resolve; every alert goes through the tracker and
gov.incident_commander (pending until its window has held, flapping opens nothing)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.contracts import KillSwitchEvent, Scope
from polytraders.engine.demo import DEMO_START_MS
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.incidents.desk import Confirmation
from polytraders.incidents.snapshot import capture_as_of
from polytraders.journal import SqliteJournal
from polytraders.journal.base import JournalEntry
from polytraders.runtime.runner import SYSTEM
from polytraders.venues.sim import SimVenue
from polytraders.venues.sim.faults import FaultPlan


class Sim:
    def __init__(self, tmp: Path, *, markets: int = 4, faults: FaultPlan | None = None,
                 overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self.journal = SqliteJournal(tmp / "j.db", synchronous="NORMAL")
        venue = SimVenue(11, markets, DEMO_START_MS)
        if faults is not None:
            venue.set_faults(faults)
        self.system = TradingSystem(self.journal, venue, SystemConfig(
            seed=11, n_markets=markets, start_ms=DEMO_START_MS, bot_overrides=overrides or {}))
        self.system.start()
        self.now = DEMO_START_MS

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.now += 1_000
            self.system.step(self.now)

    def trip(self) -> JournalEntry:
        rt = self.system.runtime
        return rt.record(KillSwitchEvent(event="tripped", trip_id=f"ks_{rt.journal.head()[0] + 1}_manual",
                                         trigger="manual", scope=Scope(scope="global", value="*"),
                                         observed=Decimal(1), threshold=Decimal(1), at_ms=rt.clock.now_ms(),
                                         detail={"reason": "test"}),
                         actor=SYSTEM, reason_code="RISK_KILLSWITCH_TRIPPED", durable=True)

    def incident(self, entry: JournalEntry) -> dict[str, Any]:
        inc = self.system.incidents.incidents.get(self.system.incidents.incident_id_for(entry))
        assert inc is not None, "no incident opened for the trip"
        return inc

    def codes(self, after: int = 0) -> list[tuple[int, str, str]]:
        self.journal.flush()
        return [(e.seq, e.envelope.reason_code, e.envelope.actor.id) for e in self.journal.read(after + 1)]


@pytest.fixture
def sim(tmp_path: Path) -> Any:
    s = Sim(tmp_path, markets=12)
    yield s
    s.journal.close()


def test_the_snapshot_holds_the_seven_orders_resting_at_the_trip(sim: Sim) -> None:
    for _ in range(120):
        sim.step()
        if len(sim.system.orders.open_orders()) >= 7:
            break
    resting = sorted(o.client_order_id for o in sim.system.orders.open_orders())
    assert len(resting) >= 7
    entry = sim.trip()
    sim.step()
    inc = sim.incident(entry)
    snap = json.loads(Path(inc["snapshot"]["path"]).read_text())
    assert snap["journal_id"] == sim.journal.journal_id and snap["trigger_seq"] == entry.seq
    before = snap["as_of_trigger"]
    assert before["seq"] == entry.seq and before["source"] == "memory"
    assert sorted(o["client_order_id"] for o in before["open_orders"]) == resting
    assert before["modes"]["holds"].get("strat.maker_tight") in (None, {})  # not yet halted
    assert before["last_envelopes"][-1]["seq"] == entry.seq and len(before["last_envelopes"]) == 100
    # the state now: cancelled and halted, after the remedy
    assert snap["open_orders"] == []
    assert "kill_switch" in snap["modes"]["holds"]["strat.maker_tight"]
    # the journal rebuilds the very same picture (the path taken when no listener saw the trip)
    rebuilt = capture_as_of(sim.journal, entry.seq)
    assert rebuilt["open_orders"] == before["open_orders"] and rebuilt["positions"] == before["positions"]
    assert rebuilt["config_versions"] == before["config_versions"]
    # capture comes before any remedy in the journal: the cancel-all was sent first (protection
    # cannot wait), but the snapshot shows the state before it
    codes = [c for _, c, _ in sim.codes(entry.seq)]
    assert codes.index("EXEC_CANCEL_ALL") < codes.index("GOV_STATE_CAPTURED")


def _trip_with_orders_in_flight(sim: Sim) -> tuple[JournalEntry, list[str]]:
    for _ in range(60):
        sim.step()
        flying = sorted(o.client_order_id for o in sim.system.orders.in_flight())
        if flying:
            return sim.trip(), flying
    raise AssertionError("no order was ever in flight")


def test_the_in_flight_check_waits_for_orders_to_resolve(tmp_path: Path) -> None:
    sim = Sim(tmp_path, faults=FaultPlan().latency(3_000, start_ms=DEMO_START_MS))
    entry, flying = _trip_with_orders_in_flight(sim)
    sim.step()
    inc = sim.incident(entry)
    step = inc["steps"]["confirm_nothing_in_flight"]
    assert step["status"] == "running" and all(cid in step["result"] for cid in flying[:3])
    assert inc["steps"]["run_replay_last_hour"]["status"] == "pending"  # the rest waits behind it
    assert sim.system.incidents.waiting() == [inc["incident_id"]]
    sim.step(5)
    step = inc["steps"]["confirm_nothing_in_flight"]
    assert step["status"] == "done" and step["result"].startswith("every order in flight resolved within")
    assert sim.system.orders.in_flight() == []
    assert inc["steps"]["run_replay_last_hour"]["status"] == "done"
    sim.journal.close()


def test_the_in_flight_check_names_orders_still_unresolved_after_the_wait(tmp_path: Path) -> None:
    sim = Sim(tmp_path, faults=FaultPlan().latency(120_000, start_ms=DEMO_START_MS))
    entry, flying = _trip_with_orders_in_flight(sim)
    sim.step(4)
    inc = sim.incident(entry)
    assert inc["steps"]["confirm_nothing_in_flight"]["status"] == "running"  # 5 s not up yet
    sim.step(2)
    step = inc["steps"]["confirm_nothing_in_flight"]
    assert step["status"] == "failed"
    assert step["error"].startswith(f"{len(sim.system.orders.in_flight())} order(s) still in flight after 5 s")
    still = [e for e in sim.journal.read(entry.seq) if e.envelope.reason_code == "GOV_INCIDENT_STEP_FAILED"]
    assert set(flying) <= set(still[-1].envelope.payload["detail"]["result"]["in_flight"])
    assert inc["steps"]["run_replay_last_hour"]["status"] == "done"  # the playbook went on
    sim.journal.close()


def _opener(calls: list[int]) -> Any:
    def opener(entry: JournalEntry, c: Confirmation) -> str:
        calls.append(entry.seq)
        assert c.state == "confirmed" and c.decided_seq is not None
        return f"opened_{entry.seq}"
    return opener


def test_a_soft_alert_is_pending_until_its_window_holds(tmp_path: Path) -> None:
    sim = Sim(tmp_path, overrides={"gov.incident_commander": {"confirm_window_s": 30}})
    sim.step()
    calls: list[int] = []
    entry = sim.system.runtime.note("GOV_API_DEGRADED", surface="clob_rest", level="warning")
    assert sim.system.desk.alert("api:clob_rest", entry, "GOV_API_DEGRADED", "clob_rest_warning",
                                 active=True, opener=_opener(calls)) is None
    assert [c for _, c, a in sim.codes(entry.seq) if a == "gov.incident_commander"] == ["GOV_ALERT_UNCONFIRMED"]
    start = sim.journal.head()[0]
    sim.step(28)
    assert calls == []
    sim.step(2)
    assert calls == [entry.seq]
    commander = [c for _, c, a in sim.codes(start) if a == "gov.incident_commander"]
    assert commander == ["GOV_ALERT_CONFIRMED"]
    sim.journal.close()


def test_a_flapping_alert_opens_nothing_and_a_cleared_one_is_never_confirmed(sim: Sim) -> None:
    desk = sim.system.desk
    calls: list[int] = []
    key = "api:clob_ws_market"
    sim.system.runtime.journal.flush()
    start = sim.journal.head()[0]
    for _ in range(6):
        sim.step()
        entry = sim.system.runtime.note("GOV_API_DEGRADED", surface="clob_ws_market", level="hard")
        desk.alert(key, entry, "GOV_API_DEGRADED", "clob_ws_market_hard", active=True, opener=_opener(calls))
        sim.step()
        desk.clear(key)
    assert len(calls) == 3  # confirmed each time it came back, until it was flapping
    assert desk.trackers[key].state == "flapping"
    sim.step()
    entry = sim.system.runtime.note("GOV_API_DEGRADED", surface="clob_ws_market", level="hard")
    desk.alert(key, entry, "GOV_API_DEGRADED", "clob_ws_market_hard", active=True, opener=_opener(calls))
    assert len(calls) == 3
    commander = [c for _, c, a in sim.codes(start) if a == "gov.incident_commander"]
    assert commander[:3] == ["GOV_ALERT_CONFIRMED"] * 3 and "GOV_ALERT_FLAPPING" in commander


def test_a_playbook_interrupted_while_waiting_resumes_after_a_restart(tmp_path: Path) -> None:
    sim = Sim(tmp_path, faults=FaultPlan().latency(120_000, start_ms=DEMO_START_MS))
    entry, flying = _trip_with_orders_in_flight(sim)
    sim.step()
    incident_id = sim.system.incidents.incident_id_for(entry)
    assert sim.incident(entry)["steps"]["confirm_nothing_in_flight"]["status"] == "running"
    sim.journal.flush()
    sim.journal.close()  # the process dies here: the rest of the playbook never ran
    again = SqliteJournal(tmp_path / "j.db", synchronous="NORMAL")
    system = TradingSystem(again, SimVenue(11, 4, DEMO_START_MS), SystemConfig(
        seed=11, n_markets=4, start_ms=sim.now))
    now = sim.now
    for _ in range(7):
        now += 1_000
        system.step(now)
    inc = system.incidents.incidents.get(incident_id)
    assert inc is not None
    assert inc["steps"]["confirm_nothing_in_flight"]["status"] in ("done", "failed")
    assert inc["steps"]["run_replay_last_hour"]["status"] == "done"
    declared = [e for e in again.read() if e.envelope.reason_code == "GOV_INCIDENT_DECLARED"]
    assert len(declared) == 1  # resumed, not opened a second time
    again.close()
