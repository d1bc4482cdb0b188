"""Every command and subcommand, found by walking the typer app (so commands added later are swept
too), run with hostile arguments: a directory as --db, missing/empty/foreign journals, /proc paths,
an unwritable --out, unicode, 100 KB strings, NaN, negative and huge numbers. None may print a
traceback; exit codes are 0 ok, 1 refused, 2 bad usage; with --json an error is one JSON line
{"error", "reason_code"}. In-process through the real `app` (fast), plus real-process cases."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
import typer
import typer.testing
from hostile import SERVERS, commands, hostile_files, problems, vectors
from typer.testing import CliRunner

from polytraders.cli.common import GuardedGroup, JsonOpt
from polytraders.cli.main import app

CASE_TIMEOUT_S = 20
# Paths that are not a journal: every reader and writer of an existing journal answers 2 (the path
# is wrong) and touches nothing. Commands that create a journal refuse an existing file (1).
NOT_JOURNALS = ("directory", "missing", "empty", "foreign_text", "foreign_sqlite", "proc_file", "truncated")
CREATORS = {"demo", "init"}


class _Hung(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hung()


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    result = CliRunner().invoke(app, ["demo", "--minutes", "2", "--markets", "2", "--seed", "3",
                                      "--db", str(root / "real.db"), "--json"])
    assert result.exit_code == 0, result.output
    return root


def _fresh_journal(root: Path, name: str) -> Path:
    """A private copy of the demo journal (with its anchors and keys) for one command's cases."""
    dest = root / "copies" / name
    dest.mkdir(parents=True)
    shutil.copy(root / "real.db", dest / "real.db")
    for extra in ("anchors", "keys"):
        shutil.copytree(root / f"real.db.{extra}", dest / f"real.db.{extra}")
    return dest / "real.db"


def _invoke(runner: CliRunner, argv: list[str], cwd: Path) -> tuple[int, str, str]:
    old = os.getcwd()
    os.chdir(cwd)  # anything a command writes by default lands in the sweep's folder
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        result = runner.invoke(app, argv, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(old)
    if isinstance(result.exception, _Hung):
        return 124, "", f"did not finish in {CASE_TIMEOUT_S} s"
    out = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        out += f"\nTraceback (most recent call last): escaped {type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stdout, out


def _cases(root: Path) -> Iterator[tuple[str, list[str], bool, Path, set[str]]]:
    for cmd in commands():
        if cmd.path in SERVERS:
            continue
        name = "-".join(cmd.path)
        db = _fresh_journal(root, name)
        files = hostile_files(root / "hostile" / name, db)  # fresh: an earlier case may have created one
        for i, argv in enumerate(vectors(cmd, str(db), files)):
            # every other case with --json, so both renderings of each error kind are seen
            as_json = cmd.has_json and i % 2 == 1
            not_journals = {files[k] for k in NOT_JOURNALS}
            yield " ".join(cmd.path), (argv + ["--json"] if as_json else argv), as_json, db.parent, not_journals


def test_every_command_survives_hostile_arguments(sweep_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYTRADERS_DB", str(sweep_dir / "hostile-default" / "none.db"))
    monkeypatch.setenv("POLYTRADERS_KEY_FILE", str(sweep_dir / "real.db.keys" / "ops.key"))
    monkeypatch.setenv("COLUMNS", "120")
    built = typer.main.get_command(app)  # the same command tree the entry point builds, built once
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: built)
    runner = CliRunner()
    failures: list[str] = []
    seen: set[str] = set()
    count = 0
    for name, argv, as_json, cwd, not_journals in _cases(sweep_dir):
        count += 1
        seen.add(name)
        started = time.perf_counter()
        code, stdout, output = _invoke(runner, argv, cwd)
        if os.environ.get("SWEEP_LOG"):  # a record of every case, for a person reviewing the sweep
            with open(os.environ["SWEEP_LOG"], "a") as log:
                log.write(json.dumps({"argv": [a[:80] for a in argv], "code": code, "out": output[-300:],
                                      "s": round(time.perf_counter() - started, 3)}) + "\n")
        db_arg = argv[argv.index("--db") + 1] if "--db" in argv else None
        if db_arg in not_journals and name not in CREATORS and code != 2:
            failures.append(f"{name} --db {db_arg}: exit {code}, expected 2 (not a journal): {output[-200:]}")
        for problem in problems(argv, code, stdout, output, as_json):
            shown = [a if len(a) < 60 else a[:20] + f"…({len(a)} chars)" for a in argv]
            failures.append(f"{shown}: {problem}")
    assert count > 300, count
    assert {"orders", "trace", "killswitch status", "incidents show", "journal tail", "bots"} <= seen
    assert not failures, f"{len(failures)} of {count} cases failed:\n" + "\n".join(failures[:40])


# -- exit codes that mean something ------------------------------------------------------------


@pytest.mark.parametrize(("argv", "code", "reason"), [
    (["replay", "--set", "no-equals-sign"], 2, "GOV_CLI_BAD_USAGE"),
    (["replay", "--set", "nosuch.bot.param=1"], 2, "GOV_CLI_BAD_USAGE"),
    (["codes", "--family", "NOPE"], 2, "GOV_CLI_BAD_USAGE"),
    (["demo", "--scenario", "no-such-scenario", "--db", "{missing}"], 2, "GOV_CLI_BAD_USAGE"),
    (["replay", "--set", "risk.drawdown_guard.drawdown_intraday_pct=-5"], 2, "GOV_CLI_BAD_USAGE"),
    (["orders", "--db", "{dir}"], 2, "GOV_CLI_JOURNAL_UNREADABLE"),
    (["orders", "--db", "{missing}"], 2, "GOV_CLI_JOURNAL_UNREADABLE"),
    (["orders", "--db", "{foreign}"], 2, "GOV_CLI_JOURNAL_UNREADABLE"),
    (["trace", "no-such-id", "--db", "{real}"], 1, "GOV_CLI_NOT_FOUND"),
    (["orders", "--no-such-option"], 2, "GOV_CLI_BAD_USAGE"),
    (["--no-such-root-option"], 2, "GOV_CLI_BAD_USAGE"),
    (["no-such-command"], 2, "GOV_CLI_BAD_USAGE"),
])
def test_exit_codes_and_json_errors(sweep_dir: Path, argv: list[str], code: int, reason: str | None,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"dir": str(sweep_dir), "missing": str(sweep_dir / "nope.db"),
             "foreign": str(sweep_dir / "real.db.keys" / "alice.key"), "real": str(sweep_dir / "real.db")}
    monkeypatch.setenv("POLYTRADERS_DB", str(sweep_dir / "real.db"))
    argv = [a.format(**files) for a in argv]
    plain = CliRunner().invoke(app, argv)
    assert plain.exit_code == code, plain.output
    assert "Traceback" not in plain.output and plain.output.strip()
    as_json = CliRunner().invoke(app, [*argv, "--json"])
    assert as_json.exit_code == code, as_json.output
    err = json.loads(as_json.stdout.strip().splitlines()[-1])
    assert set(err) == {"error", "reason_code"} and err["error"]
    if reason is not None:
        assert err["reason_code"] == reason, err


# -- the real entry point ----------------------------------------------------------------------


def _cli(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "polytraders.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_real_processes_print_no_tracebacks(sweep_dir: Path) -> None:
    files = hostile_files(sweep_dir / "proc-hostile", sweep_dir / "real.db")
    cases = [
        (["orders", "--db", files["directory"]], 2),
        (["journal", "tail", "--db", files["foreign_sqlite"], "--json"], 2),
        (["killswitch", "status", "--db", "/proc/self/status"], 2),
        (["replay", "--db", str(sweep_dir / "real.db"), "--out", files["proc_unwritable"]], 2),
        (["trace", "A" * 100_000, "--db", str(sweep_dir / "real.db")], 1),
        (["demo", "--minutes", "NaN"], 2),
        (["exchange", "serve", "--port", "-1"], 2),
        (["exchange", "serve", "--starting-balance", "NaN", "--port", "0"], 2),
        (["exchange", "serve", "--faults", "{not json", "--port", "0"], 2),
    ]
    for argv, code in cases:
        proc = _cli(*argv, cwd=sweep_dir)
        assert "Traceback" not in proc.stdout + proc.stderr, (argv[:3], proc.stderr[-800:])
        assert proc.returncode == code, (argv[:3], proc.returncode, proc.stderr[-800:])
        if "--json" in argv:
            err = json.loads(proc.stdout.strip().splitlines()[-1])
            assert err["reason_code"].startswith("GOV_") and err["error"]


def test_an_unanticipated_error_is_reported_as_a_bug_without_a_traceback() -> None:
    """The boundary catches what no command anticipated: one paragraph, exit 1, JSON under --json."""
    probe = typer.Typer(cls=GuardedGroup, add_completion=False, pretty_exceptions_enable=False)

    @probe.command("boom")
    def boom(as_json: JsonOpt = False) -> None:
        raise ZeroDivisionError("the divisor was 0")

    @probe.command("other")
    def other() -> None:  # a second command, so "boom" stays a subcommand
        pass

    plain = CliRunner().invoke(probe, ["boom"])
    assert plain.exit_code == 1 and "internal error (ZeroDivisionError: the divisor was 0)" in plain.output
    assert "Traceback" not in plain.output and isinstance(plain.exception, SystemExit)
    as_json = CliRunner().invoke(probe, ["boom", "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout.strip().splitlines()[-1])["reason_code"] == "GOV_CLI_INTERNAL_ERROR"
