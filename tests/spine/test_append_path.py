"""The append hot path (journal/sqlite.py, journal/base.py, contracts/envelope.py): its shortcuts
must give the very bytes the documented hash rule gives, rows waiting for the commit must be
visible to reads on the same connection and to no other, and journals made with the old
secondary indexes keep working."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.contracts import Note, RiskVote
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal import SqliteJournal
from polytraders.journal.base import GENESIS_HASH, entry_body, envelope_entry_body, is_hash
from polytraders.journal.codec import ZSTD_MAGIC, canonical
from polytraders.journal.sqlite import _TRUST_KIND_SQL

ACTOR = Actor(kind="bot", id="risk.drawdown_guard")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200)
@given(seq=st.integers(0, 2**62), prev=st.binary(min_size=32, max_size=32).map(bytes.hex),
       envelope=st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_the_fast_entry_body_is_the_documented_canonical_json(seq: int, prev: str, envelope: dict[str, Any]) -> None:
    assert is_hash(prev)
    fast = envelope_entry_body(seq, prev, envelope)
    assert fast == entry_body(seq, prev, envelope)
    # what an outside reader following the README's rule computes: sorted keys, no whitespace
    outside = json.dumps({"seq": seq, "prev_hash": prev, "envelope": envelope}, sort_keys=True,
                         separators=(",", ":"), ensure_ascii=False).encode()
    assert orjson.loads(fast) == orjson.loads(outside)


def vote(i: int) -> ReportEnvelope:
    v = RiskVote(guard_id="risk.drawdown_guard", intent_id=f"oi_{i:012d}", decision="APPROVE",
                 reason_code="RISK_APPROVED", message="within caps", observed={"gross": f"{i}.5"})
    return ReportEnvelope.wrap(v, actor=ACTOR, reason_code="RISK_APPROVED", ts_ms=i,
                               correlation_id=f"corr_{i % 3}", config_version="3")


def stored_rows(path: Path) -> list[tuple[int, str, bytes]]:
    con = sqlite3.connect(path)
    try:
        return [(int(s), bytes(h).decode(), canonical(bytes(b)))
                for s, h, b in con.execute("SELECT seq, hash, body FROM journal ORDER BY seq")]
    finally:
        con.close()


def test_every_stored_hash_is_the_sha256_of_the_sorted_compact_json_an_outsider_builds(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        for i in range(30):
            j.append(vote(i), durable=i % 7 == 0)
    prev = GENESIS_HASH
    for seq, digest, body in stored_rows(path):
        data = json.loads(body)
        assert data["seq"] == seq and data["prev_hash"] == prev
        rebuilt = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert rebuilt == body
        assert hashlib.sha256(rebuilt).hexdigest() == digest
        prev = digest
    assert len(stored_rows(path)) == 30


def test_rows_waiting_for_the_commit_are_read_on_this_connection_and_by_nobody_else(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    writer = SqliteJournal(path, batch_size=1000)
    first = [writer.append(vote(i)) for i in range(5)]
    assert writer.count() == 5
    assert [e.hash for e in writer.read()] == [e.hash for e in first]
    assert [e.seq for e in writer.read(kinds=["risk_vote"], correlation_id="corr_1")] == [2, 5]
    assert writer.tail(2)[-1].hash == first[-1].hash
    last = writer.last_of_kind("risk_vote")
    assert last is not None and last.seq == 5
    with SqliteJournal(path) as reader:
        assert reader.count() == 0
    writer.append(vote(5))
    writer.flush()
    assert writer.verify().ok and writer.verify().entries == 6
    with SqliteJournal(path) as reader:
        assert reader.count() == 6
        assert reader.head() == writer.head()
    writer.close()


def test_a_rollback_drops_the_waiting_rows_and_the_chain_goes_on_from_the_committed_head(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path, batch_size=1000) as j:
        j.append(vote(0), durable=True)
        committed = j.head()
        for i in range(1, 4):
            j.append(vote(i))
        j.rollback()
        assert j.head() == committed and j.count() == 1
        again = j.append(vote(9), durable=True)
        assert again.seq == 2 and again.prev_hash == committed[1]
        assert j.verify().ok


def test_new_journals_have_no_secondary_indexes_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    with SqliteJournal(new) as j:
        for i in range(20):
            j.append(vote(i))
    con = sqlite3.connect(new)
    # the one index is partial: only who-may-act rows (genesis, operators) are in it, so the hot
    # appends (votes, notes, orders) write no index entry
    [(name, sql)] = con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='journal'")
    assert name == "journal_trust" and sql.endswith(f"WHERE {_TRUST_KIND_SQL}")
    assert con.execute(f"SELECT COUNT(*) FROM journal INDEXED BY journal_trust WHERE {_TRUST_KIND_SQL}"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 20
    con.close()

    old = tmp_path / "old.db"
    with SqliteJournal(old) as j:
        j.append(vote(0), durable=True)
    con = sqlite3.connect(old)
    con.executescript("CREATE INDEX journal_kind ON journal(kind); "
                      "CREATE INDEX journal_corr ON journal(correlation_id);")
    con.close()
    with SqliteJournal(old) as j:
        for i in range(1, 40):
            j.append(vote(i))
        j.flush()
        assert j.verify().ok
        assert [e.seq for e in j.read(correlation_id="corr_2")] == list(range(3, 41, 3))
    con = sqlite3.connect(old)
    assert {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='journal'")} \
        == {"journal_kind", "journal_corr", "journal_trust"}
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_an_envelope_read_back_decodes_once_and_keeps_its_cache_through_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.append(ReportEnvelope.wrap(Note(detail={"a": 1}), actor=Actor(kind="system", id="t"),
                                     reason_code="GOV_MARKET_DATA", ts_ms=5), durable=True)
    with SqliteJournal(path) as j:
        (entry,) = list(j.read())
    env = entry.envelope
    assert env._contract is None
    decoded = env.decode()
    assert isinstance(decoded, Note) and decoded.detail == {"a": 1}
    assert env.decode() is decoded
    assert env.model_copy()._contract is decoded
    assert ReportEnvelope.model_validate(env.to_json_dict()) == env


def test_a_payload_is_the_contracts_own_json_dump() -> None:
    v = RiskVote(guard_id="risk.drawdown_guard", intent_id="oi_1", decision="REJECT", severity="P0",
                 reason_code="RISK_APPROVED", message="m", observed={"x": "1.25"})
    assert v.to_json_dict() == v.model_dump(mode="json")
    env = ReportEnvelope.wrap(v, actor=ACTOR, reason_code="RISK_APPROVED", ts_ms=1)
    assert env.to_json_dict()["severity"] == "INFO" and type(env.to_json_dict()["severity"]) is str


def test_closing_leaves_no_write_ahead_log_behind_even_while_the_object_lives(tmp_path: Path) -> None:
    """Closing the last connection folds the WAL into the file and removes it: a journal copied
    or measured after `close` is whole, even when something still holds the closed object."""
    path = tmp_path / "j.db"
    j = SqliteJournal(path)
    for i in range(50):
        j.append(vote(i))
    j.append(vote(50), durable=True)
    j.close()
    assert not Path(str(path) + "-wal").exists()
    assert j.path == path  # still referenced here, on purpose


@given(text=st.text(max_size=70))
def test_only_64_lowercase_hex_digits_count_as_a_hash(text: str) -> None:
    assert is_hash(text) == (len(text) == 64 and all(c in "0123456789abcdef" for c in text))


def test_an_entry_on_a_damaged_head_hash_is_still_the_canonical_json_of_what_it_links_to(tmp_path: Path) -> None:
    """A head hash this process did not make is escaped like any string, never spliced in."""
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.append(vote(0), durable=True)
    con = sqlite3.connect(path)
    con.execute("UPDATE journal SET hash = ? WHERE seq = 1", (b'x"\\y',))
    con.commit()
    con.close()
    with SqliteJournal(path) as j:
        j.append(vote(1), durable=True)
        assert not j.verify().ok
    (_s1, _h1, _b1), (seq, digest, body) = stored_rows(path)
    data = orjson.loads(body)
    assert data["prev_hash"] == 'x"\\y' and seq == 2
    assert body == entry_body(2, 'x"\\y', data["envelope"])
    assert hashlib.sha256(body).hexdigest() == digest


def test_the_body_scan_finds_ids_in_old_and_compact_rows_and_passes_over_hostile_frames(tmp_path: Path) -> None:
    """`seqs_mentioning` (what `trace` scans with) decompresses inline: old raw-JSON rows, a
    frame that does not decompress and one claiming 300 MB are searched as stored, never a
    crash or a 300 MB allocation."""
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        for i in range(12):
            j.append(vote(i))
    size = 300 * 1024 * 1024
    maker = zstandard.ZstdCompressor(write_content_size=True).compressobj(size=size)
    bomb = b"".join(maker.compress(b" " * (1024 * 1024)) for _ in range(300)) + maker.flush()
    con = sqlite3.connect(path)
    bodies = {seq: body for seq, _h, body in stored_rows(path)}
    con.execute("UPDATE journal SET body = ? WHERE seq = 2", (bodies[2],))  # the old raw form
    con.execute("UPDATE journal SET body = ? WHERE seq = 5", (bomb,))
    con.execute("UPDATE journal SET body = ? WHERE seq = 7", (ZSTD_MAGIC + b"\x00" * 40,))
    con.commit()
    con.close()
    with SqliteJournal(path) as j:
        assert j.seqs_mentioning([b'"oi_000000000001"']) == [2]
        assert j.seqs_mentioning([b'"oi_000000000004"', b'"oi_000000000010"']) == [11]
        assert j.seqs_mentioning([b'"corr_2"']) == [3, 6, 9, 12]
        assert j.seqs_mentioning([b'"corr_1"', b'"oi_000000000008"']) == [2, 8, 9, 11]  # 5 is the bomb
        assert j.seqs_mentioning([b'"oi_000000000004"']) == []  # seq 5's body is the bomb now


def test_a_wrapped_envelope_decodes_to_the_contract_it_was_built_from() -> None:
    note = Note(detail={"a": 1})
    env = ReportEnvelope.wrap(note, actor=Actor(kind="system", id="t"), reason_code="GOV_MARKET_DATA", ts_ms=5)
    assert env.decode() is note  # no second validation on the record path
    given = note.to_json_dict()
    env = ReportEnvelope.wrap(note, actor=Actor(kind="system", id="t"), reason_code="GOV_MARKET_DATA", ts_ms=5,
                              payload=given)
    assert env.payload is given and env.decode() is note
