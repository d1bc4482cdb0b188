"""The projection store: named folds over journal entries, with checkpoints.

Every piece of state (positions, open orders, kill switch, bot modes, operators) is a
`Projection`: it applies entries in sequence order and can serialise itself. A restart loads the
last `checkpoint` envelope and applies only the tail after it, and must end in the same state as
a fold from seq 1; a test holds the projections to that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from polytraders.contracts import Checkpoint
from polytraders.journal.base import Journal, JournalEntry

P = TypeVar("P", bound="Projection")


class Projection(Protocol):
    name: str

    def apply(self, entry: JournalEntry) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, data: dict[str, Any]) -> None: ...


class StateStore:
    """Holds the projections and the last applied sequence."""

    def __init__(self, projections: Iterable[Projection] = ()) -> None:
        self._projections: dict[str, Projection] = {}
        self.last_seq = 0
        for p in projections:
            self.add(p)

    def add(self, projection: Projection) -> None:
        if projection.name in self._projections:
            raise ValueError(f"projection {projection.name!r} registered twice")
        self._projections[projection.name] = projection

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

    def apply(self, entry: JournalEntry) -> None:
        if entry.seq <= self.last_seq:
            return  # already applied (own append seen again while polling)
        for p in self._projections.values():
            p.apply(entry)
        self.last_seq = entry.seq

    def snapshot(self) -> dict[str, Any]:
        return {name: p.snapshot() for name, p in self._projections.items()}

    def checkpoint_contract(self) -> Checkpoint:
        return Checkpoint(upto_seq=self.last_seq, state=self.snapshot())

    def catch_up(self, journal: Journal) -> int:
        """Apply everything after `last_seq`; return how many entries were applied."""
        n = 0
        for entry in journal.read(self.last_seq + 1):
            self.apply(entry)
            n += 1
        return n

    def rebuild(self, journal: Journal, *, use_checkpoint: bool = True) -> int:
        """Load the latest checkpoint (if any) and apply the tail. Returns entries applied."""
        if use_checkpoint:
            cp_entry = journal.last_of_kind(Checkpoint.kind)
            if cp_entry is not None:
                cp = cp_entry.envelope.decode()
                assert isinstance(cp, Checkpoint)
                if set(cp.state) == set(self._projections):
                    for name, data in cp.state.items():
                        self._projections[name].restore(data)
                    self.last_seq = cp.upto_seq
        return self.catch_up(journal)
