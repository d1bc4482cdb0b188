"""The reason-code registry: every code the system may emit, in one place.

A reason code is the machine-readable *why* of an envelope. Each one has a family (its prefix),
a severity, a meaning, the action an operator should take and a plain-English message a
non-technical user can read. Emitting a code that is not registered is an error
(`require_code`), and a test scans the source tree for code-like strings that are missing here.

The per-family tables live beside this module (`risk.py`, `gov.py`, ...) so a family's owners
can review their codes together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from polytraders.errors import PolytradersError

CODE_PATTERN = re.compile(r"^(INTEL|DISC|STRAT|RISK|EXEC|SEC|GOV)_[A-Z0-9_]+$")
FAMILIES = ("INTEL", "DISC", "STRAT", "RISK", "EXEC", "SEC", "GOV")


class Severity(StrEnum):
    INFO = "INFO"
    EXPLAIN = "EXPLAIN"
    WARN = "WARN"
    RESHAPE = "RESHAPE"
    HARD_REJECT = "HARD_REJECT"


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    severity: Severity
    meaning: str
    operator_action: str
    user_message: str

    @property
    def family(self) -> str:
        return self.code.split("_", 1)[0]


def rc(code: str, severity: str, meaning: str, action: str, user: str) -> ReasonCode:
    """Compact constructor used by the family tables."""
    return ReasonCode(code, Severity(severity), meaning, action, user)


class UnknownReasonCodeError(PolytradersError):
    """A code was emitted or asked for that the registry does not hold."""


@cache
def registry() -> dict[str, ReasonCode]:
    from polytraders.contracts.reasons import disc, exec_, gov, intel, risk, sec, strat

    table: dict[str, ReasonCode] = {}
    for module in (intel, disc, strat, risk, exec_, sec, gov):
        for entry in module.CODES:
            if not CODE_PATTERN.match(entry.code):
                raise ValueError(f"reason code {entry.code!r} does not match {CODE_PATTERN.pattern}")
            if entry.code in table:
                raise ValueError(f"reason code {entry.code!r} is registered twice")
            table[entry.code] = entry
    return table


def registered_code(code: str) -> str:
    """A contract field's validator: `code` itself when registered, else a `ValueError` (what
    pydantic turns into a validation error)."""
    if code not in registry():
        raise ValueError(f"reason code {code!r} is not registered")
    return code


def require_code(code: str) -> ReasonCode:
    """Return the registered entry for `code`, or refuse with a clear error."""
    entry = registry().get(code)
    if entry is None:
        raise UnknownReasonCodeError(
            f"Reason code {code!r} is not in the registry; every emitted code must be registered "
            f"in polytraders.contracts.reasons (family tables) before it can be used.",
        )
    return entry


def is_registered(code: str) -> bool:
    return code in registry()


def codes_for_family(family: str | None = None) -> list[ReasonCode]:
    fam = family.upper() if family else None
    if fam is not None and fam not in FAMILIES:
        raise UnknownReasonCodeError(
            f"Unknown reason-code family {family!r}; expected one of {', '.join(FAMILIES)}.",
        )
    return sorted(
        (c for c in registry().values() if fam is None or c.family == fam),
        key=lambda c: c.code,
    )
