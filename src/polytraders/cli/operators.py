"""`polytraders operators add|list`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, TokenOpt, console, friendly, journal_from, print_json
from polytraders.operators.auth import ROLES, add_operator, load_operators

app = typer.Typer(help="Operator identities and roles.", no_args_is_help=True)


@app.command("add")
@friendly
def add(
    name: Annotated[str, typer.Argument(help="Operator name (letters, digits, . _ - @).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    db: DbOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an operator and print its token once (only a hash is kept)."""
    with journal_from(db) as j:
        op, new_token = add_operator(j, name, role, token)
    if as_json:
        print_json({"name": op.name, "role": op.role, "token": new_token})
    else:
        console.print(f"Operator {op.name} ({op.role}) created. Token (shown once, store it now):")
        console.print(new_token, markup=False, highlight=False)


@app.command("list")
@friendly
def list_(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List operators and roles (never tokens)."""
    with journal_from(db, create=False) as j:
        ops = load_operators(j)
    rows = [{"name": r.name, "role": r.role, "active": r.active} for r in ops.values()]
    if as_json:
        print_json(rows)
        return
    table = Table(title="operators")
    for col in ("name", "role", "active"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["name"]), str(r["role"]), str(r["active"]))
    console.print(table)
