"""Placing and cancelling orders: the REST calls, their answers, and the tracker kept in step.

``OrderDesk`` registers an order with the tracker *before* its POST (its id is the EIP-712 hash,
known in advance: STYLE E4), then turns the answer into events: an ack, a ``reject`` for a
business refusal (``errors.OrderRefused``; a duplicate names the order the venue already holds),
``VenueError`` re-raised when nothing was accepted (the order is forgotten) and
``OutcomeUnknown`` re-raised when the answer was lost (the order is kept and a reconciliation
is requested through ``wake``).  Cancels: our REST answer owns the cancel event; the venue's
free-text refusals are normalised to ``venues.base`` cancel codes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from polytraders.venues.base import (
    CANCEL_ALREADY_CANCELED,
    CANCEL_ALREADY_MATCHED,
    CANCEL_ORDER_NOT_FOUND,
    OutcomeUnknown,
    VenueError,
    VenueEvent,
    VenueOrder,
)
from polytraders.venues.polymarket import parse
from polytraders.venues.polymarket.errors import OrderRefused, order_error_code
from polytraders.venues.polymarket.rest import RestClient
from polytraders.venues.polymarket.schemas import WireCancelReply, WireSendOrderReply
from polytraders.venues.polymarket.tracking import OrderTracker

__all__ = ["OrderDesk"]


def _cancel_reason(text: str) -> str:
    low = text.lower()
    if "matched" in low:
        return CANCEL_ALREADY_MATCHED
    if "already canceled" in low and "not found" not in low:
        return CANCEL_ALREADY_CANCELED
    return CANCEL_ORDER_NOT_FOUND



class OrderDesk:
    def __init__(self, rest: RestClient, tracker: OrderTracker, clock: Callable[[], float],
                 wake: Callable[[], None], builder_code: str) -> None:
        self.rest = rest
        self._builder_code = builder_code.lower()
        self._tracker = tracker
        self._clock = clock
        self._wake = wake

    def _check(self, order: VenueOrder) -> None:
        """Refuse before sending what the venue must never receive (nothing is sent)."""
        signed = order.signed
        if signed is None:
            raise VenueError(400, "UNSIGNED_ORDER", "the real venue needs the signed order")
        if signed.builder.lower() != self._builder_code:
            raise VenueError(400, "BUILDER_CODE_MISMATCH", "the order is not signed with the configured builder code")
        if (signed.client_order_id, signed.token_id, signed.side) != (order.client_order_id, order.token_id,
                                                                       order.side):
            raise VenueError(400, "SIGNED_ORDER_MISMATCH", "the signed order is not this order")

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        self._check(order)
        signed = order.signed
        assert signed is not None
        vid = signed.order_hash
        self._tracker.register(order, vid, self._clock())  # before the POST (STYLE E4)
        try:
            body = self.rest.post_signed(signed, order.order_type, order.post_only)
        except OrderRefused as refused:
            duplicate = refused.code == "INVALID_ORDER_DUPLICATED"
            if duplicate:
                self._tracker.posted(vid, self._clock(), acked=False, unknown=True)
                self._wake()  # the venue holds it: learn its state
            else:
                self._tracker.forget(vid)
            return [parse.reject_event(order, refused.code, refused.venue_order_id or vid, now_ms)]
        except OutcomeUnknown:
            self._tracker.posted(vid, self._clock(), acked=False, unknown=True)
            self._wake()
            raise
        except VenueError:
            self._tracker.forget(vid)
            raise
        try:
            reply = WireSendOrderReply.model_validate(body)
        except ValidationError:
            self._tracker.posted(vid, self._clock(), acked=False, unknown=True)
            self._wake()
            raise OutcomeUnknown(vid, 200, "unreadable answer") from None
        events = parse.post_reply(reply, order, now_ms)
        accepted = any(e.kind == "ack" for e in events)
        if accepted:
            self._tracker.posted(vid, self._clock(), acked=True)
        else:
            self._tracker.forget(vid)
        return events

    def submit_batch(self, orders: list[VenueOrder], now_ms: int) -> list[VenueEvent]:
        """``POST /orders`` in groups of at most 15 with the same post-only flag (not part of
        ``Venue``).  The CLOB answers a refused leg inside the 200 (``success`` true, no id, the
        reason in ``errorMsg``): it becomes that order's ``reject``.  The whole group raises like
        ``submit`` when the request itself fails."""
        events: list[VenueEvent] = []
        for post_only in (True, False):
            group = [o for o in orders if o.post_only is post_only]
            for start in range(0, len(group), 15):
                events += self._submit_group(group[start:start + 15], post_only, now_ms)
        return events

    def _submit_group(self, group: list[VenueOrder], post_only: bool, now_ms: int) -> list[VenueEvent]:
        signed = []
        for order in group:
            self._check(order)  # all of them before any is registered
        for order in group:
            assert order.signed is not None
            signed.append((order.signed, order.order_type))
            self._tracker.register(order, order.signed.order_hash, self._clock())
        try:
            body = self.rest.post_signed_batch(signed, post_only)
        except OutcomeUnknown:
            for s, _ in signed:
                self._tracker.posted(s.order_hash, self._clock(), acked=False, unknown=True)
            self._wake()
            raise
        except VenueError:
            for s, _ in signed:
                self._tracker.forget(s.order_hash)
            raise
        replies = body if isinstance(body, list) else []
        events: list[VenueEvent] = []
        for i, order in enumerate(group):
            vid = signed[i][0].order_hash
            try:
                reply = WireSendOrderReply.model_validate(replies[i])
            except (IndexError, ValidationError):
                self._tracker.posted(vid, self._clock(), acked=False, unknown=True)
                self._wake()
                continue  # no readable answer for this leg: reconciliation decides
            got = parse.post_reply(reply, order, now_ms)
            if any(e.kind == "ack" for e in got):
                self._tracker.posted(vid, self._clock(), acked=True)
            else:
                code = order_error_code({"errorMsg": reply.errorMsg, "error": reply.errorMsg}) or reply.errorMsg
                if code == "INVALID_ORDER_DUPLICATED":
                    self._tracker.posted(vid, self._clock(), acked=False, unknown=True)
                else:
                    self._tracker.forget(vid)
                got = [parse.reject_event(order, code or "INVALID_ORDER_ERROR", vid, now_ms)]
            events += got
        return events

    def _cancel_events(self, call: Callable[[], Any], ids: Iterable[str] | None, now_ms: int) -> list[VenueEvent]:
        self._tracker.cancelling(ids)
        try:
            reply = WireCancelReply.model_validate(call())
        except (VenueError, ValidationError):
            self._tracker.release_cancelling()
            raise
        events: list[VenueEvent] = []
        for vid in reply.canceled:
            ev = self._tracker.cancel_answered(vid, now_ms, canceled=True)
            if ev is None and not self._tracker.client_id(vid):
                ev = VenueEvent("cancel", vid, "", "", now_ms)  # not ours in this session: an orphan
            if ev is not None:
                events.append(ev)
        for vid, reason in reply.not_canceled.items():
            self._tracker.cancel_answered(vid, now_ms, canceled=False)
            events.append(VenueEvent("reject", vid, self._tracker.client_id(vid), "", now_ms,
                                     error_code=_cancel_reason(reason)))
        self._tracker.release_cancelling()  # orders the answer did not name
        return events

    def cancel(self, venue_order_id: str, now_ms: int) -> list[VenueEvent]:
        return self._cancel_events(lambda: self.rest.cancel(venue_order_id), [venue_order_id], now_ms)

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        if token_ids is None:
            return self._cancel_events(self.rest.cancel_all, None, now_ms)
        events: list[VenueEvent] = []
        for token in sorted(token_ids):
            ids = [vid for vid in self._tracker.ids() if self._tracker.token_of(vid) == token]
            events += self._cancel_events(functools.partial(self.rest.cancel_market, asset_id=token), ids, now_ms)
        return events

