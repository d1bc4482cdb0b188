"""The hostile-argument sweep's machinery: walk the typer app's command tree (so commands added
later are covered without editing a list), build hostile argument vectors per parameter type,
and judge one result. Not collected (no `test_` prefix); used by `test_hostile_sweep.py`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from polytraders.cli.main import app

BIG = "A" * 100_000
TEXT = ["", "ü—🙂\u202e zalgo", BIG, "NaN", "-1", "../../../../etc/passwd", "[bold red]x[/] \x1b[31m%s{0}"]
NUMBERS = ["NaN", "-1", "-1e309", "inf", "99999999999999999999999999999", "0x10", "", "ü"]
PATH_NAMES = {"db", "out", "config", "anchors", "keys_dir", "system_key", "directory", "chain"}
# A filler for a required parameter that is not the one under attack: plausible, so the command
# gets past it and reaches the hostile value.
FILLERS = {"scope": "global", "role": "operator", "public_key": "ab" * 32, "to": "paper", "admin": "carol",
           "reason": "sweep", "text": "sweep", "explain": "sweep", "name": "x", "request_seq": "1"}
# Commands that would otherwise run long (a simulation, a live loop) get a short, valid base;
# anything new that hangs fails the sweep with its name, so it gets one here.
CHEAP_BASE = {("demo",): ["--minutes", "1", "--markets", "1"], ("run",): ["--duration", "0.2"]}
# Servers run until stopped; a handful of real-process cases cover them instead.
SERVERS = {("exchange", "serve")}


@dataclass(frozen=True)
class Param:
    name: str
    opt: str | None  # None for a positional argument
    kind: str  # "path" | "number" | "text" | "flag"
    required: bool
    multiple: bool = False


@dataclass
class Command:
    path: tuple[str, ...]
    params: list[Param] = field(default_factory=list)

    @property
    def has_json(self) -> bool:
        return any(p.opt == "--json" for p in self.params)

    @property
    def has_db(self) -> bool:
        return any(p.opt == "--db" for p in self.params)


def _kind(p: Any) -> str:
    if getattr(p, "is_flag", False):
        return "flag"
    annotation = p.type_descriptor.annotation
    text = str(annotation)
    if p.name in PATH_NAMES or "Path" in text:
        return "path"
    if annotation in (int, float) or text in ("int | None", "float | None"):
        return "number"
    return "text"


def _params(cmd: Any) -> list[Param]:
    out = []
    for p in cmd.params:
        if p.name in ("help",) or not p.expose_value:
            continue
        opt = None if p.param_type_name == "argument" else max(p.opts, key=len)
        out.append(Param(p.name, opt, _kind(p), bool(p.required), bool(getattr(p, "multiple", False))))
    return out


def commands() -> list[Command]:
    """Every runnable command: leaves, and groups that run without a subcommand."""
    found: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if not hasattr(cmd, "list_commands"):
            found.append(Command(path, _params(cmd)))
            return
        if path and getattr(cmd, "invoke_without_command", False):
            found.append(Command(path, _params(cmd)))
        ctx = cmd.context_class(cmd)  # the root group loads its commands lazily: ask it, as click does
        for name in cmd.list_commands(ctx):
            walk(cmd.get_command(ctx, name), (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def hostile_values(kind: str, files: dict[str, str]) -> list[str]:
    if kind == "path":
        return list(files.values())
    return NUMBERS if kind == "number" else TEXT


def filler(p: Param) -> str:
    return FILLERS.get(p.name, "1" if p.kind == "number" else "x")


def _place(p: Param, value: str) -> list[str]:
    return [value] if p.opt is None else [p.opt, value]


def vectors(cmd: Command, db: str, files: dict[str, str]) -> Iterator[list[str]]:
    """One hostile value at a time; other required parameters get fillers and --db a real journal
    (so the command gets as far as the hostile value)."""
    base = CHEAP_BASE.get(cmd.path, [])
    attackable = [p for p in cmd.params if p.kind != "flag"]

    def args(target: Param | None, value: str) -> list[str]:
        argv = [*cmd.path, *base]
        positional = [p for p in cmd.params if p.opt is None]
        for p in positional:
            argv += _place(p, value if p is target else filler(p))
        for p in cmd.params:
            if p.opt is None or p.kind == "flag":
                continue
            if p is target:
                argv += _place(p, value)
            elif p.required:
                argv += _place(p, filler(p))
                if p.multiple:  # e.g. init's two different admins
                    argv += _place(p, filler(p) + "2")
            elif p.opt == "--db":
                argv += ["--db", db]
        return argv

    yield args(None, "")  # fillers only: on the real journal
    for p in attackable:
        for value in hostile_values(p.kind, files):
            yield args(p, value)


def hostile_files(root: Path, journal: Path) -> dict[str, str]:
    """Paths a careless or hostile operator might pass where a journal or output file is expected."""
    (root / "a-directory").mkdir(parents=True)
    (root / "empty.db").write_bytes(b"")
    (root / "foreign.txt").write_text("not a journal\n")
    con = sqlite3.connect(root / "foreign.sqlite")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    data = journal.read_bytes()
    (root / "truncated.db").write_bytes(data[: len(data) // 2])  # a journal cut short by a full disk
    return {
        "truncated": str(root / "truncated.db"),
        "directory": str(root / "a-directory"),
        "missing": str(root / "missing" / "nothing.db"),
        "empty": str(root / "empty.db"),
        "foreign_text": str(root / "foreign.txt"),
        "foreign_sqlite": str(root / "foreign.sqlite"),
        "proc_file": "/proc/self/status",
        "proc_unwritable": "/proc/polytraders-sweep/out.json",
        "unicode": str(root / "ü—🙂.db"),
        "huge": str(root / ("p" * 4000)),
    }


def _json_error(stdout: str) -> Any:
    """The error object: the whole of stdout (a report that is the error) or its last line."""
    lines = stdout.strip().splitlines()
    for text in (stdout, lines[-1] if lines else ""):
        try:
            return json.loads(text)
        except ValueError:
            continue
    return None


TRACEBACK_MARKS = ("Traceback (most recent call last)", "Traceback", "internal error")


def problems(argv: list[str], exit_code: int, stdout: str, output: str, as_json: bool) -> list[str]:
    """What is wrong with one result (an empty list when it is acceptable)."""
    found = []
    if any(m in output for m in TRACEBACK_MARKS):
        found.append("traceback or internal error: " + output[-600:])
    if exit_code not in (0, 1, 2):
        found.append(f"exit code {exit_code}")
    if as_json and exit_code != 0:
        err = _json_error(stdout)
        if not (isinstance(err, dict) and "error" in err and "reason_code" in err):
            found.append("--json error is not JSON {error, reason_code}: " + output[-400:])
    return found
