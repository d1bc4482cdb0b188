"""What replay reads before its fold (the last input's time, the config each bot last loaded)
is what a full read of the journal gives, and damage anywhere it reads still stops it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.engine.protect import input_kind
from polytraders.errors import JournalCorruptError
from polytraders.journal.sqlite import open_journal
from polytraders.replay.engine import _config_loaded_notes, last_input_ms, replay


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("reads") / "demo.db"
    run_demo(DemoArgs(minutes=3, markets=2, seed=7, db=db))
    return db


def _copy(recorded: Path, tmp_path: Path) -> Path:
    db = tmp_path / "demo.db"
    db.write_bytes(recorded.read_bytes())
    return db


def _flip(db: Path, seq: int) -> None:
    with sqlite3.connect(db) as c:
        body = bytearray(c.execute("SELECT body FROM journal WHERE seq = ?", (seq,)).fetchone()[0])
        body[len(body) // 2] ^= 1
        c.execute("UPDATE journal SET body = ? WHERE seq = ?", (bytes(body), seq))


def test_what_replay_reads_first_is_what_a_full_read_gives(recorded: Path) -> None:
    with open_journal(recorded, readonly=True) as j:
        entries = list(j.read())
        inputs = [e for e in entries if input_kind(e) is not None]
        assert entries[-1].seq > inputs[-1].seq, "the demo journals after its last input"
        assert last_input_ms(j) == inputs[-1].envelope.ts_ms
        loaded = [e.seq for e in entries if e.envelope.reason_code == "GOV_CONFIG_LOADED"]
        assert loaded and [e.seq for e in _config_loaded_notes(j)] == loaded


@pytest.mark.parametrize("where", ["last", "checkpoint", "note"])
def test_damage_where_replay_reads_first_stops_it(recorded: Path, tmp_path: Path, where: str) -> None:
    db = _copy(recorded, tmp_path)
    with sqlite3.connect(db) as c:
        if where == "last":  # after the last input: only the walk back to it reads this row
            seq = c.execute("SELECT MAX(seq) FROM journal").fetchone()[0]
        elif where == "checkpoint":  # the stop's checkpoint, after the last input
            seq = c.execute("SELECT MAX(seq) FROM journal WHERE kind = ?", (b"checkpoint",)).fetchone()[0]
        else:  # a note that is not a config load
            seq = c.execute("SELECT MAX(seq) FROM journal WHERE kind = ?", (b"note",)).fetchone()[0]
    _flip(db, seq)
    with open_journal(db, readonly=True) as j, pytest.raises(JournalCorruptError):
        replay(j)


def test_replay_hands_the_collector_back_as_it_found_it(recorded: Path, tmp_path: Path) -> None:
    import gc

    assert gc.isenabled()
    with open_journal(recorded, readonly=True) as j:
        assert replay(j).verdict == "GOV_REPLAY_MATCH"
        assert gc.isenabled()
        gc.disable()
        try:
            replay(j)
            assert not gc.isenabled()
        finally:
            gc.enable()
    db = _copy(recorded, tmp_path)
    _flip(db, 3)
    with open_journal(db, readonly=True) as j, pytest.raises(JournalCorruptError):
        replay(j)
    assert gc.isenabled()
