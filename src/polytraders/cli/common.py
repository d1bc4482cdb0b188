"""Shared CLI plumbing: options, output, opening journals and acting as an operator (the error
boundary itself is `cli/boundary.py`, re-exported here).

Readers open the journal read-only and never create it. A command that changes state loads the
operator's key from the environment (`operators/keys.py`), authenticates against the keys
registered in the journal, and signs what it writes; if it cannot, it writes nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from polytraders.cli.boundary import (
    GuardedGroup,
    console,
    default_reason,
    err_console,
    exit_for,
    fail,
    friendly,
    json_mode,
)
from polytraders.errors import EXIT_REFUSED, EXIT_USAGE
from polytraders.journal.sqlite import SqliteJournal, open_journal

# The error boundary lives in cli/boundary.py (light, for --help); commands import it from here.
__all__ = ["GuardedGroup", "console", "default_reason", "err_console", "exit_for", "fail", "friendly",
           "json_mode", "EXIT_REFUSED", "EXIT_USAGE"]

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Journal file (default ./polytraders.db or $POLYTRADERS_DB)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

WRITE_LOCK_TIMEOUT_S = 2.0


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def journal_from(db: str | None, *, write: bool = False) -> Iterator[SqliteJournal]:
    """An existing journal: read-only unless `write`. Missing or foreign files are refused. A
    command's writes leave checkpoints to the running system (`leave_wal_checkpoints`)."""
    j = open_journal(db, readonly=not write, lock_timeout_s=WRITE_LOCK_TIMEOUT_S)
    if write:
        j.leave_wal_checkpoints()
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
