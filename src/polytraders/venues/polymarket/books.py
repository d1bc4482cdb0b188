"""Order books from the market channel: snapshots, deltas and "needs a snapshot".

``BookKeeper.on_market`` folds one decoded market-channel message (WebSocket thread);
``view`` answers ``Venue.book`` (caller's thread).  A token's book is usable only after a full
snapshot (a ``book`` message, or a REST ``/book`` fetched by the reconcile thread): after a
reconnect (``invalidate_all``) and after a ``tick_size_change`` it returns None, and deltas that
arrive meanwhile are dropped rather than applied to a book we no longer trust.

Silent stalls (the socket answers PING but sends nothing for a token, a known CLOB failure):
``quiet`` names the tokens no message touched for a while, so the venue can compare them with a
REST ``/book`` and resynchronise (``resync``) when the two differ.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytraders.venues.base import BookView
from polytraders.venues.polymarket import parse
from polytraders.venues.polymarket.schemas import WireBook, WirePriceChange, WireTickSizeChange

__all__ = ["BookKeeper"]


@dataclass(slots=True)
class _Book:
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    tick: Decimal | None = None
    ts_ms: int = 0
    ready: bool = False
    touched: float = 0.0  # monotonic time of the last message for this token


class BookKeeper:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.resyncs = 0
        self._books: dict[str, _Book] = {}
        self._lock = threading.Lock()
        self._wanted: set[str] = set()

    def on_market(self, msg: Any) -> bool:
        """Fold one message; True when a REST snapshot is now wanted (tick change)."""
        with self._lock:
            if isinstance(msg, WireBook):
                b = self._books.setdefault(msg.asset_id, _Book())
                b.bids, b.asks = parse.levels_of(msg)
                b.tick = msg.tick_size or b.tick
                b.ts_ms, b.ready, b.touched = parse.ts_ms_of(msg.timestamp, 0), True, self._clock()
                self._wanted.discard(msg.asset_id)
            elif isinstance(msg, WirePriceChange):
                for token in {c.asset_id for c in msg.price_changes}:
                    known = self._books.get(token)
                    if known is not None and known.ready:
                        parse.apply_changes(known.bids, known.asks, msg.price_changes, token)
                        known.ts_ms = parse.ts_ms_of(msg.timestamp, known.ts_ms)
                        known.touched = self._clock()
            elif isinstance(msg, WireTickSizeChange):
                b = self._books.setdefault(msg.asset_id, _Book())
                b.tick, b.ready = msg.new_tick_size, False
                self._wanted.add(msg.asset_id)
                return True
        return False

    def quiet(self, older_than_s: float, limit: int) -> list[str]:
        """Ready books no message touched for ``older_than_s``, the quietest first."""
        cutoff = self._clock() - older_than_s
        with self._lock:
            quiet = sorted((b.touched, t) for t, b in self._books.items() if b.ready and b.touched < cutoff)
        return [t for _, t in quiet[:limit]]

    def resync(self, snapshot: WireBook, default_tick: Decimal, min_size: Decimal) -> bool:
        """Compare a REST snapshot with our book; replace ours when they differ (True)."""
        fresh = parse.book_view(snapshot.asset_id, *parse.levels_of(snapshot), 0, default_tick, min_size)
        current = self.view(snapshot.asset_id, default_tick, min_size)
        differs = current is None or current.book_hash != fresh.book_hash
        if differs:
            self.resyncs += 1
        self.on_market(snapshot)  # also marks it touched: checked again only after another quiet spell
        return differs

    def invalidate_all(self) -> None:
        with self._lock:
            for b in self._books.values():
                b.ready = False

    def wanted(self) -> list[str]:
        with self._lock:
            return sorted(self._wanted)

    def stale(self) -> frozenset[str]:
        with self._lock:
            return frozenset(t for t, b in self._books.items() if not b.ready)

    def view(self, token_id: str, default_tick: Decimal, min_size: Decimal) -> BookView | None:
        with self._lock:
            b = self._books.get(token_id)
            if b is None or not b.ready:
                return None
            return parse.book_view(token_id, b.bids, b.asks, b.ts_ms, b.tick or default_tick, min_size)
