"""``SimVenue``: a deterministic CLOB V2-like exchange behind the ``Venue`` protocol.

What: synthetic binary markets (``market_gen``) with one price-time-priority book per outcome
token (``book``), our orders matched against background liquidity and other traders' flow,
taker fees, trade settlement progress and injectable faults (``faults``).

Why: the Order Lifecycle Manager, the kill switch and the replay simulator need an exchange that
behaves like Polymarket's CLOB V2 (order types, post-only, tick/min-size rules, duplicate
detection, MATCHED -> MINED -> CONFIRMED settlement, FAILED trades, 429/425/503, stale feeds)
and that is exactly reproducible: same seed + same calls => identical events and book hashes.

Time and randomness: there is no wall clock.  Every call carries ``now_ms`` (non-decreasing;
going backwards raises ``ValueError``).  The world moves only in ``advance(now_ms)``, which runs
in time order everything scheduled up to ``now_ms``: fault transitions (freeze/halt snapshots,
market resolution), GTD expiries, settlement steps and market steps on a fixed ``step_ms`` grid
(fair-value move, ladder refresh, other traders' orders).  Call ``advance(now)`` before acting
at ``now`` so the world is current.  All randomness comes from one ``random.Random(seed)``.

Orders:
- Venue order id = ``order.order_hash`` when given (Polymarket's order id is the EIP-712 hash),
  else ``0x`` + sha256(client_order_id, per-venue counter).
- A second submit with a client order id (or order hash) the venue has already *accepted* is
  rejected ``INVALID_ORDER_DUPLICATED`` and the reject names the original venue order id, so an
  idempotent resubmission after an unknown outcome is safe.  Rejected submits do not reserve
  the id.
- GTD: ``expires_at_ms`` is the wire expiration.  Like the CLOB's one-minute security threshold,
  the order stops living ``gtd_threshold_ms`` (default 60 s) before it, and an expiration that
  leaves no lifetime is rejected ``INVALID_ORDER_EXPIRATION`` (also for an expiration on a
  non-GTD order).  Expiry produces an ``expire`` event (the real CLOB reports a cancel).
- FAK: ack, fills, then a ``cancel`` for the unfilled rest (also when nothing matched).
- FOK that cannot fill completely: ``reject`` ``FOK_ORDER_NOT_FILLED_ERROR``, nothing changed.
- Self-trades are allowed: both our taker and our maker fill are reported.

Fees (pUSD): makers pay 0.  The taker pays Polymarket's V2 curve
``fee = size * rate * price * (1 - price)`` with ``rate = taker_fee_bps / 10_000``, rounded
half-up to 5 decimals with a 0.00001 minimum when positive (polymarket-interfaces.md §1.11).
``price`` is the execution price.  The default 400 bps is the politics/finance category rate.

Settlement: each fill of ours is ``MATCHED`` in its ``fill`` event; ``mined_delay_ms`` later
``advance`` emits ``trade_status`` ``MINED``, then ``confirmed_delay_ms`` after that
``CONFIRMED``.  A settlement fault turns the path into RETRYING -> FAILED (or RETRYING -> MINED
-> CONFIRMED when it recovers); each hop after the first takes ``confirmed_delay_ms``.

Event delivery: a call returns the events it delivers.  Under a latency fault, events produced
at ``t`` are queued and delivered by the first ``advance`` at or after ``t + delay``; while
anything is queued, newer events queue behind it, so delivery order always equals production
order.  ``ts_ms`` on an event is when it was produced.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import deque
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final, Literal

from polytraders.venues.base import (
    CANCEL_ALREADY_CANCELED,
    CANCEL_ALREADY_MATCHED,
    CANCEL_ORDER_NOT_FOUND,
    CANCELED_MARKET_RESOLVED,
    INVALID_ORDER_DUPLICATED,
    INVALID_ORDER_ERROR,
    INVALID_ORDER_EXPIRATION,
    INVALID_ORDER_MIN_SIZE,
    MARKET_NOT_READY,
    BookView,
    Liquidity,
    MarketInfo,
    MarketStatus,
    OpenOrderView,
    Side,
    TradeStatus,
    VenueEvent,
    VenueOrder,
    VenueOrderType,
)
from polytraders.venues.fees import taker_fee
from polytraders.venues.sim.book import (
    MIN_MARKETABLE_NOTIONAL,
    Fill,
    OrderBook,
    marketable_amounts_ok,
)
from polytraders.venues.sim.faults import (
    FaultPlan,
    FaultState,
    FeedFault,
    HaltMarket,
    PriceShock,
    ResolveMarket,
)
from polytraders.venues.sim.market_gen import SyntheticMarket, generate_markets

DEFAULT_TAKER_FEE_BPS: Final = 400
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_BPS: Final = Decimal(10_000)
_UNITS: Final = Decimal(1_000_000)
TAPE_LIMIT: Final = 10_000

OrderState = Literal["open", "filled", "canceled", "expired"]

# VenueEvent's slots written directly (its frozen __init__ sets each of its 14 fields through
# object.__setattr__, about 40 % more): a cancel-all answers with one event per resting order,
# inside the kill switch's trip window. Every field is set, so the event is the one __init__ makes.
_new_event = object.__new__
(_ev_kind, _ev_venue_order_id, _ev_client_order_id, _ev_token_id, _ev_ts_ms, _ev_side, _ev_price, _ev_size,
 _ev_remaining, _ev_fee, _ev_trade_id, _ev_liquidity, _ev_trade_status, _ev_error_code) = (
    VenueEvent.__dict__[name].__set__ for name in VenueEvent.__slots__)


def _event(kind: str, venue_order_id: str, client_order_id: str, token_id: str, ts_ms: int,
           side: Side | None, price: Decimal | None, size: Decimal | None, remaining: Decimal | None,
           fee: Decimal | None, trade_id: str | None, liquidity: Liquidity | None,
           trade_status: TradeStatus | None, error_code: str | None = None) -> VenueEvent:
    """`VenueEvent(...)` with its fields given in order, set through the slots (see above): every
    order's ack, each fill of ours, each settlement step and each cancel is one."""
    ev: VenueEvent = _new_event(VenueEvent)
    _ev_kind(ev, kind)
    _ev_venue_order_id(ev, venue_order_id)
    _ev_client_order_id(ev, client_order_id)
    _ev_token_id(ev, token_id)
    _ev_ts_ms(ev, ts_ms)
    _ev_side(ev, side)
    _ev_price(ev, price)
    _ev_size(ev, size)
    _ev_remaining(ev, remaining)
    _ev_fee(ev, fee)
    _ev_trade_id(ev, trade_id)
    _ev_liquidity(ev, liquidity)
    _ev_trade_status(ev, trade_status)
    _ev_error_code(ev, error_code)
    return ev


def marketable_error(order: VenueOrder) -> str | None:
    """The CLOB's FOK/FAK amount rules: maker <= 2 decimals, taker <= 4, collateral >= $1 (the
    simulator and the paper venue both apply them)."""
    if order.maker_amount is not None and order.taker_amount is not None:
        maker = Decimal(order.maker_amount) / _UNITS
        taker = Decimal(order.taker_amount) / _UNITS
    elif order.side == "BUY":
        maker, taker = order.price * order.size, order.size
    else:
        maker, taker = order.size, order.price * order.size
    if not marketable_amounts_ok(maker, taker):
        return INVALID_ORDER_ERROR
    collateral = maker if order.side == "BUY" else taker
    if collateral < MIN_MARKETABLE_NOTIONAL:
        return INVALID_ORDER_MIN_SIZE
    return None


def _opposite(side: Side) -> Side:
    return "SELL" if side == "BUY" else "BUY"


@dataclass(slots=True)
class _OurOrder:
    venue_order_id: str
    client_order_id: str
    token_id: str
    side: Side
    price: Decimal
    original_size: Decimal
    order_type: VenueOrderType
    created_ms: int
    state: OrderState = "open"


@dataclass(slots=True)
class _Settlement:
    trade_id: str
    venue_order_id: str
    client_order_id: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Liquidity
    path: list[TradeStatus] = field(default_factory=list)


class SimVenue:
    """Deterministic simulated CLOB V2 venue.  See the module docstring."""

    def __init__(
        self,
        seed: int,
        n_markets: int,
        start_ms: int,
        taker_fee_bps: int = DEFAULT_TAKER_FEE_BPS,
        faults: FaultPlan | None = None,
        *,
        step_ms: int = 1_000,
        mined_delay_ms: int = 2_000,
        confirmed_delay_ms: int = 8_000,
        gtd_threshold_ms: int = 60_000,
        flow_per_minute: float = 3.0,
        background: bool = True,
        book_depth: int | None = None,
    ) -> None:
        if step_ms <= 0:
            raise ValueError("step_ms must be positive")
        self.seed = seed
        self.taker_fee_bps = taker_fee_bps
        self._step_ms = step_ms
        self._mined_delay_ms = mined_delay_ms
        self._confirmed_delay_ms = confirmed_delay_ms
        self._gtd_threshold_ms = gtd_threshold_ms
        self._background = background
        self._book_depth = book_depth
        self._rng = random.Random(seed)
        self._markets: list[SyntheticMarket] = generate_markets(
            seed, n_markets, self._rng, flow_per_minute=flow_per_minute
        )
        self._books: dict[str, OrderBook] = {}
        self._token_index: dict[str, int] = {}
        self._cid_index: dict[str, int] = {}
        for index, market in enumerate(self._markets):
            info = market.info
            self._cid_index[info.condition_id] = index
            for token in (info.yes_token, info.no_token):
                self._books[token] = OrderBook(token, info.tick, info.min_size)
                self._token_index[token] = index
            if background:
                market.populate(self._books[info.yes_token], self._books[info.no_token], start_ms)

        # each market with its YES and NO books, in market order, for the step loop
        self._stepped = [
            (m, self._books[m.info.yes_token], self._books[m.info.no_token])
            for m in self._markets
        ]
        self._now_ms = start_ms
        self._world_ms = start_ms  # time up to which advance() has run the world
        self._next_step_ms = start_ms + step_ms
        self._orders: dict[str, _OurOrder] = {}
        self._open: dict[str, _OurOrder] = {}  # insertion order = age
        self._by_client: dict[str, str] = {}
        self._order_seq = 0
        self._external_seq = 0
        self._trade_seq = 0
        self._heap_seq = 0
        self._expiries: list[tuple[int, int, str]] = []
        self._settlements: list[tuple[int, int, _Settlement]] = []
        self._outbox: deque[tuple[int, VenueEvent]] = deque()
        self._last_delivery_ms = start_ms
        self._resolved_done: set[int] = set()
        # Every match on any book, ours or not (bounded): public trade prints for a market feed.
        self.tape: deque[tuple[int, Fill]] = deque(maxlen=TAPE_LIMIT)
        self.tape_total = 0  # matches ever appended, so a reader can tell what is new
        self._set_plan(faults)

    # ================================================================ configuration
    def _set_plan(self, plan: FaultPlan | None) -> None:
        self._faults = FaultState(plan)
        # No planned fault can halt, resolve, freeze or drop a market: every book is live.
        self._plain = not self._faults.moves_status and not self._faults.feed_faults
        self._listing: tuple[MarketInfo, ...] = tuple(m.info for m in self._markets)
        self._transitions = self._faults.transitions()
        self._transition_pos = 0
        self._snapshots: dict[tuple[str, int, str], BookView] = {}

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Replace the fault plan (counters and frozen snapshots start afresh).  Transitions
        dated before the current time are applied at the next ``advance``."""
        self._set_plan(plan)

    @property
    def now_ms(self) -> int:
        return self._now_ms

    def set_book_tick(self, token_id: str, tick: Decimal) -> None:
        """Change the tick a token's book validates against (the CLOB's dynamic tick size).
        Resting orders keep their prices; callers only switch between nested grids."""
        self._books[token_id].set_tick(tick)

    def crosses(self, token_id: str, side: Side, price: Decimal) -> bool:
        """Whether an order at ``price`` would match resting liquidity right now."""
        return self._books[token_id].crosses(side, price)

    def book_tick(self, token_id: str) -> Decimal:
        return self._books[token_id].tick

    def shock_now(self, delta: float, market: str | None = None) -> None:
        """Jump fair values now (an operator's hand on the market, not a planned fault)."""
        indices = range(len(self._markets)) if market is None else sorted(
            {self._token_index[t] for t in self._tokens_selected(market)})
        for index in indices:
            self._markets[index].shock(delta)

    def mid(self, token_id: str) -> Decimal:
        """The generator's current quantized fair value for a token (diagnostics only)."""
        market = self._markets[self._token_index[token_id]]
        return market.mid_of(token_id)

    # ================================================================ Venue: reads
    def markets(self) -> tuple[MarketInfo, ...]:
        # Polled several times a step: the same tuple is handed out until a status changes.
        if not self._faults.moves_status:
            return self._listing  # no halt or resolution planned: every market stays open
        t = self._now_ms
        statuses = [self._status(i, t) for i in range(len(self._markets))]
        listing = self._listing
        if any(info.status != status for info, status in zip(listing, statuses, strict=True)):
            self._listing = listing = tuple(
                info if info.status == status else replace(info, status=status)
                for info, status in zip(listing, statuses, strict=True)
            )
        return listing

    def open_orders(self) -> tuple[OpenOrderView, ...]:
        views: list[OpenOrderView] = []
        for rec in self._open.values():
            resting = self._books[rec.token_id].order(rec.venue_order_id)
            assert resting is not None, "open order missing from its book"
            views.append(
                OpenOrderView(
                    venue_order_id=rec.venue_order_id,
                    client_order_id=rec.client_order_id,
                    token_id=rec.token_id,
                    side=rec.side,
                    price=rec.price,
                    original_size=rec.original_size,
                    remaining=resting.remaining,
                    order_type=rec.order_type,
                    created_ms=rec.created_ms,
                )
            )
        return tuple(views)

    def probe(self, now_ms: int) -> None:
        """A health probe, like the CLOB's `/ok`: fails while a submit transport fault is open."""
        error = self._faults.transport_error("submit", now_ms, "", "", False)
        if error is not None:
            raise error

    def injected_latency_ms(self, now_ms: int) -> int:
        """The latency a fault plan injects at `now_ms` (for health sampling)."""
        return self._faults.latency_ms(now_ms)

    def book(self, token_id: str) -> BookView | None:
        if self._plain:  # no status or feed fault planned: the live book, without the checks
            ob = self._books.get(token_id)
            if ob is None:
                return None
            bids, asks, digest = ob.snapshot(self._book_depth)
            return BookView(token_id, bids, asks, self._now_ms, ob.tick, ob.min_size, digest,
                            ob.one_grid)
        index = self._token_index.get(token_id)
        if index is None:
            return None
        t = self._now_ms
        cid = self._markets[index].info.condition_id
        status = self._status(index, t)
        if status == "resolved":
            return None
        feed = self._faults.feed_fault(t, token_id, cid)
        if feed is not None and feed[1] == "drop":
            return None
        if status == "halted":
            start = self._faults.halt_started(cid, t)
            assert start is not None
            return self._frozen(("halt", start, token_id), token_id, t)
        if feed is not None:
            return self._frozen(("feed", feed[0], token_id), token_id, t)
        return self._snapshot(token_id, t)

    def _snapshot(self, token_id: str, ts_ms: int) -> BookView:
        ob = self._books[token_id]
        bids, asks, digest = ob.snapshot(self._book_depth)
        # The book admits only prices on its tick inside [tick, 1 - tick], positive sizes, and
        # keeps levels sorted; that holds for every resting price while the tick never moved.
        return BookView(token_id, bids, asks, ts_ms, ob.tick, ob.min_size, digest, ob.one_grid)

    def _frozen(self, key: tuple[str, int, str], token_id: str, t: int) -> BookView:
        # Normally captured by advance at the window start; captured here if the window was
        # already running before the venue saw its start (e.g. a plan installed late).
        snap = self._snapshots.get(key)
        if snap is None:
            snap = self._snapshot(token_id, t)
            self._snapshots[key] = snap
        return snap

    def _status(self, index: int, t: int) -> MarketStatus:
        if not self._faults.moves_status:
            return "open"
        cid = self._markets[index].info.condition_id
        resolved_at = self._faults.resolved_at(cid)
        if resolved_at is not None and t >= resolved_at:
            return "resolved"
        if self._faults.halt_started(cid, t) is not None:
            return "halted"
        return "open"

    # ================================================================ Venue: writes
    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        self._set_time(now_ms)
        index = self._token_index.get(order.token_id)
        cid = self._markets[index].info.condition_id if index is not None else ""
        error = self._faults.transport_error("submit", now_ms, order.token_id, cid, order.post_only)
        if error is not None:
            raise error
        return self._publish(self._submit(order, now_ms, index, cid), now_ms)

    def _submit(
        self, order: VenueOrder, now_ms: int, index: int | None, cid: str
    ) -> list[VenueEvent]:
        def reject(code: str, venue_order_id: str = "") -> list[VenueEvent]:
            return [
                VenueEvent(
                    kind="reject",
                    venue_order_id=venue_order_id,
                    client_order_id=order.client_order_id,
                    token_id=order.token_id,
                    ts_ms=now_ms,
                    side=order.side,
                    price=order.price,
                    error_code=code,
                )
            ]

        injected = self._faults.injected_reject(now_ms, order.token_id, cid)
        if injected is not None:
            return reject(injected)
        if index is None:
            return reject(INVALID_ORDER_ERROR)
        if self._status(index, now_ms) != "open":
            return reject(MARKET_NOT_READY)
        existing = self._by_client.get(order.client_order_id)
        if existing is not None:
            return reject(INVALID_ORDER_DUPLICATED, existing)
        if order.order_hash and order.order_hash in self._orders:
            return reject(INVALID_ORDER_DUPLICATED, order.order_hash)
        if order.order_type == "GTD":
            if (
                order.expires_at_ms is None
                or order.expires_at_ms - self._gtd_threshold_ms <= now_ms
            ):
                return reject(INVALID_ORDER_EXPIRATION)
        elif order.expires_at_ms is not None:
            return reject(INVALID_ORDER_EXPIRATION)
        if order.order_type in ("FOK", "FAK"):
            amounts_error = marketable_error(order)
            if amounts_error is not None:
                return reject(amounts_error)

        venue_order_id = order.order_hash or self._new_order_id(order.client_order_id)
        result = self._books[order.token_id].place(
            order_id=venue_order_id,
            client_order_id=order.client_order_id,
            ours=True,
            side=order.side,
            price=order.price,
            size=order.size,
            order_type=order.order_type,
            created_ms=now_ms,
            post_only=order.post_only,
            expires_at_ms=order.expires_at_ms,
        )
        if result.status == "rejected":
            assert result.error_code is not None
            return reject(result.error_code)

        rec = _OurOrder(
            venue_order_id=venue_order_id,
            client_order_id=order.client_order_id,
            token_id=order.token_id,
            side=order.side,
            price=order.price,
            original_size=order.size,
            order_type=order.order_type,
            created_ms=now_ms,
        )
        self._orders[venue_order_id] = rec
        self._by_client[order.client_order_id] = venue_order_id
        events = [_event("ack", venue_order_id, order.client_order_id, order.token_id, now_ms, order.side,
                         order.price, None, order.size, None, None, None, None)]
        events += self._fill_events(result.fills, now_ms, cid)
        if result.status == "rested":
            self._open[venue_order_id] = rec
            if order.order_type == "GTD":
                assert order.expires_at_ms is not None
                self._push_expiry(order.expires_at_ms - self._gtd_threshold_ms, venue_order_id)
        elif result.status == "filled":
            rec.state = "filled"
        else:  # killed: FAK remainder
            rec.state = "canceled"
            events.append(self._cancel_event("cancel", rec, result.remaining, now_ms))
        return events

    def place_external(
        self,
        token_id: str,
        side: Side,
        price: Decimal,
        size: Decimal,
        now_ms: int,
        order_type: VenueOrderType = "GTC",
    ) -> list[VenueEvent]:
        """Place an *other trader's* order (scenario/test hook): it rests or trades like any
        order, and only its effect on our orders produces events.  Not part of ``Venue``."""
        self._set_time(now_ms)
        index = self._token_index[token_id]
        market = self._markets[index]
        self._external_seq += 1
        order_id = f"ext-{self._external_seq}"
        result = self._books[token_id].place(
            order_id=order_id,
            client_order_id=order_id,
            ours=False,
            side=side,
            price=price,
            size=size,
            order_type=order_type,
            created_ms=now_ms,
        )
        if result.status == "rejected":
            raise ValueError(f"external order rejected: {result.error_code}")
        return self._publish(
            self._fill_events(result.fills, now_ms, market.info.condition_id), now_ms
        )

    def cancel(self, venue_order_id: str, now_ms: int) -> list[VenueEvent]:
        self._set_time(now_ms)
        rec = self._orders.get(venue_order_id)
        token = rec.token_id if rec is not None else ""
        cid = self._markets[self._token_index[token]].info.condition_id if rec else ""
        error = self._faults.transport_error("cancel", now_ms, token, cid, False)
        if error is not None:
            raise error
        if rec is None or rec.state != "open":
            code = (
                CANCEL_ORDER_NOT_FOUND
                if rec is None
                else CANCEL_ALREADY_MATCHED
                if rec.state == "filled"
                else CANCEL_ALREADY_CANCELED
            )
            return self._publish(
                [
                    VenueEvent(
                        kind="reject",
                        venue_order_id=venue_order_id,
                        client_order_id=rec.client_order_id if rec else "",
                        token_id=token,
                        ts_ms=now_ms,
                        error_code=code,
                    )
                ],
                now_ms,
            )
        return self._publish([self._cancel_open(rec, "cancel", now_ms)], now_ms)

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        """Cancel all our resting orders (oldest first).  Transport faults without a market
        selector apply; market-scoped cancel faults only affect single ``cancel`` calls."""
        self._set_time(now_ms)
        error = self._faults.transport_error("cancel", now_ms, "", "", False)
        if error is not None:
            raise error
        events = [self._cancel_open(rec, "cancel", now_ms) for rec in list(self._open.values())
                  if token_ids is None or rec.token_id in token_ids]
        return self._publish(events, now_ms)

    # ================================================================ Venue: time
    def advance(self, now_ms: int) -> list[VenueEvent]:
        self._set_time(now_ms)
        out: list[VenueEvent] = []
        while True:
            # Candidates (time, priority); equal times run transitions, expiries, settlements,
            # then the market step, so a GTD expiring at t cannot trade in the step at t.
            best: tuple[int, int] | None = None
            if self._transition_pos < len(self._transitions):
                best = (self._transitions[self._transition_pos][0], 0)
            if self._expiries and (best is None or (self._expiries[0][0], 1) < best):
                best = (self._expiries[0][0], 1)
            if self._settlements and (best is None or (self._settlements[0][0], 2) < best):
                best = (self._settlements[0][0], 2)
            if best is None or (self._next_step_ms, 3) < best:
                best = (self._next_step_ms, 3)
            t, kind = best
            if t > now_ms:
                break
            # A transition dated before time already processed (plan installed late) is
            # applied, and stamped, at the current world time.
            t = max(t, self._world_ms)
            self._world_ms = t
            if kind == 0:
                events = self._run_transition(t)
            elif kind == 1:
                events = self._run_expiry()
            elif kind == 2:
                events = self._run_settlement()
            else:
                events = self._run_step(t)
            if events:
                self._route(events, t, out)
        self._world_ms = now_ms
        while self._outbox and self._outbox[0][0] <= now_ms:
            out.append(self._outbox.popleft()[1])
        return out

    def _run_transition(self, t: int) -> list[VenueEvent]:
        _, kind, spec_index = self._transitions[self._transition_pos]
        self._transition_pos += 1
        spec = self._faults.plan.specs[spec_index]
        if kind == "freeze":
            assert isinstance(spec, FeedFault)
            for token in self._tokens_selected(spec.market):
                key = ("feed", spec_index, token)
                if key not in self._snapshots:
                    self._snapshots[key] = self._snapshot(token, t)
            return []
        if kind == "halt":
            assert isinstance(spec, HaltMarket)
            for token in self._tokens_selected(spec.condition_id):
                key = ("halt", spec.start_ms, token)
                if key not in self._snapshots:
                    self._snapshots[key] = self._snapshot(token, t)
            return []
        if kind == "shock":
            assert isinstance(spec, PriceShock)
            indices = (range(len(self._markets)) if spec.market is None else
                       {self._token_index[t] for t in self._tokens_selected(spec.market)})
            for index in sorted(indices):
                self._markets[index].shock(spec.delta)
            return []
        assert isinstance(spec, ResolveMarket)
        tokens = self._tokens_selected(spec.condition_id)
        if not tokens:
            return []
        index = self._token_index[tokens[0]]
        if index in self._resolved_done:
            return []
        self._resolved_done.add(index)
        events = [
            self._cancel_open(rec, "cancel", t, CANCELED_MARKET_RESOLVED)
            for rec in list(self._open.values())
            if rec.token_id in tokens
        ]
        for token in tokens:
            self._books[token].clear()
        self._markets[index].clear()
        return events

    def _tokens_selected(self, market: str) -> list[str]:
        if market in self._token_index:
            return [market]
        index = self._cid_index.get(market)
        if index is None:
            return []
        info = self._markets[index].info
        return [info.yes_token, info.no_token]

    def _run_expiry(self) -> list[VenueEvent]:
        t, _, venue_order_id = heapq.heappop(self._expiries)
        rec = self._orders[venue_order_id]
        if rec.state != "open":
            return []
        return [self._cancel_open(rec, "expire", t)]

    def _run_settlement(self) -> list[VenueEvent]:
        t, _, s = heapq.heappop(self._settlements)
        status = s.path.pop(0)
        if s.path:
            self._heap_seq += 1
            heapq.heappush(self._settlements, (t + self._confirmed_delay_ms, self._heap_seq, s))
        return [_event("trade_status", s.venue_order_id, s.client_order_id, s.token_id, t, s.side, s.price,
                       s.size, None, s.fee, s.trade_id, s.liquidity, status)]

    def _run_step(self, t: int) -> list[VenueEvent]:
        self._next_step_ms = t + self._step_ms
        if not self._background:
            return []
        events: list[VenueEvent] = []
        moves_status = self._faults.moves_status
        step_ms, rng = self._step_ms, self._rng
        for index, (market, yes_book, no_book) in enumerate(self._stepped):
            if moves_status and self._status(index, t) != "open":
                continue  # halted or resolved: no quotes move, nobody trades
            fills = market.step(t, step_ms, yes_book, no_book, rng)
            if fills:
                events += self._fill_events(fills, t, market.info.condition_id)
        return events

    # ================================================================ helpers
    def _set_time(self, now_ms: int) -> None:
        if now_ms < self._now_ms:
            raise ValueError(f"time went backwards: {now_ms} < {self._now_ms}")
        self._now_ms = now_ms

    def _new_order_id(self, client_order_id: str) -> str:
        self._order_seq += 1
        digest = hashlib.sha256(f"{client_order_id}:{self._order_seq}".encode()).hexdigest()
        return "0x" + digest

    def _new_trade_id(self) -> str:
        self._trade_seq += 1
        digest = hashlib.sha256(f"trade/{self.seed}/{self._trade_seq}".encode()).hexdigest()
        return digest[:32]

    def _push_expiry(self, at_ms: int, venue_order_id: str) -> None:
        self._heap_seq += 1
        heapq.heappush(self._expiries, (at_ms, self._heap_seq, venue_order_id))

    def _publish(self, events: list[VenueEvent], now_ms: int) -> list[VenueEvent]:
        """Deliver now, or queue behind the latency backlog."""
        out: list[VenueEvent] = []
        if events:
            self._route(events, now_ms, out)
        return out

    def _route(self, events: list[VenueEvent], t: int, out: list[VenueEvent]) -> None:
        delay = self._faults.latency_ms(t)
        if delay == 0 and not self._outbox:
            out.extend(events)
            return
        # Keep delivery order equal to production order even if the delay shrinks.
        deliver_at = max(t + delay, self._last_delivery_ms)
        self._last_delivery_ms = deliver_at
        for event in events:
            self._outbox.append((deliver_at, event))

    def _cancel_event(
        self,
        kind: Literal["cancel", "expire"],
        rec: _OurOrder,
        remaining: Decimal,
        ts_ms: int,
        reason: str | None = None,
    ) -> VenueEvent:
        return _event(kind, rec.venue_order_id, rec.client_order_id, rec.token_id, ts_ms, rec.side, rec.price,
                      None, remaining, None, None, None, None, reason)

    def _cancel_open(
        self,
        rec: _OurOrder,
        kind: Literal["cancel", "expire"],
        ts_ms: int,
        reason: str | None = None,
    ) -> VenueEvent:
        resting = self._books[rec.token_id].cancel(rec.venue_order_id)
        assert resting is not None, "open order missing from its book"
        rec.state = "canceled" if kind == "cancel" else "expired"
        del self._open[rec.venue_order_id]
        return self._cancel_event(kind, rec, resting.remaining, ts_ms, reason)

    def _fill_events(
        self, fills: tuple[Fill, ...] | list[Fill], ts_ms: int, cid: str
    ) -> list[VenueEvent]:
        events: list[VenueEvent] = []
        for f in fills:
            self.tape.append((ts_ms, f))
            self.tape_total += 1
            if not (f.taker_ours or f.maker_ours):
                continue
            trade_id = self._new_trade_id()
            if f.taker_ours:
                fee = taker_fee(f.price, f.size, self.taker_fee_bps)
                events.append(
                    self._fill_event(
                        f.taker_order_id,
                        f.taker_client_order_id,
                        f,
                        f.taker_side,
                        f.taker_remaining,
                        fee,
                        trade_id,
                        "taker",
                        ts_ms,
                        cid,
                    )
                )
            if f.maker_ours:
                events.append(
                    self._fill_event(
                        f.maker_order_id,
                        f.maker_client_order_id,
                        f,
                        _opposite(f.taker_side),
                        f.maker_remaining,
                        _ZERO,
                        trade_id,
                        "maker",
                        ts_ms,
                        cid,
                    )
                )
                if f.maker_remaining == _ZERO:
                    rec = self._orders[f.maker_order_id]
                    rec.state = "filled"
                    self._open.pop(rec.venue_order_id, None)
        return events

    def _fill_event(
        self,
        venue_order_id: str,
        client_order_id: str,
        f: Fill,
        side: Side,
        remaining: Decimal,
        fee: Decimal,
        trade_id: str,
        liquidity: Liquidity,
        ts_ms: int,
        cid: str,
    ) -> VenueEvent:
        path = self._faults.settlement_path(ts_ms, f.token_id, cid)
        settlement = _Settlement(
            trade_id=trade_id,
            venue_order_id=venue_order_id,
            client_order_id=client_order_id,
            token_id=f.token_id,
            side=side,
            price=f.price,
            size=f.size,
            fee=fee,
            liquidity=liquidity,
            path=list(path),
        )
        self._heap_seq += 1
        heapq.heappush(
            self._settlements, (ts_ms + self._mined_delay_ms, self._heap_seq, settlement)
        )
        return _event("fill", venue_order_id, client_order_id, f.token_id, ts_ms, side, f.price, f.size,
                      remaining, fee, trade_id, liquidity, "MATCHED")
