"""Market-channel messages from book changes: ``price_change`` deltas and ``book`` snapshots.

After every request and every driver tick the app calls :meth:`MarketFeed.flush`.  For each
watched asset it compares the current levels with the last published ones and sends one
``price_change`` per market listing every changed level (size "0" removes a level) with the
asset's best bid and ask.  An asset that traded also gets a fresh ``book`` snapshot, after its
``last_trade_price``.  Unwatched assets cost nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polytraders.exchange.wire import book_summary
from polytraders.venues.base import BookView, decimal_text

if TYPE_CHECKING:
    from polytraders.exchange.engine import Exchange
    from polytraders.exchange.faults import FaultBoard
    from polytraders.exchange.hub import Hub

Levels = dict[tuple[str, Decimal], Decimal]
CUSTOM_EVENTS = frozenset({"best_bid_ask", "market_resolved", "new_market"})
"""Sent only to sessions that subscribed with ``custom_feature_enabled: true``."""


def _levels(view: BookView) -> Levels:
    out: Levels = {("BUY", lv.price): lv.size for lv in view.bids}
    out.update({("SELL", lv.price): lv.size for lv in view.asks})
    return out


def dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def book_event(engine: Exchange, token_id: str) -> dict[str, Any] | None:
    view = engine.book_view(token_id)
    if view is None:
        return None
    last = engine.last_trade.get(token_id)
    body = book_summary(view, engine.infos[token_id], last[0] if last else None)
    body["event_type"] = "book"
    return body


class MarketFeed:
    def __init__(self) -> None:
        self._last: dict[str, Levels] = {}
        self._top: dict[str, tuple[Decimal | None, Decimal | None]] = {}

    def prime(self, engine: Exchange, token_ids: list[str]) -> None:
        """Take the baseline for newly watched assets, so the next change is a delta against
        the snapshot their subscriber was just sent."""
        for token in token_ids:
            view = engine.book_view(token)
            if view is not None and token not in self._last:
                self._last[token] = _levels(view)

    def flush(self, engine: Exchange, hub: Hub, faults: FaultBoard) -> None:
        now = engine.clock.now_ms()
        user_out, engine.user_out = engine.user_out, []
        market_out, engine.market_out = engine.market_out, []
        if not hub.sessions:
            return
        if not faults.ws_stalled("user", now):
            for owners, market, payload in user_out:
                hub.publish_user(owners, market, dumps(payload))
        if faults.ws_stalled("market", now):
            return
        watched = hub.watched_assets()
        traded: set[str] = set()
        for asset_id, payload in market_out:
            if asset_id in watched:
                hub.publish_market(asset_id, dumps(payload), custom_only=payload["event_type"] in CUSTOM_EVENTS)
                if payload["event_type"] == "last_trade_price":
                    traded.add(asset_id)
        by_market: dict[str, list[dict[str, str]]] = {}
        for token in sorted(watched):
            view = engine.book_view(token)
            if view is None:
                continue
            current = _levels(view)
            before = self._last.get(token)
            self._last[token] = current
            if before is None or before == current:
                continue
            bid = decimal_text(view.best_bid) if view.best_bid is not None else "0"
            ask = decimal_text(view.best_ask) if view.best_ask is not None else "0"
            top = (view.best_bid, view.best_ask)
            if self._top.get(token) != top:
                self._top[token] = top
                b, a = top
                spread = decimal_text(a - b) if a is not None and b is not None else ""
                hub.publish_market(token, dumps({
                    "event_type": "best_bid_ask", "market": engine.infos[token].condition_id, "asset_id": token,
                    "best_bid": bid, "best_ask": ask, "spread": spread, "timestamp": str(now)}), custom_only=True)
            if token in traded:
                continue  # a fresh book snapshot follows instead
            changes = by_market.setdefault(engine.infos[token].condition_id, [])
            # The same hash a REST /book of this state carries, so a client can cross-check.
            last = engine.last_trade.get(token)
            summary_hash = book_summary(view, engine.infos[token], last[0] if last else None)["hash"]
            for key in sorted(set(before) | set(current)):
                if before.get(key) != current.get(key):
                    changes.append({"asset_id": token, "price": decimal_text(key[1]),
                                    "size": decimal_text(current.get(key, Decimal(0))), "side": key[0],
                                    "hash": summary_hash, "best_bid": bid, "best_ask": ask})
        for market, changes in by_market.items():
            text = dumps({"event_type": "price_change", "market": market, "price_changes": changes,
                          "timestamp": str(now)})
            for asset in {c["asset_id"] for c in changes}:
                hub.publish_market(asset, text)
        for token in sorted(traded):
            event = book_event(engine, token)
            if event is not None:
                hub.publish_market(token, dumps(event))
