"""`polytraders codes`: list the reason-code registry."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from polytraders.cli.common import JsonOpt, console, friendly, print_json
from polytraders.contracts.reasons import FAMILIES, codes_for_family
from polytraders.errors import BadInputError


@friendly
def codes(
    family: Annotated[str | None, typer.Option("--family", help="INTEL, DISC, STRAT, RISK, EXEC, SEC or GOV.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List every registered reason code with severity, meaning, action and user message."""
    if family is not None and family.upper() not in FAMILIES:
        raise BadInputError(f"Unknown reason-code family {family[:60]!r}; expected one of {', '.join(FAMILIES)}.")
    rows = codes_for_family(family)
    if as_json:
        print_json([
            {"code": c.code, "family": c.family, "severity": c.severity.value,
             "meaning": c.meaning, "operator_action": c.operator_action,
             "user_message": c.user_message}
            for c in rows
        ])
        return
    table = Table(title=f"{len(rows)} reason codes", show_lines=False)
    for col in ("code", "severity", "meaning", "operator action"):
        table.add_column(col)
    for c in rows:
        table.add_row(c.code, c.severity.value, c.meaning, c.operator_action)
    console.print(table)
