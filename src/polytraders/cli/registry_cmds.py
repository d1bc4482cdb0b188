"""Registry and board commands (`bots`, `board`) are attached here."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    try:
        from polytraders.cli import bots
    except ImportError:  # the registry commands are not built yet
        return
    bots.register(app)
