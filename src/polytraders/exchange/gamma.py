"""Minimal Gamma and Data API, served beside the CLOB under configurable base paths.

Gamma (``{gamma_base}``): ``/markets`` (``limit``, ``offset``, ``closed``, ``condition_ids``,
``clob_token_ids``), ``/markets/{id}`` and ``/events`` (one event per market).  Data API
(``{data_base}``): ``/positions?user=`` and ``/trades?user=``.  Both are public, as the real
ones are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from polytraders.exchange.context import Ctx
from polytraders.exchange.errors import bad_request, not_found
from polytraders.exchange.wire import gamma_market, question
from polytraders.venues.base import MarketInfo, decimal_text


def _gamma_rows(ctx: Ctx) -> list[tuple[MarketInfo, dict[str, Any]]]:
    engine = ctx.engine
    rows = []
    for index, info in enumerate(engine.by_cid.values()):
        last = engine.last_trade.get(info.yes_token)
        rows.append((info, gamma_market(info, index, engine.book_view(info.yes_token),
                                        engine.winners.get(info.condition_id), last[0] if last else None)))
    return rows


async def _ctx(request: Request, surface: str) -> Ctx:
    ctx: Ctx = request.app.state.ctx
    await ctx.faults.gate(surface, ctx.clock.now_ms())
    return ctx


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise bad_request(f"invalid {name}") from None


async def gamma_markets(request: Request) -> Response:
    ctx = await _ctx(request, "gamma")
    q = request.query_params
    rows = _gamma_rows(ctx)
    cids = set(q.getlist("condition_ids")) | {c for v in q.getlist("condition_ids[]") for c in v.split(",")}
    tokens = set(q.getlist("clob_token_ids")) | {c for v in q.getlist("clob_token_ids[]") for c in v.split(",")}
    if cids:
        rows = [r for r in rows if r[0].condition_id in cids]
    if tokens:
        rows = [r for r in rows if {r[0].yes_token, r[0].no_token} & tokens]
    if "closed" in q:
        closed = q["closed"].lower() == "true"
        rows = [r for r in rows if r[1]["closed"] == closed]
    offset, limit = _int(request, "offset", 0), _int(request, "limit", 100)
    return JSONResponse([r[1] for r in rows[offset:offset + limit]])


async def gamma_market_one(request: Request) -> Response:
    ctx = await _ctx(request, "gamma")
    wanted = str(request.path_params["market_id"])
    for info, row in _gamma_rows(ctx):
        if wanted in (row["id"], info.condition_id):
            return JSONResponse(row)
    raise not_found("market not found")


async def gamma_events(request: Request) -> Response:
    ctx = await _ctx(request, "gamma")
    events = []
    for info, row in _gamma_rows(ctx):
        events.append({"id": row["id"], "slug": row["slug"], "title": row["question"], "active": row["active"],
                       "closed": row["closed"], "negRisk": info.neg_risk, "endDate": row["endDate"],
                       "category": info.cluster, "markets": [row]})
    offset, limit = _int(request, "offset", 0), _int(request, "limit", 100)
    return JSONResponse(events[offset:offset + limit])


async def data_positions(request: Request) -> Response:
    ctx = await _ctx(request, "data")
    user = request.query_params.get("user", "")
    if not user:
        raise bad_request("user is required")
    engine = ctx.engine
    acct = engine.ledger.account(user)
    rows = []
    for token, size in sorted(acct.shares.items()):
        if size <= 0 or token not in engine.infos:
            continue
        info = engine.infos[token]
        view = engine.book_view(token)
        mark = (view.best_bid + view.best_ask) / 2 if view and view.best_bid and view.best_ask else Decimal(0)
        yes = token == info.yes_token
        rows.append({"proxyWallet": acct.address, "asset": token, "conditionId": info.condition_id,
                     "size": float(size), "curPrice": float(mark), "currentValue": float(size * mark),
                     "title": question(info), "outcome": "Yes" if yes else "No", "outcomeIndex": 0 if yes else 1,
                     "oppositeOutcome": "No" if yes else "Yes",
                     "oppositeAsset": info.no_token if yes else info.yes_token,
                     "redeemable": info.status == "resolved", "mergeable": False, "negativeRisk": info.neg_risk,
                     "endDate": "2026-12-31"})
    return JSONResponse(rows)


async def data_trades(request: Request) -> Response:
    ctx = await _ctx(request, "data")
    user = request.query_params.get("user", "").lower()
    engine = ctx.engine
    rows = []
    for trade_id in engine.trades_by_address.get(user, []) if user else list(engine.trades):
        t = engine.trades[trade_id]
        mine = next((m for m in t.maker_orders if str(m["maker_address"]).lower() == user), None)
        side = str(mine["side"]) if mine else t.side
        rows.append({"proxyWallet": user or t.taker_address, "side": side, "asset": t.asset_id,
                     "conditionId": t.market, "size": float(t.size), "price": float(t.price),
                     "timestamp": t.match_ms // 1000, "outcome": t.outcome,
                     "transactionHash": t.as_json()["transaction_hash"], "title": question(engine.infos[t.asset_id]),
                     "usdcSize": decimal_text(t.size * t.price)})
    limit = _int(request, "limit", 100)
    return JSONResponse(rows[-limit:][::-1])


def routes(gamma_base: str, data_base: str) -> list[Route]:
    g, d = gamma_base.rstrip("/"), data_base.rstrip("/")
    return [
        Route(f"{g}/markets", gamma_markets), Route(f"{g}/markets/{{market_id}}", gamma_market_one),
        Route(f"{g}/events", gamma_events),
        Route(f"{d}/positions", data_positions), Route(f"{d}/trades", data_trades),
    ]
