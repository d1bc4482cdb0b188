"""Authenticated CLOB endpoints: L1 key management, L2 orders, cancels, reads and heartbeats.

Each handler: fault gate for its surface, authentication (L1 EIP-712 or L2 HMAC over the exact
body bytes), then one engine call, then a WebSocket flush.  Errors are ``ApiError``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from polytraders.exchange.auth import ApiKey
from polytraders.exchange.context import Ctx
from polytraders.exchange.errors import ApiError, bad_request
from polytraders.exchange.validate import check_order
from polytraders.exchange.wire import page

MAX_BATCH: Final = 15
MAX_CANCEL_IDS: Final = 1000


async def l2(request: Request, surface: str, **gate: bool) -> tuple[Ctx, ApiKey, str]:
    ctx: Ctx = request.app.state.ctx
    await ctx.faults.gate(surface, ctx.clock.now_ms(), **gate)
    body = (await request.body()).decode()
    key = ctx.engine.keys.check_l2(request.headers, request.method, request.url.path, body)
    return ctx, key, body


def parse_json(body: str) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise bad_request("Invalid payload") from None


# -- L1 ---------------------------------------------------------------------------------------
async def create_api_key(request: Request) -> Response:
    ctx: Ctx = request.app.state.ctx
    await ctx.faults.gate("auth", ctx.clock.now_ms())
    address, nonce = ctx.engine.keys.check_l1(request.headers)
    ctx.engine.ledger.account(address)
    return JSONResponse(ctx.engine.keys.create(address, nonce).as_json())


async def derive_api_key(request: Request) -> Response:
    ctx: Ctx = request.app.state.ctx
    await ctx.faults.gate("auth", ctx.clock.now_ms())
    address, nonce = ctx.engine.keys.check_l1(request.headers)
    ctx.engine.ledger.account(address)
    return JSONResponse(ctx.engine.keys.derive(address, nonce).as_json())


async def api_keys(request: Request) -> Response:
    _, key, _ = await l2(request, "account")
    return JSONResponse({"apiKeys": [key.api_key]})


async def closed_only(request: Request) -> Response:
    await l2(request, "account")
    return JSONResponse({"closed_only": False})


# -- orders -----------------------------------------------------------------------------------
def _post_only_flags(payload: Any) -> bool:
    items = payload if isinstance(payload, list) else [payload]
    return bool(items) and all(isinstance(i, dict) and i.get("postOnly") is True for i in items)


async def post_order(request: Request) -> Response:
    ctx: Ctx = request.app.state.ctx
    raw = (await request.body()).decode()
    payload = parse_json(raw)
    ctx, key, _ = await l2(request, "trading", order_post=True, post_only=_post_only_flags(payload))
    ctx.limits.take(key.address, "order", 1, ctx.clock.now_ms())
    engine = ctx.engine
    try:
        checked = check_order(payload, key, engine.market_of, engine.tick_of, ctx.clock.now_ms(), ctx.cfg.chain_id)
        return JSONResponse(engine.submit(checked))
    finally:
        ctx.flush()


async def post_orders(request: Request) -> Response:
    ctx: Ctx = request.app.state.ctx
    payload = parse_json((await request.body()).decode())
    ctx, key, _ = await l2(request, "trading", order_post=True, post_only=_post_only_flags(payload))
    if not isinstance(payload, list):
        raise bad_request("Invalid payload: expected an array of orders")
    if len(payload) > MAX_BATCH:
        raise bad_request(f"Too many orders in payload: {len(payload)}, max allowed: {MAX_BATCH}")
    ctx.limits.take(key.address, "order", len(payload), ctx.clock.now_ms())
    engine = ctx.engine
    out: list[dict[str, Any]] = []
    for item in payload:
        try:
            checked = check_order(item, key, engine.market_of, engine.tick_of, ctx.clock.now_ms(), ctx.cfg.chain_id)
            out.append(engine.submit(checked))
        except ApiError as exc:
            # The CLOB reports a refused leg inside the 200: success true, no id, reason in errorMsg.
            out.append({"success": True, "errorMsg": exc.message, "orderID": "", "status": "",
                        "makingAmount": "", "takingAmount": "", "transactionsHashes": [], "tradeIDs": []})
    ctx.flush()
    return JSONResponse(out)


async def cancel_order(request: Request) -> Response:
    ctx, key, body = await l2(request, "trading", cancel=True)
    payload = parse_json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("orderID"), str):
        raise bad_request("Invalid orderID")
    ctx.limits.take(key.address, "cancel", 1, ctx.clock.now_ms())
    result = ctx.engine.cancel(key.api_key, [payload["orderID"]])
    ctx.flush()
    return JSONResponse(result)


async def cancel_orders(request: Request) -> Response:
    ctx, key, body = await l2(request, "trading", cancel=True)
    payload = parse_json(body)
    if not isinstance(payload, list) or not all(isinstance(i, str) for i in payload):
        raise bad_request("Invalid payload: expected an array of order ids")
    if len(payload) > MAX_CANCEL_IDS:
        raise bad_request(f"Too many orders in payload: {len(payload)}, max allowed: {MAX_CANCEL_IDS}")
    ctx.limits.take(key.address, "cancel", len(set(payload)), ctx.clock.now_ms())
    result = ctx.engine.cancel(key.api_key, payload)
    ctx.flush()
    return JSONResponse(result)


async def cancel_all(request: Request) -> Response:
    ctx, key, _ = await l2(request, "trading", cancel=True)
    ctx.limits.take(key.address, "cancel", 1, ctx.clock.now_ms())
    result = ctx.engine.cancel(key.api_key, ctx.engine.live_ids(key.api_key))
    ctx.flush()
    return JSONResponse(result)


async def cancel_market_orders(request: Request) -> Response:
    ctx, key, body = await l2(request, "trading", cancel=True)
    payload = parse_json(body) or {}
    if not isinstance(payload, dict):
        raise bad_request("Invalid payload")
    ctx.limits.take(key.address, "cancel", 1, ctx.clock.now_ms())
    ids = ctx.engine.live_ids(key.api_key, str(payload.get("market", "")), str(payload.get("asset_id", "")))
    result = ctx.engine.cancel(key.api_key, ids)
    ctx.flush()
    return JSONResponse(result)


# -- reads ------------------------------------------------------------------------------------
async def get_order(request: Request) -> Response:
    ctx, key, _ = await l2(request, "account")
    rec = ctx.engine.orders.get(str(request.path_params["order_id"]))
    # Like the CLOB, only active orders are returned; anything else reads as empty.
    if rec is None or rec.owner != key.api_key or rec.status != "LIVE":
        return JSONResponse(None)
    return JSONResponse(rec.as_json())


async def open_orders(request: Request) -> Response:
    ctx, key, _ = await l2(request, "account")
    q = request.query_params
    rows = [r.as_json() for r in ctx.engine.live.values() if r.owner == key.api_key
            and (not q.get("id") or r.id == q["id"]) and (not q.get("market") or r.market == q["market"])
            and (not q.get("asset_id") or r.asset_id == q["asset_id"])]
    return JSONResponse(page(rows, q.get("next_cursor"), ctx.cfg.orders_page_size))


async def trades(request: Request) -> Response:
    ctx, key, _ = await l2(request, "account")
    q = request.query_params
    address = key.address.lower()
    engine = ctx.engine
    try:
        before = int(q["before"]) if q.get("before") else None
        after = int(q["after"]) if q.get("after") else None
    except ValueError:
        raise bad_request("before/after must be unix seconds") from None
    ids = [q["id"]] if q.get("id") else engine.trades_by_address.get(address, [])
    rows = []
    for trade_id in ids:
        t = engine.trades.get(trade_id)
        if t is None or address not in t.addresses():
            continue
        if (q.get("market") and t.market != q["market"]) or (q.get("asset_id") and t.asset_id != q["asset_id"]):
            continue
        if q.get("maker_address") and q["maker_address"].lower() not in t.addresses():
            continue
        if (before is not None and t.match_ms // 1000 >= before) or (after is not None and t.match_ms // 1000 <= after):
            continue
        rows.append(t.as_json(key.address))
    return JSONResponse(page(rows, q.get("next_cursor"), ctx.cfg.orders_page_size))


async def balance_allowance(request: Request) -> Response:
    ctx, key, _ = await l2(request, "account")
    q = request.query_params
    asset_type = q.get("asset_type", "COLLATERAL")
    if asset_type.upper() not in ("COLLATERAL", "CONDITIONAL"):
        raise bad_request("invalid asset_type")
    if asset_type.upper() == "CONDITIONAL" and not q.get("token_id"):
        raise bad_request("token_id is required for CONDITIONAL")
    return JSONResponse(ctx.engine.ledger.balance_json(key.address, asset_type, q.get("token_id", "")))


async def heartbeat(request: Request) -> Response:
    ctx, key, body = await l2(request, "account")
    payload = parse_json(body) or {}
    heartbeat_id = payload.get("heartbeat_id", "") if isinstance(payload, dict) else ""
    result = ctx.engine.heartbeat(key.api_key, str(heartbeat_id or ""))
    return JSONResponse(result)


ROUTES = [
    Route("/auth/api-key", create_api_key, methods=["POST"]),
    Route("/auth/derive-api-key", derive_api_key),
    Route("/auth/api-keys", api_keys),
    Route("/auth/ban-status/closed-only", closed_only),
    Route("/order", post_order, methods=["POST"]),
    Route("/order", cancel_order, methods=["DELETE"]),
    Route("/orders", post_orders, methods=["POST"]),
    Route("/orders", cancel_orders, methods=["DELETE"]),
    Route("/cancel-all", cancel_all, methods=["DELETE"]),
    Route("/cancel-market-orders", cancel_market_orders, methods=["DELETE"]),
    Route("/data/order/{order_id}", get_order),
    Route("/data/orders", open_orders),
    Route("/data/trades", trades),
    Route("/balance-allowance", balance_allowance),
    Route("/balance-allowance/update", balance_allowance),
    Route("/v1/heartbeats", heartbeat, methods=["POST"]),
    Route("/heartbeats", heartbeat, methods=["POST"]),
]
