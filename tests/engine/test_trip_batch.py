"""A trip's cancel-all, its venue answer journaled as one `order_batch`, against the same run
journaled the older way (one `order_record` per order): the same orders, trips and books, the
protective cancel-all still write-ahead, both journals verified, rebuilt by a fresh reader,
shown by `orders` and `trace`, and replayed to GOV_REPLAY_MATCH."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polytraders.bots.exec.order_lifecycle_manager import OrderLifecycleManager
from polytraders.cli.main import app
from polytraders.contracts.order_batch import order_records
from polytraders.engine.demo import DEMO_START_MS, sim_genesis
from polytraders.engine.scenarios import add_crew, transfer
from polytraders.engine.system import SystemConfig, TradingSystem, build_state
from polytraders.journal import SqliteJournal
from polytraders.journal.base import JournalEntry
from polytraders.journal.sqlite import create_journal
from polytraders.replay.engine import replay
from polytraders.venues.base import VenueEvent
from polytraders.venues.sim import SimVenue

MARKETS = 6


class CommittedFirst:
    """The simulated venue, asserting on each cancel-all that a fresh reader of the file already
    holds the trip and the cancel-all's own note (write-ahead), and counting the calls."""

    def __init__(self, inner: SimVenue, path: Path) -> None:
        self.inner, self.path, self.calls = inner, path, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        reader = SqliteJournal(self.path)
        try:
            tail = reader.tail(3)
        finally:
            reader.close()
        assert tail[-1].envelope.reason_code == "EXEC_CANCEL_ALL"
        assert any(e.envelope.kind == "killswitch_event" for e in reader_entries(self.path)
                   if e.seq > tail[-1].seq - 50), "the trip is committed before the cancel-all leaves"
        self.calls += 1
        result: list[VenueEvent] = self.inner.cancel_all(token_ids, now_ms)
        return result


def reader_entries(path: Path) -> list[JournalEntry]:
    reader = SqliteJournal(path)
    try:
        return list(reader.read())
    finally:
        reader.close()


def run(tmp: Path, monkeypatch: pytest.MonkeyPatch, *, per_order: bool) -> tuple[TradingSystem, CommittedFirst, int]:
    """Trade 60 s, then a withdrawal leaves 30 pUSD and the wallet read trips wallet_funding;
    the next step protects. `per_order` journals the cancel-all's answer as older code did."""
    if per_order:
        monkeypatch.setattr(OrderLifecycleManager, "on_cancel_all_answer", OrderLifecycleManager._on_events)
    path = tmp / "j.db"
    genesis, key = sim_genesis(7, "batch", DEMO_START_MS)
    venue = CommittedFirst(SimVenue(7, MARKETS, DEMO_START_MS), path)
    system = TradingSystem(create_journal(path, genesis, synchronous="NORMAL"), venue,  # type: ignore[arg-type]
                           SystemConfig(seed=7, n_markets=MARKETS, start_ms=DEMO_START_MS, system_signer=key))
    system.start()
    add_crew(system)
    for s in range(1, 61):
        system.step(DEMO_START_MS + s * 1000)
    open_before = len(system.orders.open_orders())
    transfer("withdrawal", leave=Decimal(30))(system)
    for s in range(61, 66):
        system.step(DEMO_START_MS + s * 1000)
    system.stop()
    monkeypatch.undo()
    return system, venue, open_before


def test_one_batch_per_answer_reads_as_the_per_order_records_did(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    new, new_venue, open_new = run(tmp_path / "new", monkeypatch, per_order=False)
    old, old_venue, open_old = run(tmp_path / "old", monkeypatch, per_order=True)
    assert open_new == open_old >= 2, "the trip found resting orders to cancel"
    assert new_venue.calls == old_venue.calls == 1, "one protective cancel-all, write-ahead"

    # the same run: every order (record by record), the trip, the books
    assert [o.to_json_dict() for o in new.orders.all_orders()] == [o.to_json_dict() for o in old.orders.all_orders()]
    assert not new.orders.open_orders()
    assert [(t.trigger, t.scope) for t in new.runtime.kill_switch.active.values()] == \
        [(t.trigger, t.scope) for t in old.runtime.kill_switch.active.values()] == [("wallet_funding", "global")]
    assert new.portfolio.cash_pusd() == old.portfolio.cash_pusd()
    assert new.portfolio.positions() == old.portfolio.positions()

    # the shapes differ only where the answer is journaled: one envelope against one per order
    new_entries, old_entries = reader_entries(tmp_path / "new" / "j.db"), reader_entries(tmp_path / "old" / "j.db")
    [batch] = [e for e in new_entries if e.envelope.kind == "order_batch"]
    cancelled = [r for r in order_records(batch)]
    assert len(cancelled) == open_new and all(r.payload["status"] == "cancelled" for r in cancelled)
    note = next(e for e in new_entries if e.envelope.reason_code == "EXEC_CANCEL_ALL")
    assert [r.payload["client_order_id"] for r in cancelled] == note.envelope.payload["detail"]["orders"]
    old_note = next(e for e in old_entries if e.envelope.reason_code == "EXEC_CANCEL_ALL")
    old_cancelled = [e for e in old_entries[old_note.seq:] if e.envelope.kind == "order_record"][:open_old]
    assert [r.payload for r in cancelled] == [e.envelope.payload for e in old_cancelled]
    assert [(r.reason_code, r.correlation_id) for r in cancelled] == \
        [(e.envelope.reason_code, e.envelope.correlation_id) for e in old_cancelled]
    assert not [e for e in old_entries if e.envelope.kind == "order_batch"]

    for label, system in (("new", new), ("old", old)):
        db = tmp_path / label / "j.db"
        # a fresh reader folds each journal, entry by entry from genesis (no checkpoint), to the
        # state the running system held
        fresh = build_state()
        with SqliteJournal(db) as journal:
            for entry in journal.read():
                fresh.apply(entry)
            report = replay(journal)
        assert not fresh.skipped, label
        def every(orders: Any) -> list[dict[str, Any]]:
            return sorted((o.to_json_dict() for o in orders.all_orders()), key=lambda o: o["client_order_id"])
        assert every(fresh.typed("orders", type(system.orders))) == every(system.orders), label
        assert report.verdict == "GOV_REPLAY_MATCH", (label, report.to_json()["first_divergence"])
        assert any(t["trigger"] == "wallet_funding" for t in report.trips_recorded), label
        cli = CliRunner()
        assert cli.invoke(app, ["journal", "verify", "--db", str(db)]).exit_code == 0, label
        shown = json.loads(cli.invoke(app, ["orders", "--db", str(db), "--json"]).stdout)
        by_id = {o["client_order_id"]: o for o in shown}
        assert all(by_id[r.payload["client_order_id"]]["status"] == "cancelled" for r in cancelled), label
        # trace of one cancelled order: its own cancel, and only its own, from either shape
        cid = str(cancelled[-1].payload["client_order_id"])
        traced = json.loads(cli.invoke(app, ["trace", cid, "--db", str(db), "--json"]).stdout)
        assert len(traced["correlation_ids"]) == 1, label
        mine = [r.payload for e in traced["entries"]
                for r in order_records(JournalEntry(e["seq"], "", "", _envelope(e)))
                if r.correlation_id in traced["correlation_ids"] and r.payload["status"] == "cancelled"]
        assert [p["client_order_id"] for p in mine] == [cid], label
        text = cli.invoke(app, ["trace", cid, "--db", str(db)]).stdout
        assert "EXEC_CANCELLED" in text and cid in text, label


def _envelope(e: dict[str, Any]) -> Any:
    from polytraders.contracts.envelope import ReportEnvelope

    return ReportEnvelope.model_validate(e["envelope"])
