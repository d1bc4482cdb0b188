"""Market data in: venue books and market status become journaled input envelopes.

Only changes are journaled (a new book hash or a new status), plus a heartbeat while a book is
unchanged but fresh, so the journal holds exactly what bots saw. A dropped or frozen feed simply
stops producing fresh books; the book's age then grows and the stale-book guard and the kill
switch see it.
"""

from __future__ import annotations

from polytraders.contracts import BookLevel, MarketSnapshot, OrderBookSnapshot
from polytraders.contracts.envelope import Actor
from polytraders.runtime.runner import Runtime
from polytraders.venues.base import BookView, MarketInfo, Venue

FEED = Actor(kind="system", id="feed.sim")


def market_snapshot(info: MarketInfo, now_ms: int) -> MarketSnapshot:
    return MarketSnapshot(
        market_id=info.condition_id, question=info.question, yes_token=info.yes_token,
        no_token=info.no_token, tick=info.tick, min_size=info.min_size, neg_risk=info.neg_risk,
        status=info.status, cluster=info.cluster, observed_at_ms=now_ms, source="sim",
    )


def book_snapshot(market_id: str, view: BookView, depth: int) -> OrderBookSnapshot:
    return OrderBookSnapshot(
        market_id=market_id, token_id=view.token_id, ts_ms=view.ts_ms, tick=view.tick,
        # levels come from the venue's own validated book; the snapshot validator re-checks
        # tick and ordering, so the per-level constructor validation is skipped on this hot path
        bids=tuple(BookLevel.trusted(price=lv.price, size=lv.size) for lv in view.bids[:depth]),
        asks=tuple(BookLevel.trusted(price=lv.price, size=lv.size) for lv in view.asks[:depth]),
        book_hash=view.book_hash,
    )


class MarketFeed:
    def __init__(self, runtime: Runtime, venue: Venue, *, heartbeat_ms: int = 2_000,
                 depth: int = 3) -> None:
        self.runtime = runtime
        self.venue = venue
        self.heartbeat_ms = heartbeat_ms
        self.depth = depth
        self._status: dict[str, str] = {}
        self._last: dict[str, tuple[str, int]] = {}  # token -> (hash, view ts)
        self._last_journaled: dict[str, int] = {}

    def poll(self, now_ms: int) -> None:
        for info in self.venue.markets():
            if self._status.get(info.condition_id) != info.status:
                self._status[info.condition_id] = info.status
                self.runtime.record(market_snapshot(info, now_ms), actor=FEED,
                                    reason_code="GOV_MARKET_DATA")
            view = self.venue.book(info.yes_token)
            if view is None:
                continue
            key = (view.book_hash, view.ts_ms)
            last = self._last.get(info.yes_token)
            if last is not None and last[1] == view.ts_ms:
                continue  # the venue has nothing newer (a frozen feed looks like this)
            changed = last is None or last[0] != view.book_hash
            due = now_ms - self._last_journaled.get(info.yes_token, 0) >= self.heartbeat_ms
            if changed or due:
                self._last[info.yes_token] = key
                self._last_journaled[info.yes_token] = now_ms
                self.runtime.record(book_snapshot(info.condition_id, view, self.depth),
                                    actor=FEED, reason_code="GOV_MARKET_DATA")
