"""REST pacing and error translation on ``httpx.MockTransport`` (no server): 429 Retry-After is
honoured, 425 backs off, a post-only window keeps only post-only orders, and a submit whose answer
is lost or is a 5xx is "outcome unknown", never a reject."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from eth_account import Account

from polytraders.signing import OrderSigner
from polytraders.venues.base import OutcomeUnknown, VenueError
from polytraders.venues.polymarket import PolymarketConfig, PolymarketVenue, PrivateKey

from ..factories import signed_venue_order

KEY = "0x" + bytes(Account.create().key).hex()
CREDS = {"apiKey": "11111111-2222-3333-4444-555555555555", "secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
         "passphrase": "pass-phrase"}
Handler = Callable[[httpx.Request], httpx.Response]


def venue_with(order_handler: Handler, **cfg: object) -> tuple[PolymarketVenue, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/auth/api-key":
            return httpx.Response(200, json=CREDS)
        return order_handler(request)

    config = PolymarketConfig(clob_url="http://clob.test", retry_budget_s=0.5, **cfg)  # type: ignore[arg-type]
    venue = PolymarketVenue(config, PrivateKey(KEY), transport=httpx.MockTransport(handler))
    venue.rest.login()
    return venue, seen


def order(cid: str = "cid-rest-0001", post_only: bool = False):  # type: ignore[no-untyped-def]
    return signed_venue_order(OrderSigner(KEY), cid, "123456789", "BUY", "0.40", "10", post_only=post_only)


def ok(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(200, json={"success": True, "errorMsg": "", "orderID": "0xdeadbeef", "status": "live"}
                          if isinstance(body, dict) else [])


def posts(seen: list[httpx.Request]) -> int:
    return sum(1 for r in seen if r.url.path == "/order")


def test_429_with_short_retry_after_is_retried_after_waiting() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.05"}, json={"error": "Too Many Requests"})])
    venue, seen = venue_with(lambda r: next(answers, None) or ok(r))
    (ack,) = venue.submit(order(), 0)
    assert ack.kind == "ack" and posts(seen) == 2


def test_429_beyond_the_budget_fails_and_is_honoured_locally() -> None:
    venue, seen = venue_with(lambda r: httpx.Response(429, headers={"Retry-After": "30"}, json={"error": "slow"}))
    with pytest.raises(VenueError) as first:
        venue.submit(order(), 0)
    assert first.value.status == 429 and posts(seen) == 1
    with pytest.raises(VenueError) as second:
        venue.submit(order("cid-rest-0002"), 0)
    assert second.value.code == "WAIT_RETRY_AFTER" and posts(seen) == 1  # not even sent


def test_425_backs_off_then_succeeds() -> None:
    answers = iter([httpx.Response(425, json={"error": "Too Early"}), httpx.Response(425, json={"error": "Too Early"})])
    venue, seen = venue_with(lambda r: next(answers, None) or ok(r))
    (ack,) = venue.submit(order(), 0)
    assert ack.kind == "ack" and posts(seen) == 3


def test_post_only_window_keeps_only_post_only_orders() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("postOnly"):
            return ok(request)
        return httpx.Response(503, headers={"Retry-After": "60"}, json={
            "error": "post-only mode: only post-only orders and cancels are allowed", "code": "post_only_mode"})
    venue, seen = venue_with(handler)
    with pytest.raises(VenueError) as refused:
        venue.submit(order(), 0)
    assert (refused.value.status, refused.value.code) == (503, "post_only_mode")
    with pytest.raises(VenueError):
        venue.submit(order("cid-rest-0002"), 0)
    assert posts(seen) == 1  # the second plain order was held back locally
    assert venue.submit(order("cid-rest-0003", post_only=True), 0)[0].kind == "ack"
    assert venue.health().post_only_window


@pytest.mark.parametrize("failure", [
    lambda r: httpx.Response(500, json={"error": "could not insert order"}),
    lambda r: httpx.Response(502, text="bad gateway"),
    lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("timed out", request=r)),
    lambda r: (_ for _ in ()).throw(httpx.RemoteProtocolError("dropped", request=r)),
])
def test_lost_or_5xx_submit_is_outcome_unknown(failure: Handler) -> None:
    venue, _ = venue_with(failure)
    o = order()
    with pytest.raises(OutcomeUnknown) as unknown:
        venue.submit(o, 0)
    assert not isinstance(unknown.value, VenueError) and unknown.value.venue_order_id == o.order_hash
    assert venue._tracker.client_id(o.order_hash) == o.client_order_id  # kept: reconciliation decides


def test_connect_error_is_not_sent_and_503_refusal_is_a_venue_error() -> None:
    venue, _ = venue_with(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)))
    with pytest.raises(VenueError) as never:
        venue.submit(order(), 0)
    assert never.value.code == "CONNECT"
    venue, _ = venue_with(lambda r: httpx.Response(503, json={"error": "Trading is currently disabled."}))
    with pytest.raises(VenueError) as disabled:
        venue.submit(order(), 0)
    assert disabled.value.status == 503 and disabled.value.code == "trading_disabled"


def test_order_refusal_is_a_reject_event_and_duplicate_names_the_order() -> None:
    venue, _ = venue_with(lambda r: httpx.Response(400, json={
        "error": "order 0x1 is invalid. Duplicated.", "success": False, "errorMsg": "INVALID_ORDER_DUPLICATED",
        "orderID": "0x1"}))
    (reject,) = venue.submit(order(), 0)
    assert (reject.kind, reject.error_code, reject.venue_order_id) == ("reject", "INVALID_ORDER_DUPLICATED", "0x1")
    venue, _ = venue_with(lambda r: httpx.Response(400, json={"error": "not enough balance / allowance"}))
    (reject,) = venue.submit(order(), 0)
    assert (reject.error_code, reject.venue_order_id) == ("INVALID_ORDER_NOT_ENOUGH_BALANCE", "")


def test_the_posted_body_is_the_signed_order_byte_for_byte() -> None:
    bodies: list[dict[str, object]] = []

    def capture(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return ok(request)
    venue, seen = venue_with(capture)
    o = order()
    venue.submit(o, 0)
    assert o.signed is not None
    wire = bodies[0]["order"]
    assert isinstance(wire, dict)
    assert wire["signature"] == o.signed.signature and wire["salt"] == o.signed.salt
    assert (wire["makerAmount"], wire["takerAmount"]) == (str(o.signed.maker_amount), str(o.signed.taker_amount))
    assert bodies[0]["owner"] == CREDS["apiKey"] and bodies[0]["orderType"] == "GTC"
    headers = next(r for r in seen if r.url.path == "/order").headers
    assert headers["POLY_API_KEY"] == CREDS["apiKey"] and headers["POLY_SIGNATURE"]
    assert Decimal(o.size) == Decimal(10)


def test_orders_are_checked_before_anything_is_sent() -> None:
    venue, seen = venue_with(ok)
    good = order()
    foreign = dataclasses.replace(good, signed=good.signed.model_copy(update={"builder": "0x" + "cd" * 32}))
    with pytest.raises(VenueError) as wrong_builder:
        venue.submit(foreign, 0)
    assert wrong_builder.value.code == "BUILDER_CODE_MISMATCH"
    with pytest.raises(VenueError) as unsigned:
        venue.submit(dataclasses.replace(good, signed=None), 0)
    assert unsigned.value.code == "UNSIGNED_ORDER"
    with pytest.raises(VenueError) as swapped:
        venue.submit_batch([good, dataclasses.replace(order("cid-rest-0009"), client_order_id="other-cid")], 0)
    assert swapped.value.code == "SIGNED_ORDER_MISMATCH"
    assert posts(seen) == 0 and venue._tracker.ids() == frozenset()
