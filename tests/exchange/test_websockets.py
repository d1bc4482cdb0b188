"""WebSocket channels against a real server process, with a real ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .helpers import ServerProcess, Trader

pytestmark = pytest.mark.slow
Msg = dict[str, Any]


@pytest.fixture(scope="module")
def ws_server() -> Iterator[ServerProcess]:
    proc = ServerProcess("--sim-time", "--seed", "3", "--markets", "4", "--taker-delay-ms", "0")
    try:
        yield proc
    finally:
        proc.stop()


def _setup(server: ServerProcess) -> tuple[httpx.Client, Trader, Msg]:
    http = httpx.Client(base_url=server.url, timeout=5)
    trader = Trader.new()
    trader.login(http)
    market = next(m for m in http.get("/markets").json()["data"] if m["minimum_tick_size"] == 0.01)
    return http, trader, market


async def _next(ws: Any, match: Callable[[Any], bool], timeout: float = 3.0) -> Any:
    async def scan() -> Any:
        while True:
            raw = await ws.recv()
            msg = raw if raw == "PONG" else json.loads(raw)
            if match(msg):
                return msg
    return await asyncio.wait_for(scan(), timeout)


def _event(kind: str) -> Callable[[Any], bool]:
    return lambda m: isinstance(m, dict) and m.get("event_type") == kind


def test_market_and_user_channels(ws_server: ServerProcess) -> None:
    http, trader, market = _setup(ws_server)
    yes = market["tokens"][0]["token_id"]
    ws_url = ws_server.url.replace("http", "ws")

    async def scenario() -> None:
        async with websockets.connect(f"{ws_url}/ws/market") as mws, websockets.connect(f"{ws_url}/ws/user") as uws:
            await mws.send(json.dumps({"type": "market", "assets_ids": [yes], "initial_dump": True}))
            dump = json.loads(await asyncio.wait_for(mws.recv(), 3))
            assert isinstance(dump, list) and dump[0]["event_type"] == "book" and dump[0]["asset_id"] == yes
            assert {"market", "bids", "asks", "timestamp", "hash"} <= set(dump[0])
            await mws.send("PING")
            assert await _next(mws, lambda m: m == "PONG") == "PONG"
            await uws.send(json.dumps({"auth": {"apiKey": trader.api_key, "secret": trader.secret,
                                                "passphrase": trader.passphrase},
                                       "type": "user", "markets": [market["condition_id"]]}))
            await uws.send("PING")
            assert await _next(uws, lambda m: m == "PONG") == "PONG"

            bid = Decimal(dump[0]["bids"][-1]["price"])
            body, order_id = trader.order(yes, "BUY", bid - Decimal("0.01"), "7")
            assert trader.call(http, "POST", "/order", body).status_code == 200
            placed = await _next(uws, _event("order"))
            assert placed["type"] == "PLACEMENT" and placed["id"] == order_id and placed["original_size"] == "7"
            change = await _next(mws, _event("price_change"))
            level = next(c for c in change["price_changes"] if c["price"] == str(bid - Decimal("0.01")))
            assert level["side"] == "BUY" and Decimal(level["size"]) >= 7
            assert level["best_bid"] == str(bid) and level["best_ask"] and change["market"] == market["condition_id"]
            assert level["hash"] == http.get("/book", params={"token_id": yes}).json()["hash"]

            ask = Decimal(dump[0]["asks"][-1]["price"])
            taker, taker_id = trader.order(yes, "BUY", ask, "5", order_type="FAK", salt=2)
            assert trader.call(http, "POST", "/order", taker).json()["status"] == "matched"
            trade = await _next(uws, _event("trade"))
            assert trade["type"] == "TRADE" and trade["taker_order_id"] == taker_id and trade["status"] == "MATCHED"
            assert trade["maker_orders"] and trade["side"] == "BUY" and trade["price"] == str(ask)
            last = await _next(mws, _event("last_trade_price"))
            assert (last["price"], last["side"], last["size"]) == (str(ask), "BUY", "5")
            assert (await _next(mws, _event("book")))["asset_id"] == yes

            assert trader.call(http, "DELETE", "/order", {"orderID": order_id}).status_code == 200
            cancelled = await _next(uws, lambda m: isinstance(m, dict) and m.get("type") == "CANCELLATION")
            assert cancelled["id"] == order_id and cancelled["status"] == "CANCELED"

            http.post("/admin/shock", json={"market": market["condition_id"], "delta": 0.9})
            http.post("/admin/time/advance", json={"ms": 2000})
            tick = await _next(mws, _event("tick_size_change"))
            assert (tick["old_tick_size"], tick["new_tick_size"]) == ("0.01", "0.001")
            http.post("/admin/shock", json={"market": market["condition_id"], "delta": -0.9})
            http.post("/admin/time/advance", json={"ms": 2000})

    asyncio.run(scenario())


def test_protocol_violations_close_with_1008(ws_server: ServerProcess) -> None:
    ws_url = ws_server.url.replace("http", "ws")

    async def scenario() -> None:
        async with websockets.connect(f"{ws_url}/ws/market") as ws:
            await ws.send(json.dumps({"assets_ids": ["1"], "operation": "subscribe"}))  # before any subscribe
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        async with websockets.connect(f"{ws_url}/ws/user") as ws:
            await ws.send(json.dumps({"auth": {"apiKey": "x", "secret": "y", "passphrase": "z"}, "type": "user"}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_ws_faults_stall_drop_and_reconnect_without_replay(ws_server: ServerProcess) -> None:
    http, trader, market = _setup(ws_server)
    yes = market["tokens"][0]["token_id"]
    ws_url = ws_server.url.replace("http", "ws")
    auth = {"auth": {"apiKey": trader.api_key, "secret": trader.secret, "passphrase": trader.passphrase},
            "type": "user"}

    async def scenario() -> None:
        async with websockets.connect(f"{ws_url}/ws/user") as uws:
            await uws.send(json.dumps(auth))
            await uws.send("PING")
            assert await asyncio.wait_for(uws.recv(), 3) == "PONG"
            http.post("/admin/faults", json={"ws": {"channel": "user", "kind": "stall", "seconds": 5}})
            body, _ = trader.order(yes, "BUY", "0.02", "10")
            assert trader.call(http, "POST", "/order", body).status_code == 200
            await uws.send("PING")
            assert await asyncio.wait_for(uws.recv(), 3) == "PONG", "a stalled socket still answers PING"
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(uws.recv(), 0.5)
            http.post("/admin/time/advance", json={"ms": 5000})
            body, order_id = trader.order(yes, "BUY", "0.02", "10", salt=2)
            trader.call(http, "POST", "/order", body)
            assert (await _next(uws, _event("order")))["id"] == order_id, "flow resumes after the stall"

            http.post("/admin/faults", json={"ws": {"channel": "user", "kind": "reconnect"}})
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(uws.recv(), 3)
        body, missed = trader.order(yes, "BUY", "0.02", "10", salt=3)
        trader.call(http, "POST", "/order", body)
        async with websockets.connect(f"{ws_url}/ws/user") as uws:
            await uws.send(json.dumps(auth))
            await uws.send("PING")  # the PONG proves the subscription was processed
            assert await asyncio.wait_for(uws.recv(), 3) == "PONG"
            body, fresh = trader.order(yes, "BUY", "0.02", "10", salt=4)
            trader.call(http, "POST", "/order", body)
            assert (await _next(uws, _event("order")))["id"] == fresh, f"{missed} was not replayed"

            http.post("/admin/faults", json={"ws": {"channel": "user", "kind": "drop", "seconds": 3}})
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(uws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        with pytest.raises(InvalidStatus):
            async with websockets.connect(f"{ws_url}/ws/user"):
                pass
        http.post("/admin/time/advance", json={"ms": 3000})
        async with websockets.connect(f"{ws_url}/ws/user") as uws:
            await uws.send("PING")
            assert await asyncio.wait_for(uws.recv(), 3) == "PONG"
        http.delete("/admin/faults")
        trader.call(http, "DELETE", "/cancel-all")

    asyncio.run(scenario())


def test_silent_clients_are_dropped() -> None:
    proc = ServerProcess("--markets", "2", "--ws-idle-timeout-ms", "600")
    ws_url = proc.url.replace("http", "ws")

    async def scenario() -> None:
        async with websockets.connect(f"{ws_url}/ws/market") as ws:
            for _ in range(6):  # pinging every 0.15 s keeps it open past the 0.6 s timeout
                await asyncio.sleep(0.15)
                await ws.send("PING")
                assert await asyncio.wait_for(ws.recv(), 3) == "PONG"
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001

    try:
        asyncio.run(scenario())
    finally:
        proc.stop()


def test_custom_features_best_bid_ask_and_market_resolved(ws_server: ServerProcess) -> None:
    http, trader, first = _setup(ws_server)
    market = next(m for m in http.get("/markets").json()["data"]
                  if m["condition_id"] != first["condition_id"] and m["minimum_tick_size"] == 0.01)
    yes, no = (t["token_id"] for t in market["tokens"])
    ws_url = ws_server.url.replace("http", "ws")

    async def scenario() -> None:
        async with websockets.connect(f"{ws_url}/ws/market") as plain, \
                websockets.connect(f"{ws_url}/ws/market") as custom:
            await plain.send(json.dumps({"type": "market", "assets_ids": [yes]}))
            await custom.send(json.dumps({"type": "market", "assets_ids": [yes], "custom_feature_enabled": True}))
            dump = json.loads(await asyncio.wait_for(custom.recv(), 3))
            await asyncio.wait_for(plain.recv(), 3)
            bid, ask = Decimal(dump[0]["bids"][-1]["price"]), Decimal(dump[0]["asks"][-1]["price"])
            assert ask - bid > Decimal("0.01"), "needs room to improve the bid"
            body, _ = trader.order(yes, "BUY", bid + Decimal("0.01"), "5", post_only=True)
            assert trader.call(http, "POST", "/order", body).status_code == 200
            top = await _next(custom, _event("best_bid_ask"))
            assert (top["best_bid"], top["best_ask"]) == (str(bid + Decimal("0.01")), str(ask))
            assert Decimal(top["spread"]) == ask - bid - Decimal("0.01")
            http.post("/admin/resolve", json={"market": market["condition_id"], "winner": no})
            resolved = await _next(custom, _event("market_resolved"))
            assert resolved["winning_asset_id"] == no and resolved["winning_outcome"] == "No"
            plain_kinds = set()
            await plain.send("PING")
            while (msg := await asyncio.wait_for(plain.recv(), 3)) != "PONG":
                plain_kinds.add(json.loads(msg)["event_type"])
            assert plain_kinds <= {"price_change"}, "custom events only reach custom subscribers"

    asyncio.run(scenario())
