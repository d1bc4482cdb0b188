"""Entry point: `polytraders <group> <command>`.

Commands are imported only when they run: the root knows each command's module and one-line
help (`COMMANDS`), so `polytraders --help` starts in a fraction of the time importing every
command module (and with them pydantic models, web3 and the exchange) would take. A command
group added by a later module can still register eagerly with `app.add_typer` / `app.command`.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from polytraders import __version__
from polytraders.cli.boundary import GuardedGroup

# name -> (module, attribute: a command function or a typer.Typer group, one-line help).
# The help must equal the first paragraph of the command's own help (tests/cli/test_lazy_cli.py).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "codes": ("polytraders.cli.codes", "codes",
              "List every registered reason code with severity, meaning, action and user message."),
    "board": ("polytraders.cli.bots", "board",
              "The plan status board: how many bots are at each stage, then every bot by layer."),
    "init": ("polytraders.cli.init", "init",
             "Create a live journal with two admins and print where their keys were written."),
    "run": ("polytraders.cli.run", "run",
            "Run the trading system for real on the wall clock (signed with $POLYTRADERS_KEY_FILE, an\n"
            "operator or admin; the system key from system_key_file in the keys table, or <db>.keys/system.key)."),
    "demo": ("polytraders.cli.demo", "demo",
             "Run the system over simulated time against the simulator, then explain what happened."),
    "orders": ("polytraders.cli.views", "orders",
               "Orders as the Order Lifecycle Manager last recorded them, with the correlation id to pass\n"
               "to 'polytraders trace'."),
    "positions": ("polytraders.cli.views", "positions", "Positions, cash and PnL derived from the journal."),
    "trace": ("polytraders.cli.views", "trace",
              "Every envelope of one decision, in order, explained in plain English. For a rejection,\n"
              "the proposed order and the values the bot saw."),
    "replay": ("polytraders.cli.replay", "replay",
               "Rebuild state at the window start, re-feed the window's inputs, compare decisions."),
    "journal": ("polytraders.cli.journal", "app", "Read and verify the hash-chained journal."),
    "schemas": ("polytraders.cli.schemas", "app", "Contract JSON Schemas."),
    "operators": ("polytraders.cli.operators", "app", "Operator identities, keys and roles."),
    "bots": ("polytraders.cli.bots", "app",
             "The bot catalogue: stages, gates and readiness, derived from evidence."),
    "health": ("polytraders.cli.health", "app",
               "API health: levels per surface, hold or promote the API-degraded demotion."),
    "killswitch": ("polytraders.cli.killswitch", "app", "The kill switch: status, manual trip, two-person reset."),
    "incidents": ("polytraders.cli.incidents", "app", "Incidents: list, inspect, acknowledge, step, resolve, RCA."),
    "snapshot": ("polytraders.cli.incidents", "snapshot_app",
                 "Capture state now (positions, orders, last envelopes, ...), or show a stored snapshot."),
    "exchange": ("polytraders.cli.exchange", "app",
                 "A local Polymarket-compatible exchange (CLOB V2 REST + WebSockets)."),
    "reconcile": ("polytraders.cli.reconcile", "app",
                  "On-chain reconciliation: compare the ledger with the chain; resolve a mismatch by hand."),
    "config": ("polytraders.cli.config", "app",
               "Approved vs running bot config: drift, live edits, overrides, change requests."),
}


def load_command(name: str) -> Any:
    """The click command for one entry of `COMMANDS`, importing its module now."""
    module, attr, _ = COMMANDS[name]
    obj = getattr(importlib.import_module(module), attr)
    cmd: Any
    if isinstance(obj, typer.Typer):
        cmd = typer.main.get_group(obj)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(obj)
        cmd = typer.main.get_command(single)
    cmd.name = name
    return cmd


class LazyGroup(GuardedGroup):
    """The root group: `COMMANDS` are loaded on first use; help lists them without loading. It is
    also the error boundary every command runs inside (`GuardedGroup`)."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        eager = [n for n in super().list_commands(ctx) if n not in COMMANDS]
        return [*COMMANDS, *eager]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # the root's help needs names and help lines only
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][2])
        cmd = load_command(cmd_name)
        self.commands[cmd_name] = cmd
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="polytraders",
    cls=LazyGroup,
    help="A governed trading spine for Polymarket: journaled, deterministic, auditable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


if __name__ == "__main__":  # pragma: no cover
    app()
