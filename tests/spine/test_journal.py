"""Journal: hash chain, tamper detection at the exact seq, multi-process appends, checkpoints."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sqlite3
from pathlib import Path

import pytest

from polytraders.contracts import Note
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.errors import JournalMissingError
from polytraders.journal import GENESIS_HASH, SqliteJournal
from polytraders.journal.sqlite import _SCHEMA_V1, NEW_PAGE_SIZE

ACTOR = Actor(kind="system", id="test")


def env(i: int, corr: str | None = None) -> ReportEnvelope:
    return ReportEnvelope.wrap(Note(detail={"i": i}), actor=ACTOR, reason_code="GOV_MARKET_DATA",
                               ts_ms=1_000 + i, correlation_id=corr)


def fill(path: Path, n: int, *, first_form: bool = False) -> None:
    if first_form:  # a journal made before the current table: it also copies actor and ts out
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.executescript(_SCHEMA_V1)
    with SqliteJournal(path) as j:
        for i in range(n):
            j.append(env(i, corr=f"corr-{i % 3:04d}"))


def test_empty_journal_head_is_genesis(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.db") as j:
        assert j.head() == (0, GENESIS_HASH)
        assert j.verify().ok


def test_entries_chain_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    fill(path, 10)
    with SqliteJournal(path) as j:
        entries = list(j.read())
        assert [e.seq for e in entries] == list(range(1, 11))
        assert entries[0].prev_hash == GENESIS_HASH
        for a, b in zip(entries, entries[1:], strict=False):
            assert b.prev_hash == a.hash
        assert j.head() == (10, entries[-1].hash)
        assert [e.envelope.payload["detail"]["i"] for e in j.read(correlation_id="corr-0001")] == [1, 4, 7]
        result = j.verify()
        assert result.ok and result.entries == 10 and result.head_hash == entries[-1].hash


COLUMNS = ("hash", "body", "kind", "actor", "correlation_id")  # actor: in a first-form journal


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("target", [1, 4, 7])
def test_flipping_any_byte_fails_verify_at_that_seq(tmp_path: Path, column: str, target: int) -> None:
    path = tmp_path / "j.db"
    fill(path, 7, first_form=column == "actor")
    db = sqlite3.connect(path)
    (raw,) = db.execute(f"SELECT {column} FROM journal WHERE seq = ?", (target,)).fetchone()
    data = bytearray(raw)
    # flip a byte in the middle and one at each end: every position must be caught
    for pos in {0, len(data) // 2, len(data) - 1}:
        tampered = bytearray(data)
        tampered[pos] ^= 0x01
        db.execute(f"UPDATE journal SET {column} = ? WHERE seq = ?", (bytes(tampered), target))
        db.commit()
        with SqliteJournal(path) as j:
            result = j.verify()
        assert not result.ok, (column, pos)
        assert result.first_bad_seq == target, (column, pos, result)
    db.execute(f"UPDATE journal SET {column} = ? WHERE seq = ?", (bytes(data), target))
    db.commit()
    with SqliteJournal(path) as j:
        assert j.verify().ok


def test_tampered_ts_and_deleted_row_are_found(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    fill(path, 5, first_form=True)
    db = sqlite3.connect(path)
    db.execute("UPDATE journal SET ts_ms = ts_ms + 1 WHERE seq = 3")
    db.commit()
    with SqliteJournal(path) as j:
        assert j.verify().first_bad_seq == 3
    db.execute("UPDATE journal SET ts_ms = ts_ms - 1 WHERE seq = 3")
    db.execute("DELETE FROM journal WHERE seq = 2")
    db.commit()
    with SqliteJournal(path) as j:
        assert j.verify().first_bad_seq == 2


def test_a_deleted_row_in_a_current_form_journal_is_found(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    fill(path, 5)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("DELETE FROM journal WHERE seq = 2")
        db.commit()
    with SqliteJournal(path) as j:
        assert j.verify().first_bad_seq == 2


def test_a_first_form_journal_keeps_its_columns_and_still_appends_reads_and_verifies(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    fill(old, 6, first_form=True)
    fill(new, 6)
    with contextlib.closing(sqlite3.connect(old)) as db:
        assert db.execute("SELECT actor, ts_ms FROM journal WHERE seq = 6").fetchone() == (b"system:test", 1_005)
        assert db.execute("PRAGMA page_size").fetchone()[0] != NEW_PAGE_SIZE  # made before: kept
    with contextlib.closing(sqlite3.connect(new)) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(journal)")}
        assert "actor" not in columns and "ts_ms" not in columns
        assert db.execute("PRAGMA page_size").fetchone()[0] == NEW_PAGE_SIZE
    with SqliteJournal(old) as a, SqliteJournal(new) as b:
        a.append(env(6, corr="corr-0000"))
        b.append(env(6, corr="corr-0000"))
        a.flush()
        b.flush()
        # the same envelopes give the same chain whichever table holds it
        assert a.head() == b.head() and a.verify().ok and b.verify().ok
        assert [e.seq for e in a.read(correlation_id="corr-0000")] == [1, 4, 7]
        assert [e.hash for e in a.read()] == [e.hash for e in b.read()]
    with contextlib.closing(sqlite3.connect(old)) as db:
        assert db.execute("SELECT actor, ts_ms FROM journal WHERE seq = 7").fetchone() == (b"system:test", 1_006)


def _appender(path: str, worker: int, n: int) -> None:
    j = SqliteJournal(path)
    for i in range(n):
        j.append(ReportEnvelope.wrap(Note(detail={"w": worker, "i": i}), actor=ACTOR,
                                     reason_code="GOV_MARKET_DATA", ts_ms=i),
                 durable=(i % 7 == 0))
        if i % 25 == 0:
            j.flush()
    j.close()


def test_two_processes_appending_keep_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    SqliteJournal(path).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_appender, args=(str(path), w, 300)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with SqliteJournal(path) as j:
        result = j.verify()
        assert result.ok and result.entries == 600
        seen = {(e.envelope.payload["detail"]["w"], e.envelope.payload["detail"]["i"]) for e in j.read()}
    assert len(seen) == 600
    # each worker's own entries stay in its own order
    with SqliteJournal(path) as j:
        for w in (1, 2):
            own = [e.envelope.payload["detail"]["i"] for e in j.read() if e.envelope.payload["detail"]["w"] == w]
            assert own == list(range(300))


def test_uncommitted_group_is_not_visible_until_flush_and_durable_commits(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    writer = SqliteJournal(path, batch_size=1000)
    writer.append(env(1))
    with SqliteJournal(path) as reader:
        assert reader.count() == 0
    writer.append(env(2), durable=True)
    with SqliteJournal(path) as reader:
        assert reader.count() == 2
    writer.close()


def test_a_decision_holds_the_write_lock_past_the_batch_size_until_it_commits(tmp_path: Path) -> None:
    """The order path takes the lock (`begin`) before the kill-switch vote. A batch commit in the
    middle of the decision would let another process's trip land between the vote and the
    order; so once held, only the holder's durable append (or flush) lets go."""
    path = tmp_path / "j.db"
    SqliteJournal(path).close()
    writer = SqliteJournal(path, batch_size=4)
    other = sqlite3.connect(path, timeout=0)

    def other_can_write() -> bool:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        other.execute("ROLLBACK")
        return True

    writer.begin()
    for i in range(10):  # past the batch size
        writer.append(env(i))
        assert not other_can_write(), f"the lock was released inside the decision after {i + 1} entries"
    writer.append(env(10), durable=True)
    assert other_can_write()
    # without an explicit begin, batches still commit on their own
    for i in range(4):
        writer.append(env(20 + i))
    assert other_can_write() and writer.count() == 15
    other.close()
    writer.close()


def test_not_a_journal_file_gives_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(JournalMissingError) as info:
        SqliteJournal(bogus).verify()
    assert "not a readable Polytraders journal" in str(info.value)


def test_missing_file_without_create(tmp_path: Path) -> None:
    with pytest.raises(JournalMissingError, match="does not exist"):
        SqliteJournal(tmp_path / "nope.db", create=False)


def test_deferred_wal_checkpoints_run_at_safe_points_only(tmp_path: Path) -> None:
    """A running system copies the log back at its step ends: commits below four times the
    threshold leave the database file as it was, and `checkpoint_if_due` copies the log back
    once the threshold is reached (the file grows by what was in the log)."""
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.append(env(0), durable=True)
        j._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # start from an empty log
        j.defer_wal_checkpoints(pages=20)
        assert j._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 80
        before = path.stat().st_size
        assert not j.checkpoint_if_due(), "nothing written yet"
        for i in range(1, 13):  # 12 commits of a few rows: ~26 pages by the estimate, under 80
            for k in range(3):  # rows that need pages of their own once copied back
                j.append(ReportEnvelope.wrap(Note(detail={"i": 100 * i + k, "blob": os.urandom(1500).hex()}),
                                             actor=ACTOR, reason_code="GOV_MARKET_DATA", ts_ms=1_000))
            j.flush()
            if i < 9:  # 2 pages a commit by the estimate, the first durable append's included
                assert not j.checkpoint_if_due(), f"due after {i} commits only"
        assert path.stat().st_size == before, "a commit copied the log back on its own"
        assert j.checkpoint_if_due(), "the threshold was passed"
        assert path.stat().st_size > before, "the checkpoint copied the log back"
        assert not j.checkpoint_if_due(), "the count starts again"
        j.begin()
        j.append(env(9_999))
        j._wal_pages = 10**6
        assert not j.checkpoint_if_due(), "never inside a transaction"
        j.flush()
        assert j.verify().ok
        assert [e.seq for e in j.read()] == list(range(1, 39))
