"""Replay steps over checkpoints without decoding them, and still fails closed on one damaged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.errors import JournalCorruptError
from polytraders.journal.sqlite import open_journal
from polytraders.replay.engine import replay


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    db = tmp_path / "demo.db"
    run_demo(DemoArgs(minutes=3, markets=2, seed=7, db=db))
    return db


def _checkpoint_seq(db: Path) -> int:
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT seq FROM journal WHERE kind = ? ORDER BY seq LIMIT 1", (b"checkpoint",)).fetchone()
    assert row is not None, "the demo's stop writes a checkpoint"
    return int(row[0])


def test_replay_matches_over_checkpoints(demo_db: Path) -> None:
    _checkpoint_seq(demo_db)
    with open_journal(demo_db, readonly=True) as j:
        assert replay(j).verdict == "GOV_REPLAY_MATCH"


@pytest.mark.parametrize("damage", ["flip", "relink"])
def test_a_damaged_checkpoint_stops_replay(demo_db: Path, damage: str) -> None:
    seq = _checkpoint_seq(demo_db)
    with sqlite3.connect(demo_db) as c:
        if damage == "flip":
            body = bytearray(c.execute("SELECT body FROM journal WHERE seq = ?", (seq,)).fetchone()[0])
            body[len(body) // 2] ^= 1
            c.execute("UPDATE journal SET body = ? WHERE seq = ?", (bytes(body), seq))
        else:  # the checkpoint's stored hash no longer what the next entry links to
            c.execute("UPDATE journal SET hash = ? WHERE seq = ?", (b"0" * 64, seq))
    with open_journal(demo_db, readonly=True) as j, pytest.raises(JournalCorruptError):
        replay(j)
