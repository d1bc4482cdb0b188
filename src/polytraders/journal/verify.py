"""`journal verify`: what the chain, the digests and the anchors prove, finding by finding.

Each finding names its kind and the first seq it concerns:
- `corruption`: SQLite's own integrity check fails;
- `chain`: an entry's content does not match its hash, a link or seq is broken, or the indexed
  copies disagree with the body (an edit that was not re-hashed);
- `rewrite`: an anchored digest no longer matches the journal, or a digest's signature no longer
  covers the chain before it (an edit that was re-hashed);
- `truncation`: anchors name digests past the journal's end;
- `missing_digests`: a digest the anchors or the digest chain expect is gone, or there are none;
- `bad_signature`: a digest not signed by the genesis system key;
- `unanchored` (a warning, not damage): entries after the last digest, which nothing vouches for
  yet; a running system always has a few;
- `adopted` (a warning): a crashed session's tail, closed by the next session without vouching.

`from_checkpoint=True` (for `killswitch status`, which must answer in well under a second on a
long journal) starts at the last checkpoint a valid system digest vouches for: everything before
it is covered by that digest's signature, and anchors before it are checked against the stored
hashes one by one, so a rewrite-and-rehash or a cut anywhere is still damage. An edit of an
older entry that was not re-hashed cannot change the state the checkpoint holds, and only the
full check (`journal verify`) rehashes every entry; `verified_from_seq` says where it started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from polytraders.errors import JournalCorruptError
from polytraders.journal.base import GENESIS_HASH, VerifyResult, entry_hash
from polytraders.journal.digests import read_anchors
from polytraders.journal.signatures import signing_bytes, verify
from polytraders.journal.sqlite import SqliteJournal, as_bytes


class CheckedRow(NamedTuple):
    """A row whose hash, seq, link and copies `verify` checked, with its parsed body."""

    seq: int
    hash: bytes
    body: bytes
    data: dict[str, Any]


DAMAGE = ("corruption", "chain", "rewrite", "truncation", "missing_digests", "bad_signature")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    seq: int | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "detail": self.detail}


@dataclass
class VerifyReport:
    entries: int = 0
    head_hash: str = GENESIS_HASH
    digests: int = 0
    last_digest_seq: int = 0
    anchors: int | None = None
    verified_from_seq: int = 1
    findings: list[Finding] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return any(f.kind in DAMAGE for f in self.findings)

    def first_bad_seq(self) -> int | None:
        seqs = [f.seq for f in self.findings if f.kind in DAMAGE and f.seq is not None]
        return min(seqs) if seqs else None

    def add(self, kind: str, seq: int | None, detail: str) -> None:
        self.findings.append(Finding(kind, seq, detail))


def verify_chain(journal: SqliteJournal) -> VerifyResult:
    """The chain alone: every hash, link, seq and indexed copy."""
    report = VerifyReport()
    _check_chain(journal, report, digests=[])
    bad = next((f for f in report.findings if f.kind == "chain"), None)
    if bad is not None:
        return VerifyResult(False, report.entries, report.head_hash, bad.seq, bad.detail)
    return VerifyResult(True, report.entries, report.head_hash)


def verify_journal(journal: SqliteJournal, anchors: Path | None, *,
                   from_checkpoint: bool = False, keep: list[CheckedRow] | None = None) -> VerifyReport:
    """`keep` collects every row checked, parsed, so a reader can fold them without reading,
    hashing and parsing them a second time (`StateStore.rebuild(rows=...)`)."""
    report = VerifyReport()
    start, prev, prev_digest = 1, GENESIS_HASH, 0
    if from_checkpoint:
        start, prev, prev_digest = _trusted_start(journal)
    report.verified_from_seq = start
    if start == 1:
        problem = journal.integrity_problem()
        if problem is not None:
            report.add("corruption", None, f"SQLite integrity check failed: {problem}")
    digests: list[tuple[int, str, str, dict[str, Any]]] = []
    report.entries = start - 1
    _check_chain(journal, report, digests, start, prev, keep)
    if report.damaged:
        return report  # a broken chain makes the digest checks meaningless
    genesis = journal.entry(1)
    if genesis is None or genesis.envelope.kind != "genesis":
        report.add("chain", 1, "the first entry is not a genesis entry")
        return report
    system_key = genesis.envelope.payload["system_key"]
    journal_id = genesis.envelope.payload["journal_id"]
    anchor_lines = read_anchors(anchors) if anchors is not None else None
    by_seq = {a["seq"]: a for a in anchor_lines or [] if "seq" in a}
    report.anchors = None if anchor_lines is None else len(anchor_lines)
    for a in anchor_lines or []:
        if "bad" in a:
            report.add("rewrite", None, f"anchor line {a['bad']} is unreadable")
    last_good = max(1, prev_digest)
    for seq, hash_, prev_hash, env in digests:
        report.digests += 1
        anchor = by_seq.get(seq)
        sig = env.get("signature") or {}
        unsigned = {k: v for k, v in env.items() if k != "signature"}
        signed_ok = sig.get("by") == system_key and verify(
            system_key, signing_bytes(journal_id, seq, prev_hash, unsigned), str(sig.get("sig", "")))
        if anchor is not None and anchor.get("hash") != hash_:
            report.add("rewrite", last_good + 1,
                       f"the digest anchored at seq {seq} no longer matches: entries {last_good + 1}..{seq} "
                       f"were rewritten (and re-hashed)")
        elif not signed_ok:
            kind = "bad_signature" if sig.get("by") != system_key else "rewrite"
            report.add(kind, last_good + 1 if kind == "rewrite" else seq,
                       f"the digest at seq {seq} is not a valid system signature over the chain before it"
                       + (f" (entries {last_good + 1}..{seq} changed)" if kind == "rewrite" else ""))
        if env.get("payload", {}).get("prev_digest_seq") != prev_digest:
            report.add("missing_digests", prev_digest + 1,
                       f"the digest at seq {seq} follows digest {env.get('payload', {}).get('prev_digest_seq')}, "
                       f"but the previous digest in the journal is at {prev_digest}")
        if anchor_lines is not None and anchor is None:
            report.add("missing_digests", seq, f"the digest at seq {seq} has no anchor line")
        if signed_ok and env.get("payload", {}).get("adopted"):
            report.add("adopted", prev_digest + 1,
                       f"entries {prev_digest + 1}..{seq - 1} were left by a session that ended without a digest "
                       f"(a crash); the next session closed them without vouching for them")
        prev_digest = seq
        if signed_ok:
            last_good = seq
            report.last_digest_seq = seq
    if start > 1:
        report.last_digest_seq = max(report.last_digest_seq, prev_digest)
    digest_seqs = {d[0] for d in digests}
    for a in anchor_lines or []:
        if "seq" not in a:
            continue
        if a["seq"] < start:  # before the vouched checkpoint: the stored row must still match
            row = journal.stored_hash(a["seq"])
            if row != (a.get("hash"), "journal_digest"):
                report.add("rewrite", a["seq"], f"the digest anchored at seq {a['seq']} no longer matches the journal")
            continue
        if a["seq"] > report.entries:
            report.add("truncation", report.entries + 1,
                       f"an anchored digest at seq {a['seq']} is past the journal's end (seq {report.entries}): "
                       f"entries were cut off")
            break
        if a["seq"] not in digest_seqs:
            report.add("missing_digests", a["seq"], f"the anchored digest at seq {a['seq']} is gone from the journal")
    if report.digests and anchor_lines is None:
        report.add("missing_digests", None, f"the journal has {report.digests} digests but there is no anchor file "
                                            f"at {anchors}")
    if report.entries > 1 and not report.digests and start == 1:
        report.add("missing_digests", 2, "no entry is covered by a signed digest")
    tail = report.entries - report.last_digest_seq
    if report.digests and tail > 0:
        report.add("unanchored", report.last_digest_seq + 1,
                   f"{tail} entries after the last digest are not yet vouched for")
    return report


def _trusted_start(journal: SqliteJournal) -> tuple[int, str, int]:
    """(first seq to check, stored hash before it, seq of the last digest before it): the last
    vouched checkpoint, or (1, GENESIS_HASH, 0) when there is none."""
    from polytraders.journal.digests import vouched_checkpoint

    try:
        found = vouched_checkpoint(journal)
    except JournalCorruptError:
        found = None  # the full check names the damage
    if found is None:
        return 1, GENESIS_HASH, 0
    cp, _digest = found
    before = journal.stored_hash(cp.seq - 1)
    if before is None or before[0] != cp.prev_hash:
        return 1, GENESIS_HASH, 0
    return cp.seq, cp.prev_hash, journal.last_seq_of_kind("journal_digest", below=cp.seq)


def _check_chain(journal: SqliteJournal, report: VerifyReport,
                 digests: list[tuple[int, str, str, dict[str, Any]]], start: int = 1,
                 prev: str = GENESIS_HASH, keep: list[CheckedRow] | None = None) -> None:
    for expected, (seq, stored_b, body, (kind, actor, corr, ts_ms)) in enumerate(journal.read_raw(start), start):
        stored = stored_b.decode("ascii", "replace")
        if seq != expected:
            report.add("chain", expected, f"sequence gap: expected {expected}, found {seq}")
            return
        if entry_hash(body) != stored:
            report.add("chain", seq, "content hash does not match the stored hash")
            return
        try:
            data = orjson.loads(body)
            env = data["envelope"]
            copies_ok = (
                data["seq"] == seq
                and env["kind"].encode() == as_bytes(kind)
                # actor and ts are None only where the journal has no such column (read_raw)
                and (actor is None or f"{env['actor']['kind']}:{env['actor']['id']}".encode() == as_bytes(actor))
                and (env.get("correlation_id") or None) == (as_bytes(corr).decode() if corr else None)
                and (ts_ms is None or env["ts_ms"] == ts_ms)
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            report.add("chain", seq, "entry body is not valid journal JSON")
            return
        if data["prev_hash"] != prev:
            report.add("chain", seq, "link to the previous entry is broken (prev_hash mismatch)")
            return
        if not copies_ok:
            report.add("chain", seq, "indexed columns do not match the entry body")
            return
        if env["kind"] == "journal_digest":
            digests.append((seq, stored, prev, env))
        if keep is not None:
            keep.append(CheckedRow(seq, stored_b, body, data))
        prev = stored
        report.entries += 1
        report.head_hash = stored

