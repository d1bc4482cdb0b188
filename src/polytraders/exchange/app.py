"""``create_app``: the Starlette application, a thin ASGI shell around the exchange core.

The lifespan owns one driver task that, every ``tick_interval_ms``, runs the world up to the
exchange clock (background flow, GTD expiry, settlement, delayed takers, the heartbeat dead-man
rule, tick-size changes) and pushes the results to the WebSocket sessions.  Requests between
ticks act at once; nothing else runs concurrently (one event loop, no threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from polytraders.exchange import admin, gamma, rest_misc, rest_private, rest_public, rpc, ws
from polytraders.exchange.config import ExchangeConfig
from polytraders.exchange.context import Ctx
from polytraders.exchange.errors import ApiError, render_api_error, render_internal_error

log = logging.getLogger("polytraders.exchange")


async def _drive(ctx: Ctx) -> None:
    period = ctx.cfg.tick_interval_ms / 1000
    while True:
        await asyncio.sleep(period)
        try:
            ctx.tick()
        except Exception:  # the exchange must keep serving; the failure is logged with its trace
            log.exception("exchange tick failed")


def create_app(cfg: ExchangeConfig, ctx: Ctx | None = None) -> Starlette:
    context = ctx or Ctx.build(cfg)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_drive(context))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    routes = [*rest_public.ROUTES, *rest_private.ROUTES, *rest_misc.ROUTES, *ws.ROUTES, *admin.ROUTES, *rpc.ROUTES,
              *gamma.routes(cfg.gamma_base, cfg.data_base)]
    handlers = {ApiError: render_api_error, Exception: render_internal_error}
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.state.ctx = context
    return app
