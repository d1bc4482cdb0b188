"""`killswitch status` checks the journal from the last checkpoint a signed digest vouches for
(so it answers in well under a second on 100,000 entries) and is still never an all-clear on a
journal that was cut, rewritten and re-hashed, or edited after that checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from factories import run_unstopped_system
from trust_tools import anchors, cli, copy_journal, edit_body, forge_append, rewrite_and_rehash, truncate_after

from polytraders.contracts import Note
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.journal.digests import vouched_checkpoint
from polytraders.journal.sqlite import open_journal
from polytraders.journal.verify import verify_journal
from polytraders.runtime.clock import WallClock
from polytraders.runtime.runner import Runtime
from polytraders.state.standard import build_state


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("fast") / "demo.db"
    run_demo(DemoArgs(minutes=3, markets=3, seed=3, db=db))
    return db


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    return copy_journal(demo_db, tmp_path / "j.db")


def status(db: Path) -> tuple[int, dict[str, Any]]:
    ran = cli(["killswitch", "status", "--db", str(db), "--json"])
    assert "Traceback" not in ran.text
    return ran.code, json.loads(ran.out)


def checkpoint_seq(db: Path) -> int:
    with open_journal(db, readonly=True) as j:
        found = vouched_checkpoint(j)
    assert found is not None, "the demo ends with a checkpoint and a final digest"
    return found[0].seq


def test_status_starts_at_the_vouched_checkpoint_and_agrees_with_a_full_fold(db: Path) -> None:
    cp = checkpoint_seq(db)
    code, data = status(db)
    assert code == 0 and data["state"] == "armed"
    assert data["verified_from_seq"] == cp > 500
    with open_journal(db, readonly=True) as j:
        fast = verify_journal(j, anchors(db), from_checkpoint=True)
        full = verify_journal(j, anchors(db))
        assert not fast.damaged and not full.damaged
        assert (fast.entries, fast.head_hash, fast.last_digest_seq) == (full.entries, full.head_hash,
                                                                        full.last_digest_seq)
        restored = Runtime(j, WallClock(), build_state())
        restored.state.rebuild(j)
        folded = Runtime(j, WallClock(), build_state())
        folded.state.rebuild(j, use_checkpoint=False)
        assert restored.state.snapshot() == folded.state.snapshot()


def test_a_rewrite_and_rehash_before_the_checkpoint_is_damage(db: Path) -> None:
    def hide(env: dict[str, Any]) -> dict[str, Any]:
        return ReportEnvelope.wrap(Note(detail={"msg": "nothing"}), actor=Actor(kind="system", id="runtime"),
                                   reason_code="GOV_RUN_STARTED", ts_ms=env["ts_ms"]).to_json_dict()

    cp = checkpoint_seq(db)
    rewrite_and_rehash(db, 50, hide)
    code, data = status(db)
    assert code == 1 and data["state"] == "unknown" and "active" not in data
    assert data["damaged_at_seq"] is not None and data["damaged_at_seq"] <= cp


def test_a_cut_after_the_checkpoint_is_damage(db: Path) -> None:
    truncate_after(db, checkpoint_seq(db))  # the final digest is gone; its anchor is not
    code, data = status(db)
    assert code == 1 and data["state"] == "unknown"
    assert "truncation" in {f["kind"] for f in data["findings"]}


def test_an_edit_after_the_checkpoint_is_damage_at_that_seq(db: Path) -> None:
    head = checkpoint_seq(db) + 1
    edit_body(db, head, lambda b: b.replace(b"final", b"finaL"))
    code, data = status(db)
    assert code == 1 and data["state"] == "unknown" and data["damaged_at_seq"] == head


def test_an_anchor_that_no_longer_matches_an_older_digest_is_damage(db: Path) -> None:
    lines = (anchors(db) / "digests.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["hash"] = "0" * 64
    (anchors(db) / "digests.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    code, data = status(db)
    assert code == 1 and data["state"] == "unknown"
    assert data["damaged_at_seq"] == first["seq"]


def test_an_unrehashed_edit_before_the_checkpoint_is_left_to_journal_verify(db: Path) -> None:
    """The documented trade: the checkpoint's state is vouched for by the signed digest, so an
    edit of an older body that was not re-hashed cannot change what status reports; the full
    check still names it."""
    edit_body(db, 20, lambda b: b + b" ")
    code, data = status(db)
    assert code == 0 and data["verified_from_seq"] > 20
    ran = cli(["journal", "verify", "--db", str(db), "--json"])
    assert ran.code == 1
    assert {"kind": "chain", "seq": 20} in [{"kind": f["kind"], "seq": f["seq"]}
                                           for f in json.loads(ran.out)["findings"]]


def test_a_running_system_leaves_vouched_checkpoints_readers_start_from(tmp_path: Path) -> None:
    """No stop, no final checkpoint (a system still running, or killed): the periodic
    checkpoints, each vouched by the digest right after it, bound what a reader folds."""
    db = tmp_path / "running.db"
    run_unstopped_system(db, seconds=300, checkpoint_every=300)  # killed: no checkpoint or digest at stop
    with open_journal(db, readonly=True) as j:
        kinds = [e.envelope.kind for e in j.read(kinds=["checkpoint", "journal_digest"])]
        head = j.head()[0]
        found = vouched_checkpoint(j)
        assert found is not None and kinds.count("checkpoint") >= 3
        cp, digest = found
        assert digest.seq > cp.seq and head - cp.seq < 2 * 300  # at most a cadence plus a digest interval
        restored = build_state()
        assert restored.rebuild(j) == head - cp.envelope.payload["upto_seq"]
        folded = build_state()
        folded.rebuild(j, use_checkpoint=False)
        assert restored.snapshot() == folded.snapshot()
    code, data = status(db)
    assert code == 0 and data["state"] == "armed" and data["verified_from_seq"] == cp.seq


def test_the_selective_fold_agrees_with_a_full_fold_on_a_forged_tail(db: Path) -> None:
    """`status` decodes only what the trust gate, the kill switch and modes read; every other
    entry is stepped over. Forged unsigned entries after the session's end (a trip and a note)
    must still be refused and named, exactly as a full fold names them."""
    from trust_tools import envelope_dict

    from polytraders.contracts import KillSwitchEvent, Scope
    from polytraders.state.kill_switch import KillSwitchProjection
    from polytraders.state.modes import ModesProjection
    from polytraders.state.store import StateStore

    trip = envelope_dict(KillSwitchEvent(event="tripped", trip_id="t_forged", trigger="manual", scope=Scope(),
                                         observed=1, threshold=0, at_ms=1),
                         actor=Actor(kind="system", id="runtime"), reason_code="RISK_KILLSWITCH_TRIPPED", ts_ms=1)
    note = envelope_dict(Note(detail={"msg": "x"}), actor=Actor(kind="system", id="runtime"),
                         reason_code="GOV_RUN_STARTED", ts_ms=2)
    forged = [forge_append(db, trip), forge_append(db, note)]
    code, data = status(db)
    assert code == 0 and data["state"] == "armed"
    assert [p["seq"] for p in data["refused_entries"]] == forged

    def fold(selective: bool) -> dict[str, Any]:
        state = StateStore()
        state.add(KillSwitchProjection(state.trust))
        state.add(ModesProjection())
        with open_journal(db, readonly=True) as j:
            if selective:
                state.rebuild(j, only=(KillSwitchProjection.relevant[0] | ModesProjection.relevant[0],
                                       KillSwitchProjection.relevant[1] | ModesProjection.relevant[1]))
            else:
                state.rebuild(j)
        return {"snapshot": state.snapshot(), "seq": state.last_seq, "hash": state.last_hash,
                "problems": state.trust.problems}

    assert fold(True) == fold(False)


def test_digests_land_at_step_ends_never_inside_a_step(tmp_path: Path) -> None:
    """A digest (and the checkpoint before it) costs tens of milliseconds: it is written at the
    end of the step that crosses the count, so it never lands inside a trip's protective action;
    the count still bounds the gap between digests."""
    from polytraders.engine.demo import DEMO_START_MS, STEP_MS, sim_genesis
    from polytraders.engine.system import SystemConfig, TradingSystem
    from polytraders.journal.sqlite import create_journal
    from polytraders.venues.sim import SimVenue

    db = tmp_path / "steps.db"
    genesis, system_key = sim_genesis(5, "calm", DEMO_START_MS)
    journal = create_journal(db, genesis, synchronous="NORMAL")
    system = TradingSystem(journal, SimVenue(5, 4, DEMO_START_MS), SystemConfig(
        seed=5, n_markets=4, start_ms=DEMO_START_MS, system_signer=system_key))
    system.runtime.digest_every = 40
    system.start()
    step_ends = set()
    for s in range(1, 121):
        system.step(DEMO_START_MS + s * STEP_MS)
        step_ends.add(journal.head()[0])
    digests = [e.seq for e in journal.read(kinds=["journal_digest"]) if e.seq > 0]
    started = min(step_ends)
    stepped = [seq for seq in digests if seq > started]
    assert len(stepped) >= 5
    assert set(stepped) <= step_ends
    assert all(b - a < 2 * 40 + 40 for a, b in zip(stepped, stepped[1:], strict=False))
    journal.close()


def test_no_digest_releases_the_write_lock_inside_a_decision(tmp_path: Path) -> None:
    """A decision holds the write lock from the kill-switch vote to the order's durable append; a
    digest's own durable append in between would let another process's trip land before the order."""
    from factories import make_trusted_runtime

    from polytraders.contracts import Note
    from polytraders.runtime.clock import SimClock
    from polytraders.runtime.runner import SYSTEM

    rt, _ = make_trusted_runtime(tmp_path / "held.db", SimClock(1_000), digest_every=10)
    rt.journal.flush()
    rt.begin_decision()
    before = rt.state.trust.last_digest_seq
    for i in range(50):  # five times the count, all inside one decision
        rt.record(Note(detail={"i": i}), actor=SYSTEM, reason_code="GOV_CONFIG_LOADED")
    assert rt.journal.held and rt.journal.in_transaction  # type: ignore[attr-defined]
    assert rt.state.trust.last_digest_seq == before
    rt.journal.flush()
    assert rt.digest_if_due() is not None
