"""Entry point: `polytraders <group> <command>`."""

from __future__ import annotations

from typing import Annotated

import typer

from polytraders import __version__
from polytraders.cli import codes, journal, operators, schemas
from polytraders.cli.common import GuardedGroup

app = typer.Typer(
    name="polytraders",
    help="A governed trading spine for Polymarket: journaled, deterministic, auditable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=GuardedGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"polytraders {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """A governed trading spine for Polymarket: journaled, deterministic, auditable."""


app.add_typer(journal.app, name="journal")
app.add_typer(schemas.app, name="schemas")
app.add_typer(operators.app, name="operators")
app.command("codes")(codes.codes)


def _register_optional() -> None:
    """Command groups added by later modules register here."""
    from polytraders.cli import (
        config,
        demo,
        exchange,
        health,
        incidents,
        init,
        killswitch,
        reconcile,
        registry_cmds,
        replay,
        run,
        views,
    )

    registry_cmds.register(app)
    app.command("init")(init.init)
    app.command("run")(run.run)
    app.add_typer(health.app, name="health")
    app.command("demo")(demo.demo)
    app.command("orders")(views.orders)
    app.command("positions")(views.positions)
    app.command("trace")(views.trace)
    app.add_typer(killswitch.app, name="killswitch")
    app.command("replay")(replay.replay)
    incidents.register(app)
    app.add_typer(exchange.app, name="exchange")
    reconcile.register(app)
    config.register(app)


_register_optional()

if __name__ == "__main__":  # pragma: no cover
    app()
