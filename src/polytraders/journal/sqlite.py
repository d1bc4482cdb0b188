"""SQLite (WAL) journal backend: one file, no server, safe for several appending processes.

Rows hold `seq`, `hash` and the canonical `body` bytes, plus a few columns copied out of the body
(kind, actor, correlation id, ts) so readers can filter without parsing every row; `verify`
checks those copies against the body too, so a flipped byte anywhere in a row is found.

Concurrency: each write transaction is `BEGIN IMMEDIATE`, which takes SQLite's write lock
before the head is read, so two processes can never both extend the same head.

Durability: `durable=True` appends commit before returning. Other appends are group-committed
(every `batch_size` entries or on `flush`). `synchronous=FULL` (the default) also fsyncs each
commit; `synchronous="NORMAL"` keeps commits safe against a process crash but not a power cut,
which is the right trade for a simulation.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from polytraders.contracts.envelope import ReportEnvelope
from polytraders.errors import JournalCorruptError, describe_validation_error
from polytraders.journal.base import (
    GENESIS_HASH,
    JournalEntry,
    VerifyResult,
    entry_body,
    entry_hash,
)

DEFAULT_DB = "polytraders.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    body BLOB NOT NULL,
    kind BLOB NOT NULL,
    actor BLOB NOT NULL,
    correlation_id BLOB,
    ts_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_kind ON journal(kind);
CREATE INDEX IF NOT EXISTS journal_corr ON journal(correlation_id);
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    return Path(db or os.environ.get("POLYTRADERS_DB") or DEFAULT_DB)


class SqliteJournal:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        batch_size: int = 512,
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise JournalCorruptError(
                f"No journal at {self.path}: the file does not exist. Pass --db or set "
                f"POLYTRADERS_DB to an existing journal, or run a command that creates one.",
            )
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise JournalCorruptError(
                f"The file {self.path} is not a readable Polytraders journal ({exc}). Point --db "
                f"at a journal file, or move this file aside and start a new journal.",
            ) from None
        self._batch_size = batch_size
        self._pending = 0
        self._head: tuple[int, str] | None = None  # valid only inside a write transaction

    # -- writing -----------------------------------------------------------------------------

    def _begin(self) -> tuple[int, str]:
        if self._head is None:
            self._db.execute("BEGIN IMMEDIATE")
            self._head = self._read_head()
        return self._head

    def _read_head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return 0, GENESIS_HASH
        return int(row[0]), bytes(row[1]).decode("ascii", "replace")

    def _insert(self, envelope: ReportEnvelope) -> JournalEntry:
        seq, prev = self._begin()
        seq += 1
        env = envelope.to_json_dict()
        body = entry_body(seq, prev, env)
        digest = entry_hash(body)
        corr = envelope.correlation_id
        self._db.execute(
            "INSERT INTO journal(seq, hash, body, kind, actor, correlation_id, ts_ms) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                seq,
                digest.encode("ascii"),
                body,
                envelope.kind.encode(),
                envelope.actor.label().encode(),
                corr.encode() if corr is not None else None,
                envelope.ts_ms,
            ),
        )
        self._head = (seq, digest)
        self._pending += 1
        return JournalEntry(seq, prev, digest, envelope)

    def append(self, envelope: ReportEnvelope, *, durable: bool = False) -> JournalEntry:
        entry = self._insert(envelope)
        if durable or self._pending >= self._batch_size:
            self.flush()
        return entry

    def append_many(self, envelopes: Sequence[ReportEnvelope]) -> list[JournalEntry]:
        entries = [self._insert(e) for e in envelopes]
        self.flush()
        return entries

    def flush(self) -> None:
        if self._head is not None:
            self._db.execute("COMMIT")
            self._head = None
            self._pending = 0

    def rollback(self) -> None:
        if self._head is not None:
            self._db.execute("ROLLBACK")
            self._head = None
            self._pending = 0

    # -- reading -----------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        if self._head is not None:
            return self._head
        return self._read_head()

    def _decode(self, seq: int, hash_: bytes, body: bytes) -> JournalEntry:
        try:
            data: dict[str, Any] = orjson.loads(body)
            env = ReportEnvelope.model_validate(data["envelope"])
            return JournalEntry(seq, str(data["prev_hash"]), bytes(hash_).decode("ascii"), env)
        except ValidationError as exc:
            raise JournalCorruptError(
                f"Journal entry seq {seq} in {self.path} does not hold a valid envelope: "
                + describe_validation_error("envelope", exc)
                + " Run 'polytraders journal verify' to locate tampering.",
            ) from None
        except (orjson.JSONDecodeError, KeyError, UnicodeDecodeError, TypeError) as exc:
            raise JournalCorruptError(
                f"Journal entry seq {seq} in {self.path} is unreadable ({type(exc).__name__}); "
                f"run 'polytraders journal verify' to locate tampering.",
            ) from None

    def read(
        self,
        from_seq: int = 1,
        to_seq: int | None = None,
        *,
        kinds: Iterable[str] | None = None,
        correlation_id: str | None = None,
    ) -> Iterator[JournalEntry]:
        sql = "SELECT seq, hash, body FROM journal WHERE seq >= ?"
        params: list[Any] = [from_seq]
        if to_seq is not None:
            sql += " AND seq <= ?"
            params.append(to_seq)
        if kinds is not None:
            kind_list = [k.encode() for k in kinds]
            sql += f" AND kind IN ({','.join('?' * len(kind_list))})"
            params.extend(kind_list)
        if correlation_id is not None:
            sql += " AND correlation_id = ?"
            params.append(correlation_id.encode())
        sql += " ORDER BY seq"
        cursor = self._db.execute(sql, params)
        while True:
            rows = cursor.fetchmany(1000)
            if not rows:
                return
            for seq, hash_, body in rows:
                yield self._decode(int(seq), hash_, body)

    def tail(self, n: int) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT seq, hash, body FROM journal ORDER BY seq DESC LIMIT ?", (n,)
        ).fetchall()
        return [self._decode(int(s), h, b) for s, h, b in reversed(rows)]

    def last_of_kind(self, kind: str) -> JournalEntry | None:
        row = self._db.execute(
            "SELECT seq, hash, body FROM journal WHERE kind = ? ORDER BY seq DESC LIMIT 1",
            (kind.encode(),),
        ).fetchone()
        return self._decode(int(row[0]), row[1], row[2]) if row else None

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM journal").fetchone()[0])

    # -- verification ------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Recompute every hash and link; name the first sequence that is wrong."""
        prev = GENESIS_HASH
        expected_seq = 0
        count = 0
        cursor = self._db.execute(
            "SELECT seq, hash, body, kind, actor, correlation_id, ts_ms FROM journal ORDER BY seq"
        )

        def bad(seq: int, problem: str) -> VerifyResult:
            return VerifyResult(False, count, prev, seq, problem)

        for seq, hash_, body, kind, actor, corr, ts_ms in cursor:
            expected_seq += 1
            if seq != expected_seq:
                return bad(expected_seq, f"sequence gap: expected {expected_seq}, found {seq}")
            body_b = bytes(body) if isinstance(body, bytes | memoryview) else str(body).encode()
            stored = bytes(hash_) if isinstance(hash_, bytes | memoryview) else str(hash_).encode()
            if entry_hash(body_b).encode() != stored:
                return bad(seq, "content hash does not match the stored hash")
            try:
                data = orjson.loads(body_b)
                env = data["envelope"]
                actor_label = f"{env['actor']['kind']}:{env['actor']['id']}"
                copies_ok = (
                    data["seq"] == seq
                    and env["kind"].encode() == _b(kind)
                    and actor_label.encode() == _b(actor)
                    and (env.get("correlation_id") or None) == (_b(corr).decode() if corr else None)
                    and env["ts_ms"] == ts_ms
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
                return bad(seq, "entry body is not valid journal JSON")
            if data["prev_hash"] != prev:
                return bad(seq, "link to the previous entry is broken (prev_hash mismatch)")
            if not copies_ok:
                return bad(seq, "indexed columns do not match the entry body")
            prev = stored.decode("ascii", "replace")
            count += 1
        return VerifyResult(True, count, prev)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.rollback()
        self.close()


def _b(v: Any) -> bytes:
    if v is None:
        return b""
    return bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()


def open_journal(
    db: str | os.PathLike[str] | None = None,
    *,
    synchronous: Literal["FULL", "NORMAL"] = "FULL",
    create: bool = True,
) -> SqliteJournal:
    return SqliteJournal(resolve_db_path(db), synchronous=synchronous, create=create)
