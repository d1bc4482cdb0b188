"""PlaybookRunner: step order, failures, paging fallback, write-ahead, RCA, resolve rule."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from helpers_incidents import (
    FakePortfolio,
    RecordingPager,
    closed_port,
    codes,
    make_runner,
    make_runtime,
    reset,
    trip,
)

from polytraders.errors import RefusedError
from polytraders.incidents.config import Roster
from polytraders.incidents.engine import StepResult
from polytraders.incidents.notifiers import Dispatcher, FileChannel, Notice, PagerDutyEvents
from polytraders.incidents.playbooks import KILL_SWITCH_PLAYBOOK, UNIVERSAL_STEPS, playbook
from polytraders.journal.sqlite import SqliteJournal
from polytraders.operators.auth import Operator

ALICE = Operator("alice", "operator")


def test_universal_steps_precede_every_remedy(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path)
    entry = trip(rt)
    inc = runner.handle_trip(entry)
    assert inc == runner.incident_id_for(entry) and inc.startswith(f"inc_{entry.seq}_")
    seen = codes(rt, inc)
    seq_of = {code: seq for seq, code, _ in reversed(seen)}  # first occurrence
    remedy = [seq for seq, code, step in seen
              if step in {s.id for s in KILL_SWITCH_PLAYBOOK.remedy_steps}]
    assert seq_of["GOV_ALERT_CONFIRMED"] < seq_of["GOV_STATE_CAPTURED"]
    assert seq_of["GOV_STATE_CAPTURED"] < seq_of["GOV_INCIDENT_DECLARED"] < min(remedy)
    assert entry.seq < seq_of["GOV_ALERT_CONFIRMED"]
    rec = runner.incidents.get(inc)
    assert rec is not None
    assert rec["commander"] == "alice" and rec["status"] == "open" and rec["priority"] == "P0"
    assert rec["step_order"][:3] == [s.id for s in UNIVERSAL_STEPS]
    assert rec["steps"]["page_oncall"]["status"] == "done"
    assert rec["steps"]["run_replay_last_hour"]["status"] == "done"
    assert rec["steps"]["reset_kill_switch"]["status"] == "pending"
    # running again for the same trip does not open a second incident
    n = rt.journal.head()[0]
    assert runner.handle_trip(entry) == inc
    assert rt.journal.head()[0] == n


def test_playbook_refuses_remedy_before_universal_steps() -> None:
    with pytest.raises(ValueError):
        type(KILL_SWITCH_PLAYBOOK)("bad", frozenset({"X"}), "P1", "risk",
                                   KILL_SWITCH_PLAYBOOK.remedy_steps + UNIVERSAL_STEPS)


def test_failing_auto_step_is_journaled_and_the_run_continues(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)

    def boom(ctx: Any) -> StepResult:
        raise RuntimeError("replay engine exploded")

    runner = make_runner(rt, tmp_path, actions={"replay": boom})
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    failed = [(seq, step) for seq, code, step in codes(rt, inc)
              if code == "GOV_INCIDENT_STEP_FAILED"]
    # no orders/portfolio projection here: those steps fail closed too
    assert [s for _, s in failed] == ["confirm_nothing_in_flight", "publish_positions_snapshot",
                                      "run_replay_last_hour"]
    after = [step for seq, code, step in codes(rt, inc) if seq > failed[-1][0]]
    assert "reset_kill_switch" in after  # later steps still ran
    rec = runner.incidents.get(inc)
    assert rec is not None
    step = rec["steps"]["run_replay_last_hour"]
    assert step["status"] == "failed" and "exploded" in step["error"]
    assert "run_replay_last_hour" in runner.incidents.outstanding_steps(inc)


def test_missing_action_fails_the_step_not_the_engine(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path, actions={})
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    rec = runner.incidents.get(inc)
    assert rec is not None
    assert rec["steps"]["run_replay_last_hour"]["status"] == "failed"
    assert "no action wired" in rec["steps"]["run_replay_last_hour"]["error"]


def test_paging_fallback_journals_paging_unavailable(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    sleeps: list[float] = []
    pd = PagerDutyEvents("routing-key", url=f"http://127.0.0.1:{closed_port()}/v2/enqueue",
                         retries=0, timeout_s=2.0, sleep=sleeps.append)
    chan = tmp_path / "channel.jsonl"
    runner = make_runner(rt, tmp_path, dispatcher=Dispatcher(FileChannel(chan, fsync=False), [pd]))
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    seen = codes(rt, inc)
    assert ("GOV_PAGING_SYSTEM_UNAVAILABLE", "page_oncall") in [(c, s) for _, c, s in seen]
    assert "GOV_PAGE_SENT" not in [c for _, c, _ in seen]
    rec = runner.incidents.get(inc)
    assert rec is not None and rec["steps"]["page_oncall"]["status"] == "failed"
    lines = [orjson.loads(x) for x in chan.read_bytes().splitlines()]
    assert any(line.get("paging_fallback") for line in lines)
    assert sleeps == []


class SpyDispatcher(Dispatcher):
    """Checks, from a second connection, that the causing envelope is durable before any send."""

    def __init__(self, path: Path, db: Path) -> None:
        super().__init__(FileChannel(path, fsync=False), [RecordingPager()])
        self.db = db
        self.checked = 0

    def _check(self, notice: Notice) -> None:
        other = SqliteJournal(self.db)
        try:
            entries = list(other.read(correlation_id=notice.incident_id))
        finally:
            other.close()
        assert entries, "side effect before any journal entry"
        self.checked += 1
        self.last_codes = [e.envelope.reason_code for e in entries]
        self.last_steps = [e.envelope.payload.get("detail", {}).get("step") for e in entries]

    def page(self, notice: Notice) -> Any:
        self._check(notice)
        assert self.last_steps[-1] == "page_oncall"
        assert self.last_codes[-1] == "GOV_INCIDENT_STEP"
        return super().page(notice)

    def post(self, notice: Notice) -> Any:
        self._check(notice)
        return super().post(notice)


def test_journal_write_precedes_each_page_and_post(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    spy = SpyDispatcher(tmp_path / "c.jsonl", tmp_path / "journal.db")
    runner = make_runner(rt, tmp_path, dispatcher=spy)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None and spy.checked >= 3
    assert len(spy.pagers[0].sent) == 1  # type: ignore[attr-defined]
    assert spy.pagers[0].sent[0].dedup_key == inc  # type: ignore[attr-defined]


@pytest.mark.parametrize(("trigger", "published"), [
    ("drawdown_intraday", True), ("drawdown_weekly", True),
    ("reject_rate", False), ("feed_loss", False), ("manual", False),
])
def test_positions_snapshot_only_for_drawdown(tmp_path: Path, trigger: str,
                                              published: bool) -> None:
    rt, _ = make_runtime(tmp_path)
    rt.state.add(FakePortfolio([{"token_id": "123", "size": "10", "avg_price": "0.5"}]))
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt, trigger))
    assert inc is not None
    seen = codes(rt, inc)
    assert ("GOV_POSITIONS_SNAPSHOT" in [c for _, c, _ in seen]) is published
    rec = runner.incidents.get(inc)
    assert rec is not None
    status = rec["steps"]["publish_positions_snapshot"]["status"]
    assert status == ("done" if published else "skipped")


def test_capture_records_chain_error_and_sha(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    for i in range(120):
        rt.note("GOV_MARKET_DATA", i=i)

    def broken_rpc() -> int:
        raise ConnectionError("rpc down")

    runner = make_runner(rt, tmp_path, chain_reader=broken_rpc)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    rec = runner.incidents.get(inc)
    assert rec is not None
    path = Path(rec["snapshot"]["path"])
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == rec["snapshot"]["sha256"]
    snap = orjson.loads(data)
    assert snap["block"] == {"height": None, "error": "ConnectionError: rpc down"}
    assert len(snap["last_envelopes"]) == 100
    assert snap["last_envelopes"][-1]["envelope"]["reason_code"] == "GOV_ALERT_CONFIRMED"
    assert "trip-1" in snap["kill_switch"]["active"]
    assert "error" in snap["open_orders"]  # no orders projection in this runtime: said so


def test_a_snapshot_is_never_written_over_a_file_already_there(tmp_path: Path) -> None:
    from polytraders.contracts.envelope import Actor
    from polytraders.incidents.snapshot import store_snapshot

    rt, _ = make_runtime(tmp_path)
    theirs = tmp_path / "snaps" / "snap_7.json"
    theirs.parent.mkdir()
    theirs.write_bytes(b"someone else's file")
    actor = Actor(kind="operator", id="alice")
    entry = store_snapshot(rt, {"seq": 7}, name="snap_7", directory=tmp_path / "snaps", actor=actor)
    assert theirs.read_bytes() == b"someone else's file"
    assert "already exists and was left untouched" in entry.envelope.payload["detail"]["write_error"]
    # the same picture saved again is no error, and leaves no temporary file behind
    first = store_snapshot(rt, {"seq": 8}, name="snap_8", directory=tmp_path / "snaps", actor=actor)
    again = store_snapshot(rt, {"seq": 8}, name="snap_8", directory=tmp_path / "snaps", actor=actor)
    assert first.envelope.payload["detail"]["write_error"] is None
    assert again.envelope.payload["detail"]["write_error"] is None
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["snap_7.json", "snap_8.json"]


def _finish(runner: Any, inc: str) -> None:
    """Mark by hand every required step a note may close (the reset step closes on evidence)."""
    for sid in list(runner.incidents.outstanding_steps(inc, required_only=True)):
        if sid != "reset_kill_switch":
            runner.complete_step(inc, sid, ALICE, "done by hand")


def test_resolve_refused_while_trip_active_then_allowed(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    _finish(runner, inc)
    with pytest.raises(RefusedError, match="trip-1"):
        runner.resolve(inc, ALICE)
    refused = [c for _, c, _ in codes(rt, inc) if c == "GOV_INCIDENT_ACTION_REFUSED"]
    assert len(refused) == 1
    reset(rt)
    runner.resolve(inc, ALICE)
    rec = runner.incidents.get(inc)
    assert rec is not None and rec["status"] == "resolved"
    assert rec["resolved_by"] == "operator:alice"
    assert rec["steps"]["reset_kill_switch"]["status"] == "done"
    assert runner.incidents.outstanding_steps(inc) == []


def test_checkable_steps_refuse_a_note_and_close_on_evidence(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    with pytest.raises(RefusedError, match="trip-1 is still active"):
        runner.complete_step(inc, "reset_kill_switch", ALICE, "reset it, trust me")
    with pytest.raises(RefusedError, match="closes when the RCA is recorded"):
        runner.complete_step(inc, "investigate_root_cause", ALICE, "found it")
    rt.journal.flush()
    refusals = [e.envelope.payload["detail"] for e in rt.journal.read(correlation_id=inc)
                if e.envelope.reason_code == "GOV_INCIDENT_ACTION_REFUSED"]
    assert [d["reason"] for d in refusals] == ["evidence_required", "evidence_required"]
    rec = runner.incidents.get(inc)
    assert rec is not None
    assert rec["steps"]["reset_kill_switch"]["status"] == "pending"
    assert rec["steps"]["investigate_root_cause"]["status"] == "pending"
    runner.record_rca(inc, ALICE, "a real loss")
    assert rec["steps"]["investigate_root_cause"]["status"] == "done"
    reset(rt)
    assert rec["steps"]["reset_kill_switch"]["status"] == "done"
    assert "reset journaled at seq" in rec["steps"]["reset_kill_switch"]["result"]


def test_resolve_refused_while_required_steps_outstanding(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    outstanding = runner.incidents.outstanding_steps(inc, required_only=True)
    assert "reset_kill_switch" in outstanding
    reset(rt)
    # the journaled reset closes its step; the other required steps still block resolution
    left = runner.incidents.outstanding_steps(inc, required_only=True)
    assert left == [s for s in outstanding if s != "reset_kill_switch"] and left
    with pytest.raises(RefusedError, match=left[0]):
        runner.resolve(inc, ALICE)
    with pytest.raises(RefusedError, match="no step"):
        runner.complete_step(inc, "no_such_step", ALICE, "x")
    with pytest.raises(RefusedError, match="no incident"):
        runner.acknowledge("inc_999", ALICE)


def test_rca_overdue_after_24h_journaled_once(tmp_path: Path) -> None:
    rt, clock = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    _finish(runner, inc)
    reset(rt)
    runner.resolve(inc, ALICE)
    rec = runner.incidents.get(inc)
    assert rec is not None
    resolved = rec["resolved_at_ms"]
    day = 24 * 3_600_000
    assert runner.tick(resolved + day) == []  # exactly at the bound: not yet overdue
    clock.advance_to(resolved + day + 1)
    assert runner.tick(resolved + day + 1) == [inc]
    assert runner.tick(resolved + 2 * day) == []  # once per incident
    assert [c for _, c, _ in codes(rt, inc)].count("GOV_RCA_OVERDUE") == 1


def test_rca_in_time_is_never_overdue(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    _finish(runner, inc)
    reset(rt)
    runner.resolve(inc, ALICE)
    runner.record_rca(inc, ALICE, "threshold too tight for the open interest")
    assert runner.tick(rt.clock.now_ms() + 100 * 3_600_000) == []


def test_projection_rebuilds_identically_from_the_journal(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    runner.acknowledge(inc, ALICE)
    rt.journal.flush()
    rt2, _ = make_runtime(tmp_path)
    runner2 = make_runner(rt2, tmp_path)  # attached before the rebuild
    rt2.state.rebuild(rt2.journal)
    assert runner2.incidents.snapshot() == runner.incidents.snapshot()
    rt3, _ = make_runtime(tmp_path)
    rt3.state.rebuild(rt3.journal)
    runner3 = make_runner(rt3, tmp_path)  # attached after: folds what was already applied
    assert runner3.incidents.snapshot() == runner.incidents.snapshot()


def test_unassigned_commander_and_pending_alert(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    runner = make_runner(rt, tmp_path, roster=Roster({}))
    pb = playbook("soft", trigger_kinds=("GOV_API_DEGRADED",), priority="P2",
                  page_role="trading_ops", remedy=())
    source = rt.note("GOV_API_DEGRADED", surface="clob_rest")
    assert runner.run(pb, source, trigger="clob_rest", alert_state="pending") is None
    assert rt.journal.tail(1)[0].envelope.reason_code == "GOV_ALERT_UNCONFIRMED"
    assert runner.run(pb, source, trigger="clob_rest", alert_state="flapping") is None
    assert rt.journal.tail(1)[0].envelope.reason_code == "GOV_ALERT_FLAPPING"
    inc = runner.run(pb, source, trigger="clob_rest")
    assert inc is not None
    rec = runner.incidents.get(inc)
    assert rec is not None and rec["commander"] == "unassigned"


def test_no_pager_configured_is_said_honestly_and_channel_lines_carry_the_real_action(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rt, _ = make_runtime(tmp_path)
    chan = tmp_path / "channel.jsonl"
    runner = make_runner(rt, tmp_path, dispatcher=Dispatcher(FileChannel(chan, fsync=False), []))
    with caplog.at_level("WARNING"):
        inc = runner.handle_trip(trip(rt))
    assert inc is not None
    rec = runner.incidents.get(inc)
    assert rec is not None
    page = rec["steps"]["page_oncall"]
    assert page["status"] == "done" and page["result"] == "no pager configured, posted to the channel"
    assert "GOV_PAGING_SYSTEM_UNAVAILABLE" not in [c for _, c, _ in codes(rt, inc)]
    assert not [r for r in caplog.records if "no pager accepted" in r.getMessage()]
    lines = [orjson.loads(x) for x in chan.read_bytes().splitlines()]
    actions = [line["action"] for line in lines]
    assert actions[:2] == ["opened", "page"] and "to_do" in actions and "step_done" in actions
    assert "trigger" not in actions and not any(line["paging_fallback"] for line in lines)
    assert {line["pager_action"] for line in lines} == {"trigger"}
