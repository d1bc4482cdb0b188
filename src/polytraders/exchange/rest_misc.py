"""The CLOB's lesser endpoints, answered plausibly so a client's full API surface works locally.

Simplified and sampling markets, order scoring (never scoring: there are no liquidity rewards
here), notifications (none), API-key listing and deletion, pre-migration orders (none) and
builder fee rates (zero).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from polytraders.exchange.context import Ctx
from polytraders.exchange.rest_private import l2, parse_json
from polytraders.exchange.wire import page


def _simplified(ctx: Ctx) -> list[dict[str, Any]]:
    rows = []
    for info in ctx.engine.by_cid.values():
        closed = info.status == "resolved"
        rows.append({"condition_id": info.condition_id, "active": not closed, "closed": closed, "archived": False,
                     "accepting_orders": info.status == "open",
                     "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
                     "tokens": [{"token_id": info.yes_token, "outcome": "Yes"},
                                {"token_id": info.no_token, "outcome": "No"}]})
    return rows


async def simplified_markets(request: Request) -> Response:
    ctx: Ctx = request.app.state.ctx
    await ctx.faults.gate("public", ctx.clock.now_ms())
    return JSONResponse(page(_simplified(ctx), request.query_params.get("next_cursor"), ctx.cfg.markets_page_size))


async def order_scoring(request: Request) -> Response:
    await l2(request, "account")
    return JSONResponse({"scoring": False})


async def orders_scoring(request: Request) -> Response:
    _, _, body = await l2(request, "account")
    ids = parse_json(body) or []
    return JSONResponse({str(i): False for i in ids} if isinstance(ids, list) else {})


async def notifications(request: Request) -> Response:
    await l2(request, "account")
    return JSONResponse([] if request.method == "GET" else "OK")


async def delete_api_key(request: Request) -> Response:
    ctx, key, _ = await l2(request, "auth")
    ctx.engine.keys.forget(key.api_key)
    return JSONResponse("OK")


async def pre_migration_orders(request: Request) -> Response:
    ctx, _, _ = await l2(request, "account")
    return JSONResponse(page([], request.query_params.get("next_cursor"), ctx.cfg.orders_page_size))


async def builder_fees(request: Request) -> Response:
    ctx: Ctx = request.app.state.ctx
    await ctx.faults.gate("public", ctx.clock.now_ms())
    return JSONResponse({"builder_maker_fee_rate_bps": 0, "builder_taker_fee_rate_bps": 0})


ROUTES = [
    Route("/simplified-markets", simplified_markets), Route("/sampling-simplified-markets", simplified_markets),
    Route("/order-scoring", order_scoring), Route("/orders-scoring", orders_scoring, methods=["POST"]),
    Route("/notifications", notifications, methods=["GET", "DELETE"]),
    Route("/auth/api-key", delete_api_key, methods=["DELETE"]),
    Route("/data/pre-migration-orders", pre_migration_orders),
    Route("/fees/builder-fees/{builder_code}", builder_fees),
]
