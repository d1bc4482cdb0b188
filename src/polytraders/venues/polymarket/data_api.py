"""Data API client: positions and trades of an address (the funder), as Polymarket reports them.

A cross-check, not the truth: the Data API lags the CLOB and the chain (polymarket-interfaces.md
§4.2).  The API-degradation monitor watches it; reconciliation uses CLOB REST and the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import httpx

from polytraders.venues.base import Side
from polytraders.venues.polymarket.gamma import Observer, get_json
from polytraders.venues.polymarket.schemas import WireDataPosition, WireDataTrade

__all__ = ["DataApiClient", "Position", "PublicTrade"]


@dataclass(frozen=True, slots=True)
class Position:
    token_id: str
    condition_id: str
    size: Decimal
    mark: Decimal
    title: str
    outcome: str
    redeemable: bool


@dataclass(frozen=True, slots=True)
class PublicTrade:
    token_id: str
    condition_id: str
    side: Side
    size: Decimal
    price: Decimal
    ts_s: int
    tx_hash: str


class DataApiClient:
    def __init__(self, base_url: str, *, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None,
                 observe: Observer | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self.observe = observe  # (latency ms, ok, status) per call: the API-degradation monitor's samples

    def close(self) -> None:
        self._http.close()

    def positions(self, user: str) -> list[Position]:
        rows = get_json(self._http, f"{self._base}/positions", {"user": user}, self.observe)
        out = []
        for raw in rows if isinstance(rows, list) else []:
            w = WireDataPosition.model_validate(raw)
            out.append(Position(w.asset, w.conditionId, w.size, w.curPrice, w.title, w.outcome, w.redeemable))
        return out

    def trades(self, user: str, limit: int = 100) -> list[PublicTrade]:
        rows = get_json(self._http, f"{self._base}/trades", {"user": user, "limit": limit}, self.observe)
        out = []
        for raw in rows if isinstance(rows, list) else []:
            w = WireDataTrade.model_validate(raw)
            out.append(PublicTrade(w.asset, w.conditionId, w.side, w.size, w.price, w.timestamp, w.transactionHash))
        return out
