"""User-facing errors.

Every error an operator can cause (bad input, bad config, corrupt database, refused command) is a
`PolytradersError`: one plain paragraph naming what is wrong, optionally with the registry reason
code a bot would emit for it. The CLI prints the paragraph and exits with the error's exit code;
it never shows a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class PolytradersError(Exception):
    """An error meant to be read by a person: one paragraph, never a traceback."""

    exit_code: int = EXIT_REFUSED

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]" if self.code else self.message


class BadInputError(PolytradersError):
    """The caller supplied something malformed (exit code 2)."""

    exit_code = EXIT_USAGE


class ConfigError(PolytradersError):
    """A bot or system configuration is invalid or breaks a hard limit."""


class RefusedError(PolytradersError):
    """A command was understood but refused (auth, gates, preconditions)."""


class JournalCorruptError(PolytradersError):
    """The journal cannot be trusted: damaged, tampered with, or unwritable (exit code 1)."""


class JournalMissingError(PolytradersError):
    """No journal at the path, or a file that is not one (exit code 2: the path is wrong)."""

    exit_code = EXIT_USAGE


def _loc(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "(root)"


def describe_validation_error(what: str, err: ValidationError) -> str:
    """Render a pydantic error as one paragraph: field path, offending value, expectation."""
    problems = []
    for e in err.errors(include_url=False)[:5]:
        value = e.get("input")
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        problems.append(f"field '{_loc(e['loc'])}' got {shown}: {e['msg']}")
    more = len(err.errors()) - len(problems)
    tail = f" (and {more} more problem(s))" if more > 0 else ""
    return f"Invalid {what}: " + "; ".join(problems) + tail + "."
