"""Journal interface and the hash-chain rule every backend shares.

An entry is the canonical JSON of `{seq, prev_hash, envelope}`; its hash is the SHA-256 of those
bytes. Canonical JSON is orjson with sorted keys and no whitespace, so the same envelope yields
the same bytes on any machine. Changing any byte of an entry changes its hash, and the next
entry's `prev_hash` no longer matches; `verify` names the first sequence where either fails.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from polytraders.contracts.envelope import ReportEnvelope

if TYPE_CHECKING:
    from polytraders.journal.signatures import Signer

GENESIS_HASH = "0" * 64
_HASH = re.compile(r"[0-9a-f]{64}")
_set = object.__setattr__


def canonical_bytes(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def entry_body(seq: int, prev_hash: str, envelope: dict[str, Any]) -> bytes:
    return canonical_bytes({"seq": seq, "prev_hash": prev_hash, "envelope": envelope})


def envelope_entry_body(seq: int, prev_hash: str, envelope: dict[str, Any]) -> bytes:
    """`entry_body`, byte for byte, for a `prev_hash` that is a hash (64 hex digits; the caller
    knows, so this hot path does not check): the outer object's three keys are written in their
    canonical order and the hash needs no escaping, so only the envelope goes through orjson."""
    return b'{"envelope":%b,"prev_hash":"%b","seq":%d}' % (
        orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS), prev_hash.encode(), seq)


def is_hash(text: str) -> bool:
    """64 lower-case hex digits, as `entry_hash` makes them."""
    return _HASH.fullmatch(text) is not None


def entry_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True, init=False)
class JournalEntry:
    seq: int
    prev_hash: str
    hash: str
    envelope: ReportEnvelope
    # set by the trust gate: the operator whose signature verified, "system", or None (unsigned)
    signer: str | None = None

    def __init__(self, seq: int, prev_hash: str, hash: str, envelope: ReportEnvelope,  # noqa: A002
                 signer: str | None = None) -> None:
        # written out: the generated frozen __init__ cost three times as much, and an entry is
        # made for every append and every row read
        _set(self, "seq", seq)
        _set(self, "prev_hash", prev_hash)
        _set(self, "hash", hash)
        _set(self, "envelope", envelope)
        _set(self, "signer", signer)

    @property
    def ts_ms(self) -> int:
        return self.envelope.ts_ms


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


class Journal(Protocol):
    """What every backend provides. Appends are serialised across processes."""

    journal_id: str

    def append(self, envelope: ReportEnvelope, *, durable: bool = False,
               signer: Signer | None = None) -> JournalEntry:
        """Append one envelope. `durable=True` commits before returning (write-ahead for side
        effects); otherwise the append may be group-committed with later ones. `signer` signs
        the entry where it lands (see `journal/signatures.py`)."""
        ...

    def append_many(self, envelopes: Sequence[ReportEnvelope]) -> list[JournalEntry]: ...

    def flush(self) -> None:
        """Commit anything group-committed so far."""
        ...

    def begin(self) -> int:
        """Take the write lock now; returns the head seq."""
        ...

    def defer_wal_checkpoints(self) -> None:
        """Leave log maintenance to this writer's safe points (`checkpoint_if_due`)."""
        ...

    def checkpoint_if_due(self) -> bool:
        """At a safe point: log maintenance, when due; True when it ran."""
        ...

    def rollback(self) -> None:
        """Drop anything not yet committed."""
        ...

    def head(self) -> tuple[int, str]:
        """(last seq, its hash); (0, GENESIS_HASH) when empty."""
        ...

    def read(
        self,
        from_seq: int = 1,
        to_seq: int | None = None,
        *,
        kinds: Iterable[str] | None = None,
        correlation_id: str | None = None,
    ) -> Iterator[JournalEntry]: ...

    def tail(self, n: int) -> list[JournalEntry]: ...

    def last_of_kind(self, kind: str) -> JournalEntry | None: ...

    def verify(self) -> VerifyResult: ...

    def close(self) -> None: ...
