"""What the adapter remembers about our orders, and how facts become ``VenueEvent``s exactly once.

Facts arrive from three threads: the caller's (REST answers to submit and cancel), the WebSocket
thread (user-channel ``order`` and ``trade`` events) and the reconcile thread (REST open orders
and trades).  ``OrderTracker`` folds them under one lock into the inbox ``advance`` drains, and
is the single place where duplicates die:
- an order is registered *before* its POST (its id is the EIP-712 hash, known in advance), so a
  fill that races the POST's answer is still attributed;
- an ack is reported once (``acked``); while the POST is in flight the REST answer owns the ack;
- a fill is reported once per ``(trade id, order id)``; later statuses of the same trade become
  ``trade_status`` events along the settlement path (``parse.settlement_steps``);
- a cancel/expiry is reported once (``closed``); while our own cancel is in flight its REST
  answer owns the event, and a WebSocket cancellation that beats it is held back.
The dedup memory is bounded (oldest trades forgotten first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from polytraders.venues.base import Side, TradeStatus, VenueEvent, VenueOrder, VenueOrderType
from polytraders.venues.polymarket.parse import FillLeg, OrderUpdate, settlement_steps

__all__ = ["OrderTracker", "Tracked"]

_ZERO: Final = Decimal(0)
FILL_MEMORY: Final = 100_000


@dataclass(slots=True)
class Tracked:
    venue_order_id: str
    client_order_id: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_type: VenueOrderType
    registered_at: float
    answered_at: float | None = None  # when the POST's answer (or its loss) came back
    matched: Decimal = _ZERO
    unknown: bool = False  # the POST's answer was lost: only the venue's lists can say
    acked: bool = False
    inflight: bool = False
    closed: bool = False
    cancelling: bool = False  # our cancel's REST answer owns the cancel event
    seen_cancel: tuple[int, Decimal, str | None] | None = None  # a WS cancel that came first
    closed_seen: float | None = None  # when pruning first saw it closed

    @property
    def remaining(self) -> Decimal:
        return max(_ZERO, self.size - self.matched)


@dataclass(slots=True)
class OrderTracker:
    orders: dict[str, Tracked] = field(default_factory=dict)
    inbox: deque[VenueEvent] = field(default_factory=deque)
    _fills: OrderedDict[tuple[str, str], TradeStatus] = field(default_factory=OrderedDict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- registration ----------------------------------------------------------------------

    def register(self, order: VenueOrder, venue_order_id: str, at: float) -> Tracked:
        with self.lock:
            known = self.orders.get(venue_order_id)
            if known is not None:
                known.inflight = True
                return known
            tracked = Tracked(venue_order_id, order.client_order_id, order.token_id, order.side, order.price,
                              order.size, order.order_type, at, inflight=True)
            self.orders[venue_order_id] = tracked
            return tracked

    def remember(self, venue_order_id: str, client_order_id: str, token_id: str, side: Side, price: Decimal,
                 size: Decimal, order_type: VenueOrderType, matched: Decimal, at: float) -> None:
        """Adopt an order placed before a restart (the caller's journal knows its client id)."""
        with self.lock:
            if venue_order_id not in self.orders:
                self.orders[venue_order_id] = Tracked(venue_order_id, client_order_id, token_id, side, price, size,
                                                      order_type, at, answered_at=at, matched=matched, acked=True)

    def forget(self, venue_order_id: str) -> None:
        """The POST was refused (nothing exists at the venue)."""
        with self.lock:
            tracked = self.orders.get(venue_order_id)
            if tracked is not None and not tracked.acked and tracked.matched == 0:
                del self.orders[venue_order_id]

    def posted(self, venue_order_id: str, at: float, *, acked: bool, unknown: bool = False) -> None:
        """The POST's answer (or its loss) is in: the WebSocket may report the ack from now on."""
        with self.lock:
            tracked = self.orders.get(venue_order_id)
            if tracked is not None:
                tracked.inflight = False
                tracked.answered_at = at
                tracked.unknown = unknown and not tracked.acked
                tracked.acked = tracked.acked or acked

    def ids(self) -> frozenset[str]:
        with self.lock:
            return frozenset(self.orders)

    def client_id(self, venue_order_id: str) -> str:
        with self.lock:
            tracked = self.orders.get(venue_order_id)
            return tracked.client_order_id if tracked is not None else ""

    def prune(self, now: float, keep_s: float) -> int:
        """Forget orders closed for longer than ``keep_s`` (settlement updates of their trades
        arrive for minutes after the last fill, so they are kept that long).  Returns how many."""
        with self.lock:
            gone = []
            for vid, t in self.orders.items():
                if not t.closed:
                    continue
                if t.closed_seen is None:
                    t.closed_seen = now
                elif now - t.closed_seen > keep_s:
                    gone.append(vid)
            for vid in gone:
                del self.orders[vid]
            return len(gone)

    def token_of(self, venue_order_id: str) -> str:
        with self.lock:
            tracked = self.orders.get(venue_order_id)
            return tracked.token_id if tracked is not None else ""

    def drain(self) -> list[VenueEvent]:
        with self.lock:
            out = list(self.inbox)
            self.inbox.clear()
            return out

    # -- facts -----------------------------------------------------------------------------

    def on_order_update(self, venue_order_id: str, update: OrderUpdate, ts_ms: int) -> None:
        with self.lock:
            t = self.orders.get(venue_order_id)
            if t is None:
                return
            if update.kind == "ack" and not t.acked and not t.inflight and not t.closed:
                t.acked, t.unknown = True, False
                self.inbox.append(VenueEvent("ack", t.venue_order_id, t.client_order_id, t.token_id, ts_ms,
                                             side=t.side, price=t.price, remaining=t.remaining))
            elif update.kind == "cancel":
                self._close(t, ts_ms, update.size_matched, update.error_code)

    def cancelling(self, venue_order_ids: Iterable[str] | None) -> None:
        """Our cancel request for these orders (None: every open one) is about to go out."""
        with self.lock:
            chosen = self.orders.values() if venue_order_ids is None else (
                self.orders[v] for v in venue_order_ids if v in self.orders)
            for t in chosen:
                if not t.closed:
                    t.cancelling = True

    def cancel_answered(self, venue_order_id: str, ts_ms: int, *, canceled: bool,
                        error_code: str | None = None) -> VenueEvent | None:
        """Our cancel's answer: the cancel event (once), or None when it was already reported.
        A refused cancel releases a WebSocket cancellation held back meanwhile (to the inbox)."""
        with self.lock:
            t = self.orders.get(venue_order_id)
            if t is None:
                return None
            t.cancelling = False
            held, t.seen_cancel = t.seen_cancel, None
            if not canceled:
                if held is not None:
                    self._close(t, *held)
                return None
            if t.closed:
                return None
            t.closed = True
            return VenueEvent("cancel", t.venue_order_id, t.client_order_id, t.token_id, ts_ms,
                              side=t.side, price=t.price, remaining=t.remaining, error_code=error_code)

    def release_cancelling(self) -> None:
        """A cancel request failed in transport: nothing changed, hold nothing back."""
        with self.lock:
            for t in self.orders.values():
                if t.cancelling:
                    t.cancelling = False
                    held, t.seen_cancel = t.seen_cancel, None
                    if held is not None:
                        self._close(t, *held)

    def _close(self, t: Tracked, ts_ms: int, size_matched: Decimal, error_code: str | None) -> None:
        if t.closed:
            return
        if t.cancelling:
            t.seen_cancel = (ts_ms, size_matched, error_code)
            return
        t.closed = True
        # Fills may still be on their way (trade events follow order events): the remaining size
        # reported is what the venue says is unmatched, never more than we still hold open.
        gone = min(t.remaining, max(_ZERO, t.size - size_matched))
        self.inbox.append(VenueEvent("cancel", t.venue_order_id, t.client_order_id, t.token_id, ts_ms,
                                     side=t.side, price=t.price, remaining=gone, error_code=error_code))

    def on_fills(self, legs: Iterable[FillLeg]) -> None:
        with self.lock:
            for leg in legs:
                self._fill(leg)

    def _fill(self, leg: FillLeg) -> None:
        t = self.orders.get(leg.venue_order_id)
        if t is None:
            return
        key = (leg.trade_id, leg.venue_order_id)
        last = self._fills.get(key)
        if last is None:
            t.matched += leg.size
            self.inbox.append(VenueEvent(
                "fill", t.venue_order_id, t.client_order_id, t.token_id, leg.ts_ms, side=leg.side,
                price=leg.price, size=leg.size, remaining=t.remaining, fee=leg.fee, trade_id=leg.trade_id,
                liquidity=leg.liquidity, trade_status="MATCHED"))
            last = "MATCHED"
            if t.remaining <= 0:
                t.closed = True
        for status in settlement_steps(last, leg.status):
            self.inbox.append(VenueEvent(
                "trade_status", t.venue_order_id, t.client_order_id, t.token_id, leg.ts_ms, side=leg.side,
                price=leg.price, size=leg.size, fee=leg.fee, trade_id=leg.trade_id, liquidity=leg.liquidity,
                trade_status=status))
            last = status
        self._fills[key] = last
        self._fills.move_to_end(key)
        while len(self._fills) > FILL_MEMORY:
            self._fills.popitem(last=False)

    def reconcile_open(self, open_rows: dict[str, Decimal], fetched_at: float, ts_ms: int,
                       missing_code: str | None) -> None:
        """Fold a REST snapshot of open orders (id -> size matched), taken at ``fetched_at``:
        an open order we never saw acknowledged is acked; one of ours whose POST was answered
        before the snapshot and that is absent from it is gone (cancelled, or filled: fills come
        from trades, which the caller folded after this snapshot was taken).  An order whose POST
        answer was lost is never declared gone here: a late request can still land, and the
        OLM's stuck-order check owns that verdict."""
        with self.lock:
            for t in list(self.orders.values()):
                if t.closed or t.inflight or t.answered_at is None or t.answered_at >= fetched_at:
                    continue
                if t.venue_order_id in open_rows:
                    if not t.acked:
                        t.acked, t.unknown = True, False
                        self.inbox.append(VenueEvent("ack", t.venue_order_id, t.client_order_id, t.token_id, ts_ms,
                                                     side=t.side, price=t.price, remaining=t.remaining))
                elif t.remaining <= 0:
                    t.closed = True
                elif not t.unknown:
                    self._close(t, ts_ms, t.matched, missing_code)
