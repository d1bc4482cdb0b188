"""Market data in: venue books and market status become journaled input envelopes.

Only changes are journaled (a new book hash or a new status), plus a heartbeat while a book is
unchanged but fresh, so the journal holds exactly what bots saw. A dropped or frozen feed simply
stops producing fresh books; the book's age then grows and the stale-book guard and the kill
switch see it.

Validation: a book from outside (the real or paper Polymarket adapter) is validated as an
`OrderBookSnapshot` here, where it enters the journal.  A view the venue marks `well_formed`
(the simulator's own book, whose construction already guarantees every snapshot invariant) is
built without re-checking, apart from the cheap tick and timestamp checks.
"""

from __future__ import annotations

from typing import Any

from polytraders.contracts import BookLevel, MarketSnapshot, OrderBookSnapshot
from polytraders.contracts.envelope import Actor
from polytraders.contracts.market import ALLOWED_TICKS
from polytraders.runtime.runner import Runtime
from polytraders.venues.base import BookLevel as VenueLevel
from polytraders.venues.base import BookView, MarketInfo, Venue

FEED = Actor(kind="system", id="feed.sim")


def market_snapshot(info: MarketInfo, now_ms: int) -> MarketSnapshot:
    return MarketSnapshot(
        market_id=info.condition_id, question=info.question, yes_token=info.yes_token,
        no_token=info.no_token, tick=info.tick, min_size=info.min_size, neg_risk=info.neg_risk,
        status=info.status, cluster=info.cluster, observed_at_ms=now_ms, source="sim",
    )


def _levels(levels: tuple[VenueLevel, ...], depth: int) -> tuple[BookLevel, ...]:
    # levels come from the venue's own validated book; the snapshot validator re-checks tick
    # and ordering, so the per-level constructor validation is skipped on this hot path
    return tuple([BookLevel.trusted(price=lv.price, size=lv.size) for lv in levels[:depth]])


_LEVEL_MEMO_LIMIT = 1 << 14


class _LevelMemo:
    """Contract levels, and their JSON, per venue level *object*: a venue that keeps an
    unchanged level's object across snapshots (the simulator does) has it converted once.
    Keyed by identity, holding the venue object so its id cannot be reused while the entry
    lives; equal values with another spelling (0.5 vs 0.50) are different objects and convert
    separately."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[VenueLevel, BookLevel, dict[str, Any]]] = {}

    def convert(self, levels: tuple[VenueLevel, ...], depth: int) -> tuple[BookLevel, ...]:
        return self.convert_with_json(levels, depth)[0]

    def convert_with_json(self, levels: tuple[VenueLevel, ...],
                          depth: int) -> tuple[tuple[BookLevel, ...], tuple[dict[str, Any], ...]]:
        """The top `depth` levels as contract levels, and each one's `to_json_dict()`: the
        journal's book payloads are built from those (shared, never changed: payloads are
        read-only), so a level is turned into text once, not at every snapshot holding it."""
        memo = self._memo
        out: list[BookLevel] = []
        out_json: list[dict[str, Any]] = []
        for lv in levels[:depth]:
            hit = memo.get(id(lv))
            if hit is None or hit[0] is not lv:
                if len(memo) >= _LEVEL_MEMO_LIMIT:
                    memo.clear()
                level = BookLevel.trusted(price=lv.price, size=lv.size)
                hit = memo[id(lv)] = (lv, level, level.to_json_dict())
            out.append(hit[1])
            out_json.append(hit[2])
        return tuple(out), tuple(out_json)


def book_snapshot(market_id: str, view: BookView, depth: int, *,
                  bids: tuple[BookLevel, ...] | None = None,
                  asks: tuple[BookLevel, ...] | None = None) -> OrderBookSnapshot:
    """The journaled form of ``view`` (its top ``depth`` levels a side); ``bids``/``asks`` are
    those levels already converted, when the caller has them."""
    if bids is None:
        bids = _levels(view.bids, depth)
    if asks is None:
        asks = _levels(view.asks, depth)
    if view.well_formed and view.tick in ALLOWED_TICKS and view.ts_ms >= 0:
        snap: OrderBookSnapshot = OrderBookSnapshot.trusted(
            market_id=market_id, token_id=view.token_id, ts_ms=view.ts_ms, tick=view.tick,
            bids=bids, asks=asks, book_hash=view.book_hash)
        return snap
    return OrderBookSnapshot(
        market_id=market_id, token_id=view.token_id, ts_ms=view.ts_ms, tick=view.tick,
        bids=bids, asks=asks, book_hash=view.book_hash,
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
        # token -> the venue's last (bids, asks) tuples and their converted top levels: a venue
        # that hands out the same tuple for an unchanged side is not converted again.  Holding
        # the source tuples keeps the identity test sound.
        self._sides: dict[str, tuple[int, tuple[VenueLevel, ...], tuple[BookLevel, ...],
                                     tuple[dict[str, Any], ...], tuple[VenueLevel, ...],
                                     tuple[BookLevel, ...], tuple[dict[str, Any], ...]]] = {}
        self._level_memo = _LevelMemo()

    def poll(self, now_ms: int) -> None:
        for info in self.venue.markets():
            if self._status.get(info.condition_id) != info.status:
                self._status[info.condition_id] = info.status
                self.runtime.record(market_snapshot(info, now_ms), actor=FEED,
                                    reason_code="GOV_MARKET_DATA")
            token = info.yes_token
            view = self.venue.book(token)
            if view is None:
                continue
            last = self._last.get(token)
            if last is not None and last[1] == view.ts_ms:
                continue  # the venue has nothing newer (a frozen feed looks like this)
            changed = last is None or last[0] != view.book_hash
            due = now_ms - self._last_journaled.get(token, 0) >= self.heartbeat_ms
            if changed or due:
                self._last[token] = (view.book_hash, view.ts_ms)
                self._last_journaled[token] = now_ms
                snap, payload = self._snapshot(info.condition_id, view)
                self.runtime.record(snap, actor=FEED, reason_code="GOV_MARKET_DATA", payload=payload)

    def _snapshot(self, market_id: str, view: BookView) -> tuple[OrderBookSnapshot, dict[str, Any] | None]:
        """The journaled snapshot of `view`, and its payload (`to_json_dict()`) when it was
        built from the memoised levels as they are; None when the snapshot was validated
        (validation may normalise a value, so its payload is the snapshot's own)."""
        depth = self.depth
        cached = self._sides.get(view.token_id)
        if cached is not None and cached[0] != depth:
            cached = None
        if cached is not None and cached[1] is view.bids:
            bids, bids_json = cached[2], cached[3]
        else:
            bids, bids_json = self._level_memo.convert_with_json(view.bids, depth)
        if cached is not None and cached[4] is view.asks:
            asks, asks_json = cached[5], cached[6]
        else:
            asks, asks_json = self._level_memo.convert_with_json(view.asks, depth)
        self._sides[view.token_id] = (depth, view.bids, bids, bids_json, view.asks, asks, asks_json)
        snap = book_snapshot(market_id, view, depth, bids=bids, asks=asks)
        if snap.bids is not bids or snap.asks is not asks or snap.tick is not view.tick \
                or snap.market_id is not market_id:
            return snap, None  # validated, not trusted: built as given is not guaranteed
        # equal to `snap.to_json_dict()` (a test checks): the trusted snapshot holds these values
        return snap, {
            "schema_version": snap.schema_version,
            "market_id": market_id,
            "token_id": view.token_id,
            "ts_ms": view.ts_ms,
            "tick": str(view.tick),
            "bids": list(bids_json),
            "asks": list(asks_json),
            "book_hash": view.book_hash,
        }
