"""A command's write connection (the CLI's) never checkpoints the log inside its commit: that is
the running system's job at its safe points. A checkpoint in an operator's emergency trip made the
running system's next trip window about 0.8 ms slower (benchmarks/bench_order_path.py)."""

from __future__ import annotations

import os
from pathlib import Path

from factories import make_trusted_runtime

from polytraders.cli.common import journal_from
from polytraders.journal.sqlite import WAL_CHECKPOINT_PAGES
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime
from polytraders.state.standard import build_state

START_MS = 1_767_571_200_000


def _fill_log(rt: Runtime, pages: int) -> None:
    """Commit more than `pages` pages of log from the running system's connection, which defers
    its checkpoints (as `polytraders run` does) and reaches no safe point here."""
    rt.journal.defer_wal_checkpoints()  # type: ignore[attr-defined]
    wal = Path(f"{rt.journal.path}-wal")  # type: ignore[attr-defined]
    while not wal.exists() or wal.stat().st_size < (pages + 200) * 8192:
        for _ in range(200):  # incompressible padding: each note takes most of a page
            rt.note("GOV_POSITIONS_SNAPSHOT", padding=os.urandom(3000).hex())
        rt.journal.flush()


def test_a_commands_commit_leaves_a_long_log_to_the_running_system(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    system, _ = make_trusted_runtime(db, SimClock(START_MS))
    _fill_log(system, WAL_CHECKPOINT_PAGES)
    database_before = db.stat().st_size
    with journal_from(str(db), write=True) as j:
        assert j._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        command = Runtime(j, SimClock(START_MS), build_state())
        command.note("GOV_POSITIONS_SNAPSHOT", by="a command")
        command.journal.flush()
    # SQLite's automatic checkpoint (1,000 pages) would have copied the log into the database
    # file inside that commit; the database file has not grown
    assert db.stat().st_size == database_before
    # the log is all still there for the running system's checkpoint to copy back
    system.journal.flush()  # type: ignore[attr-defined]
    busy, log, copied = system.journal._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()  # type: ignore[attr-defined]
    assert (busy, copied) == (0, log) and log > WAL_CHECKPOINT_PAGES
    assert db.stat().st_size > database_before + WAL_CHECKPOINT_PAGES * 4096
    system.journal.close()  # type: ignore[attr-defined]


def test_a_command_alone_leaves_no_log_behind(tmp_path: Path) -> None:
    """With no running system, SQLite's checkpoint at the last close bounds the log."""
    db = tmp_path / "live.db"
    system, _ = make_trusted_runtime(db, SimClock(START_MS))
    system.journal.close()  # type: ignore[attr-defined]
    with journal_from(str(db), write=True) as j:
        Runtime(j, SimClock(START_MS), build_state()).note("GOV_POSITIONS_SNAPSHOT", by="a command")
        j.flush()
        entries = j.head()[0]
    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with journal_from(str(db)) as reader:
        assert reader.head()[0] == entries
