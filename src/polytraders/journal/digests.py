"""Signed digests and their anchors outside the journal file (the CloudTrail model).

The running system (or an admin's `journal seal`) appends a `JournalDigest` signed with the
system key. Its signature binds the hash of the entry before it, so it vouches for the whole
chain up to there. Each digest is also written as one JSON line to `<db>.anchors/digests.jsonl`,
beside the journal and outside it: cutting the journal's tail, or rewriting and re-hashing it,
leaves anchors the journal no longer matches.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from polytraders.journal.base import Journal, JournalEntry
from polytraders.journal.signatures import signing_bytes, verify

ANCHOR_FILE = "digests.jsonl"


def anchors_dir(db: Path) -> Path:
    return Path(str(db) + ".anchors")


def anchor_record(entry: JournalEntry) -> dict[str, Any]:
    sig = entry.envelope.signature
    return {"seq": entry.seq, "hash": entry.hash, "prev_hash": entry.prev_hash,
            "at_ms": entry.envelope.payload.get("at_ms"), "final": entry.envelope.payload.get("final", False),
            "signature": sig.sig if sig is not None else None}


def append_anchor(directory: Path, entry: JournalEntry) -> bool:
    """Append one digest's anchor line; False when it could not be written (e.g. a full disk)."""
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(directory / ANCHOR_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, orjson.dumps(anchor_record(entry), option=orjson.OPT_SORT_KEYS) + b"\n")
        finally:
            os.close(fd)
        return True
    except OSError:
        return False


def read_anchors(directory: Path) -> list[dict[str, Any]] | None:
    """The anchor lines, or None when there is no anchor file. A damaged line is kept as
    `{"bad": line number}` so verify can name it."""
    path = directory / ANCHOR_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    out: list[dict[str, Any]] = []
    for n, line in enumerate(raw.splitlines(), 1):
        try:
            rec = orjson.loads(line)
            if not isinstance(rec, dict) or not isinstance(rec.get("seq"), int):
                raise ValueError
            out.append(rec)
        except (orjson.JSONDecodeError, ValueError):
            out.append({"bad": n})
    return out


def vouching_digest(journal: Journal, entry: JournalEntry) -> JournalEntry | None:
    """The digest that vouches for `entry`: the first digest after it signed by the genesis
    system key, when that signature verifies; None when there is none or it does not verify.

    The signature binds the hash of the entry before the digest, so with every link from
    `entry` to the digest checked, neither `entry` nor anything between can have been altered.
    A digest that adopted a crashed session's tail vouches for nothing (it never saw it written)."""
    genesis = next(iter(journal.read(1, 1)), None)
    if genesis is None or genesis.envelope.kind != "genesis":
        return None
    system_key = genesis.envelope.payload["system_key"]
    journal_id = genesis.envelope.payload["journal_id"]
    for d in journal.read(entry.seq + 1, kinds=["journal_digest"]):
        sig = d.envelope.signature
        if sig is None or sig.by != system_key:
            continue
        if d.envelope.payload.get("adopted"):
            return None
        data = signing_bytes(journal_id, d.seq, d.prev_hash, d.envelope.unsigned_json_dict())
        return d if verify(sig.by, data, sig.sig) else None
    return None


def vouched_checkpoint(journal: Journal) -> tuple[JournalEntry, JournalEntry] | None:
    """The last checkpoint written by the system (unsigned, as the runtime writes it) and the
    digest vouching for it, or None when the last checkpoint is not vouched for."""
    cp = journal.last_of_kind("checkpoint")
    if cp is None or cp.envelope.signature is not None:
        return None
    digest = vouching_digest(journal, cp)
    return (cp, digest) if digest is not None else None
