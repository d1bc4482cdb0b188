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

from polytraders.journal.base import JournalEntry

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
