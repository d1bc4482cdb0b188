"""Public (L0) CLOB endpoints: health, time, markets, books and prices.

Handlers only translate HTTP to engine reads.  Every handler first passes the ``public`` fault
gate.  Batch endpoints take the JSON arrays the official client sends (``[{token_id, side?}]``).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from polytraders.exchange.context import Ctx
from polytraders.exchange.errors import ApiError, bad_request, not_found
from polytraders.exchange.feed import book_event
from polytraders.exchange.wire import clob_market, clob_market_short, page
from polytraders.venues.base import BookView, MarketInfo, decimal_text

NO_BOOK = "No orderbook exists for the requested token id"


async def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.app.state.ctx
    await ctx.faults.gate("public", ctx.clock.now_ms())
    return ctx


def _token(request: Request) -> str:
    token = request.path_params.get("token_id") or request.query_params.get("token_id", "")
    if not token:
        raise bad_request("Invalid token id")
    return str(token)


def _info(ctx: Ctx, token: str) -> MarketInfo:
    info = ctx.engine.market_of(token)
    if info is None:
        raise not_found(NO_BOOK)
    return info


def _view(ctx: Ctx, token: str) -> BookView:
    _info(ctx, token)
    view = ctx.engine.book_view(token)
    if view is None:
        raise not_found(NO_BOOK)
    return view


async def _tokens(request: Request) -> list[dict[str, Any]]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("Invalid payload") from None
    if not isinstance(body, list) or not all(isinstance(x, dict) and x.get("token_id") for x in body):
        raise bad_request("Invalid payload: expected [{token_id}]")
    return body


async def ok(request: Request) -> Response:
    await _ctx(request)
    return JSONResponse("OK")


async def server_time(request: Request) -> Response:
    await _ctx(request)
    # Wall-clock seconds: clients use it to stamp L2 headers, checked against the wall clock.
    return JSONResponse(int(time.time()))


async def version(request: Request) -> Response:
    await _ctx(request)
    return JSONResponse({"version": 2})


async def tick_size(request: Request) -> Response:
    ctx = await _ctx(request)
    token = _token(request)
    _info(ctx, token)
    return JSONResponse({"minimum_tick_size": float(ctx.engine.tick_of(token))})


async def neg_risk(request: Request) -> Response:
    ctx = await _ctx(request)
    return JSONResponse({"neg_risk": _info(ctx, _token(request)).neg_risk})


async def fee_rate(request: Request) -> Response:
    ctx = await _ctx(request)
    _info(ctx, _token(request))
    return JSONResponse({"base_fee": ctx.engine.venue.taker_fee_bps})


async def book(request: Request) -> Response:
    ctx = await _ctx(request)
    token = _token(request)
    _view(ctx, token)
    event = book_event(ctx.engine, token)
    assert event is not None
    event.pop("event_type")
    return JSONResponse(event)


async def books(request: Request) -> Response:
    ctx = await _ctx(request)
    out = []
    for item in await _tokens(request):
        token = str(item["token_id"])
        _view(ctx, token)
        event = book_event(ctx.engine, token)
        assert event is not None
        event.pop("event_type")
        out.append(event)
    return JSONResponse(out)


def _mid(view: BookView) -> str:
    if view.best_bid is None or view.best_ask is None:
        raise not_found("No midpoint: one side of the book is empty")
    return decimal_text((view.best_bid + view.best_ask) / 2)


def _price(view: BookView, side: str) -> str:
    # BUY quotes the best bid and SELL the best ask, the levels each side's orders rest on.
    if side not in ("BUY", "SELL"):
        raise bad_request("Invalid side")
    best = view.best_bid if side == "BUY" else view.best_ask
    if best is None:
        raise not_found("No price: that side of the book is empty")
    return decimal_text(best)


def _spread(view: BookView) -> str:
    if view.best_bid is None or view.best_ask is None:
        raise not_found("No spread: one side of the book is empty")
    return decimal_text(view.best_ask - view.best_bid)


def _last(ctx: Ctx, token: str) -> dict[str, str]:
    _info(ctx, token)
    last = ctx.engine.last_trade.get(token)
    if last is None:
        return {"price": "0.5", "side": ""}
    return {"price": decimal_text(last[0]), "side": last[1]}


async def midpoint(request: Request) -> Response:
    ctx = await _ctx(request)
    mid = _mid(_view(ctx, _token(request)))
    return JSONResponse({"mid": mid, "mid_price": mid})


async def midpoints(request: Request) -> Response:
    ctx = await _ctx(request)
    return JSONResponse({str(i["token_id"]): _mid(_view(ctx, str(i["token_id"]))) for i in await _tokens(request)})


async def price(request: Request) -> Response:
    ctx = await _ctx(request)
    side = request.query_params.get("side", "").upper()
    return JSONResponse({"price": _price(_view(ctx, _token(request)), side)})


async def prices(request: Request) -> Response:
    ctx = await _ctx(request)
    out: dict[str, dict[str, str]] = {}
    for item in await _tokens(request):
        token = str(item["token_id"])
        sides = [str(item["side"]).upper()] if item.get("side") else ["BUY", "SELL"]
        out[token] = {side: _price(_view(ctx, token), side) for side in sides}
    return JSONResponse(out)


async def spread(request: Request) -> Response:
    ctx = await _ctx(request)
    return JSONResponse({"spread": _spread(_view(ctx, _token(request)))})


async def spreads(request: Request) -> Response:
    ctx = await _ctx(request)
    return JSONResponse({str(i["token_id"]): _spread(_view(ctx, str(i["token_id"]))) for i in await _tokens(request)})


async def last_trade_price(request: Request) -> Response:
    ctx = await _ctx(request)
    return JSONResponse(_last(ctx, _token(request)))


async def last_trades_prices(request: Request) -> Response:
    ctx = await _ctx(request)
    return JSONResponse([{"token_id": str(i["token_id"]), **_last(ctx, str(i["token_id"]))}
                         for i in await _tokens(request)])


_INTERVALS = {"1m": 60, "1h": 3_600, "6h": 21_600, "1d": 86_400, "1w": 604_800, "max": 10**10}


async def prices_history(request: Request) -> Response:
    """``{"history": [{"t": unix s, "p": price}]}`` from the trade prints, one per ``fidelity``
    minutes (the last print of each bucket)."""
    ctx = await _ctx(request)
    q = request.query_params
    token = q.get("market", "")
    _info(ctx, token)
    now_s = ctx.clock.now_ms() // 1000
    try:
        if q.get("interval"):
            if q["interval"] not in _INTERVALS:
                raise bad_request(f"interval must be one of {sorted(_INTERVALS)}")
            start, end = now_s - _INTERVALS[q["interval"]], now_s
        else:
            start, end = int(q["startTs"]), int(q["endTs"])
        bucket = max(1, int(q.get("fidelity", 1))) * 60
    except (KeyError, ValueError):
        raise bad_request("give interval, or startTs and endTs (unix seconds); fidelity in minutes") from None
    buckets: dict[int, tuple[int, str]] = {}
    for ts, px in ctx.engine.history.get(token, []):
        if start <= ts <= end:
            buckets[ts // bucket] = (ts, decimal_text(px))
    return JSONResponse({"history": [{"t": t, "p": float(p)} for t, p in buckets.values()]})


def market_json(ctx: Ctx, info: MarketInfo) -> dict[str, Any]:
    view = ctx.engine.book_view(info.yes_token)
    return clob_market(info, view, ctx.engine.winners.get(info.condition_id), ctx.engine.venue.taker_fee_bps)


async def markets(request: Request) -> Response:
    ctx = await _ctx(request)
    rows = [market_json(ctx, info) for info in ctx.engine.by_cid.values()]
    return JSONResponse(page(rows, request.query_params.get("next_cursor"), ctx.cfg.markets_page_size))


def _market(ctx: Ctx, condition_id: str) -> MarketInfo:
    info = ctx.engine.by_cid.get(condition_id)
    if info is None:
        raise not_found("market not found")
    return info


async def market(request: Request) -> Response:
    ctx = await _ctx(request)
    return JSONResponse(market_json(ctx, _market(ctx, str(request.path_params["condition_id"]))))


async def clob_market_info(request: Request) -> Response:
    ctx = await _ctx(request)
    info = _market(ctx, str(request.path_params["condition_id"]))
    body = clob_market_short(info, ctx.engine.venue.taker_fee_bps)
    body["mts"] = float(ctx.engine.tick_of(info.yes_token))
    return JSONResponse(body)


async def market_by_token(request: Request) -> Response:
    ctx = await _ctx(request)
    token = str(request.path_params["token_id"])
    info = ctx.engine.market_of(token)
    if info is None:
        raise ApiError(404, "market not found")
    other = info.no_token if token == info.yes_token else info.yes_token
    return JSONResponse({"condition_id": info.condition_id, "primary_token_id": token, "secondary_token_id": other})


ROUTES = [
    Route("/", ok), Route("/ok", ok), Route("/time", server_time), Route("/version", version),
    Route("/tick-size", tick_size), Route("/tick-size/{token_id}", tick_size),
    Route("/neg-risk", neg_risk), Route("/neg-risk/{token_id}", neg_risk),
    Route("/fee-rate", fee_rate), Route("/fee-rate/{token_id}", fee_rate),
    Route("/book", book), Route("/books", books, methods=["POST"]),
    Route("/midpoint", midpoint), Route("/midpoints", midpoints, methods=["POST"]),
    Route("/price", price), Route("/prices", prices, methods=["POST"]),
    Route("/spread", spread), Route("/spreads", spreads, methods=["POST"]),
    Route("/prices-history", prices_history),
    Route("/last-trade-price", last_trade_price), Route("/last-trades-prices", last_trades_prices, methods=["POST"]),
    Route("/markets", markets), Route("/sampling-markets", markets), Route("/markets/{condition_id}", market),
    Route("/clob-markets/{condition_id}", clob_market_info), Route("/markets-by-token/{token_id}", market_by_token),
]
