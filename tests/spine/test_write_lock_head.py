"""The write lock's head: read only when another connection committed since our own last commit
(`PRAGMA data_version` at the lock), and right whichever connection or process committed last."""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from pathlib import Path
from typing import Any

from polytraders.contracts import Note
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal import SqliteJournal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime
from polytraders.state.store import StateStore

ACTOR = Actor(kind="system", id="test")
HEAD_SQL = "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1"


def env(worker: int, i: int) -> ReportEnvelope:
    return ReportEnvelope.wrap(Note(detail={"w": worker, "i": i}), actor=ACTOR, reason_code="GOV_MARKET_DATA",
                               ts_ms=i)


def test_the_head_is_read_only_after_another_connections_commit(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as a, SqliteJournal(path) as b:
        statements: list[str] = []
        a._db.set_trace_callback(statements.append)
        first = a.append(env(1, 0), durable=True)
        second = a.append(env(1, 1), durable=True)  # nobody else committed: no head read
        assert statements.count(HEAD_SQL) == 1 and second.prev_hash == first.hash
        other = b.append(env(2, 0), durable=True)
        third = a.append(env(1, 2), durable=True)  # b committed: the head is read again
        assert statements.count(HEAD_SQL) == 2
        assert (other.seq, third.seq, third.prev_hash) == (3, 4, other.hash)
        b._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the log restarted by the other connection
        fourth = b.append(env(2, 1), durable=True)
        fifth = a.append(env(1, 3), durable=True)
        assert (fifth.seq, fifth.prev_hash) == (fourth.seq + 1, fourth.hash)
        a.append(env(1, 4))
        a.rollback()  # what was written is gone: the next lock reads the head again
        sixth = a.append(env(1, 5), durable=True)
        assert (sixth.seq, sixth.prev_hash) == (fifth.seq + 1, fifth.hash)
        assert statements.count(HEAD_SQL) == 4
        assert a.verify().ok and a.count() == 7


def _take_turns(path: str, worker: int, turns: list[tuple[int, int, bool]], turn: Any) -> None:
    """Append when the shared turn counter points at one of this worker's turns, each turn a few
    entries (the last durable), sometimes restarting the log first; fold everything in order."""
    rt = Runtime(SqliteJournal(path, synchronous="NORMAL"), SimClock(0), StateStore())
    i = 0
    for n, (who, count, checkpoint) in enumerate(turns):
        if who != worker:
            continue
        deadline = time.monotonic() + 60  # the other worker failed: fail too, never hang
        while turn.value != n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {worker}: turn {n} never came")
            time.sleep(0.0002)
        rt.sync()
        if checkpoint:
            rt.journal._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
        for k in range(count):
            entry = rt.note("GOV_MARKET_DATA", durable=k == count - 1, w=worker, i=i)
            i += 1
            # folded in order with nothing skipped: the head was the real head at the lock
            assert entry.seq == rt.state.last_seq
        turn.value = n + 1
    rt.journal.close()  # type: ignore[attr-defined]


def test_two_processes_taking_turns_each_see_the_others_commits_at_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    SqliteJournal(path).close()
    rng = random.Random(13)
    # runs of turns by one worker (the head not read) between hand-overs (the head read)
    turns = [(rng.choice((1, 2)), rng.randint(1, 4), rng.random() < 0.1) for _ in range(240)]
    ctx = mp.get_context("spawn")
    turn = ctx.Value("i", 0)
    procs = [ctx.Process(target=_take_turns, args=(str(path), w, turns, turn)) for w in (1, 2)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0]
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    with SqliteJournal(path) as j:
        result = j.verify()
        assert result.ok and result.entries == sum(c for _, c, _ in turns)
        order = [(e.envelope.payload["detail"]["w"], e.envelope.payload["detail"]["i"]) for e in j.read()]
    expected: list[tuple[int, int]] = []
    counters = {1: 0, 2: 0}
    for who, count, _ in turns:
        expected += [(who, counters[who] + k) for k in range(count)]
        counters[who] += count
    assert order == expected
