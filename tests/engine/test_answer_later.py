"""The kill switch's protective cancel-all: the request leaves write-ahead, the next intent is
rejected, and the venue's answer is journaled at the next safe point, before any later venue
event and before the incident, with every cancelled order in it; a system that stops right
after a trip still journals the answer and opens the incident."""

from __future__ import annotations

import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from polytraders.contracts import OrderIntent
from polytraders.contracts.order_batch import order_records
from polytraders.engine.demo import DEMO_START_MS, sim_genesis
from polytraders.engine.scenarios import add_crew, transfer
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.journal import SqliteJournal
from polytraders.journal.sqlite import create_journal
from polytraders.venues.base import VenueEvent
from polytraders.venues.sim import SimVenue

MARKETS = 6


def trading(path: Path) -> TradingSystem:
    genesis, key = sim_genesis(7, "answer-later", DEMO_START_MS)
    system = TradingSystem(create_journal(path, genesis, synchronous="NORMAL"), SimVenue(7, MARKETS, DEMO_START_MS),
                           SystemConfig(seed=7, n_markets=MARKETS, start_ms=DEMO_START_MS, system_signer=key))
    system.start()
    add_crew(system)
    for s in range(1, 61):
        system.step(DEMO_START_MS + s * 1000)
    assert len(system.orders.open_orders()) >= 2, "quotes rest before the trip"
    return system


def kinds_after(path: Path, seq: int) -> list[tuple[str, str]]:
    with SqliteJournal(path) as journal:
        return [(e.envelope.kind, e.envelope.reason_code) for e in journal.read(seq + 1)]


def test_the_answer_is_journaled_at_the_next_safe_point_before_later_venue_events(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    system = trading(path)
    rt = system.runtime
    resting = sorted(o.client_order_id for o in system.orders.open_orders())
    sent: list[int] = []
    send = system.olm.venue.cancel_all

    def counted(token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        sent.append(len(system.orders.open_orders()))
        return send(token_ids, now_ms)

    system.olm.venue.cancel_all = counted  # type: ignore[method-assign]  # counted on the way out
    transfer("withdrawal", leave=Decimal(30))(system)  # the wallet read trips wallet_funding
    [trip] = rt.kill_switch.active.values()
    system.guardian.act()
    # protected: the request left once, and the strategy is halted; the answer is held
    assert sent == [len(resting)]
    assert system.olm.answers_held
    assert sorted(o.client_order_id for o in system.orders.open_orders()) == resting  # as before the answer
    assert system.strategy.mode.value == "off"
    info = system.venue.markets()[0]
    intent = OrderIntent(intent_id="oi_after_trip", correlation_id="corr_after_trip", strategy_id="strat.maker_tight",
                         market_id=info.condition_id, token_id=info.yes_token, outcome="YES", side="BUY",
                         price=Decimal("0.5"), size=Decimal(5), emitted_at_ms=rt.clock.now_ms())
    assert rt.decide(system.kill_switch, intent, correlation_id="corr_after_trip").blocked
    incidents_before = len(system.incidents.incidents.all())
    # the venue's next events: the held answer goes first
    system.olm.on_venue_events(system.venue.advance(rt.clock.now_ms() + 1))
    assert not system.olm.answers_held and not system.orders.open_orders()
    assert len(system.incidents.incidents.all()) == incidents_before, "the incident waits for the next safe point"
    system.guardian.act()
    assert len(system.incidents.incidents.all()) == incidents_before + 1
    rt.journal.flush()
    with SqliteJournal(path) as journal:
        entries = list(journal.read())
    seq_of = {e.seq: e for e in entries}
    note = next(e for e in entries if e.envelope.reason_code == "EXEC_CANCEL_ALL")
    trip_entry = next(e for e in entries if e.envelope.kind == "killswitch_event"
                      and e.envelope.payload["trip_id"] == trip.trip_id)
    [batch] = [e for e in entries if e.envelope.kind == "order_batch"]
    rejected = next(e for e in entries if e.envelope.correlation_id == "corr_after_trip")
    incident = next(e for e in entries if e.seq > trip_entry.seq and e.envelope.kind.startswith("incident"))
    assert trip_entry.seq < note.seq < rejected.seq < batch.seq < incident.seq
    # the strategy's halt follows from the trip: nothing else is journaled for it
    assert not [e for e in entries if e.seq > trip_entry.seq and e.envelope.reason_code == "GOV_MODE_HOLD"]
    assert sorted(r.payload["client_order_id"] for r in order_records(batch)) == resting
    assert all(r.payload["status"] == "cancelled" for r in order_records(batch))
    assert all(seq_of[s].envelope.kind != "order_record" for s in range(rejected.seq, batch.seq)), \
        "no venue event is journaled before the held answer"


def test_a_system_stopped_right_after_a_trip_still_journals_the_answer_and_the_incident(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    system = trading(path)
    resting = len(system.orders.open_orders())
    transfer("withdrawal", leave=Decimal(30))(system)
    head = system.runtime.journal.head()[0]
    system.stop()  # its last safe point protects the trip
    assert not system.olm.answers_held and not system.orders.open_orders()
    kinds = kinds_after(path, head)
    batch_at = kinds.index(("order_batch", "EXEC_CANCELLED"))
    assert kinds.index(("note", "EXEC_CANCEL_ALL")) < batch_at < kinds.index(("note", "GOV_RUN_STOPPED"))
    assert any(kind.startswith("incident") for kind, _ in kinds[batch_at:])
    with SqliteJournal(path) as journal:
        [batch] = [e for e in journal.read(head + 1) if e.envelope.kind == "order_batch"]
    assert len(list(order_records(batch))) == resting


def test_a_crash_before_the_answer_is_journaled_leaves_the_reconciler_to_find_them_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    system = trading(path)
    resting = sorted(o.client_order_id for o in system.orders.open_orders())
    venue = system.venue
    transfer("withdrawal", leave=Decimal(30))(system)
    system.guardian.act()
    assert system.olm.answers_held
    now = system.clock.now_ms()
    system.runtime.journal.rollback()  # killed here: what was not committed is gone
    system.runtime.journal.close()
    # the restart, on the same venue, where those orders are cancelled
    _, key = sim_genesis(7, "answer-later", DEMO_START_MS)
    again = TradingSystem(SqliteJournal(path), venue,
                          SystemConfig(seed=7, n_markets=MARKETS, start_ms=now, system_signer=key))
    assert again.runtime.kill_switch.active, "the trip survived the crash"
    assert sorted(o.client_order_id for o in again.orders.open_orders()) == resting  # the answer was lost
    for s in range(1, 121):
        again.step(now + s * 1000)
        if not again.orders.open_orders():
            break
    assert not again.orders.open_orders(), "reconciliation with the venue found every order cancelled"
    assert {o.client_order_id: o.status for o in again.orders.all_orders() if o.client_order_id in resting} == \
        dict.fromkeys(resting, "cancelled")
    again.stop()
    again.runtime.journal.close()


_CHILD = """
import os, signal, sys
from decimal import Decimal
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_answer_later import trading
from polytraders.engine.scenarios import transfer
system = trading(Path(sys.argv[1]))
print(len(system.orders.open_orders()), flush=True)
transfer("withdrawal", leave=Decimal(30))(system)
system.guardian.act()  # protected: the cancel-all left, its answer is held
assert system.olm.answers_held
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_a_process_killed_with_the_answer_held_restarts_tripped_and_reconciles(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    child = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(Path(__file__).parent)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    resting = int(child.stdout.split()[0])
    assert resting >= 2
    kinds = kinds_after(path, 0)
    assert ("note", "EXEC_CANCEL_ALL") in kinds and ("order_batch", "EXEC_CANCELLED") not in kinds
    with SqliteJournal(path) as journal:
        now = journal.tail(1)[-1].envelope.ts_ms
    # the restart: the simulated venue died with the process, so the new one knows none of our orders
    _, key = sim_genesis(7, "answer-later", DEMO_START_MS)
    again = TradingSystem(SqliteJournal(path), SimVenue(7, MARKETS, now),
                          SystemConfig(seed=7, n_markets=MARKETS, start_ms=now, system_signer=key))
    assert again.runtime.kill_switch.active, "the trip survived the kill"
    assert len(again.orders.open_orders()) == resting, "the held answer died with the process"
    for s in range(1, 121):
        again.step(now + s * 1000)
        if not again.orders.open_orders():
            break
    assert not again.orders.open_orders(), "reconciliation with the venue closed every order"
    assert {o.status for o in again.orders.all_orders()} <= {"cancelled", "filled", "rejected", "expired"}
    again.stop()
    again.runtime.journal.close()
