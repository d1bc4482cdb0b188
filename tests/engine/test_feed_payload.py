"""The market feed journals book payloads it builds from memoised levels; each must be exactly
the snapshot's own serialisation (what `to_json_dict` and `model_dump` say), or the journal
would hold something other than what the bots saw."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from polytraders.contracts import OrderBookSnapshot
from polytraders.engine.feed import MarketFeed
from polytraders.journal.base import JournalEntry
from polytraders.journal.sqlite import SqliteJournal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime
from polytraders.venues.base import BookLevel, BookView
from polytraders.venues.sim import SimVenue

T0 = 1_700_000_000_000


def test_feed_payloads_are_the_snapshots_own_serialisation(tmp_path: Path) -> None:
    clock = SimClock(T0)
    rt = Runtime(SqliteJournal(tmp_path / "j.db", synchronous="NORMAL"), clock)
    venue = SimVenue(4, 7, T0)
    feed = MarketFeed(rt, venue)
    recorded: list[tuple[JournalEntry, dict[str, Any] | None]] = []
    record = rt.record

    def spy(contract: Any, **kw: Any) -> JournalEntry:
        entry = record(contract, **kw)
        recorded.append((entry, kw.get("payload")))
        return entry

    rt.record = spy  # type: ignore[method-assign]
    for second in range(1, 120):
        clock.advance_to(T0 + second * 1000)
        venue.advance(clock.now_ms())
        feed.poll(clock.now_ms())
    books = [(e, p) for e, p in recorded if e.envelope.kind == OrderBookSnapshot.kind]
    assert len(books) > 100
    assert sum(p is not None for _, p in books) == len(books)  # the sim's books take the fast path
    for entry, payload in books:
        snap = entry.envelope.decode()
        assert isinstance(snap, OrderBookSnapshot)
        assert payload == snap.to_json_dict() == snap.model_dump(mode="json")
        assert entry.envelope.payload is payload
    rt.journal.flush()
    for entry in rt.journal.read(kinds=[OrderBookSnapshot.kind]):  # as stored: validates back to itself
        assert OrderBookSnapshot.model_validate(entry.envelope.payload).model_dump(mode="json") \
            == entry.envelope.payload


def test_a_view_that_needs_validation_journals_the_validated_snapshots_own_payload(tmp_path: Path) -> None:
    clock = SimClock(T0)
    rt = Runtime(SqliteJournal(tmp_path / "j.db", synchronous="NORMAL"), clock)
    feed = MarketFeed(rt, SimVenue(1, 7, T0))
    # not marked well formed, and with an upper-case market id the validator lower-cases
    view = BookView("9", (BookLevel(Decimal("0.45"), Decimal(5)),), (BookLevel(Decimal("0.47"), Decimal(3)),),
                    T0, Decimal("0.01"), Decimal(5), "f" * 64)
    snap, payload = feed._snapshot("0x" + "AB" * 32, view)
    assert payload is None  # the runtime serialises the validated snapshot itself
    assert snap.market_id == "0x" + "ab" * 32
