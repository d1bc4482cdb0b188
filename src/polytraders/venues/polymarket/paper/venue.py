"""``PaperVenue``: Polymarket's live market data, our orders matched locally (``--paper``).

Market data comes from the configured Polymarket hosts with no key and no authenticated call:
markets from CLOB ``/markets`` (question text from Gamma where the CLOB gives none), books from
the public market WebSocket channel (snapshots, deltas, trade prints) with REST ``/book``
snapshots whenever a book needs one (start, reconnect, tick change, a quiet feed).  Orders never
leave the process: ``matcher.PaperBook`` matches them against that live book.  There is no user
channel, no heartbeat and nothing to reconcile at the exchange; the paper book dies with the
process, so after a restart the runtime's reconcile finds no paper order open.

Threads: the caller's (every ``Venue`` method, and all matching), one WebSocket thread (decode
and enqueue only) and one refresh thread (REST snapshots, market statuses).

Events, as ``SimVenue`` gives them: ``submit`` returns ack/reject plus immediate (taker) fills
and, for FAK, the cancel of the rest; ``advance`` returns fills of resting orders (the live book
crossed them or a print traded through them), GTD expiries, cancels of orders on markets that
closed (``CANCELED_MARKET_RESOLVED``), and settlement steps: each fill is ``MATCHED`` at once,
``MINED`` ``mined_delay_ms`` later and ``CONFIRMED`` ``confirmed_delay_ms`` after that.  Makers pay
no fee; takers pay the market's fee rate (``GET /fee-rate``; the 400 bps default when unknown).
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final, Literal

from pydantic import Field, ValidationError

from polytraders.venues.base import (
    CANCEL_ALREADY_CANCELED,
    CANCEL_ALREADY_MATCHED,
    CANCEL_ORDER_NOT_FOUND,
    CANCELED_MARKET_RESOLVED,
    INVALID_ORDER_DUPLICATED,
    INVALID_ORDER_ERROR,
    INVALID_ORDER_EXPIRATION,
    MARKET_NOT_READY,
    BookView,
    MarketInfo,
    OpenOrderView,
    TradeStatus,
    VenueError,
    VenueEvent,
    VenueOrder,
)
from polytraders.venues.fees import taker_fee
from polytraders.venues.polymarket import parse
from polytraders.venues.polymarket.books import BookKeeper
from polytraders.venues.polymarket.config import MarketDataConfig
from polytraders.venues.polymarket.paper.feed import PublicClob
from polytraders.venues.polymarket.paper.matcher import PaperBook, PaperFill, PaperOrder
from polytraders.venues.polymarket.schemas import WireBook, WireClobMarket, WireLastTradePrice, decode_market
from polytraders.venues.polymarket.ws import Channel, WsRunner
from polytraders.venues.sim.venue import marketable_error

__all__ = ["PaperConfig", "PaperFeedHealth", "PaperVenue", "connect_paper"]

log = logging.getLogger(__name__)
DEFAULT_TAKER_FEE_BPS: Final = 400
GTD_THRESHOLD_MS: Final = 60_000  # the CLOB's one-minute security threshold on GTD expirations
_ZERO: Final = Decimal(0)


class PaperConfig(MarketDataConfig):
    """Where the market data comes from and how the paper book behaves (no key fields)."""

    markets: tuple[str, ...] = ()  # condition ids; empty: the first ``max_markets`` open ones
    max_markets: int = Field(default=10, ge=1, le=500)
    refresh_interval_s: float = Field(default=1.0, gt=0)
    # A quiet book is re-read over REST this often: its age is how long since we last confirmed
    # it, and strategies refuse books older than a few seconds (maker_tight: 5 s).
    stale_feed_s: float = Field(default=4.0, gt=0)
    mined_delay_ms: int = Field(default=500, ge=0)
    confirmed_delay_ms: int = Field(default=1_500, ge=0)


@dataclass(frozen=True, slots=True)
class PaperFeedHealth:
    market_ws: str
    market_ws_connects: int
    needs_snapshot: frozenset[str]
    feed_resyncs: int
    trade_prints: int


@dataclass(slots=True)
class _Record:
    """Every order we accepted (for duplicates and cancel answers), open or not."""

    order: PaperOrder
    state: Literal["open", "filled", "canceled", "expired"] = "open"


class PaperVenue:
    """See the module docstring.  ``start`` before trading, ``close`` at the end."""

    paper: Final = True

    def __init__(self, config: PaperConfig, *, feed: PublicClob | None = None) -> None:
        self.config = config
        self.feed = feed or PublicClob(config.clob_url, config.gamma_url, timeout_s=config.request_timeout_s,
                                       retry_budget_s=config.retry_budget_s)
        self._books = BookKeeper()
        self._markets: tuple[MarketInfo, ...] = ()
        self._by_token: dict[str, MarketInfo] = {}
        self._paper: dict[str, PaperBook] = {}
        self._synced: dict[str, str] = {}  # token -> book hash the paper book last saw
        self._records: dict[str, _Record] = {}
        self._by_client: dict[str, str] = {}
        self._fee_bps: dict[str, int] = {}
        self._prints: deque[tuple[str, Decimal, Decimal, str]] = deque(maxlen=10_000)
        self._prints_seen = 0
        self._settlements: list[tuple[int, int, VenueEvent, tuple[TradeStatus, ...]]] = []
        self._heap_seq = 0
        self._ws: WsRunner | None = None
        self._ws_state = "idle"
        self._ws_connects = 0
        self._stop = threading.Event()
        self._refresh_now = threading.Event()
        self._thread: threading.Thread | None = None
        self._markets_at = 0.0

    def __repr__(self) -> str:
        return f"PaperVenue(clob={self.config.clob_url}, paper=True)"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._load_markets()
        tokens = sorted(self._by_token)
        for token in tokens:
            try:
                self._fee_bps[token] = self.feed.fee_rate_bps(token) or DEFAULT_TAKER_FEE_BPS
            except VenueError:
                self._fee_bps[token] = DEFAULT_TAKER_FEE_BPS
        subscribe = json.dumps({"type": "market", "assets_ids": tokens, "initial_dump": True})
        self._ws = WsRunner([Channel("market", f"{self.config.ws_url}/market", lambda: subscribe, self._on_frame,
                                     self._on_ws_state, self.config.ws_ping_interval_s,
                                     self.config.ws_reconnect_max_s)])
        self._ws.start()
        self._thread = threading.Thread(target=self._refresh_loop, name="paper-refresh", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._refresh_now.set()
        if self._ws is not None:
            self._ws.stop()
        if self._thread is not None:
            self._thread.join(10)
        self.feed.close()

    def feed_health(self) -> PaperFeedHealth:
        return PaperFeedHealth(self._ws_state, self._ws_connects, self._books.stale(), self._books.resyncs,
                               self._prints_seen)

    def probe(self, now_ms: int) -> None:
        """The CLOB's ``/ok``, for the API health monitor."""
        self.feed.ok()

    def kick_feed(self) -> None:
        """Drop the market socket now (it reconnects and re-snapshots): for drills and tests."""
        if self._ws is not None:
            self._ws.kick("market")

    # -- Venue: markets and books ----------------------------------------------------------------

    def markets(self) -> tuple[MarketInfo, ...]:
        if not self._markets:
            self._load_markets()
        return self._markets

    def _load_markets(self) -> None:
        rows = self.feed.markets(self.config.markets)
        infos = [parse.market_info(WireClobMarket.model_validate(r)) for r in rows]
        markets = [i for i in infos if i is not None]
        if self._markets:  # keep the set we subscribed to; only statuses move
            known = {m.condition_id for m in self._markets}
            markets = [m for m in markets if m.condition_id in known]
        elif not self.config.markets:
            markets = [m for m in markets if m.status == "open"][: self.config.max_markets]
        nameless = [m.condition_id for m in markets if not m.question]
        if nameless:
            try:
                names = self.feed.questions(nameless)
            except VenueError:
                names = {}
            markets = [m if m.question else _named(m, names.get(m.condition_id, "")) for m in markets]
        self._by_token = {t: m for m in markets for t in (m.yes_token, m.no_token)}
        self._markets = tuple(markets)
        self._markets_at = time.monotonic()

    def book(self, token_id: str) -> BookView | None:
        info = self._by_token.get(token_id)
        if info is None:
            return None
        return self._books.view(token_id, info.tick, info.min_size)

    # -- Venue: orders ---------------------------------------------------------------------------

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        def reject(code: str, venue_order_id: str = "") -> list[VenueEvent]:
            return [VenueEvent("reject", venue_order_id, order.client_order_id, order.token_id, now_ms,
                               side=order.side, price=order.price, error_code=code)]

        info = self._by_token.get(order.token_id)
        if info is None:
            return reject(INVALID_ORDER_ERROR)
        if info.status != "open":
            return reject(MARKET_NOT_READY)
        existing = self._by_client.get(order.client_order_id)
        if existing is not None:
            return reject(INVALID_ORDER_DUPLICATED, existing)
        if order.order_hash and order.order_hash in self._records:
            return reject(INVALID_ORDER_DUPLICATED, order.order_hash)
        if order.order_type == "GTD":
            if order.expires_at_ms is None or order.expires_at_ms - GTD_THRESHOLD_MS <= now_ms:
                return reject(INVALID_ORDER_EXPIRATION)
        elif order.expires_at_ms is not None:
            return reject(INVALID_ORDER_EXPIRATION)
        if order.order_type in ("FOK", "FAK"):
            error = marketable_error(order)
            if error is not None:
                return reject(error)
        events = self._sync(order.token_id, now_ms)  # match against the book as it is now
        book = self._paper.get(order.token_id)
        if book is None:
            return events + reject(MARKET_NOT_READY)  # no live book yet: cannot tell what crosses
        vid = order.order_hash or "0x" + uuid.uuid4().hex + uuid.uuid4().hex
        expires = None if order.expires_at_ms is None else order.expires_at_ms - GTD_THRESHOLD_MS
        result = book.place(venue_order_id=vid, client_order_id=order.client_order_id, side=order.side,
                            price=order.price, size=order.size, order_type=order.order_type, created_ms=now_ms,
                            post_only=order.post_only, expires_at_ms=expires)
        if result.status == "rejected":
            assert result.error_code is not None
            return events + reject(result.error_code)
        record = _Record(book.orders.get(vid) or PaperOrder(
            vid, order.client_order_id, order.token_id, order.side, order.price, order.size, result.remaining,
            order.order_type, now_ms, 0))
        self._records[vid] = record
        self._by_client[order.client_order_id] = vid
        events.append(VenueEvent("ack", vid, order.client_order_id, order.token_id, now_ms, side=order.side,
                                 price=order.price, remaining=order.size))
        events += self._fill_events(order.token_id, list(result.fills), now_ms)
        if result.status == "filled":
            record.state = "filled"
        elif result.status == "killed":
            record.state = "canceled"
            events.append(VenueEvent("cancel", vid, order.client_order_id, order.token_id, now_ms, side=order.side,
                                     price=order.price, remaining=result.remaining))
        return events

    def cancel(self, venue_order_id: str, now_ms: int) -> list[VenueEvent]:
        record = self._records.get(venue_order_id)
        if record is None or record.state != "open":
            code = (CANCEL_ORDER_NOT_FOUND if record is None else
                    CANCEL_ALREADY_MATCHED if record.state == "filled" else CANCEL_ALREADY_CANCELED)
            return [VenueEvent("reject", venue_order_id, record.order.client_order_id if record else "",
                               record.order.token_id if record else "", now_ms, error_code=code)]
        return [self._close(record, "cancel", now_ms)]

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        return [self._close(r, "cancel", now_ms) for r in self._open()
                if token_ids is None or r.order.token_id in token_ids]

    def open_orders(self) -> tuple[OpenOrderView, ...]:
        return tuple(OpenOrderView(o.venue_order_id, o.client_order_id, o.token_id, o.side, o.price,
                                   o.original_size, o.remaining, o.order_type, o.created_ms)
                     for o in (r.order for r in self._open()))

    def _open(self) -> list[_Record]:
        return sorted((r for r in self._records.values() if r.state == "open"), key=lambda r: r.order.seq)

    # -- Venue: time -----------------------------------------------------------------------------

    def advance(self, now_ms: int) -> list[VenueEvent]:
        events: list[VenueEvent] = []
        while self._prints:
            token, price, size, side = self._prints.popleft()
            book = self._paper.get(token)
            if book is not None and book.orders:
                events += self._fill_events(token, book.trade(price, size, side), now_ms)
        for token in sorted({r.order.token_id for r in self._open()}):
            events += self._sync(token, now_ms)
        for record in self._open():
            info = self._by_token.get(record.order.token_id)
            expires = record.order.expires_at_ms
            if info is not None and info.status == "resolved":
                events.append(self._close(record, "cancel", now_ms, CANCELED_MARKET_RESOLVED))
            elif expires is not None and expires <= now_ms:
                events.append(self._close(record, "expire", now_ms))
        while self._settlements and self._settlements[0][0] <= now_ms:
            due, _, fill, path = heapq.heappop(self._settlements)
            events.append(VenueEvent("trade_status", fill.venue_order_id, fill.client_order_id, fill.token_id, due,
                                     side=fill.side, price=fill.price, size=fill.size, fee=fill.fee,
                                     trade_id=fill.trade_id, liquidity=fill.liquidity, trade_status=path[0]))
            if len(path) > 1:
                self._schedule(due + self.config.confirmed_delay_ms, fill, path[1:])
        return events

    # -- matching plumbing -----------------------------------------------------------------------

    def _sync(self, token: str, now_ms: int) -> list[VenueEvent]:
        info = self._by_token.get(token)
        view = self.book(token)
        if info is None or view is None:
            return []
        book = self._paper.get(token)
        if book is None:
            book = self._paper[token] = PaperBook(token, view.tick, info.min_size)
        book.tick = view.tick  # the live tick (it can change while we run)
        if self._synced.get(token) == view.book_hash:
            return []
        self._synced[token] = view.book_hash
        return self._fill_events(token, book.sync(view.bids, view.asks), now_ms)

    def _fill_events(self, token: str, fills: list[PaperFill] | tuple[PaperFill, ...], now_ms: int) -> list[VenueEvent]:
        out: list[VenueEvent] = []
        for f in fills:
            fee = taker_fee(f.price, f.size, self._fee_bps.get(token, DEFAULT_TAKER_FEE_BPS)) \
                if f.liquidity == "taker" else _ZERO
            event = VenueEvent("fill", f.venue_order_id, f.client_order_id, token, now_ms, side=f.side,
                               price=f.price, size=f.size, remaining=f.remaining, fee=fee,
                               trade_id="paper-" + uuid.uuid4().hex, liquidity=f.liquidity, trade_status="MATCHED")
            out.append(event)
            record = self._records.get(f.venue_order_id)
            if record is not None and f.remaining <= _ZERO:
                record.state = "filled"
            self._schedule(now_ms + self.config.mined_delay_ms, event, ("MINED", "CONFIRMED"))
        return out

    def _schedule(self, at_ms: int, fill: VenueEvent, path: tuple[TradeStatus, ...]) -> None:
        self._heap_seq += 1
        heapq.heappush(self._settlements, (at_ms, self._heap_seq, fill, path))

    def _close(self, record: _Record, kind: Literal["cancel", "expire"], now_ms: int,
               reason: str | None = None) -> VenueEvent:
        o = record.order
        book = self._paper.get(o.token_id)
        if book is not None:
            book.cancel(o.venue_order_id)
        record.state = "canceled" if kind == "cancel" else "expired"
        return VenueEvent(kind, o.venue_order_id, o.client_order_id, o.token_id, now_ms, side=o.side, price=o.price,
                          remaining=o.remaining, error_code=reason)

    # -- WebSocket thread (decode and enqueue only) ----------------------------------------------

    def _on_ws_state(self, channel: str, state: str, connects: int) -> None:
        self._ws_state = state
        if state == "connected":
            self._ws_connects = connects
            self._books.invalidate_all()  # the subscribe's initial dump brings fresh snapshots
            self._refresh_now.set()

    def _on_frame(self, channel: str, text: str) -> None:
        try:
            payload = json.loads(text)
        except ValueError:
            log.warning("paper feed: a frame that is not JSON (%d bytes)", len(text))
            return
        for raw in payload if isinstance(payload, list) else [payload]:
            try:
                msg = decode_market(raw)
            except ValidationError as exc:
                log.warning("paper feed: unreadable market event (%d errors)", exc.error_count())
                continue
            if isinstance(msg, WireLastTradePrice):
                if msg.asset_id in self._by_token:
                    self._prints.append((msg.asset_id, msg.price, msg.size, msg.side.upper()))
                    self._prints_seen += 1
            elif self._books.on_market(msg):
                self._refresh_now.set()  # a tick change: fetch a REST snapshot

    # -- refresh thread --------------------------------------------------------------------------

    def _refresh_loop(self) -> None:
        while not self._stop.is_set():
            self._refresh_now.wait(self.config.refresh_interval_s)
            self._refresh_now.clear()
            if self._stop.is_set():
                return
            try:
                self._refresh()
                if time.monotonic() - self._markets_at >= self.config.markets_refresh_s:
                    self._load_markets()
            except (VenueError, ValidationError) as exc:
                log.warning("paper feed refresh failed: %s", type(exc).__name__)

    def _refresh(self) -> None:
        """REST snapshots for books that need one, and a check of books the socket was quiet on."""
        for token in sorted(set(self._books.wanted()) | (set(self._by_token) - self._ready())):
            try:
                self._books.on_market(WireBook.model_validate(self.feed.book(token)))
            except (VenueError, ValidationError):
                log.info("paper feed: no REST snapshot for a token yet")
        for token in self._books.quiet(self.config.stale_feed_s, limit=5):
            info = self._by_token.get(token)
            if info is None:
                continue
            try:
                snapshot = WireBook.model_validate(self.feed.book(token))
            except (VenueError, ValidationError):
                continue
            if self._books.resync(snapshot, info.tick, info.min_size) and self._ws is not None:
                self._ws.kick("market")

    def _ready(self) -> set[str]:
        return {t for t, info in self._by_token.items()
                if self._books.view(t, info.tick, info.min_size) is not None}


def _named(info: MarketInfo, question: str) -> MarketInfo:
    return replace(info, question=question)


def connect_paper(config: PaperConfig, *, start: bool = True) -> PaperVenue:
    venue = PaperVenue(config)
    if start:
        venue.start()
    return venue
