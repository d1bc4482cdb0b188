"""SQLite (WAL) journal backend: one file, no server, safe for several appending processes.

Rows hold `seq`, `hash` and the `body` (the canonical bytes the hash is over, stored in the
compact form of `journal/codec.py`: zstd with a fixed dictionary; older rows hold the canonical
JSON itself), plus the columns readers filter by, copied out of the body (kind, correlation
id; journals made before the second speed round also copy actor and ts, and keep doing so);
`verify` checks those copies against the body too, so a flipped byte anywhere in a row is found.
New journals have no secondary index on those copies: keeping two indexes current cost about
a seventh of an append, while a reader's filtered scan of 100,000 rows costs about 20 ms
without them (`benchmarks/bench_cli.py`).
Journals made before keep their indexes; nothing here changes an existing file's schema. The one
index a new journal has is partial: it holds only the rows that say who may act (`TRUST_KINDS`).

Opening: `create_journal` makes a new file (never over an existing one) and writes its genesis;
`open_journal` opens an existing journal and refuses anything else. A reader opens read-only
(`mode=ro`) and never creates or changes the file. Every process holds a shared `flock` on
`<db>.lock`, so "in use by another process" can be known.

Concurrency: each write transaction is `BEGIN IMMEDIATE`, which takes SQLite's write lock
before the head is read, so two processes can never both extend the same head. `on_begin` is
called with the head seq right after the lock is taken, so a process can fold what others
committed before it appends: its own entries then never jump over anyone else's.

Durability: `durable=True` appends commit before returning. Other appends are group-committed
(every `batch_size` entries or on `flush`). `synchronous=FULL` (the default) also fsyncs each
commit; `synchronous="NORMAL"` keeps commits safe against a process crash but not a power cut,
which is the right trade for a simulation.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from hashlib import sha256
from pathlib import Path
from typing import Any, Literal

import orjson
import zstandard
from pydantic import ValidationError

from polytraders.contracts.envelope import Actor, ReportEnvelope, Signature
from polytraders.contracts.trust import Genesis
from polytraders.errors import JournalCorruptError, JournalMissingError, describe_validation_error
from polytraders.journal.base import (
    GENESIS_HASH,
    JournalEntry,
    VerifyResult,
    entry_body,
    entry_hash,
    envelope_entry_body,
    is_hash,
)
from polytraders.journal.codec import MAX_BODY_BYTES, ZSTD_MAGIC, canonical_or_stored, compressor, decompressor
from polytraders.journal.envelope_decode import EnvelopeDecoder
from polytraders.journal.signatures import Signer, signing_bytes

DEFAULT_DB = "polytraders.db"
SQLITE_MAGIC = b"SQLite format 3\x00"
NEW_PAGE_SIZE = 8192
WAL_CHECKPOINT_PAGES = 1000  # SQLite's own automatic threshold, kept for checkpoints at safe points

# A new journal's table. Journals made before also copy `actor` and `ts_ms` out of the body
# (`_SCHEMA_V1`): nothing ever selected rows by them, and the two columns cost about 0.5 us of
# an append's ~10. Such journals keep their columns, and appends to them still fill them in.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    body BLOB NOT NULL,
    kind BLOB NOT NULL,
    correlation_id BLOB
);
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_SCHEMA_V1 = _SCHEMA.replace("    correlation_id BLOB\n", """    actor BLOB NOT NULL,
    correlation_id BLOB,
    ts_ms INTEGER NOT NULL
""")
# Who may act (genesis, operator records, operator commands) is all an operator's session folds
# before an emergency trip (`StateStore.load_trust`); without an index that read scans every row,
# a few ms per 10,000 entries, and streams the whole file through the CPU's caches just before the
# running system reads the trip. A partial index holds only those rows, so an append of any other
# kind pays one comparison and no index write. Made in new journals only; older ones scan.
TRUST_KINDS = ("genesis", "operator", "operator_command")
# kinds are stored as BLOBs; `=`s joined by OR, not `IN (...)`, which SQLite evaluates on every
# insert by building a temporary table of the list (about 30k instructions an append)
_TRUST_KIND_SQL = "(" + " OR ".join(f"kind = X'{k.encode().hex()}'" for k in TRUST_KINDS) + ")"
_TRUST_INDEX = "journal_trust"
_TRUST_INDEX_SQL = f"CREATE INDEX IF NOT EXISTS {_TRUST_INDEX} ON journal(seq) WHERE {_TRUST_KIND_SQL}"
_COLUMNS = frozenset({"seq", "hash", "body", "kind", "correlation_id"})
_V1_COLUMNS = _COLUMNS | {"actor", "ts_ms"}


_INSERT = "INSERT INTO journal(seq, hash, body, kind, correlation_id) VALUES (?,?,?,?,?)"
_INSERT_V1 = "INSERT INTO journal(seq, hash, body, kind, actor, correlation_id, ts_ms) VALUES (?,?,?,?,?,?,?)"


# Blob parameters are bound as `bytearray`s, never `bytes`: the sqlite3 module binds a
# bytearray's buffer as it is, while a `bytes` object first goes through its adapter lookup,
# which raises and clears two AttributeErrors per parameter (about 2,000 instructions each, four
# blobs a row). SQLite copies the bytes when it binds them, so the stored values are the same
# blobs, byte for byte; a shared bytearray (one per envelope kind) is never mutated.
_blob = bytearray
_KIND_BLOBS: dict[str, bytearray] = {}


class JournalWriteError(JournalCorruptError):
    """The journal could not be written (full disk, read-only file system, I/O error)."""


class JournalBusyError(JournalWriteError):
    """The write lock could not be had in time (another process holds it)."""


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    return Path(db or os.environ.get("POLYTRADERS_DB") or DEFAULT_DB)


def lock_path(db: Path) -> Path:
    return Path(str(db) + ".lock")


def halt_path(db: Path) -> Path:
    """The halt file every process obeys (engine/kill_switch_ops.py); here so that reading it
    needs no engine import."""
    return Path(str(db) + ".halt")


class SqliteJournal:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        batch_size: int = 512,
        create: bool = True,
        readonly: bool = False,
        lock_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        # appended rows not yet handed to SQLite: (seq, hash, canonical body, kind, corr), with
        # (actor, ts) after them for a journal of the first form
        self._rows: list[tuple[Any, ...]] = []
        self._lock_fd: int | None = None
        if not create or readonly:
            check_is_journal_file(self.path)
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                           timeout=lock_timeout_s, check_same_thread=False)
            else:
                self._db = sqlite3.connect(self.path, isolation_level=None, timeout=lock_timeout_s,
                                           check_same_thread=False)
            problem = self._foreign_problem(require_genesis=not create)
        except sqlite3.DatabaseError as exc:
            raise JournalMissingError(
                f"The file {self.path} is not a readable Polytraders journal ({exc}). Point --db "
                f"at a journal made by 'polytraders init' or 'polytraders demo'.",
            ) from None
        if problem is not None:
            self._db.close()
            raise JournalMissingError(f"{self.path} is an SQLite file but not a Polytraders journal ({problem}); "
                                      f"it was left untouched. Point --db at a journal made by 'polytraders init'.")
        # only now that the file is known to be ours (or one being created) may anything change;
        # readers make the lock file too, so "in use" is knowable even for a copied journal
        self._lock_fd = _share_lock(self.path)
        if not readonly:
            new_file = self._db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
            if new_file:
                # a new file only (an existing journal keeps its page size; SQLite ignores the
                # pragma once the file has content): 8 KiB pages take a ~320 B row with half
                # the WAL frames and page headers of 4 KiB ones, about 0.4 µs less per append
                self._db.execute(f"PRAGMA page_size={NEW_PAGE_SIZE}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
            if new_file:
                self._db.execute(_TRUST_INDEX_SQL)
        self._trust_index = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                             (_TRUST_INDEX,)).fetchone() is not None
        # the first form (see `_SCHEMA`): its extra copies are written and verified as before
        self._v1 = {r[1] for r in self._db.execute("PRAGMA table_info(journal)")} >= _V1_COLUMNS
        self._lock_timeout_s = lock_timeout_s
        self._insert_cursor = self._db.cursor()
        self._last_of_kind: dict[str, tuple[tuple[str, int, bytes], JournalEntry]] = {}
        # every row read is validated; each distinct envelope header only once (envelope_decode.py)
        self._envelope = EnvelopeDecoder()
        self._batch_size = batch_size
        self._pending = 0
        self._plain_prev = True  # the head hash is one `entry_hash` made (see `_begin`)
        self._held = False  # an explicit `begin`: no batch commit until the holder commits
        self._head: tuple[int, str] | None = None  # valid only inside a write transaction
        self._data_version = self._read_data_version()
        # the head this connection last committed, and `PRAGMA data_version` inside that write
        # transaction: while the version is the same at the next lock, nobody else has committed
        # since (SQLite changes it for every other connection's commit, never for our own), so
        # that head is still the head and need not be read (see `_begin`)
        self._own_head: tuple[int, str] | None = None
        self._own_version = -1
        self._page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self._checkpoint_pages: int | None = None  # set by `defer_wal_checkpoints`
        self._wal_pages = 0  # an estimate of the log's pages since this connection's last checkpoint
        self._wal_bytes = 0  # row bytes handed to SQLite since the last commit
        # called with the head seq right after the write lock is taken (see module docstring)
        self.on_begin: Callable[[int], None] | None = None
        self.journal_id, self.mode = self._identity()

    # -- identity ------------------------------------------------------------------------------

    def _foreign_problem(self, *, require_genesis: bool) -> str | None:
        """Why this file is not one of our journals, read without changing anything; None if it is
        (or, when creating, if it is still empty)."""
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and not require_genesis:
            return None  # a new file we are creating
        if "journal" not in tables:
            return "it has no journal table"
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(journal)")}
        if not columns >= _COLUMNS:
            return "its journal table is not ours"
        if require_genesis and self._identity()[1] is None:
            return "its first entry is not a genesis entry"
        return None

    def _identity(self) -> tuple[str, str | None]:
        self._sync_rows()
        row = self._db.execute("SELECT body FROM journal WHERE seq = 1").fetchone()
        if row is None:
            return "", None
        try:
            env = orjson.loads(canonical_or_stored(as_bytes(row[0])))["envelope"]
            if env["kind"] != "genesis":
                return "", None
            return str(env["payload"]["journal_id"]), str(env["payload"]["journal_mode"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return "", None

    def refresh_identity(self) -> None:
        self.journal_id, self.mode = self._identity()

    # -- writing -----------------------------------------------------------------------------

    def _begin(self) -> tuple[int, str]:
        if self._head is None:
            if self.readonly:
                raise JournalWriteError(f"{self.path} was opened read-only; this command cannot write.")
            self._lock_immediate()
            # read with the lock held: no other connection can commit until we do
            version = self._read_data_version()
            if version == self._own_version and self._own_head is not None:
                self._head = self._own_head
            else:
                self._head = self._read_head()
                # a head hash this process did not make may be anything (a damaged row): then
                # the first body is built the general way, which escapes it
                self._plain_prev = is_hash(self._head[1])
            self._own_version = version
            if self.on_begin is not None:
                try:
                    self.on_begin(self._head[0])
                except BaseException:
                    self.rollback()
                    raise
            # every commit before the lock is folded now: `changed` starts again from here (our
            # own commit will not change the version)
            self._data_version = version
        return self._head

    def _lock_immediate(self) -> None:
        """Take the write lock. Short, frequent retries: a trading process frees it between steps
        only briefly, and SQLite's own busy handler sleeps up to 100 ms between tries."""
        deadline = time.monotonic() + self._lock_timeout_s
        self._db.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise JournalWriteError(f"Cannot write the journal {self.path}: {exc}.") from None
                    if time.monotonic() >= deadline:
                        raise JournalBusyError(
                            f"The journal {self.path} is busy: another process held its write lock for "
                            f"{self._lock_timeout_s:g} s.") from None
                    time.sleep(0.0005)
        finally:
            self._db.execute(f"PRAGMA busy_timeout={int(self._lock_timeout_s * 1000)}")

    def begin(self) -> int:
        """Take the write lock now (folding others' entries through `on_begin`) and hold it until
        a durable append or `flush`: a batch commit must not release it in the middle of a
        decision, or another process's trip could land between the vote and the order. Returns
        the head seq."""
        seq = self._begin()[0]
        self._held = True
        return seq

    def _read_head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return 0, GENESIS_HASH
        return int(row[0]), bytes(row[1]).decode("ascii", "replace")

    def _insert(self, envelope: ReportEnvelope, signer: Signer | None) -> JournalEntry:
        seq, prev = self._head if self._head is not None else self._begin()
        seq += 1
        env = envelope.to_json_dict()
        if signer is not None:
            env.pop("signature", None)
            sig = Signature(by=signer.public_hex,
                            sig=signer.sign(signing_bytes(self.journal_id, seq, prev, env)))
            env["signature"] = {"by": sig.by, "sig": sig.sig}
            contract = envelope._contract
            envelope = envelope.model_copy(update={"signature": sig})
            envelope._contract = contract
        body = envelope_entry_body(seq, prev, env) if self._plain_prev else entry_body(seq, prev, env)
        digest = sha256(body).hexdigest()
        corr = env["correlation_id"]
        # the blob columns as bytearrays: SQLite stores the same bytes, see `_blob`
        kind = env["kind"]
        kind_blob = _KIND_BLOBS.get(kind)
        if kind_blob is None:
            kind_blob = _KIND_BLOBS[kind] = _blob(kind.encode())
        if self._v1:
            actor = env["actor"]
            self._rows.append((seq, _blob(digest, "ascii"), body, kind_blob,
                               _blob(corr, "utf-8") if corr is not None else None,
                               _blob(f"{actor['kind']}:{actor['id']}", "utf-8"), env["ts_ms"]))
        else:
            self._rows.append((seq, _blob(digest, "ascii"), body, kind_blob,
                               _blob(corr, "utf-8") if corr is not None else None))
        self._head = (seq, digest)
        self._plain_prev = True
        self._pending += 1
        return JournalEntry(seq, prev, digest, envelope)

    def append(self, envelope: ReportEnvelope, *, durable: bool = False,
               signer: Signer | None = None) -> JournalEntry:
        entry = self._insert(envelope, signer)
        if durable or (self._pending >= self._batch_size and not self._held):
            self.flush()
        return entry

    def append_many(self, envelopes: Sequence[ReportEnvelope]) -> list[JournalEntry]:
        entries = [self._insert(e, None) for e in envelopes]
        self.flush()
        return entries

    def _write_rows(self) -> None:
        """Hand the appended rows to SQLite, compressing their bodies on the way. Rows wait in
        memory until a commit or a read on this connection needs them: compressing and inserting
        them together, with warm caches and one `executemany`, costs a fraction of doing it at
        each append. Nothing is committed here; a failure drops the whole transaction."""
        rows, self._rows = self._rows, []
        compress = compressor()
        try:
            stored: list[tuple[Any, ...]]
            if self._v1:
                stored = [(seq, digest, _blob(compress(body)), kind, actor, corr, ts)
                          for seq, digest, body, kind, corr, actor, ts in rows]
            else:
                stored = [(seq, digest, _blob(compress(body)), kind, corr) for seq, digest, body, kind, corr in rows]
            self._wal_bytes += sum([len(row[2]) for row in stored])
            self._insert_cursor.executemany(_INSERT_V1 if self._v1 else _INSERT, stored)
        except sqlite3.OperationalError as exc:
            self.rollback()
            raise JournalWriteError(f"Cannot write the journal {self.path}: {exc}.") from None

    def _sync_rows(self) -> None:
        """Before any read on this connection: the rows appended so far, visible to it."""
        if self._rows:
            self._write_rows()

    def flush(self) -> None:
        if self._head is not None:
            if self._rows:
                self._write_rows()
            head = self._head
            try:
                self._db.execute("COMMIT")
                self._own_head = head
            except sqlite3.OperationalError as exc:
                self.rollback()
                raise JournalWriteError(f"Cannot commit to the journal {self.path}: {exc}.") from None
            finally:
                self._head = None
                self._pending = 0
                self._held = False
            # a commit's log frames: the pages its rows filled, plus the leaf and interior pages
            # it touched (two, as a rule, for appends at the end of one table)
            self._wal_pages += 2 + self._wal_bytes // self._page_size
            self._wal_bytes = 0

    def defer_wal_checkpoints(self, pages: int = WAL_CHECKPOINT_PAGES) -> None:
        """Copy the write-ahead log back into the database at this writer's safe points
        (`checkpoint_if_due`), not inside whichever commit crosses SQLite's automatic threshold:
        a checkpoint costs milliseconds (8-9 ms measured on the 2-core machine) and had landed
        inside a kill-switch trip's durable commit. SQLite's own checkpoint stays on, at four
        times the threshold, for a writer that reaches no safe point for a long while."""
        self._checkpoint_pages = pages
        self._db.execute(f"PRAGMA wal_autocheckpoint={4 * pages}")

    def leave_wal_checkpoints(self) -> None:
        """For a short-lived command's connection (the CLI's writes): never copy the log back into
        the database inside one of its commits. SQLite's automatic checkpoint runs in whichever
        commit crosses its threshold; when that was an operator's command, the running system's
        next read and commit found the log just checkpointed, and its kill-switch trip window took
        about 0.8 ms longer (every ~18th trip of `bench_order_path.py --trips-as operator`). The
        running system checkpoints at its safe points (`defer_wal_checkpoints`), and SQLite does
        when the last connection closes, so the log stays bounded without a running system."""
        self._db.execute("PRAGMA wal_autocheckpoint=0")

    def checkpoint_if_due(self) -> bool:
        """At a safe point, outside any transaction: a passive checkpoint once the log has grown
        by the threshold since the last one. Never waits for readers; what they still need stays
        in the log for a later checkpoint. True when one ran."""
        if self._checkpoint_pages is None or self._head is not None or self._wal_pages < self._checkpoint_pages:
            return False
        self._wal_pages = 0
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError:
            return False  # busy or full: SQLite's own checkpoint still bounds the log
        return True

    def rollback(self) -> None:
        self._rows = []
        self._own_head = None  # what we wrote is gone: the next lock reads the head
        self._wal_bytes = 0  # nothing of it reaches the log
        if self._head is not None or self._db.in_transaction:
            with contextlib.suppress(sqlite3.OperationalError):  # SQLite may have rolled back (SQLITE_FULL)
                self._db.execute("ROLLBACK")
            self._head = None
            self._pending = 0
            self._held = False

    @property
    def in_transaction(self) -> bool:
        return self._head is not None

    @property
    def held(self) -> bool:
        """A decision holds the write lock (`begin`) until its durable append."""
        return self._held

    # -- reading -----------------------------------------------------------------------------

    def _read_data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        """True when another connection committed since the last call (a ~1 µs head check)."""
        if self._head is not None:
            return False  # we hold the write lock: nobody else can have committed
        version = self._read_data_version()
        if version == self._data_version:
            return False
        self._data_version = version
        return True

    def head(self) -> tuple[int, str]:
        if self._head is not None:
            return self._head
        return self._read_head()

    def _decode(self, seq: int, hash_: bytes, body: bytes) -> JournalEntry:
        return self._decode_canonical(seq, hash_, canonical_or_stored(as_bytes(body)))

    def _decode_canonical(self, seq: int, hash_: bytes, body: bytes) -> JournalEntry:
        stored = bytes(hash_).decode("ascii", "replace")
        if entry_hash(body) != stored:
            raise JournalCorruptError(
                f"Journal {self.path} is damaged at seq {seq}: its content does not match its stored "
                f"hash. Run 'polytraders journal verify' for the full report.")
        try:
            data: dict[str, Any] = orjson.loads(body)
            if data["seq"] != seq:
                raise KeyError("seq")
            env: ReportEnvelope = self._envelope(data["envelope"])
            return JournalEntry(seq, str(data["prev_hash"]), stored, env)
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

    def decode_row(self, seq: int, hash_: bytes, body: bytes) -> JournalEntry:
        """One raw row (from `read_raw`, whose body is already the canonical bytes, or the stored
        ones where they do not decompress) as an entry, checked as `read` checks it."""
        return self._decode_canonical(seq, hash_, body)

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
            kinds = list(kinds)
            kind_list = [k.encode() for k in kinds]
            sql += f" AND kind IN ({','.join('?' * len(kind_list))})"
            params.extend(kind_list)
            if self._trust_index and kinds and set(kinds) <= set(TRUST_KINDS):
                # the index's own condition, word for word, lets SQLite use it; INDEXED BY makes
                # a query it cannot answer that way an error instead of a silent full scan
                sql = sql.replace("FROM journal WHERE", f"FROM journal INDEXED BY {_TRUST_INDEX} WHERE", 1) \
                    + f" AND {_TRUST_KIND_SQL}"
        if correlation_id is not None:
            sql += " AND correlation_id = ?"
            params.append(correlation_id.encode())
        sql += " ORDER BY seq"
        self._sync_rows()
        cursor = self._db.execute(sql, params)
        while True:
            rows = cursor.fetchmany(1000)
            if not rows:
                return
            for seq, hash_, body in rows:
                yield self._decode(int(seq), hash_, body)

    def read_raw(self, from_seq: int = 1, *, kinds: Iterable[str] | None = None,
                 descending: bool = False) -> Iterator[tuple[int, bytes, bytes, tuple[Any, ...]]]:
        """(seq, stored hash, canonical body, indexed copies) rows in order, not parsed: for
        `verify`. A body that does not decompress comes back as stored (its hash cannot match).
        The copies are (kind, actor, correlation id, ts); actor and ts are None in a journal of
        the current form, which does not keep them (in the first form they are NOT NULL).
        `kinds` selects by the kind copy, as `read` does; `descending` walks back from the head
        (rows are fetched as the caller goes, so stopping early reads no more)."""
        self._sync_rows()
        sql = (f"SELECT seq, hash, body, kind, {'actor' if self._v1 else 'NULL'}, correlation_id, "
               f"{'ts_ms' if self._v1 else 'NULL'} FROM journal WHERE seq >= ?")
        params: list[Any] = [from_seq]
        if kinds is not None:
            kind_list = [k.encode() for k in kinds]
            sql += f" AND kind IN ({','.join('?' * len(kind_list))})"
            params.extend(kind_list)
        cursor = self._db.execute(sql + (" ORDER BY seq DESC" if descending else " ORDER BY seq"), params)
        for seq, hash_, body, kind, actor, corr, ts_ms in cursor:
            body = canonical_or_stored(body if type(body) is bytes else as_bytes(body))
            yield int(seq), as_bytes(hash_), body, (kind, actor, corr, ts_ms)

    def seqs_mentioning(self, needles: Sequence[bytes]) -> list[int]:
        """Seqs whose canonical body contains any of `needles` (a full scan, unverified: callers
        read the matches through `read`, which checks them). One tight loop with `canonical`
        written into it, since every body is decompressed on the way: a frame of plausible size
        is decompressed directly; anything else (raw JSON, a damaged or implausible frame) goes
        through `canonical_or_stored`, which refuses before allocating."""
        self._sync_rows()
        slow = canonical_or_stored
        decompress, content_size = decompressor(), zstandard.frame_content_size
        one = needles[0] if len(needles) == 1 else None
        found = []
        cursor = self._db.execute("SELECT seq, body FROM journal ORDER BY seq")
        while rows := cursor.fetchmany(2000):
            for seq, body in rows:
                if type(body) is not bytes:
                    body = as_bytes(body)
                text = None
                if body.startswith(ZSTD_MAGIC):
                    try:
                        if 0 <= content_size(body) <= MAX_BODY_BYTES:
                            text = decompress(body)
                    except zstandard.ZstdError:
                        pass
                if text is None:
                    text = slow(body)
                if one is not None:
                    if one in text:
                        found.append(int(seq))
                    continue
                for n in needles:
                    if n in text:
                        found.append(int(seq))
                        break
        return found

    def entry(self, seq: int) -> JournalEntry | None:
        self._sync_rows()
        row = self._db.execute("SELECT seq, hash, body FROM journal WHERE seq = ?", (seq,)).fetchone()
        return self._decode(int(row[0]), row[1], row[2]) if row else None

    def tail(self, n: int) -> list[JournalEntry]:
        self._sync_rows()
        rows = self._db.execute(
            "SELECT seq, hash, body FROM journal ORDER BY seq DESC LIMIT ?", (n,)
        ).fetchall()
        return [self._decode(int(s), h, b) for s, h, b in reversed(rows)]

    def last_of_kind(self, kind: str) -> JournalEntry | None:
        """The last entry of `kind`. A reader asks twice for the last checkpoint (verify, then
        restore), which can be megabytes: read-only, the same (seq, stored hash) is not decoded
        again."""
        self._sync_rows()
        row = self._db.execute(
            "SELECT seq, hash FROM journal WHERE kind = ? ORDER BY seq DESC LIMIT 1", (kind.encode(),),
        ).fetchone()
        if row is None:
            return None
        key = (kind, int(row[0]), as_bytes(row[1]))
        cached = self._last_of_kind.get(kind)
        if self.readonly and cached is not None and cached[0] == key:
            return cached[1]
        entry = self.entry(int(row[0]))
        if entry is None:
            return None
        if self.readonly:
            self._last_of_kind[kind] = (key, entry)
        return entry

    def stored_hash(self, seq: int) -> tuple[str, str] | None:
        """(stored hash, kind) of one row, undecoded and unchecked: for anchor comparisons."""
        self._sync_rows()
        row = self._db.execute("SELECT hash, kind FROM journal WHERE seq = ?", (seq,)).fetchone()
        return (as_bytes(row[0]).decode("ascii", "replace"), as_bytes(row[1]).decode("utf-8", "replace")) \
            if row else None

    def last_seq_of_kind(self, kind: str, *, below: int) -> int:
        """The seq of the last entry of `kind` before `below`, or 0."""
        self._sync_rows()
        row = self._db.execute("SELECT MAX(seq) FROM journal WHERE kind = ? AND seq < ?",
                               (kind.encode(), below)).fetchone()
        return int(row[0] or 0)

    def count(self) -> int:
        self._sync_rows()
        return int(self._db.execute("SELECT COUNT(*) FROM journal").fetchone()[0])

    def integrity_problem(self) -> str | None:
        """SQLite's own `PRAGMA integrity_check`: None when the file is sound."""
        self._sync_rows()
        try:
            rows = self._db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        text = "; ".join(str(r[0]) for r in rows)
        return None if text == "ok" else text

    # -- verification ------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Recompute every hash and link; name the first sequence that is wrong."""
        from polytraders.journal.verify import verify_chain

        return verify_chain(self)

    def close(self) -> None:
        try:
            if not self.readonly:
                self.flush()
        finally:
            # the insert cursor holds its statement after `executemany`: while it lives, closing
            # the connection would leave it half-open and the WAL un-checkpointed on disk
            self._insert_cursor.close()
            self._db.close()
            self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.rollback()
        self.close()


def as_bytes(v: Any) -> bytes:
    """A BLOB or TEXT column as bytes (None as empty)."""
    if type(v) is bytes:  # nearly every column: the fast path of verify's loop
        return v
    if v is None:
        return b""
    return bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()


def _share_lock(db: Path) -> int | None:
    """Hold a shared flock on `<db>.lock` for this journal's lifetime."""
    path = lock_path(db)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    except OSError:
        return None  # a read-only directory: nothing can be known, nothing is written either
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def in_use(db: Path) -> bool:
    """True when another process holds the journal open (its shared lock)."""
    try:
        fd = os.open(lock_path(db), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def check_is_journal_file(path: Path) -> None:
    """Refuse, without touching it, anything that is not an existing SQLite file."""
    if not path.exists():
        raise JournalMissingError(
            f"No journal at {path}: the file does not exist. Create a live journal with "
            f"'polytraders init --admin NAME --admin NAME', or point --db / POLYTRADERS_DB at an "
            f"existing one.")
    if not path.is_file():
        raise JournalMissingError(f"{path} is not a journal: it is not a regular file.")
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise JournalMissingError(f"Cannot read {path}: {exc.strerror}.") from None
    if magic != SQLITE_MAGIC:
        raise JournalMissingError(
            f"{path} is not a Polytraders journal (not an SQLite file); it was left untouched.")


def open_journal(
    db: str | os.PathLike[str] | None = None,
    *,
    synchronous: Literal["FULL", "NORMAL"] = "FULL",
    create: bool = False,
    readonly: bool = False,
    lock_timeout_s: float = 30.0,
) -> SqliteJournal:
    """Open an existing journal (refusing a missing, foreign or genesis-less file)."""
    path = resolve_db_path(db)
    journal = SqliteJournal(path, synchronous=synchronous, create=create, readonly=readonly,
                            lock_timeout_s=lock_timeout_s)
    if not create and journal.mode is None:
        journal.close()
        raise JournalMissingError(
            f"{path} is not a Polytraders journal of this version: its first entry is not a genesis "
            f"entry. Journals are made by 'polytraders init' (live) or 'polytraders demo' (simulation).")
    return journal


def create_journal(
    path: str | os.PathLike[str],
    genesis: Genesis,
    *,
    synchronous: Literal["FULL", "NORMAL"] = "FULL",
    lock_timeout_s: float = 30.0,
) -> SqliteJournal:
    """Make a new journal whose seq 1 is `genesis`. Never touches an existing file."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise JournalMissingError(
            f"{p} exists already; a new journal is never written over an existing file. Choose "
            f"another path.") from None
    except OSError as exc:
        raise JournalMissingError(f"Cannot create a journal at {p}: {exc.strerror}.") from None
    os.close(fd)
    journal = SqliteJournal(p, synchronous=synchronous, create=True, lock_timeout_s=lock_timeout_s)
    env = ReportEnvelope.wrap(genesis, actor=Actor(kind="system", id="genesis"),
                              reason_code="GOV_JOURNAL_CREATED", ts_ms=genesis.created_ms)
    journal.append(env, durable=True)
    journal.refresh_identity()
    return journal
