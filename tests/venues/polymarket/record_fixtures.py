"""Record the payloads under tests/fixtures/venues/polymarket/ from a local exchange's own answers.

Run: ``PYTHONPATH=src:tests python tests/venues/polymarket/record_fixtures.py``.  Nothing is
fetched from anywhere else: a ``polytraders exchange serve`` process is started on loopback, a
wallet trades against a counterparty, and every REST body and WebSocket frame it sees is saved
verbatim (one JSON file each).  Credentials are never recorded (only answers are).
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import websockets
from exchange.helpers import ServerProcess, Trader

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "venues" / "polymarket"


def save(kind: str, name: str, payload: Any) -> None:
    path = OUT / kind / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


async def _frames(ws: Any, seconds: float) -> list[Any]:
    out: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if raw != "PONG":
            out.append(json.loads(raw))
    return out


def main() -> None:
    proc = ServerProcess("--seed", "4", "--markets", "4", "--taker-delay-ms", "0")
    try:
        http = httpx.Client(base_url=proc.url, timeout=10)
        me, other = Trader.new(), Trader.new()
        me.login(http)
        other.login(http)
        markets = http.get("/markets").json()
        save("rest", "markets_page", markets)
        market = next(m for m in markets["data"] if m["minimum_tick_size"] == 0.01 and not m["neg_risk"]
                      and "sports" not in m["tags"])
        token, cid = market["tokens"][0]["token_id"], market["condition_id"]
        http.post("/admin/fund", json={"address": other.address, "amount": "500", "token_id": token})
        book = http.get("/book", params={"token_id": token}).json()
        save("rest", "book", book)
        save("gamma", "markets", http.get("/gamma/markets", params={"limit": 2}).json())
        ws_url = proc.url.replace("http", "ws")

        async def scenario() -> None:
            async with websockets.connect(f"{ws_url}/ws/market") as mws, \
                    websockets.connect(f"{ws_url}/ws/user") as uws:
                await mws.send(json.dumps({"type": "market", "assets_ids": [token], "initial_dump": True}))
                await uws.send(json.dumps({"auth": {"apiKey": me.api_key, "secret": me.secret,
                                                    "passphrase": me.passphrase}, "type": "user"}))
                save("ws_market", "initial_dump", (await _frames(mws, 1.0))[0])
                best_bid = max(Decimal(lv["price"]) for lv in book["bids"])
                price = best_bid + Decimal("0.01")
                body, order_id = me.order(token, "BUY", price, "10", salt=11)
                save("rest", "post_order_live", me.call(http, "POST", "/order", body).json())
                dup = me.call(http, "POST", "/order", body)
                save("rest", "post_order_duplicate_400", dup.json())
                small, _ = me.order(token, "BUY", price, "1", salt=12)
                save("rest", "post_order_min_size_400", me.call(http, "POST", "/order", small).json())
                save("rest", "open_orders", me.call(http, "GET", "/data/orders").json())
                taker, _ = other.order(token, "SELL", price, "4", order_type="FAK", salt=13)
                save("rest", "post_order_matched", other.call(http, "POST", "/order", taker).json())
                user = await _frames(uws, 3.5)
                for i, frame in enumerate(user):
                    kind = frame.get("event_type")
                    tag = frame.get("type", "").lower() if kind == "order" else frame.get("status", "").lower()
                    save("ws_user", f"{i:02d}_{kind}_{tag}", frame)
                market_frames = await _frames(mws, 0.5)
                for i, frame in enumerate(market_frames[:6]):
                    save("ws_market", f"{i:02d}_{frame.get('event_type')}", frame)
                save("rest", "trades", me.call(http, "GET", "/data/trades").json())
                save("rest", "cancel_one", me.call(http, "DELETE", "/order", {"orderID": order_id}).json())
                save("rest", "cancel_again", me.call(http, "DELETE", "/order", {"orderID": order_id}).json())
                save("rest", "cancel_all_empty", me.call(http, "DELETE", "/cancel-all").json())
                http.post("/admin/faults", json={"window": {"status": 429, "surfaces": ["trading"], "seconds": 1}})
                save("rest", "rate_limited_429", me.call(http, "POST", "/order", body).json())
                http.delete("/admin/faults")
                http.post("/admin/faults", json={"window": {"status": 503, "mode": "post_only", "seconds": 1}})
                save("rest", "post_only_mode_503", me.call(http, "POST", "/order", small).json())
                http.delete("/admin/faults")
                save("rest", "heartbeat", me.call(http, "POST", "/v1/heartbeats", {"heartbeat_id": ""}).json())
                save("data_api", "positions", http.get("/data-api/positions", params={"user": me.address}).json())
                save("data_api", "trades", http.get("/data-api/trades", params={"user": me.address}).json())

        asyncio.run(scenario())
        save("rest", "market", http.get(f"/markets/{cid}").json())
    finally:
        proc.stop()


if __name__ == "__main__":
    main()
