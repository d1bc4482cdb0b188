"""Per-signer trading rate limits: two token buckets per signer address, as the CLOB has them.

``order``: ``POST /order`` costs 1, ``POST /orders`` the number of orders (all or nothing).
``cancel``: ``DELETE /order`` 1, ``DELETE /orders`` the ids submitted, cancel-all and
cancel-market-orders 1.  Each bucket holds ``limit`` tokens and refills ``limit`` per 10 s on
the exchange clock.  Off unless configured (``serve --order-limit N --cancel-limit M``): the
real tiers depend on volume.  A refusal is a 429 with ``Retry-After`` and
``Poly-RateLimit-Remaining: 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from polytraders.exchange.errors import ApiError

WINDOW_MS: Final = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_ms: int


class RateLimiter:
    def __init__(self, limits: dict[str, int]) -> None:
        self._limits = {name: n for name, n in limits.items() if n > 0}
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, signer: str, bucket: str, cost: int, now_ms: int) -> None:
        """Spend ``cost`` tokens of ``signer``'s ``bucket`` or raise the 429."""
        limit = self._limits.get(bucket)
        if limit is None or cost <= 0:
            return
        key = (signer.lower(), bucket)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = _Bucket(float(limit), now_ms)
        b.tokens = min(float(limit), b.tokens + (now_ms - b.updated_ms) * limit / WINDOW_MS)
        b.updated_ms = now_ms
        if b.tokens < cost:
            wait_s = max(1, math.ceil((cost - b.tokens) * WINDOW_MS / limit / 1000))
            raise ApiError(429, "Too Many Requests", extra={"retry_after_seconds": wait_s},
                           headers={"Retry-After": str(wait_s), "Poly-RateLimit-Remaining": "0"})
        b.tokens -= cost
