"""`polytraders schemas export DIR`: one JSON Schema per contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from polytraders.cli.common import JsonOpt, console, friendly, print_json
from polytraders.contracts import export_schemas

app = typer.Typer(help="Contract JSON Schemas.", no_args_is_help=True)


@app.command("export")
@friendly
def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the schemas into.")],
    as_json: JsonOpt = False,
) -> None:
    """Write one JSON Schema (draft 2020-12) per contract into DIR."""
    if directory.exists() and not directory.is_dir():
        from polytraders.errors import BadInputError

        raise BadInputError(f"{directory} exists and is not a folder; give a folder path.")
    paths = export_schemas(directory)
    if as_json:
        print_json({"directory": str(directory), "schemas": [p.name for p in paths]})
    else:
        console.print(f"Wrote {len(paths)} schemas to {directory}")
