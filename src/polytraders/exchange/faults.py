"""Server-level fault injection: latency, error rates, 425/429/503 windows and WebSocket faults.

Surfaces: ``public`` (L0 market data), ``auth`` (L1 key endpoints), ``trading`` (order posts and
cancels), ``account`` (L2 reads, heartbeats, balances), ``gamma``, ``data``, ``rpc`` (the chain
node's JSON-RPC passed through ``/rpc`` under ``serve --chain``) and the two WebSocket channels
``ws_market`` / ``ws_user``.  Windows run on the exchange clock, so a test on
simulated time ends them by advancing time.  Random error draws use a seeded ``Random`` so a
run is repeatable.

Kinds of windows (``status``):
- 425: the matching engine is restarting (every trading call);
- 429: rate limited, with ``Retry-After``;
- 503 ``mode="post_only"``: only post-only orders and cancels pass (``code: post_only_mode``);
- 503 ``mode="cancel_only"``: new orders refused, cancels pass;
- 503 ``mode="disabled"``: every trading call refused.
WebSocket: ``stall`` (sockets stay open and answer PING, no data), ``drop`` (sockets closed now
and new ones refused until the window ends) and ``reconnect`` (sockets closed now; new ones are
accepted at once, and nothing missed is replayed).  A frozen book is the engine's ``freeze``.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Final, Literal

from polytraders.exchange.errors import ApiError

SURFACES: Final = frozenset({"public", "auth", "trading", "account", "gamma", "data", "rpc", "ws_market",
                             "ws_user"})
Mode = Literal["post_only", "cancel_only", "disabled", ""]


@dataclass(slots=True)
class Window:
    status: int
    until_ms: int | None
    surfaces: frozenset[str]
    mode: Mode = ""
    retry_after_s: int = 1


@dataclass(slots=True)
class FaultBoard:
    seed: int
    latency_ms: dict[str, int] = field(default_factory=dict)
    error_rates: dict[str, tuple[float, int]] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)
    ws_stall_until: dict[str, int | None] = field(default_factory=dict)
    ws_refuse_until: dict[str, int | None] = field(default_factory=dict)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def clear(self) -> None:
        self.latency_ms.clear()
        self.error_rates.clear()
        self.windows.clear()
        self.ws_stall_until.clear()
        self.ws_refuse_until.clear()

    @staticmethod
    def _active(until: int | None, now_ms: int) -> bool:
        return until is None or now_ms < until

    def ws_stalled(self, channel: str, now_ms: int) -> bool:
        return channel in self.ws_stall_until and self._active(self.ws_stall_until[channel], now_ms)

    def ws_refused(self, channel: str, now_ms: int) -> bool:
        return channel in self.ws_refuse_until and self._active(self.ws_refuse_until[channel], now_ms)

    async def gate(self, surface: str, now_ms: int, *, order_post: bool = False, post_only: bool = False,
                   cancel: bool = False) -> None:
        """Delay and/or refuse a request on ``surface`` as the active faults say."""
        delay = self.latency_ms.get(surface, 0)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        rate = self.error_rates.get(surface)
        if rate is not None and self.rng.random() < rate[0]:
            raise ApiError(rate[1], "injected error")
        self.windows = [w for w in self.windows if self._active(w.until_ms, now_ms)]
        for w in self.windows:
            if surface not in w.surfaces:
                continue
            headers = {"Retry-After": str(w.retry_after_s)}
            if w.status == 425:
                raise ApiError(425, "Too Early: the matching engine is restarting", headers=headers)
            if w.status == 429:
                raise ApiError(429, "Too Many Requests", headers=headers,
                               extra={"retry_after_seconds": w.retry_after_s})
            if w.status != 503:
                raise ApiError(w.status, "injected error", headers=headers)
            if w.mode == "disabled":
                raise ApiError(503, "Trading is currently disabled. Check polymarket.com for updates", headers=headers)
            if w.mode == "cancel_only" and order_post:
                raise ApiError(503, "Trading is currently cancel-only. New orders are not accepted, but cancels are "
                               "allowed.", headers=headers)
            if w.mode == "post_only" and order_post and not post_only and not cancel:
                raise ApiError(503, "post-only mode: only post-only orders and cancels are allowed", headers=headers,
                               extra={"code": "post_only_mode", "retry_after_seconds": w.retry_after_s})
