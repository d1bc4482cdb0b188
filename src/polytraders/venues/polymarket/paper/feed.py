"""The public market-data surface paper trading reads: CLOB REST reads and Gamma, no keys.

Every call here is an unauthenticated GET (no L1/L2 headers exist in this module, and nothing
here can POST or DELETE), so a paper run cannot place, cancel or sign anything at the exchange.
425 and 429 answers are retried with exponential backoff (tenacity) within ``retry_budget_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from polytraders.venues.base import VenueError
from polytraders.venues.polymarket.gamma import get_json

__all__ = ["PublicClob"]

T = TypeVar("T")
_LAST_PAGE: Final = "LTE="


def _slow_down(exc: BaseException) -> bool:
    return isinstance(exc, VenueError) and exc.status in (425, 429)


class PublicClob:
    """Read-only CLOB and Gamma client for one base URL each."""

    def __init__(self, clob_url: str, gamma_url: str, *, timeout_s: float = 5.0, retry_budget_s: float = 1.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._clob = clob_url.rstrip("/")
        self._gamma = gamma_url.rstrip("/")
        self._budget = retry_budget_s
        # GET only; the client is never given credentials and sends no auth headers.
        self._http = httpx.Client(timeout=timeout_s, transport=transport, headers={"Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def _get(self, url: str, params: Any = None) -> Any:
        def once() -> Any:
            return get_json(self._http, url, params)

        return self._paced(once)

    def _paced(self, fn: Callable[[], T]) -> T:
        for attempt in Retrying(retry=retry_if_exception(_slow_down), wait=wait_exponential(0.1, max=2.0),
                                stop=stop_after_delay(self._budget), reraise=True):
            with attempt:
                return fn()
        raise AssertionError("unreachable")  # pragma: no cover - Retrying returns or raises

    def ok(self) -> None:
        self._get(f"{self._clob}/ok")

    def markets(self, condition_ids: tuple[str, ...]) -> list[dict[str, Any]]:
        """The named markets, or every market the CLOB lists (all pages)."""
        if condition_ids:
            return [dict(self._get(f"{self._clob}/markets/{cid}")) for cid in condition_ids]
        rows: list[dict[str, Any]] = []
        cursor = "MA=="
        while cursor != _LAST_PAGE:
            page = self._get(f"{self._clob}/markets", {"next_cursor": cursor})
            rows.extend(r for r in (page.get("data") or []) if isinstance(r, dict))
            cursor = str(page.get("next_cursor") or _LAST_PAGE)
        return rows

    def book(self, token_id: str) -> dict[str, Any]:
        return dict(self._get(f"{self._clob}/book", {"token_id": token_id}))

    def fee_rate_bps(self, token_id: str) -> int | None:
        body = self._get(f"{self._clob}/fee-rate", {"token_id": token_id})
        value = body.get("base_fee") if isinstance(body, dict) else None
        return int(value) if isinstance(value, int | float | str) and str(value).isdigit() else None

    def questions(self, condition_ids: list[str]) -> dict[str, str]:
        """Gamma's question text per condition id (for markets the CLOB listed without one)."""
        if not condition_ids:
            return {}
        params = [("limit", len(condition_ids)), *(("condition_ids", c) for c in condition_ids)]
        rows = self._get(f"{self._gamma}/markets", params)
        return {str(r.get("conditionId")): str(r.get("question") or "") for r in rows if isinstance(r, dict)}
