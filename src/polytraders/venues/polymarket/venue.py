"""``PolymarketVenue``: the real CLOB V2 behind the synchronous ``Venue`` protocol.

Threads: the caller's (``submit``/``cancel``/``open_orders``/``book``/``advance``, the runtime
loop), one WebSocket thread (market + user channels, ``ws.WsRunner``), one heartbeat thread and
one reconcile thread.  WebSocket and reconcile facts are folded by ``tracking.OrderTracker`` into
an inbox; ``advance(now_ms)`` drains it, so only the caller (the OLM) ever sees events, in order.

Truth: REST.  Open orders and trades are reconciled on ``start``, after every user-channel
reconnect (the CLOB replays nothing), after a heartbeat loss, after a submit whose outcome is
unknown, and every ``reconcile_interval_s``.

Safety interlock: heartbeats go out every ``heartbeat_interval_s``.  When none has succeeded for
``heartbeat_deadline_s`` the exchange has cancelled (or is about to cancel) every order of ours:
``health().heartbeat_lost`` is set, a reconcile runs at once and the orders it finds gone are
reported as ``cancel`` events with ``error_code="HEARTBEAT_LOST"``.

Gamma and the Data API (when their URLs are configured): market metadata (question, outcomes,
resolution) is re-read from Gamma and the funder's positions from the Data API (a cross-check:
it lags the CLOB) with the markets, every ``markets_refresh_s``, and whenever the runtime's active
probe asks (``surface_probes``).  Every call to either is reported to the observer
(``set_observer``), so the API-degradation monitor samples both surfaces; a failure there never
stops trading or reconciliation.

Books: the market channel's snapshots and deltas, per token.  After a (re)connect or a tick-size
change a token "needs a snapshot" and ``book`` returns None (feed unavailable) until a ``book``
message or a REST ``/book`` snapshot (fetched by the reconcile thread) arrives.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import httpx
from pydantic import ValidationError

from polytraders.venues.base import (
    BookView,
    MarketInfo,
    OpenOrderView,
    OutcomeUnknown,
    Side,
    VenueError,
    VenueEvent,
    VenueOrder,
    VenueOrderType,
)
from polytraders.venues.polymarket import parse
from polytraders.venues.polymarket.books import BookKeeper
from polytraders.venues.polymarket.config import PolymarketConfig, PrivateKey
from polytraders.venues.polymarket.data_api import DataApiClient, Position
from polytraders.venues.polymarket.gamma import GammaClient, MarketMeta
from polytraders.venues.polymarket.heartbeat import Heartbeat
from polytraders.venues.polymarket.orders import OrderDesk
from polytraders.venues.polymarket.rest import RestClient
from polytraders.venues.polymarket.schemas import (
    WireBook,
    WireClobMarket,
    WireOpenOrder,
    WireTrade,
    WireUserOrder,
    decode_market,
    decode_user,
)
from polytraders.venues.polymarket.tracking import OrderTracker
from polytraders.venues.polymarket.ws import Channel, WsRunner

__all__ = ["HEARTBEAT_LOST", "PolymarketVenue", "VenueHealth", "connect"]

log = logging.getLogger(__name__)
HEARTBEAT_LOST: Final = "HEARTBEAT_LOST"
TRADES_LOOKBACK_S: Final = 24 * 3600
KEEP_CLOSED_S: Final = 3600.0
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class VenueHealth:
    """What the runtime should watch besides events."""

    heartbeat_ok: bool
    heartbeat_lost: bool  # orders are (being) cancelled by the exchange's dead-man switch
    heartbeat_age_s: float | None
    market_ws: str
    user_ws: str
    user_ws_connects: int
    needs_snapshot: frozenset[str]
    post_only_window: bool
    last_reconcile_age_s: float | None
    feed_resyncs: int = 0  # books the market channel got wrong and REST /book corrected


class PolymarketVenue:
    """See the module docstring.  Build with ``connect``; call ``start`` before trading."""

    def __init__(self, config: PolymarketConfig, key: PrivateKey, *, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self.rest = RestClient(config, key, transport=transport)
        self._tracker = OrderTracker()
        self._reconcile_now = threading.Event()
        self._desk = OrderDesk(self.rest, self._tracker, clock, self._reconcile_now.set, config.builder_code)
        self._books = BookKeeper()
        self._markets: tuple[MarketInfo, ...] = ()
        self._by_token: dict[str, MarketInfo] = {}
        self._stop = threading.Event()
        self._ws: WsRunner | None = None
        self._threads: list[threading.Thread] = []
        self._ws_state = {"market": "idle", "user": "idle"}
        self._user_connects = 0
        self._heartbeat = Heartbeat(self.rest.heartbeat, config.heartbeat_deadline_s, clock,
                                    on_lost=self._reconcile_now.set)
        self._last_reconcile: float | None = None
        self._last_trade_s = 0
        self._markets_at = 0.0
        self._started = False
        self._observer: Callable[[str, int, bool, int], None] | None = None
        timeout = config.request_timeout_s
        self.gamma = GammaClient(config.gamma_url, timeout_s=timeout, transport=transport,
                                 observe=lambda ms, ok, status: self._observed("gamma", ms, ok, status)) \
            if config.gamma_url else None
        self.data_api = DataApiClient(config.data_url, timeout_s=timeout, transport=transport,
                                      observe=lambda ms, ok, status: self._observed("data_api", ms, ok, status)) \
            if config.data_url else None
        self._market_frame_at: float | None = None  # the last data frame on the market channel
        self.meta: dict[str, MarketMeta] = {}  # condition id -> Gamma's metadata
        self.reported_positions: tuple[Position, ...] = ()  # the Data API's view of the funder

    def __repr__(self) -> str:
        return f"PolymarketVenue(clob={self.config.clob_url}, address={self.rest.address})"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Log in, load markets, open both channels, reconcile once, start heartbeats."""
        if self._started:
            return
        self._started = True
        self.rest.login()
        self.markets()
        tokens = sorted(self._by_token)
        creds = self.rest.creds
        assert creds is not None
        market_sub = json.dumps({"type": "market", "assets_ids": tokens, "initial_dump": True})
        user_sub = json.dumps({"auth": {"apiKey": creds.api_key, "secret": creds.secret,
                                        "passphrase": creds.passphrase}, "type": "user"})
        cfg = self.config
        self._ws = WsRunner([
            Channel("market", f"{cfg.ws_url}/market", lambda: market_sub, self._on_frame, self._on_ws_state,
                    cfg.ws_ping_interval_s, cfg.ws_reconnect_max_s),
            Channel("user", f"{cfg.ws_url}/user", lambda: user_sub, self._on_frame, self._on_ws_state,
                    cfg.ws_ping_interval_s, cfg.ws_reconnect_max_s),
        ])
        self._ws.start()
        self._heartbeat.beat()
        self.reconcile()
        self._refresh_side_surfaces()
        beats = functools.partial(self._heartbeat.run, self._stop, self.config.heartbeat_interval_s)
        for name, target in (("heartbeat", beats), ("reconcile", self._reconcile_loop)):
            thread = threading.Thread(target=target, name=f"polymarket-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def set_observer(self, observer: Callable[[str, int, bool, int], None] | None) -> None:
        """Report every Gamma and Data API call as (surface, latency ms, ok, HTTP status or 0)."""
        self._observer = observer

    def _observed(self, surface: str, latency_ms: int, ok: bool, status: int) -> None:
        if self._observer is not None:
            self._observer(surface, latency_ms, ok, status)

    def market_feed_age_ms(self) -> int | None:
        """Milliseconds since the market channel last delivered data (any token), None before the
        first frame. A quiet book is normal; a silent channel is a stalled or dead feed."""
        at = self._market_frame_at
        if at is None or self._ws_state["market"] != "connected":
            return None
        return int((self._clock() - at) * 1000)

    def surface_probes(self) -> dict[str, Callable[[], object]]:
        """One real call per configured side surface, for the runtime's active probes."""
        probes: dict[str, Callable[[], object]] = {}
        if self.gamma is not None:
            probes["gamma"] = self.refresh_meta
        if self.data_api is not None:
            probes["data_api"] = self.refresh_positions
        return probes

    def refresh_meta(self) -> None:
        """Gamma's metadata for our markets (raises VenueError; the observer saw the call)."""
        if self.gamma is None:
            return
        cids = [m.condition_id for m in self.markets()]
        rows = self.gamma.markets(condition_ids=cids, limit=max(1, len(cids)))
        self.meta = {**self.meta, **{m.condition_id: m for m in rows}}

    def refresh_positions(self) -> None:
        """The Data API's positions of the funder (raises VenueError; the observer saw the call)."""
        if self.data_api is not None:
            self.reported_positions = tuple(self.data_api.positions(self.rest.funder))

    def _refresh_side_surfaces(self) -> None:
        for refresh in self.surface_probes().values():
            try:
                refresh()
            except (VenueError, OutcomeUnknown, ValidationError) as exc:
                log.info("polymarket side surface refresh failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Stop heartbeats and sockets.  Resting orders are left alone: without heartbeats the
        exchange cancels them within ``heartbeat_deadline_s`` (cancel first if that is unwanted)."""
        self._stop.set()
        self._reconcile_now.set()
        if self._ws is not None:
            self._ws.stop()
        for thread in self._threads:
            thread.join(10)
        self.rest.close()
        for client in (self.gamma, self.data_api):
            if client is not None:
                client.close()

    def health(self) -> VenueHealth:
        now = self._clock()
        age = self._heartbeat.age_s()
        stale = self._books.stale()
        return VenueHealth(
            heartbeat_ok=age is not None and age < self.config.heartbeat_deadline_s,
            heartbeat_lost=self._heartbeat.lost, heartbeat_age_s=age,
            market_ws=self._ws_state["market"], user_ws=self._ws_state["user"],
            user_ws_connects=self._user_connects, needs_snapshot=stale,
            post_only_window=self.rest.gate.post_only_active(),
            last_reconcile_age_s=None if self._last_reconcile is None else now - self._last_reconcile,
            feed_resyncs=self._books.resyncs)

    def remember(self, venue_order_id: str, client_order_id: str, token_id: str, side: Side, price: Decimal,
                 size: Decimal, order_type: VenueOrderType = "GTC", filled: Decimal = _ZERO) -> None:
        """After a restart: tell the adapter which of the venue's orders are whose (the client
        order id lives in our journal, not at the venue).  Call before ``start``."""
        self._tracker.remember(venue_order_id, client_order_id, token_id, side, price, size, order_type, filled,
                               self._clock())

    # -- Venue: markets and books --------------------------------------------------------------

    def markets(self) -> tuple[MarketInfo, ...]:
        """The configured markets (or every market the CLOB lists), refreshed by the reconcile
        thread every ``markets_refresh_s``."""
        if not self._markets:
            self._load_markets()
        return self._markets

    def _load_markets(self) -> None:
        rows: list[dict[str, Any]] = []
        if self.config.markets:
            rows = [self.rest.market(cid) for cid in self.config.markets]
        else:
            cursor = "MA=="
            while cursor != "LTE=":
                page = self.rest.markets_page(cursor)
                rows.extend(page.get("data") or [])
                cursor = str(page.get("next_cursor") or "LTE=")
        infos = [parse.market_info(WireClobMarket.model_validate(r)) for r in rows]
        markets = tuple(i for i in infos if i is not None)
        self._by_token = {t: i for i in markets for t in (i.yes_token, i.no_token)}
        self._markets = markets
        self._markets_at = self._clock()

    def book(self, token_id: str) -> BookView | None:
        info = self._by_token.get(token_id)
        if info is None:
            return None
        return self._books.view(token_id, info.tick, info.min_size)

    # -- Venue: orders -------------------------------------------------------------------------

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        return self._desk.submit(order, now_ms)

    def submit_batch(self, orders: list[VenueOrder], now_ms: int) -> list[VenueEvent]:
        """``POST /orders`` in groups of at most 15 (not part of ``Venue``; see ``OrderDesk``)."""
        return self._desk.submit_batch(orders, now_ms)

    def cancel(self, venue_order_id: str, now_ms: int) -> list[VenueEvent]:
        return self._desk.cancel(venue_order_id, now_ms)

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        return self._desk.cancel_all(token_ids, now_ms)

    def open_orders(self) -> tuple[OpenOrderView, ...]:
        rows = [WireOpenOrder.model_validate(r) for r in self.rest.open_orders()]
        views = [parse.open_order_view(r, self._tracker.client_id(r.id) or r.id) for r in rows]
        return tuple(sorted(views, key=lambda v: v.created_ms))

    def advance(self, now_ms: int) -> list[VenueEvent]:
        return self._tracker.drain()

    # -- WebSocket callbacks (WebSocket thread: decode and enqueue only) ------------------------

    def _on_ws_state(self, channel: str, state: str, connects: int) -> None:
        self._ws_state[channel] = state
        if state != "connected":
            return
        if channel == "market":
            self._books.invalidate_all()  # the subscribe's initial dump brings fresh snapshots
        else:
            self._user_connects = connects
            if connects > 1:
                self._reconcile_now.set()  # the user channel replays nothing

    def _on_frame(self, channel: str, text: str) -> None:
        try:
            payload = json.loads(text)
        except ValueError:
            log.warning("polymarket ws %s: a frame that is not JSON (%d bytes)", channel, len(text))
            return
        if channel == "market":
            self._market_frame_at = self._clock()
        for raw in payload if isinstance(payload, list) else [payload]:
            try:
                if channel == "market":
                    self._on_market(decode_market(raw))
                else:
                    self._on_user(decode_user(raw))
            except ValidationError as exc:
                log.warning("polymarket ws %s: unreadable %s event (%d errors)", channel,
                            raw.get("event_type") if isinstance(raw, dict) else "?", exc.error_count())

    def _on_market(self, msg: Any) -> None:
        if self._books.on_market(msg):
            self._reconcile_now.set()  # a tick change: fetch a REST snapshot

    def _on_user(self, msg: WireUserOrder | WireTrade) -> None:
        if isinstance(msg, WireUserOrder):
            update = parse.order_update(msg)
            self._tracker.on_order_update(msg.id, update, parse.ts_ms_of(msg.timestamp, 0))
        else:
            ts = parse.ts_ms_of(getattr(msg, "timestamp", 0), 0)
            self._tracker.on_fills(parse.our_fills(msg, self._tracker.ids(), ts))
            self._last_trade_s = max(self._last_trade_s, parse.trade_ts_ms(msg, 0) // 1000)

    # -- reconciliation and heartbeats (background threads) -------------------------------------

    def reconcile(self) -> None:
        """One REST pass: open orders first, then trades (a fill that lands between the two reads
        is then in the trades), then books that need a snapshot."""
        fetched_at = self._clock()
        rows = [WireOpenOrder.model_validate(r) for r in self.rest.open_orders()]
        after = self._last_trade_s - 60 if self._last_trade_s else int(time.time()) - TRADES_LOOKBACK_S
        trades = [WireTrade.model_validate(r) for r in self.rest.trades(after_s=max(after, 1))]
        ours = self._tracker.ids()
        now_ms = int(time.time() * 1000)
        for trade in sorted(trades, key=lambda t: parse.trade_ts_ms(t, 0)):
            self._tracker.on_fills(parse.our_fills(trade, ours, now_ms))
            self._last_trade_s = max(self._last_trade_s, parse.trade_ts_ms(trade, 0) // 1000)
        self._tracker.reconcile_open({r.id: r.size_matched for r in rows}, fetched_at, now_ms,
                                     HEARTBEAT_LOST if self._heartbeat.lost else None)
        self._refresh_books()
        now = self._clock()
        self._tracker.prune(now, KEEP_CLOSED_S)
        if now - self._markets_at >= self.config.markets_refresh_s:
            self._load_markets()  # statuses move: halted, resolved
            self._refresh_side_surfaces()
        self._last_reconcile = now

    def _refresh_books(self) -> None:
        """REST snapshots for books that need one, and a cross-check of books the socket has
        been silent about (a stalled feed is resynchronised and its socket reconnected)."""
        for token in self._books.wanted():
            try:
                self._books.on_market(WireBook.model_validate(self.rest.book(token)))
            except (VenueError, ValidationError):
                log.info("polymarket: no REST snapshot for a token yet")
        stalled = False
        for token in self._books.quiet(self.config.stale_feed_s, limit=5):
            info = self._by_token.get(token)
            try:
                snapshot = WireBook.model_validate(self.rest.book(token))
            except (VenueError, ValidationError):
                continue
            if info is not None and self._books.resync(snapshot, info.tick, info.min_size):
                stalled = True
        if stalled and self._ws is not None:
            log.warning("polymarket market feed disagreed with REST /book: resynchronised, reconnecting")
            self._ws.kick("market")

    def _reconcile_loop(self) -> None:
        while not self._stop.is_set():
            self._reconcile_now.wait(self.config.reconcile_interval_s)
            self._reconcile_now.clear()
            if self._stop.is_set():
                return
            try:
                self.reconcile()
            except (VenueError, OutcomeUnknown, ValidationError) as exc:
                log.warning("polymarket reconcile failed: %s", type(exc).__name__)
                time.sleep(0.2)
                self._reconcile_now.set()


def connect(config: PolymarketConfig, key: PrivateKey, *, start: bool = True,
            transport: httpx.BaseTransport | None = None,
            remembered: Iterable[tuple[str, str, str, Side, Decimal, Decimal]] = ()) -> PolymarketVenue:
    """Build the venue, adopt ``remembered`` orders (venue id, client id, token, side, price,
    size) from the journal, and start it."""
    venue = PolymarketVenue(config, key, transport=transport)
    for vid, cid, token, side, price, size in remembered:
        venue.remember(vid, cid, token, side, price, size)
    if start:
        venue.start()
    return venue
