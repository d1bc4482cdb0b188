"""No command destroys or changes a file it did not create; readers fail closed on anything that
is not a journal, with one paragraph and exit 2, and leave it byte-identical."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trust_tools import PYTHON, Ran, cli, copy_journal, file_state

from polytraders.journal.sqlite import open_journal

# -- the hostile files ---------------------------------------------------------------------------


def _text(path: Path) -> Path:
    path.write_text("quarterly numbers, do not delete\n" * 40)
    return path


def _foreign_sqlite(path: Path) -> Path:
    """Someone else's database: rollback-journal mode, with a table and a row."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    con.executemany("INSERT INTO customers(name) VALUES (?)", [("ada",), ("grace",)])
    con.commit()
    con.close()
    return path


def _foreign_sqlite_with_a_journal_table(path: Path) -> Path:
    """Someone else's database whose table happens to be called `journal`."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("CREATE TABLE journal (id INTEGER PRIMARY KEY, entry TEXT)")
    con.execute("INSERT INTO journal(entry) VALUES ('dear diary')")
    con.commit()
    con.close()
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    (path / "keep.txt").write_text("mine\n")
    return path


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "text": _text,
    "foreign-sqlite": _foreign_sqlite,
    "empty": _empty,
    "directory": _directory,
}


def snapshot_of(path: Path) -> object:
    """Bytes, mtime and mode of a file, or of every file in a directory, and what lies beside it."""
    if path.is_dir():
        inside = {p.name: file_state(p) for p in sorted(path.iterdir())}
        return ("dir", path.stat().st_mtime_ns, inside, sorted(p.name for p in path.parent.iterdir()))
    return (file_state(path), sorted(p.name for p in path.parent.iterdir()))


READERS: dict[str, list[str]] = {
    "journal verify": ["journal", "verify"],
    "journal tail": ["journal", "tail"],
    "killswitch status": ["killswitch", "status"],
    "killswitch history": ["killswitch", "history"],
    "orders": ["orders"],
    "positions": ["positions"],
    "trace": ["trace", "SOMEID"],
    "incidents list": ["incidents", "list"],
    "snapshot": ["snapshot"],
    "operators list": ["operators", "list"],
    "board": ["board"],
    "replay": ["replay", "--last-hour"],
}


def one_paragraph(ran: Ran) -> None:
    assert "Traceback" not in ran.text
    err = ran.err.strip()
    assert err.startswith("Error:"), ran.text
    assert "\n\n" not in err, "one paragraph"
    assert ran.out.strip() == "", "nothing on stdout when refusing"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so anything a command writes by default lands where we look."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- readers on hostile files ----------------------------------------------------------------------

@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_reader_refuses_a_hostile_file_and_leaves_it_byte_identical(workdir: Path, kind: str,
                                                                      reader: str) -> None:
    target = HOSTILE[kind](workdir / "target")
    before = snapshot_of(target)
    time.sleep(0.002)  # an mtime change would show
    ran = cli([*READERS[reader], "--db", str(target)])
    assert ran.code == 2, ran.text
    one_paragraph(ran)
    assert "target" in ran.err and "journal" in ran.err
    assert snapshot_of(target) == before
    assert sorted(p.name for p in workdir.iterdir()) == ["target"], "a reader creates nothing"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=4096), magic=st.booleans(),
       reader=st.sampled_from(["journal verify", "killswitch status", "orders", "operators list", "trace"]))
def test_a_reader_refuses_any_bytes_and_leaves_them_identical(tmp_path_factory: pytest.TempPathFactory, body: bytes,
                                                              magic: bool, reader: str) -> None:
    """Random bytes, with or without SQLite's magic header in front (a damaged database)."""
    target = tmp_path_factory.mktemp("bytes") / "target"
    target.write_bytes((b"SQLite format 3\x00" if magic else b"") + body)
    before = snapshot_of(target)
    ran = cli([*READERS[reader], "--db", str(target)])
    assert ran.code in (1, 2), ran.text
    assert "Traceback" not in ran.text and ran.err.strip().startswith("Error:")
    assert snapshot_of(target) == before


@pytest.mark.parametrize("reader", list(READERS))
def test_a_reader_leaves_a_foreign_database_with_a_journal_table_byte_identical(workdir: Path,
                                                                                reader: str) -> None:
    target = _foreign_sqlite_with_a_journal_table(workdir / "diary.sqlite")
    before = snapshot_of(target)
    ran = cli([*READERS[reader], "--db", str(target)])
    assert ran.code in (1, 2), ran.text
    assert "Traceback" not in ran.text and ran.err.strip().startswith("Error:")
    assert snapshot_of(target) == before


def test_a_foreign_database_with_a_journal_table_is_not_a_journal_exit_2(workdir: Path) -> None:
    target = _foreign_sqlite_with_a_journal_table(workdir / "diary.sqlite")
    for reader, args in READERS.items():
        ran = cli([*args, "--db", str(target)])
        assert ran.code == 2, f"{reader}: {ran.text}"
        assert "not a Polytraders journal" in ran.err, f"{reader}: {ran.text}"


def test_a_writer_leaves_a_foreign_database_with_a_journal_table_byte_identical(workdir: Path) -> None:
    from polytraders.journal.signatures import Signer
    from polytraders.operators.keys import write_key_file

    target = _foreign_sqlite_with_a_journal_table(workdir / "diary.sqlite")
    key = write_key_file(workdir / "k.key", "alice", Signer.generate(), "live")
    before = file_state(target)[0]
    ran = cli(["killswitch", "trip", "--scope", "global", "--reason", "x", "--db", str(target)],
              POLYTRADERS_KEY_FILE=str(key))
    assert ran.code == 2 and "Traceback" not in ran.text
    assert file_state(target)[0] == before


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("command", ["trip", "revoke", "snapshot-save", "seal"])
def test_a_writer_refuses_a_hostile_file_and_leaves_it_byte_identical(workdir: Path, kind: str,
                                                                      command: str) -> None:
    from polytraders.journal.signatures import Signer
    from polytraders.operators.keys import write_key_file

    target = HOSTILE[kind](workdir / "target")
    key = write_key_file(workdir / "k.key", "alice", Signer.generate(), "live")
    args = {"trip": ["killswitch", "trip", "--scope", "global", "--reason", "x"],
            "revoke": ["operators", "revoke", "bob"], "snapshot-save": ["snapshot", "--save"],
            "seal": ["journal", "seal", "--system-key", str(key)]}[command]
    before = snapshot_of(target)[0]
    ran = cli([*args, "--db", str(target)], POLYTRADERS_KEY_FILE=str(key))
    assert ran.code == 2, ran.text
    one_paragraph(ran)
    assert snapshot_of(target)[0] == before
    assert not Path(str(target) + ".halt").exists()
    assert not Path(str(target) + "-wal").exists()


@pytest.mark.parametrize("reader", [r for r in READERS if r != "board"])
def test_a_reader_on_a_missing_path_names_it_and_suggests_init(workdir: Path, reader: str) -> None:
    """(`board` is left out: it documents showing the catalogue with no evidence when there is
    no journal yet.)"""
    target = workdir / "nowhere" / "missing.db"
    ran = cli([*READERS[reader], "--db", str(target)])
    assert ran.code == 2, ran.text
    one_paragraph(ran)
    assert str(target) in ran.err.replace("\n", "") and "polytraders init" in ran.err
    assert not target.exists() and not target.parent.exists(), "a reader never creates"
    assert list(workdir.iterdir()) == []


def test_a_reader_honours_polytraders_db_for_a_missing_path(workdir: Path) -> None:
    target = workdir / "env.db"
    ran = cli(["killswitch", "status"], POLYTRADERS_DB=str(target))
    assert ran.code == 2 and str(target) in ran.err.replace("\n", "")
    assert not target.exists()


# -- readers on a genuine journal: the control ---------------------------------------------------

@pytest.fixture(scope="module")
def sim_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sim") / "sim.db"
    ran = cli(["demo", "--minutes", "2", "--markets", "3", "--db", str(db), "--json"])
    assert ran.code == 0, ran.text
    return db


def _genuine_args(db: Path, reader: str, out: Path) -> list[str]:
    args = list(READERS[reader])
    if reader == "trace":
        with open_journal(db, readonly=True) as j:
            corr = next(e.envelope.correlation_id for e in j.read() if e.envelope.correlation_id)
        args = ["trace", str(corr)]
    if reader == "replay":
        args += ["--out", str(out)]
    return args


GENUINE_READERS = list(READERS)


@pytest.mark.parametrize("reader", GENUINE_READERS)
def test_every_reader_works_on_a_genuine_journal_and_changes_nothing(sim_template: Path, tmp_path: Path,
                                                                     reader: str) -> None:
    db = copy_journal(sim_template, tmp_path / "sim.db")
    before = file_state(db)[0]
    args = _genuine_args(db, reader, tmp_path / "replay-out")
    ran = cli([*args, "--db", str(db)])
    assert ran.code == 0, ran.text
    assert "Traceback" not in ran.text
    assert file_state(db)[0] == before
    assert not Path(str(db) + "-wal").exists() or Path(str(db) + "-wal").stat().st_size == 0


# -- demo never writes over anything -------------------------------------------------------------

@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("kind", [*HOSTILE, "journal-table"])
def test_demo_refuses_a_hostile_path_and_leaves_it_byte_identical(workdir: Path, kind: str,
                                                                  overwrite: bool) -> None:
    make = HOSTILE.get(kind, _foreign_sqlite_with_a_journal_table)
    target = make(workdir / "target")
    before = snapshot_of(target)
    time.sleep(0.002)
    ran = cli(["demo", "--minutes", "1", "--markets", "1", "--db", str(target),
               *(["--overwrite"] if overwrite else [])])
    assert ran.code in (1, 2), ran.text
    one_paragraph(ran)
    assert snapshot_of(target) == before
    assert sorted(p.name for p in workdir.iterdir()) == ["target"]


def test_demo_without_db_honours_polytraders_db(workdir: Path) -> None:
    target = workdir / "from-env" / "run.db"
    ran = cli(["demo", "--minutes", "1", "--markets", "1", "--json"], POLYTRADERS_DB=str(target))
    assert ran.code == 0, ran.text
    assert json.loads(ran.out)["journal"]["db"] == str(target)
    with open_journal(target, readonly=True) as j:
        assert j.mode == "simulation"
    assert not (workdir / "demo-runs").exists() and not (workdir / "polytraders.db").exists()


def test_demo_without_db_or_env_writes_a_new_run_folder(workdir: Path) -> None:
    first = cli(["demo", "--minutes", "1", "--markets", "1"])
    second = cli(["demo", "--minutes", "1", "--markets", "1"])
    assert first.code == 0 and second.code == 0, first.text + second.text
    paths = []
    for ran in (first, second):
        exports = [line for line in ran.out.splitlines() if "export POLYTRADERS_DB=" in line]
        assert exports, ran.out
        paths.append(Path(exports[0].split("export POLYTRADERS_DB=", 1)[1].strip()))
    assert paths[0] != paths[1]
    for p in paths:  # printed absolute, so it works from any directory
        assert p.is_absolute() and p.relative_to(workdir.resolve()).parts[0] == "demo-runs" and p.is_file()
    assert not (workdir / "polytraders.db").exists(), "never the live default path"


def test_a_second_demo_at_the_same_db_refuses(sim_template: Path, tmp_path: Path) -> None:
    db = copy_journal(sim_template, tmp_path / "sim.db")
    before = file_state(db)
    ran = cli(["demo", "--minutes", "1", "--markets", "1", "--db", str(db)])
    assert ran.code in (1, 2)
    one_paragraph(ran)
    assert "exists already" in ran.err
    assert file_state(db) == before


def test_overwrite_refuses_a_live_journal(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    assert cli(["init", "--admin", "alice", "--admin", "bob", "--db", str(db)]).code == 0
    before = file_state(db)
    anchors = (Path(str(db) + ".anchors") / "digests.jsonl").read_bytes()
    ran = cli(["demo", "--minutes", "1", "--markets", "1", "--db", str(db), "--overwrite"])
    assert ran.code == 1, ran.text
    one_paragraph(ran)
    assert "live journal" in ran.err
    assert file_state(db) == before
    assert (Path(str(db) + ".anchors") / "digests.jsonl").read_bytes() == anchors
    assert sorted(p.name for p in Path(str(db) + ".keys").iterdir()) == ["alice.key", "bob.key", "system.key"]


HOLDER = """
import sys, time
from polytraders.journal.sqlite import open_journal
j = open_journal(sys.argv[1], readonly=sys.argv[2] == "ro")
print("open", flush=True)
time.sleep(60)
"""


def _hold_open(db: Path, mode: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen([PYTHON, "-c", HOLDER, str(db), mode], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    return holder


def _refused_while_held(db: Path, mode: str) -> None:
    holder = _hold_open(db, mode)
    try:
        before = file_state(db)
        ran = cli(["demo", "--minutes", "1", "--markets", "1", "--db", str(db), "--overwrite"])
        assert ran.code == 1, ran.text[-400:]
        one_paragraph(ran)
        assert "another process" in ran.err
        assert file_state(db) == before
    finally:
        holder.kill()
        holder.wait(timeout=10)


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_overwrite_refuses_a_simulation_journal_another_process_holds_open(tmp_path: Path, mode: str) -> None:
    db = tmp_path / "sim.db"
    assert cli(["demo", "--minutes", "1", "--markets", "1", "--db", str(db)]).code == 0
    _refused_while_held(db, mode)
    # the holder is gone: now it may be replaced
    ran = cli(["demo", "--minutes", "1", "--markets", "1", "--seed", "5", "--db", str(db), "--overwrite"])
    assert ran.code == 0, ran.text[-400:]


def test_overwrite_refuses_a_copied_journal_a_reader_holds_open(sim_template: Path, tmp_path: Path) -> None:
    db = copy_journal(sim_template, tmp_path / "sim.db")
    assert not Path(str(db) + ".lock").exists()
    _refused_while_held(db, "ro")


def test_overwrite_replaces_a_simulation_journal_nobody_uses(sim_template: Path, tmp_path: Path) -> None:
    db = copy_journal(sim_template, tmp_path / "sim.db")
    with open_journal(db, readonly=True) as j:
        old_id = j.journal_id
    ran = cli(["demo", "--minutes", "1", "--markets", "1", "--seed", "5", "--db", str(db), "--overwrite", "--json"])
    assert ran.code == 0, ran.text
    with open_journal(db, readonly=True) as j:
        assert j.mode == "simulation" and j.journal_id != old_id
    assert cli(["journal", "verify", "--db", str(db)]).code == 0, "the old anchors went with the old journal"


def test_demo_refuses_dev_null(tmp_path: Path) -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    st = os.stat("/dev/null")
    ran = cli(["demo", "--minutes", "1", "--markets", "1", "--db", "/dev/null", "--overwrite"])
    assert ran.code in (1, 2) and "Traceback" not in ran.text
    after = os.stat("/dev/null")
    assert (after.st_mode, after.st_rdev, after.st_ino) == (st.st_mode, st.st_rdev, st.st_ino)
