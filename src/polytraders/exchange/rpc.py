"""``POST /rpc``: the chain node's JSON-RPC, passed through the exchange's fault board.

Under ``serve --chain URL`` a rehearsal points ``[chain].rpc_url`` here instead of at the node, so
the chain RPC surface can be faulted like every other one (``surfaces: ["rpc"]`` in a latency,
error-rate or 425/429/503 window) while the exchange itself keeps settling on the node directly.
Without ``--chain`` the route answers 404. The body goes to the node unchanged and its answer
comes back unchanged; only loopback nodes are ever configured (``exchange/chain.py``).
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from polytraders.exchange.context import Ctx
from polytraders.exchange.errors import ApiError, not_found


async def rpc(request: Request) -> Response:
    ctx: Ctx = request.app.state.ctx
    chain = ctx.engine.ledger.chain
    if chain is None:
        raise not_found("no chain: start the exchange with --chain URL")
    await ctx.faults.gate("rpc", ctx.clock.now_ms())
    body = await request.body()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(chain.url, content=body, headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        raise ApiError(502, f"the chain node did not answer ({type(exc).__name__})") from None
    return Response(answer.content, status_code=answer.status_code, media_type="application/json")


ROUTES = [Route("/rpc", rpc, methods=["POST"])]
