"""The heartbeat dead-man rule and every server-level fault kind, on simulated time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from py_clob_client_v2 import ClobClient, OrderArgs
from py_clob_client_v2.exceptions import PolyApiException

from .helpers import Local, ServerProcess, make_local


def _rest(local: Local, salt: int = 1, post_only: bool = False) -> str:
    info = local.market()
    body, digest = local.trader.order(info.yes_token, "BUY", "0.10", "10", salt=salt, post_only=post_only)
    assert local.post(body).status_code == 200
    return digest


def _faults(local: Local, **spec: Any) -> None:
    assert local.http.post("/admin/faults", json=spec).status_code == 200


def test_dead_man_cancels_that_keys_orders(local: Local) -> None:
    other = local.login()
    info = local.market()
    mine = _rest(local)
    body, theirs = other.order(info.yes_token, "BUY", "0.10", "10")
    assert local.post(body, trader=other).status_code == 200
    first = local.trader.call(local.http, "POST", "/v1/heartbeats", {"heartbeat_id": ""}).json()["heartbeat_id"]
    local.advance(9_000)
    second = local.trader.call(local.http, "POST", "/v1/heartbeats", {"heartbeat_id": first})
    assert second.status_code == 200
    latest = second.json()["heartbeat_id"]
    stale = local.trader.call(local.http, "POST", "/v1/heartbeats", {"heartbeat_id": first})
    assert stale.status_code == 400 and stale.json() == {"error": "Invalid Heartbeat ID", "heartbeat_id": latest}
    local.advance(14_000)  # 14 s of silence: inside timeout + buffer
    assert local.ctx.engine.orders[mine].status == "LIVE"
    local.advance(1_100)
    assert local.ctx.engine.orders[mine].status == "CANCELED"
    assert local.ctx.engine.orders[theirs].status == "LIVE", "only the silent key's orders go"
    # The rule re-arms with a fresh heartbeat (an empty id starts a new session).
    assert local.trader.call(local.http, "POST", "/heartbeats", {"heartbeat_id": ""}).status_code == 200


def test_425_and_429_windows(local: Local) -> None:
    _faults(local, window={"status": 425, "surfaces": ["trading"], "seconds": 5})
    info = local.market()
    body, _ = local.trader.order(info.yes_token, "BUY", "0.10", "10")
    resp = local.post(body)
    assert resp.status_code == 425 and "restarting" in resp.json()["error"]
    assert local.http.get("/ok").status_code == 200, "other surfaces are unaffected"
    local.advance(5_000)
    assert local.post(body).status_code == 200
    _faults(local, window={"status": 429, "surfaces": ["public"], "seconds": 2, "retry_after": 7})
    limited = local.http.get("/markets")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert limited.json()["error"] == "Too Many Requests"


def test_503_modes(local: Local) -> None:
    info = local.market()
    resting = _rest(local)
    _faults(local, window={"status": 503, "mode": "post_only", "surfaces": ["trading"], "retry_after": 120})
    plain, _ = local.trader.order(info.yes_token, "BUY", "0.10", "10", salt=2)
    resp = local.post(plain)
    assert resp.status_code == 503 and resp.headers["retry-after"] == "120"
    assert resp.json()["code"] == "post_only_mode" and resp.json()["retry_after_seconds"] == 120
    maker, _ = local.trader.order(info.yes_token, "BUY", "0.10", "10", salt=3, post_only=True)
    assert local.post(maker).status_code == 200
    assert local.trader.call(local.http, "DELETE", "/order", {"orderID": resting}).status_code == 200
    assert local.http.delete("/admin/faults").status_code == 200
    _faults(local, window={"status": 503, "mode": "cancel_only", "surfaces": ["trading"]})
    resp = local.post(local.trader.order(info.yes_token, "BUY", "0.10", "10", salt=4, post_only=True)[0])
    assert resp.status_code == 503 and "cancel-only" in resp.json()["error"]
    assert local.trader.call(local.http, "DELETE", "/cancel-all").status_code == 200
    local.http.delete("/admin/faults")
    _faults(local, window={"status": 503, "mode": "disabled", "surfaces": ["trading"]})
    assert local.trader.call(local.http, "DELETE", "/cancel-all").status_code == 503


def test_latency_and_error_rates(local: Local) -> None:
    _faults(local, latency_ms={"public": 150})
    start = time.perf_counter()
    assert local.http.get("/ok").status_code == 200
    assert time.perf_counter() - start >= 0.15
    _faults(local, latency_ms={"public": 0}, error_rates={"account": [1.0, 500]})
    resp = local.trader.call(local.http, "GET", "/data/orders")
    assert resp.status_code == 500 and resp.json() == {"error": "injected error"}
    _faults(local, error_rates={"account": [0.5, 503]})
    statuses = {local.trader.call(local.http, "GET", "/data/orders").status_code for _ in range(40)}
    assert statuses == {200, 503}


def test_frozen_book_repeats_its_snapshot_while_the_market_moves(local: Local) -> None:
    info = local.market()
    before = local.http.get("/book", params={"token_id": info.yes_token}).json()
    _faults(local, freeze={"market": info.condition_id, "seconds": 30})
    local.http.post("/admin/shock", json={"market": info.condition_id, "delta": 0.2})
    local.advance(3_000)
    assert local.http.get("/book", params={"token_id": info.yes_token}).json() == before
    assert local.ctx.engine.venue.book(info.yes_token) != local.ctx.engine.book_view(info.yes_token)
    local.advance(30_000)
    after = local.http.get("/book", params={"token_id": info.yes_token}).json()
    assert after["hash"] != before["hash"] and after["timestamp"] != before["timestamp"]


def test_halted_market_refuses_orders_until_the_halt_ends(local: Local) -> None:
    info = local.market()
    _faults(local, halt={"market": info.condition_id, "seconds": 10})
    body, _ = local.trader.order(info.yes_token, "BUY", "0.10", "10")
    resp = local.post(body)
    assert resp.status_code == 400 and resp.json()["errorMsg"] == "MARKET_NOT_READY"
    assert local.http.get(f"/markets/{info.condition_id}").json()["accepting_orders"] is False
    local.advance(10_000)
    assert local.http.get(f"/markets/{info.condition_id}").json()["accepting_orders"] is True
    assert local.post(body).status_code == 200


def test_resolving_a_market_without_orders_closes_it(local: Local) -> None:
    info = local.market()
    assert local.http.post("/admin/resolve", json={"market": info.condition_id, "winner": info.no_token}).json()
    market = local.http.get(f"/markets/{info.condition_id}").json()
    assert market["closed"] is True and market["accepting_orders"] is False
    assert [t["winner"] for t in market["tokens"]] == [False, True]


def test_tick_size_changes_past_096(local: Local) -> None:
    info = local.market()
    assert local.http.get("/tick-size", params={"token_id": info.yes_token}).json() == {"minimum_tick_size": 0.01}
    local.http.post("/admin/shock", json={"market": info.condition_id, "delta": 0.9})
    local.advance(2_000)
    assert local.http.get("/tick-size", params={"token_id": info.yes_token}).json() == {"minimum_tick_size": 0.001}
    assert local.http.get("/tick-size", params={"token_id": info.no_token}).json() == {"minimum_tick_size": 0.001}
    assert local.http.get(f"/clob-markets/{info.condition_id}").json()["mts"] == 0.001
    body, _ = local.trader.order(info.yes_token, "BUY", "0.905", "10", tick="0.001")
    assert local.post(body).json()["status"] == "live", "the finer grid is accepted"
    local.http.post("/admin/shock", json={"market": info.condition_id, "delta": -0.5})
    local.advance(2_000)
    assert local.http.get("/tick-size", params={"token_id": info.yes_token}).json() == {"minimum_tick_size": 0.01}


def test_resolution_cancels_with_market_resolved_and_pays_holders(local: Local) -> None:
    info = local.market()
    resting = _rest(local)
    ask = local.book(info.yes_token).best_ask
    taker, _ = local.trader.order(info.yes_token, "BUY", ask, "5", order_type="FOK", salt=9)
    assert local.post(taker).json()["status"] == "matched"
    cash_before = local.ctx.engine.ledger.account(local.trader.address).collateral
    assert local.http.post("/admin/resolve", json={"market": info.condition_id, "winner": info.yes_token}).json()
    assert local.ctx.engine.orders[resting].status == "CANCELED_MARKET_RESOLVED"
    assert local.ctx.engine.ledger.account(local.trader.address).collateral == cash_before + 5
    market = local.http.get(f"/markets/{info.condition_id}").json()
    assert market["closed"] is True and [t["winner"] for t in market["tokens"]] == [True, False]
    gamma = local.http.get("/gamma/markets", params={"condition_ids": info.condition_id}).json()
    assert gamma[0]["closed"] is True and gamma[0]["outcomePrices"] == '["1", "0"]'
    assert gamma[0]["umaResolutionStatus"] == "resolved"
    assert local.http.get("/book", params={"token_id": info.yes_token}).status_code == 404


def test_time_advance_needs_simulated_time(local: Local) -> None:
    local.ctx.clock.simulated = False
    try:
        assert local.http.post("/admin/time/advance", json={"ms": 10}).status_code == 400
    finally:
        local.ctx.clock.simulated = True


def test_trades_settle_and_failed_settlement_is_reversed(local: Local) -> None:
    info = local.market()
    ask = local.book(info.yes_token).best_ask
    taker, _ = local.trader.order(info.yes_token, "BUY", ask, "5", order_type="FOK")
    trade_id = local.post(taker).json()["tradeIDs"][0]

    def status(tid: str) -> str:
        rows = local.trader.call(local.http, "GET", "/data/trades", params={"id": tid}).json()["data"]
        return str(rows[0]["status"])

    assert status(trade_id) == "MATCHED"
    local.advance(2_000)
    assert status(trade_id) == "MINED"
    local.advance(8_000)
    assert status(trade_id) == "CONFIRMED"
    acct = local.ctx.engine.ledger.account(local.trader.address)
    cash, shares = acct.collateral, acct.shares[info.yes_token]
    _faults(local, settlement={"count": 1})
    ask = local.book(info.yes_token).best_ask
    taker, _ = local.trader.order(info.yes_token, "BUY", ask, "5", order_type="FOK", salt=2)
    failing = local.post(taker).json()["tradeIDs"][0]
    assert acct.shares[info.yes_token] == shares + 5
    local.advance(2_000)
    assert status(failing) == "RETRYING"
    local.advance(8_000)
    assert status(failing) == "FAILED"
    assert (acct.collateral, acct.shares[info.yes_token]) == (cash, shares), "a failed trade is undone"


@pytest.mark.slow
def test_dead_man_on_a_real_process_with_short_timeouts() -> None:
    # 0.6 s + 0.4 s: room for a slow, loaded machine between 0.2 s heartbeats.
    proc = ServerProcess("--heartbeat-timeout-ms", "600", "--heartbeat-buffer-ms", "400", "--markets", "3")
    try:
        key = "0x" + bytes(Account.create().key).hex()
        client = ClobClient(proc.url, 137, key=key)
        client.set_api_creds(client.create_or_derive_api_key())
        token = client.get_markets()["data"][0]["tokens"][0]["token_id"]
        resting = client.create_and_post_order(OrderArgs(token_id=token, price=0.02, size=10, side="BUY"))
        beat = client.post_heartbeat("")
        for _ in range(7):  # 1.4 s of heartbeats: alive past the 1 s deadline
            time.sleep(0.2)
            beat = client.post_heartbeat(beat["heartbeat_id"])
        assert client.get_order(resting["orderID"])["status"] == "LIVE"
        time.sleep(1.6)  # silence beyond timeout + buffer (and a driver tick)
        assert client.get_order(resting["orderID"]) is None
        assert client.get_open_orders() == []
        fresh = client.post_heartbeat("")["heartbeat_id"]  # the rule fired: a new session starts
        with pytest.raises(PolyApiException) as stale:
            client.post_heartbeat("not-the-id")
        assert stale.value.status_code == 400
        assert stale.value.error_msg == {"error": "Invalid Heartbeat ID", "heartbeat_id": fresh}
    finally:
        proc.stop()


def test_per_signer_rate_limits() -> None:
    for local in make_local(order_limit=5, cancel_limit=2):
        info = local.market()
        other = local.login()
        for salt in range(5):
            body, _ = local.trader.order(info.yes_token, "BUY", "0.10", "5", salt=salt)
            assert local.post(body).status_code == 200
        body, _ = local.trader.order(info.yes_token, "BUY", "0.10", "5", salt=99)
        limited = local.post(body)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert limited.headers["poly-ratelimit-remaining"] == "0"
        assert local.post(other.order(info.yes_token, "BUY", "0.10", "5")[0], trader=other).status_code == 200
        local.advance(2_000)  # refills 5 per 10 s: one token back after 2 s
        assert local.post(body).status_code == 200
        assert local.trader.call(local.http, "DELETE", "/orders", ["0x1", "0x2"]).status_code == 200
        assert local.trader.call(local.http, "DELETE", "/cancel-all").status_code == 429


def test_bad_inputs_are_400s_not_500s(local: Local) -> None:
    assert local.trader.call(local.http, "GET", "/data/trades", params={"before": "soon"}).status_code == 400
    assert local.http.post("/admin/faults", json={"latency_ms": {"public": "fast"}}).status_code == 400
    assert local.http.post("/admin/faults", json={"window": "now"}).status_code == 400
    assert local.http.post("/admin/faults", json={"latency_ms": {"nowhere": 5}}).status_code == 400
