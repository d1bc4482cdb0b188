"""The emergency stop on a full disk: the journal cannot be written, so `killswitch trip`
creates the halt file; the running system obeys it at once (cancels before their envelope,
the one exception to write-ahead), and journals the trip and the cancels once space returns.

Runs on a small tmpfs (root only: mounting needs CAP_SYS_ADMIN; skipped, saying so, elsewhere)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import journal_count as count
from factories import journal_rows as rows

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "24m") -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); this test needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Fill the disk with a file this test creates (and later removes)."""
    filler = disk / "filler.bin"
    chunk = b"\0" * (1 << 16)
    with filler.open("wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(chunk)
            fh.flush()
    return filler


def test_a_trip_on_a_full_disk_halts_the_running_system(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        db = disk / "j.db"
        env = {**os.environ, "POLYTRADERS_DB": str(db)}
        demo = subprocess.Popen([*CLI, "demo", "--minutes", "600", "--markets", "6", "--json"], env=env,
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while count(db) < 3_000:
                assert demo.poll() is None, demo.stderr.read() if demo.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.05)
            filler = fill(disk)
            # WAL pages are reused while checkpoints succeed; once the main file cannot grow the
            # journal stops taking writes: wait until nothing lands for a second
            stable_since, before = time.monotonic(), count(db)
            deadline = time.monotonic() + 60
            while time.monotonic() - stable_since < 1.0:
                assert time.monotonic() < deadline, "the journal kept taking writes on a full disk"
                time.sleep(0.1)
                now_count = count(db)
                if now_count != before:
                    stable_since, before = time.monotonic(), now_count
            trip = subprocess.run([*CLI, "killswitch", "trip", "--scope", "global", "--reason", "disk full",
                                   "--json"], env={**env, "POLYTRADERS_KEY_FILE": str(db) + ".keys/root.key"},
                                  capture_output=True, text=True, timeout=60)
            assert trip.returncode == 0, trip.stderr
            out = json.loads(trip.stdout)
            # SQLite may still fit one small commit into WAL space it already holds: then the trip
            # is journaled directly; otherwise the halt file stands in for it
            assert out["trip_id"] is not None or out["halt_file"] == str(db) + ".halt"
            time.sleep(1.0)
            assert demo.poll() is None, "the running system must survive a full disk"
            filler.unlink()  # space returns
            expected = "manual" if out["trip_id"] else "halt_file"
            deadline = time.monotonic() + 30
            while not _trips(rows(db), expected):
                assert time.monotonic() < deadline, "the halt was never journaled"
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            demo.send_signal(signal.SIGKILL)
            demo.wait(timeout=30)
        journal = rows(db)
        assert _trips(journal, expected)
        # the first trip journaled may be an automatic one: while nothing could be journaled the
        # books went stale (feed loss), and that trip can land at the same safe point just before
        # the halt's; nothing may be submitted after whichever came first
        trip_seq = _trips(journal)[0]
        after = journal[trip_seq:]
        assert not [s for s, code, _ in after if code in ("RISK_KILLSWITCH_ARMED", "EXEC_SUBMITTED")]
        assert any(code == "EXEC_CANCEL_ALL" for _, code, _ in after)
        assert before <= trip_seq  # the running system resumed journaling once space returned


def _trips(journal: list[tuple[int, str, dict[str, Any]]], trigger: str | None = None) -> list[int]:
    """The seqs of the journal's trips (with `trigger`, when given), in order."""
    return [seq for seq, code, env in journal if code == "RISK_KILLSWITCH_TRIPPED"
            and (trigger is None or env["payload"]["trigger"] == trigger)]


def hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Another process that takes the journal's write lock and sits on it."""
    code = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db), str(seconds)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"locked"
    return proc


def test_when_the_journal_cannot_be_written_the_halt_file_stops_the_running_system(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    env = {**os.environ, "POLYTRADERS_DB": str(db)}
    demo = subprocess.Popen([*CLI, "demo", "--minutes", "600", "--markets", "6", "--json"], env=env,
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while count(db) < 3_000:
            assert demo.poll() is None, demo.stderr.read() if demo.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        blocker = hold_write_lock(db, 8.0)  # nobody can write the journal for 8 s
        started = time.monotonic()
        trip = subprocess.run([*CLI, "killswitch", "trip", "--scope", "global", "--reason", "locked out",
                               "--json"], env={**env, "POLYTRADERS_KEY_FILE": str(db) + ".keys/root.key"},
                              capture_output=True, text=True, timeout=60)
        assert trip.returncode == 0, trip.stderr
        out = json.loads(trip.stdout)
        assert out["trip_id"] is None and Path(out["halt_file"]).exists()
        assert time.monotonic() - started < 8.0  # it gave up on the lock instead of waiting it out
        blocker.wait(timeout=30)
        deadline = time.monotonic() + 30
        while not any(code == "RISK_KILLSWITCH_TRIPPED" for _, code, _ in rows(db)):
            assert demo.poll() is None, demo.stderr.read() if demo.stderr else ""
            assert time.monotonic() < deadline, "the halt was never journaled"
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        demo.send_signal(signal.SIGKILL)
        demo.wait(timeout=30)
    journal = rows(db)
    trip_seq, _, trip_env = next(r for r in journal if r[1] == "RISK_KILLSWITCH_TRIPPED")
    assert trip_env["payload"]["trigger"] == "halt_file"  # type: ignore[index]
    assert not [s for s, code, _ in journal[trip_seq:] if code in ("RISK_KILLSWITCH_ARMED", "EXEC_SUBMITTED")]
    early = [e for _, code, e in journal if code == "EXEC_CANCEL_ALL" and "before its envelope" in str(e["payload"])]
    assert early, "the protective cancel went out while the journal could not be written"
    assert Path(str(db) + ".halt").exists()  # only the reset of that trip removes it
