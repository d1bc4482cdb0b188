"""An insider with write access to the journal file forges entries with a valid hash chain.

Every attack here is done as that insider would do it: open the SQLite file with `sqlite3`,
build the envelope, compute `entry_body`/`entry_hash` so the chain links, and sign only with keys
the insider could have (none, a key of their own, or a registered operator's key used outside
the rules). Each test checks the protection through the readers an operator relies on
(`killswitch status`, `journal verify`, `operators list`, a fresh fold) and, where it makes
sense, through the running system.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from factories import make_trusted_runtime, operator_key, signed_reset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trust_tools import (
    PYTHON,
    T0,
    anchors,
    checkpoint,
    cli,
    cli_proc,
    copy_journal,
    envelope_dict,
    forge_append,
    journal_bytes_and_head,
    operator_record,
    raw_rows,
    reset_event,
    reset_request,
    rewrite_and_rehash,
    truncate_after,
)

from polytraders.contracts import KillSwitchEvent, Note, OperatorCommand, Scope
from polytraders.contracts.envelope import Actor
from polytraders.engine.demo import DEMO_START_MS, STEP_MS, sim_genesis
from polytraders.engine.kill_switch_ops import halt_path, manual_trip
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.journal.signatures import Signer, signing_bytes
from polytraders.journal.signatures import verify as sig_ok
from polytraders.journal.sqlite import SqliteJournal, create_journal, open_journal
from polytraders.journal.verify import verify_journal
from polytraders.operators.keys import write_key_file
from polytraders.runtime.clock import SimClock
from polytraders.state.standard import build_state
from polytraders.venues.sim import SimVenue

MALLORY = Signer.derive("mallory's own key")


# -- the journal under attack --------------------------------------------------------------------

class Layout:
    """Where things landed in the template journal."""

    mid_digest: int  # an anchored digest before the active trip
    old_trip: str  # a trip that two people reset properly
    reset_request_seq: int
    reset_seq: int
    trip: str  # the trip that is still active
    trip_seq: int
    final_digest: int


LAYOUT = Layout()


def _build_template(path: Path) -> None:
    clock = SimClock(T0)
    rt, ops = make_trusted_runtime(path, clock)
    clock.advance(1_000)
    LAYOUT.mid_digest = rt.write_digest().seq  # type: ignore[union-attr]
    clock.advance(1_000)
    LAYOUT.old_trip = manual_trip(rt, ops["carol"], Scope(), "first drill")
    clock.advance(1_000)
    signed_reset(rt, LAYOUT.old_trip, "manual")  # alice asks, bob approves
    rt.journal.flush()
    rows = list(rt.journal.read())
    LAYOUT.reset_request_seq = next(e.seq for e in rows if e.envelope.reason_code == "RISK_KILLSWITCH_RESET_REQUESTED")
    LAYOUT.reset_seq = next(e.seq for e in rows if e.envelope.reason_code == "RISK_KILLSWITCH_RESET")
    assert LAYOUT.old_trip not in rt.kill_switch.active
    clock.advance(1_000)
    LAYOUT.trip = manual_trip(rt, ops["carol"], Scope(), "second drill")
    LAYOUT.trip_seq = rt.state.last_seq
    clock.advance(1_000)
    rt.note("GOV_RUN_STOPPED", durable=True)
    LAYOUT.final_digest = rt.write_digest(final=True).seq  # type: ignore[union-attr]
    rt.journal.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tripped.db"
    _build_template(path)
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    return copy_journal(template, tmp_path / "j.db")


def status(db: Path) -> tuple[int, dict[str, Any]]:
    ran = cli(["killswitch", "status", "--db", str(db), "--json"])
    return ran.code, json.loads(ran.out)


def verify(db: Path) -> tuple[int, dict[str, Any]]:
    ran = cli(["journal", "verify", "--db", str(db), "--json"])
    assert "Traceback" not in ran.text
    return ran.code, json.loads(ran.out)


def fresh_fold(db: Path) -> Any:
    """A fresh process's fold (a Runtime adds the kill-switch and modes projections)."""
    from polytraders.runtime.clock import WallClock
    from polytraders.runtime.runner import Runtime

    with open_journal(db, readonly=True) as j:
        rt = Runtime(j, WallClock(), build_state())
        rt.state.rebuild(j)
    return rt.state


def active_trips(db: Path) -> set[str]:
    from polytraders.state.kill_switch import KillSwitchProjection

    return set(fresh_fold(db).typed("kill_switch", KillSwitchProjection).active)


def test_the_template_is_intact_and_tripped(db: Path) -> None:
    """The baseline every attack starts from: verify passes, the second trip is active."""
    code, report = verify(db)
    assert code == 0, report
    assert report["refused_entries"] == [] and report["last_digest_seq"] == LAYOUT.final_digest
    code, ks = status(db)
    assert code == 0 and ks["state"] == "tripped"
    assert [t["trip_id"] for t in ks["active"]] == [LAYOUT.trip]
    assert active_trips(db) == {LAYOUT.trip}


# -- (a) a forged reset --------------------------------------------------------------------------

def _unsigned_reset(db: Path) -> list[int]:
    return [forge_append(db, reset_event(LAYOUT.trip))]


def _unknown_key_reset(db: Path) -> list[int]:
    return [forge_append(db, reset_event(LAYOUT.trip), signer=MALLORY)]


def _unknown_key_pair(db: Path) -> list[int]:
    return [forge_append(db, reset_request(LAYOUT.trip), signer=Signer.derive("eve")),
            forge_append(db, reset_event(LAYOUT.trip), signer=MALLORY)]


def _unsigned_request_signed_reset(db: Path) -> list[int]:
    """bob's real key (an insider approver) with no signed request from anyone else."""
    return [forge_append(db, reset_request(LAYOUT.trip)),
            forge_append(db, reset_event(LAYOUT.trip), signer=operator_key("bob").signer)]


def _self_approved(db: Path) -> list[int]:
    """alice, a real approver, requests and approves her own reset."""
    alice = operator_key("alice").signer
    return [forge_append(db, reset_request(LAYOUT.trip, requester="alice"), signer=alice),
            forge_append(db, reset_event(LAYOUT.trip, requester="alice", approver="alice"), signer=alice)]


def _replayed_signatures(db: Path) -> list[int]:
    """The genuine signed request and reset of the first trip, copied to the head with the
    active trip's id (the signatures bind journal id, seq and prev hash)."""
    rows = {s: body for s, _, body in raw_rows(db)}
    request = rows[LAYOUT.reset_request_seq]["envelope"]
    reset = rows[LAYOUT.reset_seq]["envelope"]
    request["payload"]["detail"]["trip_id"] = LAYOUT.trip
    reset["payload"]["trip_id"] = LAYOUT.trip
    return [forge_append(db, request), forge_append(db, reset)]


def _replayed_verbatim(db: Path) -> list[int]:
    """The same two entries copied byte for byte (their trip is already reset)."""
    rows = {s: body for s, _, body in raw_rows(db)}
    return [forge_append(db, rows[LAYOUT.reset_request_seq]["envelope"]),
            forge_append(db, rows[LAYOUT.reset_seq]["envelope"])]


def _approver_impersonated(db: Path) -> list[int]:
    """alice asks (genuinely), then signs the approval with her own key while claiming to be bob."""
    alice = operator_key("alice").signer
    return [forge_append(db, reset_request(LAYOUT.trip, requester="alice"), signer=alice),
            forge_append(db, reset_event(LAYOUT.trip, requester="alice", approver="bob"), signer=alice)]


def _fake_system_signature(db: Path) -> list[int]:
    """A reset carrying a made-up signature 'by' the genesis system key."""
    system_key = raw_rows(db)[0][2]["envelope"]["payload"]["system_key"]
    env = {**reset_event(LAYOUT.trip), "signature": {"by": system_key, "sig": "ab" * 64}}
    return [forge_append(db, env)]


# attack -> (forger, True when the trust gate refuses the reset itself as tampering; False when
# it is validly signed and only the kill switch's two-person rule refuses it)
FORGED_RESETS = {
    "unsigned": (_unsigned_reset, True),
    "signed-by-unknown-key": (_unknown_key_reset, True),
    "request-and-reset-by-unknown-keys": (_unknown_key_pair, True),
    "unsigned-request-real-approver": (_unsigned_request_signed_reset, False),
    "self-approved-by-real-approver": (_self_approved, False),
    "signatures-replayed-for-another-trip": (_replayed_signatures, True),
    "signatures-replayed-verbatim": (_replayed_verbatim, True),
    "approver-impersonated-by-requester": (_approver_impersonated, True),
    "made-up-system-signature": (_fake_system_signature, True),
}


def _tampered(seqs: list[int], db: Path) -> set[int]:
    """The forged seqs the trust gate itself must refuse (unsigned or badly signed)."""
    raw = raw_rows(db)
    rows = {s: body["envelope"] for s, _, body in raw}
    hashes = {s: h for s, h, _ in raw}
    journal_id = rows[1]["payload"]["journal_id"]
    registered = {operator_key(n).public_hex: n for n in ("root", "ops", "alice", "bob", "carol")}
    out = set()
    for seq in seqs:
        env = rows[seq]
        sig = env.get("signature")
        prev = hashes[seq - 1]
        unsigned = {k: v for k, v in env.items() if k != "signature"}
        if sig is None or sig["by"] not in registered or not sig_ok(
                sig["by"], signing_bytes(journal_id, seq, prev, unsigned), sig["sig"]) \
                or env["actor"] != {"kind": "operator", "id": registered[sig["by"]]}:
            out.add(seq)
    return out


@pytest.mark.parametrize("attack", list(FORGED_RESETS))
def test_a_forged_reset_leaves_the_trip_active(db: Path, attack: str) -> None:
    forge, tampering = FORGED_RESETS[attack]
    seqs = forge(db)
    code, ks = status(db)
    assert code == 0 and ks["state"] == "tripped", ks
    assert LAYOUT.trip in [t["trip_id"] for t in ks["active"]]
    assert active_trips(db) == {LAYOUT.trip}
    refused = {p["seq"] for p in ks["refused_entries"]}
    assert seqs[-1] in refused, "status must warn that the forged reset was not applied"
    tampered = _tampered(seqs, db)
    assert (seqs[-1] in tampered) == tampering
    code, report = verify(db)
    assert {p["seq"] for p in report["refused_entries"]} >= tampered
    if tampered:
        assert code == 1 and report["ok"] is False
        assert report["first_bad_seq"] == min(tampered)
    # the human-readable status says so too, and never reads ARMED
    text = cli(["killswitch", "status", "--db", str(db)])
    assert "ARMED" not in text.text and f"seq {seqs[-1]} was not applied" in text.text


@pytest.mark.parametrize("attack", [a for a, (_, t) in FORGED_RESETS.items() if not t])
def test_verify_lists_a_reset_the_two_person_rule_refused(db: Path, attack: str) -> None:
    seqs = FORGED_RESETS[attack][0](db)
    _, report = verify(db)
    assert seqs[-1] in {p["seq"] for p in report["refused_entries"]}, report["refused_entries"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(approver=st.sampled_from(["alice", "bob", "root", "ops", "carol", "BOB", "mallory", "system"]),
       requester=st.sampled_from(["alice", "bob", "root", "ops", "carol", "ALICE"]),
       actor_kind=st.sampled_from(["operator", "system", "bot"]),
       signer_name=st.sampled_from([None, "mallory", "eve", "system-lookalike"]),
       request_id=st.text(min_size=1, max_size=20))
def test_no_reset_without_a_registered_key_ever_counts(template: Path, tmp_path_factory: pytest.TempPathFactory,
                                                       approver: str, requester: str, actor_kind: str,
                                                       signer_name: str | None, request_id: str) -> None:
    """Whatever a forged request and reset claim, signed by nobody or by keys nobody
    registered, the trip stays active in a fresh fold."""
    db = copy_journal(template, tmp_path_factory.mktemp("h") / "j.db")
    signer = Signer.derive(signer_name) if signer_name else None
    forge_append(db, reset_request(LAYOUT.trip, requester=requester, request_id=request_id), signer=signer)
    forge_append(db, reset_event(LAYOUT.trip, approver=approver, requester=requester, request_id=request_id,
                                 actor=Actor(kind=actor_kind, id=approver)), signer=signer)  # type: ignore[arg-type]
    assert active_trips(db) == {LAYOUT.trip}


# -- (b) a forged admin --------------------------------------------------------------------------

def _forged_admin_unsigned(db: Path) -> list[int]:
    return [forge_append(db, operator_record("mallory", MALLORY.public_hex))]


def _forged_admin_self_signed(db: Path) -> list[int]:
    return [forge_append(db, operator_record("mallory", MALLORY.public_hex, by="mallory"), signer=MALLORY)]


def _forged_admin_by_operator(db: Path) -> list[int]:
    """carol is a registered operator (not an admin) and signs the registration."""
    return [forge_append(db, operator_record("mallory", MALLORY.public_hex, by="carol"),
                         signer=operator_key("carol").signer)]


def _forged_admin_by_approver_with_request(db: Path) -> list[int]:
    """root (admin) asks; alice, an approver root registered, approves."""
    request = envelope_dict(OperatorCommand(command="operators.request_add", role="admin",
                                            args={"name": "mallory", "role": "admin",
                                                  "public_key": MALLORY.public_hex}),
                            actor=Actor(kind="operator", id="root"), reason_code="GOV_OPERATOR_REQUESTED",
                            ts_ms=T0 + 50_000)
    req_seq = forge_append(db, request, signer=operator_key("root").signer)
    return [req_seq, forge_append(db, operator_record("mallory", MALLORY.public_hex, by="root", request_seq=req_seq,
                                                      actor=Actor(kind="operator", id="alice")),
                                  signer=operator_key("alice").signer)]


def _forged_admin_one_admin(db: Path) -> list[int]:
    """root alone: registration with no request, then request and self-approval."""
    root = operator_key("root").signer
    first = forge_append(db, operator_record("mallory", MALLORY.public_hex, by="root"), signer=root)
    request = envelope_dict(OperatorCommand(command="operators.request_add", role="admin",
                                            args={"name": "mallory", "role": "admin",
                                                  "public_key": MALLORY.public_hex}),
                            actor=Actor(kind="operator", id="root"), reason_code="GOV_OPERATOR_REQUESTED",
                            ts_ms=T0 + 50_000)
    req_seq = forge_append(db, request, signer=root)
    return [first, forge_append(db, operator_record("mallory", MALLORY.public_hex, by="root", request_seq=req_seq),
                                signer=root)]


FORGED_ADMINS = {
    "unsigned": _forged_admin_unsigned,
    "self-signed": _forged_admin_self_signed,
    "signed-by-a-non-admin": _forged_admin_by_operator,
    "approved-by-an-approver-the-requester-registered": _forged_admin_by_approver_with_request,
    "one-admin-alone": _forged_admin_one_admin,
}


@pytest.mark.parametrize("attack", list(FORGED_ADMINS))
def test_a_forged_admin_is_no_operator_and_its_key_is_refused(db: Path, attack: str) -> None:
    seqs = FORGED_ADMINS[attack](db)
    listed = cli(["operators", "list", "--db", str(db), "--json"])
    assert listed.code == 0, listed.text
    names = {o["name"].lower() for o in json.loads(listed.out)}
    assert names == {"root", "ops", "alice", "bob", "carol"}
    assert "mallory" not in names
    _, report = verify(db)
    assert seqs[-1] in {p["seq"] for p in report["refused_entries"]}
    before = journal_bytes_and_head(db)
    ran = cli(["killswitch", "trip", "--scope", "global", "--reason", "mallory was here", "--db", str(db)],
              POLYTRADERS_KEY=MALLORY.private_hex())
    assert ran.code == 1, ran.text
    assert "belongs to no active operator" in ran.text and "Traceback" not in ran.text
    assert journal_bytes_and_head(db) == before, "a refused command must write nothing"


def test_a_forged_admin_cannot_approve_a_registration(db: Path) -> None:
    """Even with a signed request from a real admin, the forged admin's approval is void."""
    forge_append(db, operator_record("mallory", MALLORY.public_hex))
    request = envelope_dict(OperatorCommand(command="operators.request_add", role="admin",
                                            args={"name": "trudy", "role": "admin",
                                                  "public_key": Signer.derive("trudy").public_hex}),
                            actor=Actor(kind="operator", id="root"), reason_code="GOV_OPERATOR_REQUESTED",
                            ts_ms=T0 + 50_000)
    req_seq = forge_append(db, request, signer=operator_key("root").signer)
    forge_append(db, operator_record("trudy", Signer.derive("trudy").public_hex, by="root", request_seq=req_seq,
                                     actor=Actor(kind="operator", id="mallory")), signer=MALLORY)
    trust = fresh_fold(db).trust
    assert "trudy" not in trust.operators and "mallory" not in trust.operators
    assert trust.requests[req_seq]["used"] is False


# -- (c) a checkpoint that hides a trip ----------------------------------------------------------

def _hiding_state(db: Path) -> dict[str, Any]:
    state = fresh_fold(db)
    snap = state.snapshot()
    snap["kill_switch"]["active"] = {}
    return snap


def test_a_checkpoint_appended_after_the_last_digest_is_ignored(db: Path) -> None:
    snap = _hiding_state(db)
    head = raw_rows(db)[-1][0]
    forged = forge_append(db, checkpoint(head, snap))
    code, ks = status(db)
    assert code == 0 and ks["state"] == "tripped"
    assert [t["trip_id"] for t in ks["active"]] == [LAYOUT.trip]
    assert active_trips(db) == {LAYOUT.trip}
    code, report = verify(db)
    assert code == 1 and forged in {p["seq"] for p in report["refused_entries"]}


def _crashed_session(path: Path) -> tuple[str, int]:
    """A running system that tripped and then crashed: its session is open, its last entries
    unanchored (no final digest)."""
    clock = SimClock(T0)
    rt, ops = make_trusted_runtime(path, clock)
    clock.advance(1_000)
    trip = manual_trip(rt, ops["carol"], Scope(), "drill")
    rt.write_digest()
    clock.advance(1_000)
    rt.note("GOV_RUN_STARTED", durable=True)  # the system's own unanchored tail
    rt.journal.close()  # crash: no checkpoint, no final digest
    return trip, rt.state.last_seq


def test_a_checkpoint_in_a_crashed_sessions_tail_is_ignored(tmp_path: Path) -> None:
    db = tmp_path / "crashed.db"
    trip, head = _crashed_session(db)
    snap = _hiding_state(db)
    forge_append(db, checkpoint(head, snap))
    code, ks = status(db)
    assert code == 0 and ks["state"] == "tripped" and [t["trip_id"] for t in ks["active"]] == [trip]
    assert active_trips(db) == {trip}


def test_a_hiding_checkpoint_stays_ignored_after_the_next_session_digests(tmp_path: Path) -> None:
    db = tmp_path / "crashed.db"
    trip, head = _crashed_session(db)
    forge_append(db, checkpoint(head, _hiding_state(db)))
    # the system restarts on the journal, folds it (the trip is active for it) and digests
    genesis, system_key = sim_genesis(11, "crashed", T0)
    clock = SimClock(T0 + 10_000)
    from polytraders.runtime.runner import Runtime

    rt = Runtime(SqliteJournal(db, synchronous="NORMAL"), clock, build_state(), system_signer=system_key)
    rt.state.rebuild(rt.journal)
    assert trip in rt.kill_switch.active
    rt.open_session(purpose="restart")
    rt.write_digest()
    rt.journal.close()
    assert active_trips(db) == {trip}
    code, ks = status(db)
    assert ks["state"] == "tripped"


# -- (d) truncation ------------------------------------------------------------------------------

def test_cutting_the_tail_past_an_anchored_digest_is_a_truncation(db: Path) -> None:
    keep = LAYOUT.trip_seq  # the final digest (anchored) goes
    truncate_after(db, keep)
    code, report = verify(db)
    assert code == 1 and report["ok"] is False
    kinds = {f["kind"]: f for f in report["findings"]}
    assert "truncation" in kinds, report["findings"]
    assert kinds["truncation"]["seq"] == keep + 1
    assert str(LAYOUT.final_digest) in kinds["truncation"]["detail"]
    text = cli(["journal", "verify", "--db", str(db)])
    assert text.code == 1 and f"truncation at seq {keep + 1}" in text.text
    ks = cli(["killswitch", "status", "--db", str(db)])
    assert ks.code == 1 and "unknown: journal damaged at seq" in ks.text and "ARMED" not in ks.text


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_cut_before_the_last_anchored_digest_is_found(template: Path, tmp_path_factory: pytest.TempPathFactory,
                                                          data: st.DataObject) -> None:
    keep = data.draw(st.integers(min_value=1, max_value=LAYOUT.final_digest - 1))
    db = copy_journal(template, tmp_path_factory.mktemp("cut") / "j.db")
    truncate_after(db, keep)
    with open_journal(db, readonly=True) as j:
        report = verify_journal(j, anchors(db))
    assert report.damaged
    assert [f.seq for f in report.findings if f.kind == "truncation"] == [keep + 1]


def test_a_cut_with_the_anchor_file_deleted_too_is_still_damage(db: Path) -> None:
    """The insider also removes the anchors: the digest chain itself shows digests are gone."""
    truncate_after(db, LAYOUT.trip_seq)
    (anchors(db) / "digests.jsonl").unlink()
    code, report = verify(db)
    assert code == 1
    assert "missing_digests" in {f["kind"] for f in report["findings"]}


# -- (e) rewrite and re-hash ---------------------------------------------------------------------

def _hide_trip(env: dict[str, Any]) -> dict[str, Any]:
    """Turn the active trip into a harmless note (the chain is re-hashed after it)."""
    return {**envelope_dict(Note(detail={"msg": "nothing happened"}), actor=Actor(kind="system", id="runtime"),
                            reason_code="GOV_RUN_STARTED", ts_ms=env["ts_ms"])}


def test_rewriting_the_trip_and_rehashing_is_a_rewrite(db: Path) -> None:
    rewrite_and_rehash(db, LAYOUT.trip_seq, _hide_trip)
    code, report = verify(db)
    assert code == 1 and report["ok"] is False
    rewrites = [f for f in report["findings"] if f["kind"] == "rewrite"]
    assert rewrites, report["findings"]
    assert rewrites[0]["seq"] == LAYOUT.mid_digest + 1  # the first entry the rewrite could have touched
    assert "chain" not in {f["kind"] for f in report["findings"]}, "the chain itself was re-hashed"
    ran = cli(["killswitch", "status", "--db", str(db)])
    assert ran.code == 1 and "ARMED" not in ran.text and "unknown: journal damaged at seq" in ran.text
    code, ks = status(db)
    assert code == 1 and ks["state"] == "unknown" and "active" not in ks


def test_status_on_a_rewritten_journal_names_the_first_bad_seq(db: Path) -> None:
    rewrite_and_rehash(db, LAYOUT.trip_seq, _hide_trip)
    ran = cli(["killswitch", "status", "--db", str(db)])
    assert f"unknown: journal damaged at seq {LAYOUT.mid_digest + 1} " in ran.text, ran.text
    _, ks = status(db)
    assert ks["damaged_at_seq"] == LAYOUT.mid_digest + 1


def test_a_rewrite_is_found_by_the_digest_signatures_without_the_anchors(db: Path) -> None:
    rewrite_and_rehash(db, 3, lambda env: {**env, "ts_ms": env["ts_ms"] + 1})
    (anchors(db) / "digests.jsonl").unlink()
    code, report = verify(db)
    assert code == 1
    assert any(f["kind"] == "rewrite" and f["seq"] == 2 for f in report["findings"]), report["findings"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rewriting_any_digested_entry_is_found(template: Path, tmp_path_factory: pytest.TempPathFactory,
                                               data: st.DataObject) -> None:
    seq = data.draw(st.integers(min_value=2, max_value=LAYOUT.final_digest - 1))
    db = copy_journal(template, tmp_path_factory.mktemp("rw") / "j.db")
    rewrite_and_rehash(db, seq, lambda env: {**env, "config_version": "forged"})
    with open_journal(db, readonly=True) as j:
        report = verify_journal(j, anchors(db))
    rewrites = [f.seq for f in report.findings if f.kind == "rewrite"]
    expected = LAYOUT.mid_digest + 1 if seq > LAYOUT.mid_digest else 2
    assert rewrites and rewrites[0] == expected, report.findings


# -- (f) tampering while the system runs ---------------------------------------------------------

FORGER = textwrap.dedent("""
    import sys, json
    sys.path.insert(0, {tools!r})
    from pathlib import Path
    from trust_tools import forge_append
    from polytraders.journal.signatures import Signer
    env = json.loads(sys.argv[2])
    signer = Signer.derive(sys.argv[3]) if sys.argv[3] else None
    print(forge_append(Path(sys.argv[1]), env, signer=signer))
""")


def _start_system(path: Path) -> tuple[TradingSystem, SqliteJournal]:
    genesis, system_key = sim_genesis(11, "calm", DEMO_START_MS)
    journal = create_journal(path, genesis, synchronous="NORMAL")
    system = TradingSystem(journal, SimVenue(11, 4, DEMO_START_MS), SystemConfig(
        seed=11, n_markets=4, start_ms=DEMO_START_MS, system_signer=system_key, halt_path=halt_path(path)))
    system.start()
    return system, journal


def _orders_sent(journal: SqliteJournal, after: int) -> int:
    return sum(1 for e in journal.read(after + 1) if e.envelope.kind == "signed_order_request")


def _run_and_forge(path: Path, signer_name: str) -> tuple[TradingSystem, SqliteJournal, int, int]:
    """Start the system, let it quote, then have another process append a forged global trip
    (if it were applied, 'ks_forged' would show as active). Returns (system, journal, now, seq)."""
    system, journal = _start_system(path)
    now = DEMO_START_MS
    for _ in range(40):
        now += STEP_MS
        system.step(now)
    assert not system.runtime.kill_switch.active and system.orders.all_orders(), "the system should be quoting"
    forged_trip = envelope_dict(
        KillSwitchEvent(event="tripped", trip_id="ks_forged", trigger="manual", scope=Scope(),
                        observed=Decimal(1), threshold=Decimal(1), at_ms=now,
                        detail={"reason": "forged"}),
        actor=Actor(kind="operator", id="root"), reason_code="RISK_KILLSWITCH_TRIPPED", ts_ms=now)
    out = subprocess.run([PYTHON, "-c", FORGER.format(tools=str(Path(__file__).parent)), str(path),
                          json.dumps(forged_trip), signer_name], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return system, journal, now, int(out.stdout)


@pytest.mark.parametrize("signer_name", ["", "mallory"], ids=["unsigned", "unknown-key"])
def test_an_entry_forged_by_another_process_is_not_applied_and_halts_at_once(tmp_path: Path,
                                                                             signer_name: str) -> None:
    system, journal, now, forged_seq = _run_and_forge(tmp_path / "j.db", signer_name)
    rt = system.runtime
    rt.sync()  # the head check at the start of the next step
    ks = rt.kill_switch
    assert rt.state.last_seq >= forged_seq
    assert "ks_forged" not in ks.active, "the forged entry must never be applied"
    assert ks.tripped and ks.external_halt is not None and str(forged_seq) in ks.external_halt
    halt = ks.trip_covering(strategy_id="strat.maker_tight", cluster="CRYPTO", bot_id="strat.maker_tight")
    assert halt is not None and halt.scope == "global"
    problems = [p for p in rt.state.trust.problems if p["seq"] == forged_seq]
    assert len(problems) == 1 and problems[0]["verdict"] == "tampered"
    journal.close()


@pytest.mark.parametrize("signer_name", ["", "mallory"], ids=["unsigned", "unknown-key"])
def test_an_entry_forged_by_another_process_trips_the_running_system(tmp_path: Path, signer_name: str) -> None:
    system, journal, now, forged_seq = _run_and_forge(tmp_path / "j.db", signer_name)
    now += STEP_MS
    system.step(now)
    journal.flush()
    ks = system.runtime.kill_switch
    assert "ks_forged" not in ks.active, "the forged entry must never be applied"
    tripped = [t for t in ks.active.values() if t.trigger == "journal_tampering"]
    assert len(tripped) == 1 and tripped[0].scope == "global"
    assert tripped[0].seq > forged_seq
    tampered = [e for e in journal.read(forged_seq) if e.envelope.reason_code == "GOV_JOURNAL_TAMPERED"]
    assert len(tampered) == 1 and tampered[0].envelope.payload["detail"]["tampered_seq"] == forged_seq
    head = journal.head()[0]
    for _ in range(20):  # reported once; and no order goes out while tripped
        now += STEP_MS
        system.step(now)
    journal.flush()
    assert sum(1 for e in journal.read(forged_seq) if e.envelope.reason_code == "GOV_JOURNAL_TAMPERED") == 1
    assert _orders_sent(journal, head) == 0
    system.stop()
    journal.close()


def test_a_signed_trip_from_another_process_is_obeyed_not_tampering(tmp_path: Path) -> None:
    """The control: a real operator's signed command from another process is applied."""
    path = tmp_path / "live-sim.db"
    system, journal = _start_system(path)
    key_file = write_key_file(tmp_path / "root.key", "root", Signer.derive(11, "root"), "simulation")
    now = DEMO_START_MS
    for _ in range(30):
        now += STEP_MS
        system.step(now)
    ran = cli_proc(["killswitch", "trip", "--scope", "global", "--reason", "drill", "--db", str(path), "--json"],
                   POLYTRADERS_KEY_FILE=str(key_file))
    assert ran.code == 0, ran.text
    trip_id = json.loads(ran.out)["trip_id"]
    now += STEP_MS
    system.step(now)
    journal.flush()
    assert trip_id in system.runtime.kill_switch.active
    assert not [e for e in journal.read() if e.envelope.reason_code == "GOV_JOURNAL_TAMPERED"]
    assert not system.runtime.state.trust.problems
    system.stop()
    journal.close()
