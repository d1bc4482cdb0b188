"""`polytraders journal tail|verify`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, console, fail, friendly, journal_from, print_json
from polytraders.contracts.reasons import registry

app = typer.Typer(help="Read and verify the hash-chained journal.", no_args_is_help=True)


@app.command("tail")
@friendly
def tail(
    n: Annotated[int, typer.Option("-n", min=1, max=100_000, help="How many entries.")] = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the last N envelopes."""
    with journal_from(db, create=False) as j:
        entries = j.tail(n)
    if as_json:
        print_json([{"seq": e.seq, "hash": e.hash, "prev_hash": e.prev_hash,
                     "envelope": e.envelope.to_json_dict()} for e in entries])
        return
    table = Table(title=f"last {len(entries)} envelopes")
    for col in ("seq", "ts_ms", "actor", "kind", "reason", "correlation", "meaning"):
        table.add_column(col)
    reg = registry()
    for e in entries:
        env = e.envelope
        table.add_row(str(e.seq), str(env.ts_ms), env.actor.label(), env.kind, env.reason_code,
                      env.correlation_id or "", reg[env.reason_code].user_message)
    console.print(table)


@app.command("verify")
@friendly
def verify(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Recompute the hash chain; exit 1 naming the first bad sequence."""
    with journal_from(db, create=False) as j:
        result = j.verify()
    if as_json:
        print_json({"ok": result.ok, "entries": result.entries, "head_hash": result.head_hash,
                    "first_bad_seq": result.first_bad_seq, "problem": result.problem})
        if not result.ok:
            raise typer.Exit(1)
        return
    if result.ok:
        console.print(f"OK: {result.entries} entries, head hash {result.head_hash}")
        return
    raise fail(
        f"Journal verification FAILED at seq {result.first_bad_seq}: {result.problem}. "
        f"{result.entries} entries before it are intact (last good hash {result.head_hash}).",
    )
