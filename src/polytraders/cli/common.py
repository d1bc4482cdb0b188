"""Shared CLI plumbing: options, output, opening journals, acting as an operator, and turning
errors into one paragraph + exit code.

Readers open the journal read-only and never create it. A command that changes state loads the
operator's key from the environment (`operators/keys.py`), authenticates against the keys
registered in the journal, and signs what it writes; if it cannot, it writes nothing.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from polytraders.errors import EXIT_REFUSED, PolytradersError, describe_validation_error
from polytraders.journal.sqlite import SqliteJournal, open_journal

console = Console()
err_console = Console(stderr=True)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Journal file (default ./polytraders.db or $POLYTRADERS_DB)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

P = ParamSpec("P")
R = TypeVar("R")
WRITE_LOCK_TIMEOUT_S = 2.0


def fail(message: str, code: int = EXIT_REFUSED) -> typer.Exit:
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command so that errors print one paragraph and exit with a meaningful code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except PolytradersError as exc:
            raise fail(f"Error: {exc}", exc.exit_code) from None
        except ValidationError as exc:
            raise fail("Error: " + describe_validation_error(exc.title, exc), 2) from None
        except sqlite3.DatabaseError as exc:
            raise fail(f"Error: the journal could not be read or written ({exc}).", 1) from None
        except OSError as exc:
            raise fail(f"Error: {exc.strerror or exc} ({exc.filename or 'file'}).", 1) from None

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def journal_from(db: str | None, *, write: bool = False) -> Iterator[SqliteJournal]:
    """An existing journal: read-only unless `write`. Missing or foreign files are refused."""
    j = open_journal(db, readonly=not write, lock_timeout_s=WRITE_LOCK_TIMEOUT_S)
    try:
        yield j
    finally:
        j.close()


@dataclass
class OperatorSession:
    journal: SqliteJournal
    runtime: Any  # Runtime; typed loosely to keep `--help` from importing the engine
    operator: Any  # Operator


@contextmanager
def operator_session(db: str | None, command: str, *, state: Any = None,
                     full_state: bool = True) -> Iterator[OperatorSession]:
    """Open the journal for writing, rebuild state, authenticate the operator's key for
    `command` and let the runtime sign as them. Nothing is written if any of that fails.
    Without `full_state` only who-may-act is folded (fast on a long journal: the emergency trip)."""
    from polytraders.operators.auth import authenticate
    from polytraders.operators.keys import key_from_env
    from polytraders.runtime.clock import WallClock
    from polytraders.runtime.runner import Runtime
    from polytraders.state.standard import build_state

    key = key_from_env()
    with journal_from(db, write=True) as j:
        rt = Runtime(j, WallClock(), state if state is not None else build_state())
        if full_state:
            rt.state.rebuild(j)
        else:
            rt.state.load_trust(j)
        op = authenticate(rt.state.trust, key, command)
        if op.signer is not None:
            rt.operator_signers[op.name] = op.signer
        yield OperatorSession(j, rt, op)
