"""Gamma client: market metadata for humans and for the order path.

``GammaClient.markets(condition_ids=..., token_ids=...)`` returns ``MarketMeta``: the question,
the outcome names paired with their token ids (Gamma sends ``outcomes`` and ``clobTokenIds`` as
JSON-encoded strings, index-aligned), the tick and minimum size, and resolution (closed, UMA
status, and the winning outcome when the outcome prices have settled at 1/0).  Gamma is public
(no credentials).  Errors are translated by ``errors.venue_errors``.  An ``observe`` callback
(latency ms, ok, HTTP status; 0 when no answer came) sees every call, so the API-degradation
monitor samples this surface.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from polytraders.venues.base import VenueError
from polytraders.venues.polymarket.errors import HttpStatus, NoAnswer, NotSent, venue_errors
from polytraders.venues.polymarket.schemas import WireGammaMarket

__all__ = ["GammaClient", "MarketMeta", "Observer", "get_json", "market_meta"]

Observer = Callable[[int, bool, int], None]  # (latency ms, ok, HTTP status or 0)


@dataclass(frozen=True, slots=True)
class MarketMeta:
    condition_id: str
    question: str
    slug: str
    outcomes: tuple[tuple[str, str], ...]  # (outcome name, token id), Gamma's order
    tick: Decimal
    min_size: Decimal
    neg_risk: bool
    active: bool
    closed: bool
    resolution: str  # UMA resolution status ("" while open)
    winner_token: str | None

    def outcome_of(self, token_id: str) -> str | None:
        return next((name for name, tok in self.outcomes if tok == token_id), None)


def _json_list(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def market_meta(row: WireGammaMarket) -> MarketMeta:
    """Pure: one Gamma row -> ``MarketMeta``."""
    names, tokens, prices = _json_list(row.outcomes), _json_list(row.clobTokenIds), _json_list(row.outcomePrices)
    pairs = tuple(zip(names, tokens, strict=False))
    winner = None
    if row.closed and len(prices) == len(tokens):
        settled = [tok for tok, p in zip(tokens, prices, strict=False) if p in ("1", "1.0")]
        winner = settled[0] if len(settled) == 1 else None
    return MarketMeta(row.conditionId, row.question, row.slug, pairs, row.orderPriceMinTickSize, row.orderMinSize,
                      row.negRisk, row.active, row.closed, row.umaResolutionStatus or "", winner)


def get_json(http: httpx.Client, url: str, params: Any = None, observe: Observer | None = None) -> Any:
    """GET with the adapter's error translation (read-only: never "outcome unknown"), reported
    to ``observe`` whatever the outcome."""
    if observe is None:
        return _get_json(http, url, params)
    t0 = time.perf_counter_ns()
    try:
        body = _get_json(http, url, params)
    except VenueError as exc:
        observe((time.perf_counter_ns() - t0) // 1_000_000, False, exc.status)
        raise
    except Exception:
        observe((time.perf_counter_ns() - t0) // 1_000_000, False, 0)
        raise
    observe((time.perf_counter_ns() - t0) // 1_000_000, True, 200)
    return body


def _get_json(http: httpx.Client, url: str, params: Any) -> Any:
    with venue_errors():
        try:
            response = http.get(url, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise NotSent(type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise NoAnswer(type(exc).__name__) from None
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code != 200:
            raise HttpStatus(response.status_code, body, None)
        return body


class GammaClient:
    def __init__(self, base_url: str, *, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None,
                 observe: Observer | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self.observe = observe

    def close(self) -> None:
        self._http.close()

    def markets(self, *, condition_ids: Iterable[str] = (), token_ids: Iterable[str] = (), closed: bool | None = None,
                limit: int = 100) -> list[MarketMeta]:
        params: list[tuple[str, str | int]] = [("limit", limit)]
        params += [("condition_ids", c) for c in condition_ids]
        params += [("clob_token_ids", t) for t in token_ids]
        if closed is not None:
            params.append(("closed", "true" if closed else "false"))
        rows = get_json(self._http, f"{self._base}/markets", params, self.observe)
        return [market_meta(WireGammaMarket.model_validate(r)) for r in rows if isinstance(r, dict)]

    def market(self, market_id: str) -> MarketMeta:
        return market_meta(WireGammaMarket.model_validate(get_json(self._http, f"{self._base}/markets/{market_id}",
                                                                         observe=self.observe)))
