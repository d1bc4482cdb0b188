"""`polytraders init --admin NAME --admin NAME`: the only way to make a live journal.

A live journal starts with two admins, because the kill switch's reset (and every other
two-person action) needs a second person. `init` writes a fresh system key and one key file per
admin, each 0600, and never over an existing file.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from polytraders.cli.common import DbOpt, JsonOpt, console, friendly, print_json
from polytraders.errors import BadInputError


@friendly
def init(
    admin: Annotated[list[str], typer.Option("--admin", help="An admin's name; give exactly two.")],
    db: DbOpt = None,
    keys_dir: Annotated[Path | None, typer.Option("--keys-dir", help="Where to write key files "
                                                  "(default <db>.keys/).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a live journal with two admins and print where their keys were written."""
    from polytraders.contracts import Genesis, OperatorKey
    from polytraders.journal.digests import anchors_dir
    from polytraders.journal.signatures import Signer
    from polytraders.journal.sqlite import create_journal, resolve_db_path
    from polytraders.operators.keys import write_key_file
    from polytraders.runtime.clock import WallClock
    from polytraders.runtime.runner import Runtime
    from polytraders.state.store import StateStore

    if len(admin) != 2 or admin[0].lower() == admin[1].lower():
        raise BadInputError("Give exactly two different admins: --admin NAME --admin NAME (names are "
                            "compared regardless of case). A reset needs a second person.")
    path = resolve_db_path(db)
    folder = keys_dir or Path(str(path) + ".keys")
    targets = [folder / "system.key", *(folder / f"{n}.key" for n in admin)]
    taken = [str(t) for t in targets if t.exists()]
    if taken or path.exists():
        raise BadInputError(f"Refusing to overwrite: {', '.join(taken or [str(path)])} exists already.")
    system = Signer.generate()
    signers = {n: Signer.generate() for n in admin}
    clock = WallClock()
    genesis = Genesis(journal_mode="live", journal_id=secrets.token_hex(16), system_key=system.public_hex,
                      admins=tuple(OperatorKey(name=n, public_key=s.public_hex) for n, s in signers.items()),
                      created_ms=clock.now_ms())
    journal = create_journal(path, genesis)
    try:
        write_key_file(targets[0], "system", system, "live")
        for n, s in signers.items():
            write_key_file(folder / f"{n}.key", n, s, "live")
        rt = Runtime(journal, clock, StateStore(), system_signer=system)
        rt.state.rebuild(journal)
        rt.open_session(purpose="init")
        rt.write_digest(final=True)
    finally:
        journal.close()
    result = {"db": str(path), "mode": "live", "journal_id": genesis.journal_id,
              "system_key_file": str(targets[0]), "anchors": str(anchors_dir(path)),
              "admins": {n: str(folder / f"{n}.key") for n in admin}}
    if as_json:
        print_json(result)
        return
    console.print(f"Live journal {path} created (id {genesis.journal_id}).", markup=False)
    for n in admin:
        console.print(f"  admin {n}: key file {folder / f'{n}.key'}", markup=False)
    console.print(f"  system key (for 'run' and 'journal seal'): {targets[0]}\n  digest anchors: {anchors_dir(path)}\n"
                  f"Give each admin their own key file and delete the other copies; an admin acts with "
                  f"POLYTRADERS_KEY_FILE=<their file>. export POLYTRADERS_DB={path}", markup=False)
