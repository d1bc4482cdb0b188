"""``/ws/market`` and ``/ws/user``: the CLOB's subscription protocol over Starlette WebSockets.

Market: ``{"type": "market", "assets_ids": [...], "initial_dump": true}`` then optional
``{"assets_ids": [...], "operation": "subscribe"|"unsubscribe"}``.  The initial dump is one
frame holding a JSON array of ``book`` events; afterwards ``price_change``, ``book``,
``last_trade_price`` and ``tick_size_change`` arrive as single objects.
User: ``{"auth": {"apiKey", "secret", "passphrase"}, "type": "user", "markets": [condition ids]}``
(no ``markets`` = all); bad credentials close with 1008.  ``order`` and ``trade`` events follow.
Both: the text ``PING`` is answered ``PONG`` in any state.  Anything else closes with 1008, and a
client silent for ``ws_idle_timeout_ms`` (wall clock; default 15 s, for a 10 s PING cadence) is
closed with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from polytraders.exchange.context import Ctx
from polytraders.exchange.feed import book_event, dumps
from polytraders.exchange.hub import CLOSE_IDLE, CLOSE_POLICY, Sess, Session, next_state


def _kind(text: str) -> tuple[str, dict[str, Any]]:
    if text.strip().upper() == "PING":
        return "ping", {}
    try:
        msg = json.loads(text)
    except ValueError:
        return "invalid", {}
    if not isinstance(msg, dict):
        return "invalid", {}
    if "operation" in msg:
        return ("operation", msg) if msg["operation"] in ("subscribe", "unsubscribe") else ("invalid", msg)
    if msg.get("type") in ("market", "user", "MARKET", "USER"):
        return "subscribe", msg
    return "invalid", msg


def _ids(msg: dict[str, Any], field: str) -> list[str] | None:
    value = msg.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value


def _apply(ctx: Ctx, session: Session, kind: str, msg: dict[str, Any]) -> bool:
    """Act on a legal message; False when its content is invalid (the socket is closed)."""
    if kind == "ping":
        return session.offer("PONG")
    if session.channel == "market":
        if kind == "subscribe" and str(msg.get("type")).lower() != "market":
            return False
        assets = _ids(msg, "assets_ids")
        if assets is None:
            return False
        known = [a for a in assets if ctx.engine.market_of(a) is not None]
        if kind == "operation" and msg["operation"] == "unsubscribe":
            session.assets.difference_update(known)
            return True
        session.assets.update(known)
        if "custom_feature_enabled" in msg:
            session.custom = msg["custom_feature_enabled"] is True
        ctx.feed.prime(ctx.engine, known)
        if msg.get("initial_dump", True) is not False:
            events = [e for e in (book_event(ctx.engine, a) for a in known) if e is not None]
            if events:
                session.offer(dumps(events))
        return True
    if kind == "subscribe":
        if str(msg.get("type")).lower() != "user":
            return False
        auth = msg.get("auth")
        if not isinstance(auth, dict):
            return False
        key = ctx.engine.keys.check_ws_auth(str(auth.get("apiKey", "")), str(auth.get("secret", "")),
                                            str(auth.get("passphrase", "")))
        if key is None:
            return False
        session.owner = key.api_key
    markets = _ids(msg, "markets")
    if markets is None:
        return False
    if kind == "operation" and msg["operation"] == "unsubscribe":
        session.markets.difference_update(markets)
    else:
        session.markets.update(markets)
    return True


async def _pump(ws: WebSocket, session: Session) -> None:
    while True:
        item = await session.queue.get()
        if isinstance(item, int):
            await ws.close(code=item)
            return
        await ws.send_text(item)


async def _serve(ws: WebSocket, channel: str) -> None:
    ctx: Ctx = ws.app.state.ctx
    surface = f"ws_{channel}"
    if ctx.faults.ws_refused(channel, ctx.clock.now_ms()):
        await ws.close(code=1013)  # before accept: the handshake is refused
        return
    await ws.accept()
    session = Session(channel)
    ctx.hub.add(session)
    sender = asyncio.create_task(_pump(ws, session))
    try:
        while session.state is not Sess.CLOSED:
            receive = asyncio.ensure_future(ws.receive_text())
            done, _ = await asyncio.wait({receive, sender}, timeout=ctx.cfg.ws_idle_timeout_ms / 1000,
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:  # like the CLOB: a client that stops sending PING is dropped
                receive.cancel()
                ctx.hub.close(session, CLOSE_IDLE)
                continue
            if sender in done:
                receive.cancel()
                break
            text = receive.result()
            delay = ctx.faults.latency_ms.get(surface, 0)
            if delay:
                await asyncio.sleep(delay / 1000)
            kind, msg = _kind(text)
            state = next_state(session.state, kind)
            if state is Sess.CLOSED or not _apply(ctx, session, kind, msg):
                ctx.hub.close(session, CLOSE_POLICY)
                continue
            session.state = state
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        closing = session.state is Sess.CLOSED  # we queued a close frame: let it go out
        ctx.hub.remove(session)
        if closing and not sender.done():
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(sender, timeout=1.0)
        sender.cancel()


async def market_ws(ws: WebSocket) -> None:
    await _serve(ws, "market")


async def user_ws(ws: WebSocket) -> None:
    await _serve(ws, "user")


ROUTES = [WebSocketRoute("/ws/market", market_ws), WebSocketRoute("/ws/user", user_ws)]
