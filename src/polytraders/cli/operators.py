"""`polytraders operators keygen|add|approve|revoke|list`.

Registering an operator takes two admins: one runs `add` (a signed request naming the new
operator's public key), a different admin, not registered by the first, runs `approve SEQ`.
Revoking takes one admin. Each new operator makes their own key with `keygen` and hands over
only the public key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, console, friendly, journal_from, operator_session, print_json
from polytraders.operators.auth import ROLES

app = typer.Typer(help="Operator identities, keys and roles.", no_args_is_help=True)


@app.command("keygen")
@friendly
def keygen(
    name: Annotated[str, typer.Argument(help="Your operator name.")],
    out: Annotated[Path, typer.Option("--out", help="New key file to write (never overwritten).")],
    as_json: JsonOpt = False,
) -> None:
    """Make a new live key pair in a 0600 file; print the public key to hand to an admin."""
    from polytraders.journal.signatures import Signer
    from polytraders.operators.keys import write_key_file

    signer = Signer.generate()
    write_key_file(out, name, signer, "live")
    if as_json:
        print_json({"name": name, "key_file": str(out), "public_key": signer.public_hex})
        return
    console.print(f"Key file {out} written (mode 0600). Give this public key to an admin:\n{signer.public_hex}",
                  markup=False)


@app.command("add")
@friendly
def add(
    name: Annotated[str, typer.Argument(help="Operator name (letters, digits, . _ - @).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    public_key: Annotated[str, typer.Option("--public-key", help="The operator's public key (from keygen).")],
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Ask to register an operator (admin); a second admin must approve."""
    from polytraders.operators.auth import request_operator

    with operator_session(db, "operators.add") as s:
        entry = request_operator(s.runtime, s.operator, name, role, public_key.strip().lower())
        by = s.operator.name
    if as_json:
        print_json({"request_seq": entry.seq, "name": name, "role": role, "requested_by": by})
        return
    console.print(f"Registration of {name} ({role}) requested by {by} as seq {entry.seq}. A different admin, "
                  f"not registered by {by}, must run 'polytraders operators approve {entry.seq}'.", markup=False)


@app.command("approve")
@friendly
def approve(
    request_seq: Annotated[int, typer.Argument(help="The request's seq (from add or list --requests).")],
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Approve another admin's registration request (admin)."""
    from polytraders.operators.auth import approve_operator

    with operator_session(db, "operators.approve") as s:
        entry = approve_operator(s.runtime, s.operator, request_seq)
        payload = entry.envelope.payload
        by = s.operator.name
    if as_json:
        print_json({"seq": entry.seq, "name": payload["name"], "role": payload["role"],
                    "registered_by": payload["registered_by"], "approved_by": by})
        return
    console.print(f"{payload['name']} registered as {payload['role']} (requested by {payload['registered_by']}, "
                  f"approved by {by}).", markup=False)


@app.command("revoke")
@friendly
def revoke(
    name: Annotated[str, typer.Argument(help="The operator to revoke.")],
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Revoke an operator's key at once (admin)."""
    from polytraders.operators.auth import revoke_operator

    with operator_session(db, "operators.revoke") as s:
        entry = revoke_operator(s.runtime, s.operator, name)
        admins = [o for o in s.runtime.state.trust.active_operators() if o.role == "admin"]
        by = s.operator.name
    if as_json:
        print_json({"seq": entry.seq, "revoked": name, "by": by, "active_admins": len(admins)})
        return
    console.print(f"{name} revoked by {by} (seq {entry.seq}).", markup=False)
    if len(admins) < 2:
        console.print(f"Warning: {len(admins)} active admin(s) remain; registering operators needs two.",
                      markup=False)


@app.command("list")
@friendly
def list_(
    requests: Annotated[bool, typer.Option("--requests", help="Show open registration requests instead.")] = False,
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Operators, roles and who registered them (never keys' private halves)."""
    from polytraders.operators.auth import operators_of
    from polytraders.state.store import StateStore

    with journal_from(db) as j:
        state = StateStore()
        state.rebuild(j)
    trust = state.trust
    if requests:
        open_rows = [{"seq": k, **{f: v[f] for f in ("name", "role", "requester", "ts_ms")}}
                     for k, v in trust.requests.items() if not v["used"]]
        if as_json:
            print_json(open_rows)
            return
        table = Table(title="open registration requests")
        for col in ("seq", "name", "role", "requested by"):
            table.add_column(col)
        for r in open_rows:
            table.add_row(str(r["seq"]), str(r["name"]), str(r["role"]), str(r["requester"]))
        console.print(table)
        return
    rows = [{"name": o.name, "role": o.role, "active": o.active, "registered_by": o.registered_by,
             "public_key": o.public_key, "seq": o.seq} for o in operators_of(trust)]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"operators ({trust.mode} journal)")
    for col in ("name", "role", "active", "registered by", "public key"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["name"]), str(r["role"]), str(r["active"]), str(r["registered_by"]),
                      str(r["public_key"])[:16] + "…")
    console.print(table)
