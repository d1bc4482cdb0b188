"""`polytraders journal tail|verify|seal`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, console, fail, friendly, journal_from, operator_session, print_json
from polytraders.cli.timefmt import iso_utc, when
from polytraders.contracts.reasons import registry
from polytraders.errors import BadInputError, JournalCorruptError

app = typer.Typer(help="Read and verify the hash-chained journal.", no_args_is_help=True)


@app.command("tail")
@friendly
def tail(
    n: Annotated[int, typer.Option("-n", min=1, max=100_000, help="How many entries.")] = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the last N envelopes."""
    with journal_from(db) as j:
        entries = j.tail(n)
    if as_json:
        print_json([{"seq": e.seq, "hash": e.hash, "prev_hash": e.prev_hash,
                     "envelope": e.envelope.to_json_dict()} for e in entries])
        return
    now = int(time.time() * 1000)
    last = f", last {when(entries[-1].envelope.ts_ms, now)}" if entries else ""
    table = Table(title=f"last {len(entries)} envelopes (times UTC{last})")
    for col in ("seq", "time (UTC)", "actor", "kind", "reason", "correlation id (trace it)", "meaning"):
        table.add_column(col, overflow="fold", no_wrap=col.startswith(("time", "when", "since")))
    reg = registry()
    for e in entries:
        env = e.envelope
        meaning = reg[env.reason_code].user_message if env.reason_code in reg else ""
        table.add_row(str(e.seq), iso_utc(env.ts_ms), env.actor.label(), env.kind, env.reason_code,
                      env.correlation_id or "", meaning)
    console.print(table)


@app.command("verify")
@friendly
def verify(
    db: DbOpt = None,
    anchors: Annotated[Path | None, typer.Option("--anchors", help="Anchor directory (default <db>.anchors).")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the chain against the signed digests and their anchors, and every signature.

    Reports separately: corruption, chain (unhashed edits), rewrite (re-hashed edits),
    truncation, missing digests, bad signatures, entries refused as tampering, payloads
    skipped, and the unanchored tail. Exit 0 intact, 1 damaged, 2 missing or not a journal.
    Works on a read-only copy: nothing is written."""
    from polytraders.journal.digests import anchors_dir
    from polytraders.journal.sqlite import resolve_db_path
    from polytraders.journal.verify import verify_journal
    from polytraders.state.standard import build_full_state

    path = resolve_db_path(db)
    with journal_from(db) as j:
        report = verify_journal(j, anchors or anchors_dir(path))
        problems: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        if not report.damaged:
            state = build_full_state()
            try:
                state.rebuild(j, use_checkpoint=False)
            except JournalCorruptError as exc:
                report.add("chain", None, exc.message)
            problems, skipped = state.trust.problems, state.skipped
    damaged = report.damaged or any(p["verdict"] == "tampered" for p in problems)
    data = {"ok": not damaged, "entries": report.entries, "head_hash": report.head_hash,
            "digests": report.digests, "last_digest_seq": report.last_digest_seq, "anchors": report.anchors,
            "first_bad_seq": report.first_bad_seq() or next((p["seq"] for p in problems
                                                            if p["verdict"] == "tampered"), None),
            "findings": [f.to_json() for f in report.findings], "refused_entries": problems,
            "skipped_payloads": skipped}
    if as_json:
        if damaged:  # the report is the error: scripts read "error" and "reason_code" like any other
            data |= {"error": f"journal verification failed: first bad seq {data['first_bad_seq']}",
                     "reason_code": "GOV_JOURNAL_TAMPERED"}
        print_json(data)
        if damaged:
            raise typer.Exit(1)
        return
    for f in report.findings:
        console.print(f"{f.kind}{'' if f.seq is None else f' at seq {f.seq}'}: {f.detail}", markup=False)
    for p in problems:
        console.print(f"{p['verdict']} at seq {p['seq']}: {p['reason']} ({p['kind']} {p['reason_code']} "
                      f"by {p['actor']}); not applied", markup=False, highlight=False)
    for sk in skipped:
        console.print(f"skipped payload at seq {sk['seq']} in {sk['projection']}: {sk['error']}", markup=False)
    if damaged:
        raise fail(f"Journal verification FAILED: first bad seq {data['first_bad_seq']}. {report.entries} entries, "
                   f"{report.digests} digests.")
    console.print(f"OK: {report.entries} entries, {report.digests} signed digests (last at seq "
                  f"{report.last_digest_seq}), head hash {report.head_hash}", markup=False)


@app.command("seal")
@friendly
def seal(
    db: DbOpt = None,
    system_key: Annotated[Path | None, typer.Option("--system-key", help="System key file (default "
                                                     "<db>.keys/system.key).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a digest signed with the system key (admin): vouches for the entries after the last
    digest, e.g. the tail a crashed system left behind."""
    from polytraders.journal.sqlite import resolve_db_path
    from polytraders.operators.keys import load_key_file

    path = resolve_db_path(db)
    key = load_key_file(system_key or Path(str(path) + ".keys") / "system.key")
    with operator_session(db, "journal.seal") as s:
        if key.public_hex != s.runtime.state.trust.system_key:
            raise BadInputError("That key is not this journal's system key.")
        s.runtime.note("GOV_JOURNAL_SEALED", actor=s.operator.actor, durable=True,
                       sealed_by=s.operator.name)
        s.runtime.system_signer = key.signer
        s.runtime.is_system = True
        entry = s.runtime.write_digest()
        s.runtime.is_system = False
    assert entry is not None
    if as_json:
        print_json({"digest_seq": entry.seq, "hash": entry.hash})
        return
    console.print(f"Sealed: digest at seq {entry.seq} vouches for every entry before it.", markup=False)
