"""Market data as a projection: latest snapshot per market, latest book per token.

Folds `market_snapshot` envelopes (a halted or resolved market arrives as a new snapshot) and
`order_book` envelopes (a dropped feed simply stops producing them, so a book's age grows).
Book age is measured from the book's own `ts_ms` (the venue's timestamp of that state), not
from when we journaled it: a book that sat in a queue is as stale as its content.

Derived values the guardrails read on every intent (mid, best bid/ask) are computed once per
update here, so a decision never re-derives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytraders.contracts import MarketSnapshot, OrderBookSnapshot
from polytraders.journal.base import JournalEntry


@dataclass(frozen=True, slots=True)
class BookTop:
    """The parts of a book the guardrails need, precomputed at fold time."""

    market_id: str
    token_id: str
    ts_ms: int
    best_bid: Decimal | None
    best_ask: Decimal | None
    mid: Decimal | None


def _top(book: OrderBookSnapshot) -> BookTop:
    # the snapshot's best_bid/best_ask/mid properties, read once from the levels
    bids, asks = book.bids, book.asks
    bid = bids[0].price if bids else None
    ask = asks[0].price if asks else None
    mid = (bid + ask) / 2 if bid is not None and ask is not None else None
    return BookTop(book.market_id, book.token_id, book.ts_ms, bid, ask, mid)


class MarketsProjection:
    """Latest `MarketSnapshot` per market and latest `OrderBookSnapshot` per token."""

    name = "markets"
    # every entry `apply` reads (see `state/store.py`)
    relevant = (frozenset({MarketSnapshot.kind, OrderBookSnapshot.kind}), frozenset[str]())

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._markets: dict[str, MarketSnapshot] = {}
        self._books: dict[str, OrderBookSnapshot] = {}
        self._tops: dict[str, BookTop] = {}
        self._token_market: dict[str, str] = {}
        self._clusters: dict[str, str] = {}  # market id -> its latest snapshot's cluster

    # -- fold ------------------------------------------------------------------------------

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.kind == MarketSnapshot.kind:
            snap = env.decode()
            assert isinstance(snap, MarketSnapshot)
            self._put_market(snap)
        elif env.kind == OrderBookSnapshot.kind:
            book = env.decode()
            assert isinstance(book, OrderBookSnapshot)
            self._put_book(book)

    def _put_market(self, snap: MarketSnapshot) -> None:
        self._markets[snap.market_id] = snap
        self._clusters[snap.market_id] = snap.cluster
        self._token_market[snap.yes_token] = snap.market_id
        self._token_market[snap.no_token] = snap.market_id

    def _put_book(self, book: OrderBookSnapshot) -> None:
        prev = self._books.get(book.token_id)
        if prev is not None and book.ts_ms < prev.ts_ms:
            return  # an older book delivered late must not roll freshness back
        self._books[book.token_id] = book
        self._tops[book.token_id] = _top(book)
        self._token_market.setdefault(book.token_id, book.market_id)

    # -- reads -----------------------------------------------------------------------------

    def market(self, market_id: str) -> MarketSnapshot | None:
        return self._markets.get(market_id)

    def markets(self) -> list[MarketSnapshot]:
        return [self._markets[k] for k in sorted(self._markets)]

    def market_for_token(self, token_id: str) -> MarketSnapshot | None:
        market_id = self._token_market.get(token_id)
        return None if market_id is None else self._markets.get(market_id)

    def market_id_of_token(self, token_id: str) -> str | None:
        return self._token_market.get(token_id)

    def book(self, token_id: str) -> OrderBookSnapshot | None:
        return self._books.get(token_id)

    def top(self, token_id: str) -> BookTop | None:
        return self._tops.get(token_id)

    def book_age_ms(self, token_id: str, now_ms: int) -> int | None:
        """Milliseconds since the book's timestamp; None when no book was ever seen.

        Negative when the book is stamped in the future (clock skew); callers decide.
        """
        top = self._tops.get(token_id)
        return None if top is None else now_ms - top.ts_ms

    def mid(self, token_id: str) -> Decimal | None:
        top = self._tops.get(token_id)
        return None if top is None else top.mid

    def cluster_of(self, market_id: str) -> str | None:
        return self._clusters.get(market_id)  # read per market on every trigger check

    # -- checkpoints -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "markets": [self._markets[k].to_json_dict() for k in sorted(self._markets)],
            "books": [self._books[k].to_json_dict() for k in sorted(self._books)],
            "token_market": dict(sorted(self._token_market.items())),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._clear()
        for raw in data["markets"]:
            self._put_market(MarketSnapshot.model_validate(raw))
        for raw in data["books"]:
            self._put_book(OrderBookSnapshot.model_validate(raw))
        # book-only tokens keep the market their book named, even before any snapshot
        self._token_market.update(data["token_market"])
