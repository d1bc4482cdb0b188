"""Shared CLI plumbing: options, output, and turning errors into one paragraph + exit code."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", help="Operator token (default $POLYTRADERS_TOKEN).", show_default=False),
]

P = ParamSpec("P")
R = TypeVar("R")


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

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def journal_from(db: str | None, *, create: bool = True) -> Iterator[SqliteJournal]:
    j = open_journal(db, create=create)
    try:
        yield j
    finally:
        j.close()
