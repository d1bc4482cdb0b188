"""Shared tools for the trust tests: journals with a real identity, an insider's forging kit
(raw SQLite writes with valid chain hashes), and ways to run the CLI.

The forging kit writes exactly what someone with write access to the file could write: it opens
the file with the `sqlite3` module, computes `entry_body`/`entry_hash` so the chain links, and
(where it has a key) signs with `signing_bytes`, so only the protections under test stand in
the way. Nothing here goes through the journal classes for writing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from polytraders.cli.main import app
from polytraders.contracts import Checkpoint, KillSwitchEvent, Note, OperatorRecord, Scope
from polytraders.contracts.base import Contract
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal.base import entry_body, entry_hash
from polytraders.journal.codec import canonical
from polytraders.journal.digests import anchors_dir
from polytraders.journal.signatures import Signer, signing_bytes

T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z, the demo's start
SYSTEM = Actor(kind="system", id="runtime")
PYTHON = sys.executable


# -- running the CLI -----------------------------------------------------------------------------

@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def clean_env(**extra: str | None) -> dict[str, str | None]:
    """An environment with no Polytraders variables, plus `extra` (None unsets)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("POLYTRADERS_")}
    env.update(extra)
    return env


def cli(args: Sequence[str], **env: str | None) -> Ran:
    """Run the CLI in this process (typer's CliRunner), environment cleaned of POLYTRADERS_*."""
    result = CliRunner().invoke(app, list(args), env=clean_env(**env), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args} raised {result.exception!r}\n{result.output}") from result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def cli_proc(args: Sequence[str], *, cwd: Path | None = None, timeout: float = 120,
             **env: str | None) -> Ran:
    """Run `polytraders ARGS` as a real process."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("POLYTRADERS_")}
    full.update({k: v for k, v in env.items() if v is not None})
    proc = subprocess.run([PYTHON, "-m", "polytraders.cli.main", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout)
    return Ran(proc.returncode, proc.stdout, proc.stderr)


# -- journals ------------------------------------------------------------------------------------

def copy_journal(src: Path, dst: Path) -> Path:
    """Copy a closed journal and its anchors (and keys) to `dst`."""
    shutil.copyfile(src, dst)
    for suffix in (".anchors", ".keys"):
        if Path(str(src) + suffix).exists():
            shutil.copytree(Path(str(src) + suffix), Path(str(dst) + suffix))
    return dst


def file_state(path: Path) -> tuple[bytes, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, st.st_mode


def raw_rows(db: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """(seq, hash, entry body as JSON) for every row, straight from the file."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT seq, hash, body FROM journal ORDER BY seq").fetchall()
    finally:
        con.close()
    return [(int(s), bytes(h).decode(), orjson.loads(canonical(bytes(b)))) for s, h, b in rows]


def journal_bytes_and_head(db: Path) -> tuple[int, int, str]:
    """(size of file + WAL, head seq, head hash): a cheap 'nothing was written' fingerprint."""
    size = db.stat().st_size + (Path(str(db) + "-wal").stat().st_size if Path(str(db) + "-wal").exists() else 0)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        seq, h = con.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return size, int(seq), bytes(h).decode()


# -- the insider's forging kit -----------------------------------------------------------------

def envelope_dict(contract: Contract, *, actor: Actor, reason_code: str, ts_ms: int,
                  correlation_id: str | None = None) -> dict[str, Any]:
    return ReportEnvelope.wrap(contract, actor=actor, reason_code=reason_code, ts_ms=ts_ms,
                               correlation_id=correlation_id).to_json_dict()


def _genesis(con: sqlite3.Connection) -> dict[str, Any]:
    body = con.execute("SELECT body FROM journal WHERE seq = 1").fetchone()[0]
    return dict(orjson.loads(canonical(bytes(body)))["envelope"]["payload"])


def _insert(con: sqlite3.Connection, seq: int, prev: str, env: dict[str, Any]) -> str:
    body = entry_body(seq, prev, env)
    digest = entry_hash(body)
    corr = env.get("correlation_id")
    row = {"seq": seq, "hash": digest.encode("ascii"), "body": body, "kind": env["kind"].encode(),
           "correlation_id": corr.encode() if corr is not None else None,
           "actor": f"{env['actor']['kind']}:{env['actor']['id']}".encode(), "ts_ms": env["ts_ms"]}
    # a forger fills in whichever copies the table keeps (journals made before also keep actor, ts)
    columns = [r[1] for r in con.execute("PRAGMA table_info(journal)")]
    con.execute(f"INSERT INTO journal({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                [row[c] for c in columns])
    return digest


def sign_at(env: dict[str, Any], signer: Signer, journal_id: str, seq: int, prev: str) -> dict[str, Any]:
    unsigned = {k: v for k, v in env.items() if k != "signature"}
    return {**unsigned, "signature": {"by": signer.public_hex,
                                      "sig": signer.sign(signing_bytes(journal_id, seq, prev, unsigned))}}


def forge_append(db: Path, env: dict[str, Any], signer: Signer | None = None) -> int:
    """Append `env` at the head with a valid chain hash (signed where it lands when `signer`).
    Returns the new seq."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        seq, prev = con.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = int(seq) + 1, bytes(prev).decode()
        if signer is not None:
            env = sign_at(env, signer, str(_genesis(con)["journal_id"]), seq, prev)
        _insert(con, seq, prev, env)
        con.execute("COMMIT")
    finally:
        con.close()
    return seq


def forge_raw_append(db: Path, env: dict[str, Any]) -> int:
    """Append `env` exactly as given (e.g. a signature copied from elsewhere)."""
    return forge_append(db, env)


def rewrite_and_rehash(db: Path, seq: int, mutate: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Replace the envelope at `seq` with `mutate(envelope)` and re-hash every later entry so the
    chain links again (signatures are kept as they were: the insider has no keys)."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        rows = con.execute("SELECT seq, body FROM journal WHERE seq >= ? ORDER BY seq", (seq,)).fetchall()
        prev = bytes(con.execute("SELECT hash FROM journal WHERE seq = ?", (seq - 1,)).fetchone()[0]).decode()
        con.execute("DELETE FROM journal WHERE seq >= ?", (seq,))
        for s, body in rows:
            env = orjson.loads(canonical(bytes(body)))["envelope"]
            if s == seq:
                env = mutate(env)
            prev = _insert(con, int(s), prev, env)
        con.execute("COMMIT")
    finally:
        con.close()


def truncate_after(db: Path, last_kept: int) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("DELETE FROM journal WHERE seq > ?", (last_kept,))
    finally:
        con.close()


# -- envelopes an insider would forge -------------------------------------------------------------

def reset_event(trip_id: str, *, approver: str = "bob", requester: str = "alice", request_id: str = "rr_forged",
                ts_ms: int = T0 + 60_000, actor: Actor | None = None) -> dict[str, Any]:
    return envelope_dict(
        KillSwitchEvent(event="reset", trip_id=trip_id, trigger="manual", scope=Scope(),
                        observed=Decimal(0), threshold=Decimal(1), at_ms=ts_ms,
                        detail={"request_id": request_id, "requester": requester, "approver": approver}),
        actor=actor or Actor(kind="operator", id=approver), reason_code="RISK_KILLSWITCH_RESET", ts_ms=ts_ms)


def reset_request(trip_id: str, *, requester: str = "alice", request_id: str = "rr_forged",
                  ts_ms: int = T0 + 50_000) -> dict[str, Any]:
    return envelope_dict(
        Note(detail={"request_id": request_id, "trip_id": trip_id, "requester": requester,
                     "expires_at_ms": ts_ms + 600_000}),
        actor=Actor(kind="operator", id=requester), reason_code="RISK_KILLSWITCH_RESET_REQUESTED", ts_ms=ts_ms)


def operator_record(name: str, public_key: str, *, role: str = "admin", by: str = "root",
                    request_seq: int | None = None, ts_ms: int = T0 + 60_000,
                    actor: Actor | None = None) -> dict[str, Any]:
    return envelope_dict(
        OperatorRecord(name=name, role=role, public_key=public_key, registered_by=by,  # type: ignore[arg-type]
                       request_seq=request_seq),
        actor=actor or Actor(kind="operator", id=by), reason_code="GOV_OPERATOR_ADDED", ts_ms=ts_ms)


def checkpoint(upto_seq: int, state: dict[str, Any], ts_ms: int = T0 + 60_000) -> dict[str, Any]:
    return envelope_dict(Checkpoint(upto_seq=upto_seq, state=state), actor=SYSTEM,
                         reason_code="GOV_CHECKPOINT", ts_ms=ts_ms)


def anchors(db: Path) -> Path:
    return anchors_dir(db)


def edit_body(db: Path, seq: int, edit: Callable[[bytes], bytes]) -> None:
    """Change the canonical bytes of one entry without re-hashing anything (written back in the
    compact stored form, as an editor with the codec would)."""
    from polytraders.journal.codec import stored

    con = sqlite3.connect(db, isolation_level=None)
    try:
        (body,) = con.execute("SELECT body FROM journal WHERE seq = ?", (seq,)).fetchone()
        new = edit(canonical(bytes(body)))
        assert new != canonical(bytes(body)), "the edit changed nothing"
        con.execute("UPDATE journal SET body = ? WHERE seq = ?", (stored(new), seq))
    finally:
        con.close()
