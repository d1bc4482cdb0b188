"""The compact stored form (journal/codec.py): the hash stays over the canonical bytes, journals
written before the form still open, verify and take appends, and a hostile frame is damage at
its seq, never a crash or an allocation of what it claims."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from polytraders.contracts import Note
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal import SqliteJournal
from polytraders.journal.base import entry_body, entry_hash
from polytraders.journal.codec import ZSTD_MAGIC, StoredFormError, canonical, stored

ACTOR = Actor(kind="system", id="test")


def note(i: int) -> ReportEnvelope:
    return ReportEnvelope.wrap(Note(detail={"i": i, "text": "the same words again " * 3}), actor=ACTOR,
                               reason_code="GOV_MARKET_DATA", ts_ms=1_000 + i, correlation_id=f"c{i % 2}")


def rows(path: Path) -> list[tuple[int, bytes, bytes]]:
    con = sqlite3.connect(path)
    try:
        return [(int(s), bytes(h), bytes(b)) for s, h, b in con.execute("SELECT seq, hash, body FROM journal")]
    finally:
        con.close()


def test_rows_are_stored_compact_and_hashed_over_the_canonical_bytes(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        entries = [j.append(note(i)) for i in range(20)]
    for (seq, hash_, body), entry in zip(rows(path), entries, strict=True):
        assert body.startswith(ZSTD_MAGIC)
        plain = entry_body(seq, entry.prev_hash, entry.envelope.to_json_dict())
        assert canonical(body) == plain and len(body) < len(plain) / 2
        assert hash_.decode() == entry_hash(plain) == entry.hash  # the documented rule, unchanged


def test_a_journal_written_before_the_compact_form_opens_verifies_and_grows(tmp_path: Path) -> None:
    """Rows holding the canonical JSON itself (every journal before this form): read, verified,
    and continued by compact rows in one chain."""
    path = tmp_path / "old.db"
    with SqliteJournal(path) as j:
        for i in range(5):
            j.append(note(i))
    con = sqlite3.connect(path)
    for seq, _h, body in rows(path):  # rewrite as the old build stored them: the hash is unchanged
        con.execute("UPDATE journal SET body = ? WHERE seq = ?", (canonical(body), seq))
    con.commit()
    con.close()
    assert all(b.startswith(b"{") for _s, _h, b in rows(path))
    with SqliteJournal(path) as j:
        assert j.verify().ok
        assert [e.envelope.payload["detail"]["i"] for e in j.read()] == list(range(5))
        j.append(note(5))
    kinds = [b[:1] for _s, _h, b in rows(path)]
    assert kinds == [b"{"] * 5 + [ZSTD_MAGIC[:1]]
    with SqliteJournal(path) as j:
        result = j.verify()
        assert result.ok and result.entries == 6
        assert [e.envelope.payload["detail"]["i"] for e in j.read(correlation_id="c1")] == [1, 3, 5]


def test_a_frame_claiming_a_huge_body_is_damage_at_its_seq(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        for i in range(4):
            j.append(note(i))
    size = 300 * 1024 * 1024  # past MAX_BODY_BYTES: refused before anything is allocated
    maker = zstandard.ZstdCompressor(write_content_size=True).compressobj(size=size)
    chunk = b" " * (1024 * 1024)
    bomb = b"".join(maker.compress(chunk) for _ in range(300)) + maker.flush()
    assert zstandard.frame_content_size(bomb) == size and len(bomb) < 100_000
    con = sqlite3.connect(path)
    con.execute("UPDATE journal SET body = ? WHERE seq = 3", (bomb,))
    con.commit()
    con.close()
    with SqliteJournal(path) as j:
        result = j.verify()
    assert not result.ok and result.first_bad_seq == 3


@given(st.binary(max_size=3000))
def test_stored_then_canonical_is_the_identity(data: bytes) -> None:
    body = b"{" + data
    assert canonical(stored(body)) == body


@given(st.binary(max_size=400))
def test_any_bytes_behind_the_magic_are_a_stored_form_error_or_some_bytes(data: bytes) -> None:
    try:
        out = canonical(ZSTD_MAGIC + data)
    except StoredFormError:
        return
    assert isinstance(out, bytes)


def test_the_canonical_json_is_what_a_reader_parses(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.append(note(7))
    (_s, _h, body), = rows(path)
    assert orjson.loads(canonical(body))["envelope"]["payload"]["detail"]["i"] == 7
