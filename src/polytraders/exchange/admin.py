"""Loopback-only admin endpoints: funding, faults, market events and simulated time.

``POST /admin/fund``        ``{"address", "amount", "token_id"?}``  credit pUSD (or shares)
``POST /admin/allowance``   ``{"address", "amount"}``               set the pUSD allowance
``POST /admin/faults``      any of ``latency_ms: {surface: ms}``, ``error_rates: {surface: [rate,
                            status]}``, ``window: {status, surfaces, seconds?, mode?, retry_after?}``,
                            ``ws: {channel, kind: stall|drop|reconnect, seconds?}``,
                            ``freeze: {market, seconds?}``, ``halt: {market, seconds?}``,
                            ``settlement: {count?, recover?}`` (next fills settle FAILED)
``DELETE /admin/faults``    clear every server-level fault
``POST /admin/shock``       ``{"market"?, "delta"}``                 jump fair values now
``POST /admin/resolve``     ``{"market", "winner"}``                 resolve a market
``POST /admin/time/advance`` ``{"ms"}``                              simulated time only
``GET /admin/state``        clock, accounts, counts
Durations (``seconds``) run on the exchange clock; omitted means "until cleared".
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from polytraders.exchange.context import Ctx
from polytraders.exchange.errors import ApiError, bad_request, not_found
from polytraders.exchange.faults import SURFACES, Window
from polytraders.exchange.hub import CLOSE_RESTART

_LOOPBACK = ("127.0.0.1", "::1", "localhost", "testclient")


async def _admin(request: Request) -> tuple[Ctx, dict[str, Any]]:
    host = request.client.host if request.client else ""
    if host not in _LOOPBACK and not host.startswith("127."):
        raise ApiError(403, "admin endpoints are loopback only")
    body = await request.body()
    try:
        payload = (await request.json()) if body else {}
    except ValueError:
        raise bad_request("Invalid payload") from None
    if not isinstance(payload, dict):
        raise bad_request("Invalid payload: expected an object")
    ctx: Ctx = request.app.state.ctx
    return ctx, payload


def _decimal(payload: dict[str, Any], name: str) -> Decimal:
    try:
        return Decimal(str(payload[name]))
    except (KeyError, InvalidOperation):
        raise bad_request(f"{name} must be a number") from None


def _until(ctx: Ctx, payload: dict[str, Any]) -> int | None:
    seconds = payload.get("seconds")
    return None if seconds is None else ctx.clock.now_ms() + int(float(seconds) * 1000)


def _surfaces(names: Any) -> frozenset[str]:
    chosen = frozenset(names if isinstance(names, list) else [names]) if names else frozenset({"trading"})
    unknown = chosen - SURFACES
    if unknown:
        raise bad_request(f"unknown surfaces {sorted(unknown)}; expected some of {sorted(SURFACES)}")
    return chosen


def _tokens(ctx: Ctx, market: str) -> list[str]:
    info = ctx.engine.by_cid.get(market) or ctx.engine.market_of(market)
    if info is None:
        raise not_found("market not found")
    return [market] if market in (info.yes_token, info.no_token) else [info.yes_token, info.no_token]


async def fund(request: Request) -> Response:
    ctx, p = await _admin(request)
    acct = ctx.engine.ledger.fund(str(p.get("address", "")), _decimal(p, "amount"), p.get("token_id"))
    return JSONResponse({"address": acct.address, "collateral": str(acct.collateral)})


async def allowance(request: Request) -> Response:
    ctx, p = await _admin(request)
    ctx.engine.ledger.set_allowance(str(p.get("address", "")), _decimal(p, "amount"))
    return JSONResponse({"ok": True})


def apply_faults(ctx: Ctx, p: dict[str, Any]) -> None:
    """Install the faults a ``POST /admin/faults`` body (or ``serve --faults``) describes."""
    board = ctx.faults
    for surface, ms in dict(p.get("latency_ms", {})).items():
        board.latency_ms[next(iter(_surfaces(surface)))] = int(ms)
    for surface, (rate, status) in dict(p.get("error_rates", {})).items():
        board.error_rates[next(iter(_surfaces(surface)))] = (float(rate), int(status))
    if "window" in p:
        w = dict(p["window"])
        status = int(w.get("status", 503))
        if status not in (425, 429, 500, 503):
            raise bad_request("window status must be 425, 429, 500 or 503")
        mode = str(w.get("mode", "disabled" if status == 503 else ""))
        if status == 503 and mode not in ("post_only", "cancel_only", "disabled"):
            raise bad_request("a 503 window needs mode post_only, cancel_only or disabled")
        board.windows.append(Window(status, _until(ctx, w), _surfaces(w.get("surfaces")), mode,  # type: ignore[arg-type]
                                    int(w.get("retry_after", 1))))
    if "ws" in p:
        w = dict(p["ws"])
        channel, kind, until = str(w.get("channel", "market")), str(w.get("kind", "")), _until(ctx, w)
        if channel not in ("market", "user") or kind not in ("stall", "drop", "reconnect"):
            raise bad_request("ws needs channel market|user and kind stall|drop|reconnect")
        if kind == "stall":
            board.ws_stall_until[channel] = until
        else:
            if kind == "drop":
                board.ws_refuse_until[channel] = until
            ctx.hub.close_channel(channel, CLOSE_RESTART)
    if "freeze" in p:
        w = dict(p["freeze"])
        ctx.engine.freeze(_tokens(ctx, str(w.get("market", ""))), _until(ctx, w))
    if "settlement" in p:
        w = dict(p["settlement"])
        count = w.get("count", 1)
        ctx.engine.fail_settlement(None if count is None else int(count), bool(w.get("recover", False)))
    if "halt" in p:
        w = dict(p["halt"])
        ctx.engine.halt(str(w.get("market", "")), _until(ctx, w))
        ctx.engine.refresh_markets()


async def set_faults(request: Request) -> Response:
    ctx, p = await _admin(request)
    try:
        apply_faults(ctx, p)
    except (ValueError, TypeError, KeyError) as exc:
        raise bad_request(f"Invalid fault spec: {exc}") from None
    return JSONResponse({"ok": True})


async def clear_faults(request: Request) -> Response:
    ctx, _ = await _admin(request)
    ctx.faults.clear()
    ctx.engine.frozen.clear()
    return JSONResponse({"ok": True})


async def shock(request: Request) -> Response:
    ctx, p = await _admin(request)
    market = p.get("market")
    if market is not None:
        _tokens(ctx, str(market))
    ctx.engine.venue.shock_now(float(_decimal(p, "delta")), None if market is None else str(market))
    return JSONResponse({"ok": True})


async def resolve(request: Request) -> Response:
    ctx, p = await _admin(request)
    market, winner = str(p.get("market", "")), str(p.get("winner", ""))
    info = ctx.engine.by_cid.get(market)
    if info is None or winner not in (info.yes_token, info.no_token):
        raise bad_request("market must be a condition id and winner one of its token ids")
    ctx.engine.resolve(market, winner)
    ctx.flush()
    return JSONResponse({"ok": True})


async def advance(request: Request) -> Response:
    ctx, p = await _admin(request)
    try:
        now = ctx.clock.advance(int(p.get("ms", 0)))
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    ctx.tick()
    return JSONResponse({"now_ms": now})


async def state(request: Request) -> Response:
    ctx, _ = await _admin(request)
    engine = ctx.engine
    return JSONResponse({
        "now_ms": ctx.clock.now_ms(), "simulated": ctx.clock.simulated, "live_orders": len(engine.live),
        "orders": len(engine.orders), "trades": len(engine.trades), "ws_sessions": len(ctx.hub.sessions),
        "accounts": [{"address": a.address, "collateral": str(a.collateral)} for a in engine.ledger.accounts()],
        "ticks": {t: str(engine.tick_of(t)) for t in engine.infos},
    })


ROUTES = [
    Route("/admin/fund", fund, methods=["POST"]), Route("/admin/allowance", allowance, methods=["POST"]),
    Route("/admin/faults", set_faults, methods=["POST"]), Route("/admin/faults", clear_faults, methods=["DELETE"]),
    Route("/admin/shock", shock, methods=["POST"]), Route("/admin/resolve", resolve, methods=["POST"]),
    Route("/admin/time/advance", advance, methods=["POST"]), Route("/admin/state", state),
]
