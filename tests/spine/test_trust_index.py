"""The partial index of who-may-act rows: new journals have it, reads of those kinds use it and
give what a full scan gives, and an existing journal without it is read the same and never
changed."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from factories import make_trusted_runtime
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.contracts import Note
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal import SqliteJournal
from polytraders.journal.sqlite import TRUST_KINDS
from polytraders.runtime.clock import SimClock
from polytraders.state.standard import build_state

ACTOR = Actor(kind="system", id="test")
KINDS = (*TRUST_KINDS, "note", "risk_vote", "killswitch_event")


def row(i: int, kind: str) -> ReportEnvelope:
    envelope = ReportEnvelope.wrap(Note(detail={"i": i}), actor=ACTOR, reason_code="GOV_MARKET_DATA", ts_ms=i)
    # the kind column is all the index looks at (a reader checks the kind is registered only)
    return envelope.model_copy(update={"kind": kind})


def plan(db: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> str:
    return " ".join(str(r[-1]) for r in db.execute("EXPLAIN QUERY PLAN " + sql, params))


def indexes(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
                if not str(r[0]).startswith("sqlite_autoindex")}


@settings(max_examples=25, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=40),
       wanted=st.sets(st.sampled_from(KINDS), min_size=1), start=st.integers(1, 45))
def test_reads_of_any_kinds_give_what_a_scan_gives(tmp_path_factory: object, kinds: list[str],
                                                  wanted: set[str], start: int) -> None:
    path = tmp_path_factory.mktemp("j") / "j.db"  # type: ignore[attr-defined]
    with SqliteJournal(path) as j:
        for i, kind in enumerate(kinds):
            j.append(row(i, kind), durable=i % 7 == 0)  # some rows committed, some only pending
        every = [(e.seq, e.envelope.kind) for e in j.read()]
        got = [(e.seq, e.envelope.kind) for e in j.read(start, kinds=sorted(wanted))]
        assert got == [(s, k) for s, k in every if s >= start and k in wanted]


def test_a_new_journal_reads_who_may_act_through_the_index(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        assert j._trust_index
        statements: list[str] = []
        j._db.set_trace_callback(statements.append)
        list(j.read(kinds=["operator", "genesis"]))
        [sql] = [s for s in statements if s.startswith("SELECT")]
        assert "INDEXED BY journal_trust" in sql
        j._db.set_trace_callback(None)
        # the traced text has its parameters filled in
        assert "SEARCH journal USING INDEX journal_trust" in plan(j._db, sql, ())
        list(j.read(kinds=["note"]))  # another kind: no index to use, a scan as before


def test_an_existing_journal_without_the_index_is_read_the_same_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "trusted.db"
    clock = SimClock(1_700_000_000_000)
    rt, _ = make_trusted_runtime(path, clock)
    rt.journal.close()
    fresh = build_state()
    with SqliteJournal(path, create=False) as j:
        fresh.load_trust(j)
    with contextlib.closing(sqlite3.connect(path)) as db:  # a journal made before the index (a copy of ours)
        db.execute("DROP INDEX journal_trust")
        db.commit()
    old = build_state()
    with SqliteJournal(path, create=False) as j:  # opened for writing: still no index made
        assert not j._trust_index
        old.load_trust(j)
        j.append(row(1, "operator"), durable=True)
    assert indexes(path) == set()
    assert old.trust.operators == fresh.trust.operators and len(old.trust.operators) == 5
    assert (old.last_seq, old.last_hash) == (fresh.last_seq, fresh.last_hash)
    assert old.trust.problems == fresh.trust.problems == []
