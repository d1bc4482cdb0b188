"""The projection store: named folds over journal entries, with checkpoints.

Every piece of state (positions, open orders, kill switch, bot modes, operators) is a
`Projection`: it applies entries in sequence order and can serialise itself. Rules the store
holds for all of them:
- entries are applied in seq order with no gaps, each linked to the one before by its hash; a
  gap or a broken link is fatal (`JournalCorruptError`), never skipped;
- every entry passes the trust gate (`state/trust.py`) first; one that does not count reaches
  no projection;
- a projection that cannot interpret a payload never raises: the entry is skipped for that
  projection and reported once in `skipped`;
- a restart loads the last checkpoint only when a valid system digest after it vouches for it,
  then applies the tail; it must end in the same state as a fold from seq 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import orjson

from polytraders.contracts import Checkpoint
from polytraders.errors import JournalCorruptError
from polytraders.journal.base import GENESIS_HASH, Journal, JournalEntry, entry_hash
from polytraders.journal.digests import vouching_digest
from polytraders.journal.sqlite import SqliteJournal
from polytraders.state.bulk_decode import BookDecoder
from polytraders.state.trust import Origin, TrustProjection

if TYPE_CHECKING:
    from polytraders.journal.verify import CheckedRow

P = TypeVar("P", bound="Projection")
MAX_SKIPPED = 1_000
# (kinds, reason codes) a reader's projections fold; see `StateStore.rebuild(only=...)`
Relevance = tuple[frozenset[str], frozenset[str]]
# what the trust gate itself reads beyond signatures (state/trust.py)
TRUST_KINDS = frozenset({"genesis", "operator", "operator_command", "journal_digest"})
TRUST_CODES = frozenset({"GOV_SESSION_OPENED"})
# checkpoint spacing per item the last checkpoint held (`StateStore.checkpoint_interval`): a
# third keeps the demo's 20 markets at one per 5,000 entries past 100,000 entries (the tail a CLI
# read folds stays what it was), while a larger state (40 markets: 35,000 items by the hour's
# end) spaces them out so that their cost per entry stops growing
ENTRIES_PER_ITEM = 1 / 3


class JournalLink(NamedTuple):
    """An entry's place in the chain, for stepping over it undecoded."""

    seq: int
    prev_hash: str
    hash: str


class Projection(Protocol):
    """A named fold. A projection may also declare `relevant = (kinds, reason codes)`: every
    entry its `apply` reads has one of those kinds or reason codes. The store then offers it
    only those entries (most entries are market data that most projections ignore); one
    without the declaration is offered every entry."""

    name: str

    def apply(self, entry: JournalEntry) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, data: dict[str, Any]) -> None: ...


class StateStore:
    """Holds the projections, the trust gate and the last applied sequence and hash."""

    def __init__(self, projections: Iterable[Projection] = ()) -> None:
        self.trust = TrustProjection()
        self._projections: dict[str, Projection] = {self.trust.name: self.trust}
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.skipped: list[dict[str, Any]] = []  # (seq, projection, error) a projection could not apply
        self._empty: dict[str, dict[str, Any]] = {self.trust.name: self.trust.snapshot()}
        # (kind, reason code) -> the projections that read such entries, in registration order
        self._routes: dict[tuple[str, str], tuple[Projection, ...]] = {}
        self.checkpoint_weight = 0  # items in the last checkpoint this store built
        for p in projections:
            self.add(p)

    def add(self, projection: Projection) -> None:
        if projection.name in self._projections:
            raise ValueError(f"projection {projection.name!r} registered twice")
        self._projections[projection.name] = projection
        self._routes.clear()
        if self.last_seq == 0:
            self._empty[projection.name] = projection.snapshot()

    def reload(self, journal: Journal) -> None:
        """Forget everything and fold the journal again, in place (every holder of a projection
        sees the result). For after a failed commit: entries applied optimistically were rolled
        back, so the projections ran ahead of the journal."""
        if set(self._empty) != set(self._projections):
            raise JournalCorruptError("State ran ahead of the journal and cannot be rebuilt in place; restart.")
        for name, p in self._projections.items():
            p.restore(self._empty[name])
        self.last_seq, self.last_hash, self.skipped = 0, GENESIS_HASH, []
        self.rebuild(journal)

    def get(self, name: str) -> Projection:
        return self._projections[name]

    def find(self, name: str) -> Projection | None:
        """The named projection, or None when it is not registered (callers fail closed)."""
        return self._projections.get(name)

    def typed(self, name: str, cls: type[P]) -> P:
        proj = self._projections[name]
        if not isinstance(proj, cls):
            raise TypeError(f"projection {name!r} is not a {cls.__name__}")
        return proj

    def apply(self, entry: JournalEntry, origin: Origin = "history") -> JournalEntry | None:
        """Fold one entry; return it as admitted (with its signer), or None when it does not count."""
        if entry.seq <= self.last_seq:
            return None  # already applied
        if entry.seq != self.last_seq + 1:
            raise JournalCorruptError(
                f"Journal gap: entry seq {entry.seq} arrived after seq {self.last_seq}; entries "
                f"{self.last_seq + 1}..{entry.seq - 1} were never applied. Refusing to go on.")
        if self.last_seq and entry.prev_hash != self.last_hash:
            raise JournalCorruptError(
                f"Journal damaged at seq {entry.seq}: it does not link to seq {self.last_seq}. "
                f"Run 'polytraders journal verify'.")
        self.last_seq = entry.seq
        self.last_hash = entry.hash
        admitted = self.trust.admit(entry, origin)
        if admitted is None:
            return None
        env = admitted.envelope
        route = self._routes.get((env.kind, env.reason_code))
        if route is None:  # () is a route too: nobody reads such entries
            route = self._route(env.kind, env.reason_code)
        for p in route:
            try:
                p.apply(admitted)
            except Exception as exc:  # a payload a projection cannot read must not stop the fold
                if len(self.skipped) < MAX_SKIPPED:
                    self.skipped.append({"seq": entry.seq, "projection": p.name,
                                         "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                                         "reason_code": "GOV_PAYLOAD_SKIPPED"})
        return admitted

    def reads(self, kind: str, reason_code: str) -> bool:
        """Does any projection (besides the trust gate) read entries of this kind and code?"""
        route = self._routes.get((kind, reason_code))
        return bool(route if route is not None else self._route(kind, reason_code))

    def _route(self, kind: str, reason_code: str) -> tuple[Projection, ...]:
        """The projections that read (kind, reason code), worked out once and remembered."""
        out = []
        for p in self._projections.values():
            if p is self.trust:
                continue
            relevant: Relevance | None = getattr(p, "relevant", None)
            if relevant is None or kind in relevant[0] or reason_code in relevant[1]:
                out.append(p)
        route = self._routes[(kind, reason_code)] = tuple(out)
        return route

    def load_trust(self, journal: Journal) -> None:
        """Fold only what decides who may act (genesis, operator records and commands), then stand
        at the journal's head without folding the rest: for a command that only appends (a trip),
        which must not spend seconds rebuilding a long journal first. Entries others commit later
        are still folded in order by the runtime's write lock."""
        for entry in journal.read(kinds=["genesis", "operator", "operator_command"]):
            self.trust.admit(entry, "history")
        self.last_seq, self.last_hash = journal.head()

    def skip(self, entry: JournalEntry | JournalLink) -> None:
        """Step over one entry without folding it (replay re-derives recorded decisions itself);
        the gap and link rules still hold."""
        if entry.seq != self.last_seq + 1 or (self.last_seq and entry.prev_hash != self.last_hash):
            raise JournalCorruptError(f"Journal gap or broken link at seq {entry.seq}.")
        self.last_seq = entry.seq
        self.last_hash = entry.hash

    def snapshot(self) -> dict[str, Any]:
        return {name: p.snapshot() for name, p in self._projections.items()}

    def checkpoint_contract(self) -> Checkpoint:
        state = self.snapshot()
        self.checkpoint_weight = checkpoint_weight(state)
        cp: Checkpoint = Checkpoint.trusted(upto_seq=self.last_seq, state=state)  # our own snapshot
        return cp

    def checkpoint_interval(self, every: int) -> int:
        """Entries between checkpoints: `every`, or more once the last checkpoint was large.

        A checkpoint holds everything seen (every order, fill and curve point), so it costs
        in proportion to its weight; spacing checkpoints `ENTRIES_PER_ITEM` entries per item
        keeps that cost per entry constant over a long run instead of growing with history.
        The tail a reader folds after the checkpoint then grows like the checkpoint it restores."""
        return max(every, int(self.checkpoint_weight * ENTRIES_PER_ITEM))

    def catch_up(self, journal: Journal, origin: Origin = "history") -> list[JournalEntry]:
        """Apply everything after `last_seq`; return the entries that counted."""
        admitted = []
        books = BookDecoder()  # a long tail is mostly books: each distinct level validated once
        for entry in journal.read(self.last_seq + 1):
            books.predecode(entry.envelope)
            kept = self.apply(entry, origin)
            if kept is not None:
                admitted.append(kept)
        return admitted

    def rebuild(self, journal: Journal, *, use_checkpoint: bool = True,
                only: Relevance | None = None, rows: Sequence[CheckedRow] = ()) -> int:
        """Load the latest trusted checkpoint (if any) and apply the tail. Returns entries applied.

        `only` (a reader's (kinds, reason codes)) folds just the entries that can change this
        store: every other one is hash-, seq- and link-checked from its raw row and stepped
        over without building an envelope. Correct only when every registered projection
        ignores all other entries (the kill switch and modes do); the trust gate still sees
        every signed entry, every trust kind, and every unsigned one it would refuse. `rows`
        are rows `verify_journal(keep=...)` has just checked and parsed: those are not read again."""
        if use_checkpoint and self.last_seq == 0:
            self._restore_checkpoint(journal)
        before = self.last_seq
        if only is not None and isinstance(journal, SqliteJournal):
            self._catch_up_only(journal, only, rows)
        else:
            self.catch_up(journal)
        return self.last_seq - before

    def _catch_up_only(self, journal: SqliteJournal, only: Relevance, rows: Sequence[CheckedRow]) -> None:
        kinds = TRUST_KINDS | only[0]
        codes = TRUST_CODES | only[1]
        checked = bool(rows) and rows[0].seq <= self.last_seq + 1
        source: Iterable[tuple[int, bytes, bytes, Any]] = (
            rows[self.last_seq + 1 - rows[0].seq:] if checked else journal.read_raw(self.last_seq + 1))
        for seq, hash_b, body, parsed in source:
            try:
                data = parsed if checked else orjson.loads(body)
                env = data["envelope"]
                light = (env.get("signature") is None and env["kind"] not in kinds
                         and env["reason_code"] not in codes
                         and (self.trust.session_open or self.trust.system_key is None))
                prev = data["prev_hash"]
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                light = False  # the full decode names the damage
            if not light:
                self.apply(journal.decode_row(seq, hash_b, body))
                continue
            stored = hash_b.decode("ascii", "replace")
            if not checked and entry_hash(body) != stored:
                journal.decode_row(seq, hash_b, body)  # raises, naming the damage
            self.skip(JournalLink(seq, prev, stored))

    def _restore_checkpoint(self, journal: Journal) -> None:
        cp_entry = journal.last_of_kind(Checkpoint.kind)
        if cp_entry is None or cp_entry.envelope.signature is not None:
            return
        cp = cp_entry.envelope.decode()
        assert isinstance(cp, Checkpoint)
        # a reader folding fewer projections than the system that wrote the checkpoint restores
        # just its own: each projection's state depends only on the entries, not on the others
        if not set(self._projections) <= set(cp.state) or not _vouched(journal, cp_entry, cp.state["trust"]):
            return
        base = journal.read(cp.upto_seq, cp.upto_seq) if cp.upto_seq else iter(())
        base_entry = next(iter(base), None)
        for name, proj in self._projections.items():
            proj.restore(cp.state[name])
        self.last_seq = cp.upto_seq
        self.last_hash = base_entry.hash if base_entry is not None else GENESIS_HASH


def checkpoint_weight(state: dict[str, Any]) -> int:
    """A checkpoint's size in items: each projection's collections (orders, fills, curve
    points, ...) count their length, every other value one. Its encoded bytes and its cost
    to build, encode and restore grow in proportion (about 160 B an item in the demo)."""
    return sum(len(v) if isinstance(v, (dict, list)) else 1
               for snap in state.values() for v in snap.values())


def _vouched(journal: Journal, cp_entry: JournalEntry, trust_state: dict[str, Any]) -> bool:
    """A checkpoint counts only when a later digest signed by the genesis system key covers it
    (`journal/digests.py`), and it was taken under that same genesis.

    The digest's signature binds the hash of the entry before it, and the tail fold checks every
    link from the checkpoint to there, so a forged or altered checkpoint cannot be vouched for."""
    genesis = next(iter(journal.read(1, 1)), None)
    if genesis is None or genesis.envelope.kind != "genesis":
        return False
    if trust_state.get("system_key") != genesis.envelope.payload["system_key"] \
            or trust_state.get("journal_id") != genesis.envelope.payload["journal_id"]:
        return False
    return vouching_digest(journal, cp_entry) is not None
