"""The CLI's error boundary: the root group every command runs inside, and the one place an
anticipated error becomes one paragraph (or one JSON line under --json) and an exit code.

Kept light on purpose: `polytraders --help` loads this module, so nothing here imports pydantic,
SQLite journals or the engine at import time.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from polytraders.errors import (
    EXIT_REFUSED,
    EXIT_USAGE,
    JournalCorruptError,
    JournalMissingError,
    PolytradersError,
    describe_validation_error,
)

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


# click's ClickException, wherever this typer keeps click (newer typer vendors it): usage errors.
_CLICK_EXCEPTION: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

# Set by the root group when --json is on the command line, so every error path can answer in JSON.
_JSON_MODE: ContextVar[bool] = ContextVar("polytraders_json_mode", default=False)


def json_mode() -> bool:
    """Whether the running command was asked for --json (errors are then one JSON line)."""
    return _JSON_MODE.get()


def default_reason(code: int) -> str:
    return "GOV_CLI_BAD_USAGE" if code == EXIT_USAGE else "GOV_CLI_REFUSED"


def fail(message: str, code: int = EXIT_REFUSED, reason_code: str | None = None) -> typer.Exit:
    """Print one paragraph (or, with --json, one JSON line on stdout) and return the Exit to raise."""
    if json_mode():
        text = message.removeprefix("Error: ")
        sys.stdout.write(json.dumps({"error": text, "reason_code": reason_code or default_reason(code)},
                                    ensure_ascii=False) + "\n")
    else:
        err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def exit_for(exc: Exception) -> typer.Exit | None:
    """The one place an anticipated error becomes a message and an exit code; None for a bug."""
    if isinstance(exc, PolytradersError):
        if isinstance(exc, JournalMissingError | JournalCorruptError):
            reason = "GOV_CLI_JOURNAL_UNREADABLE"
        else:
            reason = exc.code or default_reason(exc.exit_code)
        return fail(f"Error: {exc}", exc.exit_code, reason)
    pydantic = sys.modules.get("pydantic")  # not loaded means no model ever raised
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        return fail("Error: " + describe_validation_error(exc.title, exc), EXIT_USAGE, "GOV_CLI_BAD_USAGE")
    if isinstance(exc, sqlite3.DatabaseError):
        return fail(f"Error: the journal could not be read or written ({exc}).", EXIT_REFUSED,
                    "GOV_CLI_JOURNAL_UNREADABLE")
    if isinstance(exc, OSError):
        name = str(exc.filename) if exc.filename else "file"
        shown = name if len(name) <= 200 else name[:100] + "…" + name[-60:]
        return fail(f"Error: {exc.strerror or exc} ({shown}).", EXIT_REFUSED, "GOV_CLI_FILE_ERROR")
    return None


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command so that errors print one paragraph and exit with a meaningful code.
    (The root group's boundary does the same for every command; this keeps a command safe when
    it is called on its own.)"""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            mapped = exit_for(exc)
            if mapped is None:
                raise
            raise mapped from None

    return wrapper


class GuardedGroup(TyperGroup):
    """The root command group: the error boundary every command runs inside. Anticipated errors
    become one paragraph and exit 1 or 2; usage errors under --json become JSON; an unanticipated
    error is reported as a bug in one paragraph, exit 1 (POLYTRADERS_DEBUG=1 shows the traceback)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        _JSON_MODE.set("--json" in args)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _CLICK_EXCEPTION as exc:  # a bad option before any command (`polytraders --nope --json`)
            raise self._usage(exc) from None

    @staticmethod
    def _usage(exc: Exception) -> Exception:
        if not json_mode():
            return exc
        usage: Any = exc
        return fail(str(usage.format_message()), int(usage.exit_code), "GOV_CLI_BAD_USAGE")

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except _CLICK_EXCEPTION as exc:
            raise self._usage(exc) from None
        except Exception as exc:
            mapped = exit_for(exc)
            if mapped is not None:
                raise mapped from None
            if os.environ.get("POLYTRADERS_DEBUG"):
                raise
            raise fail(f"Error: internal error ({type(exc).__name__}: {str(exc)[:300]}). This is a bug; "
                       f"please report the command line. POLYTRADERS_DEBUG=1 shows the traceback.",
                       EXIT_REFUSED, "GOV_CLI_INTERNAL_ERROR") from None


