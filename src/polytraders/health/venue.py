"""A `Venue` that samples every call it passes on: the CLOB REST surface (submits, cancels, open
orders) and the market-data surface (book reads: no book is a failed read).

Latency is the call's own wall time. A simulated venue (one that reports `injected_latency_ms`) is
judged by the latency it injects alone: its calls are in-process, and their wall time measures this
machine's load, not the venue, and would make a seeded run's journal differ from run to run.

The market-data surface: a book read fails when there is no book, or when it is older than
`max_book_age_ms`; a venue that reports its market channel's gap (`market_feed_age_ms`, the real
adapter) is judged by that gap instead, because quiet books are normal on a live feed.

A venue that talks to side surfaces (the real adapter's Gamma and Data API clients) reports each
of those calls through `set_observer`; they are sampled here under their own surface names."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from polytraders.health.sampler import HealthSampler
from polytraders.venues.base import BookView, MarketInfo, OpenOrderView, Venue, VenueError, VenueEvent, VenueOrder

T = TypeVar("T")


class SampledVenue:
    def __init__(self, venue: Venue, sampler: HealthSampler, now_ms: Callable[[], int],
                 max_book_age_ms: int | None = None) -> None:
        self.inner = venue
        self.max_book_age_ms = max_book_age_ms  # a book older than this is a failed read (a stalled feed)
        self.sampler = sampler
        self._now = now_ms
        self._injected = getattr(venue, "injected_latency_ms", None)
        self._feed_age: Callable[[], int | None] | None = getattr(venue, "market_feed_age_ms", None)
        set_observer = getattr(venue, "set_observer", None)
        if set_observer is not None:
            set_observer(lambda surface, ms, ok, status: sampler.record(surface, now_ms(), ms, ok, status))

    def __getattr__(self, name: str) -> Any:  # venue-specific extras (faults, admin) pass through
        return getattr(self.inner, name)

    def _call(self, surface: str, fn: Callable[[], T]) -> T:
        now = self._now()
        injected = self._injected(now) if self._injected is not None else None
        t0 = time.perf_counter_ns()
        try:
            out = fn()
        except VenueError as exc:
            self.sampler.record(surface, now, _latency_ms(injected, t0), False, exc.status)
            raise
        self.sampler.record(surface, now, _latency_ms(injected, t0), True, 200)
        return out

    def markets(self) -> tuple[MarketInfo, ...]:
        return self.inner.markets()

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        return self._call("clob_rest", lambda: self.inner.submit(order, now_ms))

    def cancel(self, venue_order_id: str, now_ms: int) -> list[VenueEvent]:
        return self._call("clob_rest", lambda: self.inner.cancel(venue_order_id, now_ms))

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        return self._call("clob_rest", lambda: self.inner.cancel_all(token_ids, now_ms))

    def open_orders(self) -> tuple[OpenOrderView, ...]:
        return self._call("clob_rest", self.inner.open_orders)

    def book(self, token_id: str) -> BookView | None:
        view = self.inner.book(token_id)
        now = self._now()
        if self._feed_age is not None:
            # A venue that knows its channel's gaps: a quiet book is normal, a silent feed is not
            # (the order path's stale-book guard and the playbook judge each book's own age).
            gap = self._feed_age()
            fresh = view is not None and gap is not None and \
                (self.max_book_age_ms is None or gap <= self.max_book_age_ms)
        else:
            fresh = view is not None and (self.max_book_age_ms is None or now - view.ts_ms <= self.max_book_age_ms)
        self.sampler.record("clob_ws_market", now, 0, fresh, 200 if fresh else 0)
        return view

    def probe(self, now_ms: int) -> None:
        """An active probe of the REST surface, sampled like any call (the venue's own `probe`
        when it has one, else a read of our open orders)."""
        inner_probe = getattr(self.inner, "probe", None)
        if inner_probe is not None:
            self._call("clob_rest", lambda: inner_probe(now_ms))
        else:
            self._call("clob_rest", self.inner.open_orders)
        health = getattr(self.inner, "health", None)
        if health is not None:  # the real adapter: its user channel's socket state is a surface too
            state = health()
            connected = getattr(state, "user_ws", "") == "connected"
            self.sampler.record("clob_ws_user", now_ms, 0, connected, 200 if connected else 0)

    def advance(self, now_ms: int) -> list[VenueEvent]:
        return self.inner.advance(now_ms)


def _latency_ms(injected: int | None, t0_ns: int) -> int:
    """A simulated venue's injected latency, else the call's wall time."""
    return injected if injected is not None else (time.perf_counter_ns() - t0_ns) // 1_000_000
