"""CLOB REST through the official ``py-clob-client-v2``, on a transport we control.

The official client builds every request (L1 EIP-712 and L2 HMAC headers, the order JSON) and
we keep it for that.  Three things it cannot do for a trading system are done here:
- **Transport.**  It sends through one module-level ``httpx.Client`` with default timeouts and
  folds every failure into ``PolyApiException`` (a timeout after the send looks like a refused
  connection, and ``Retry-After`` is lost).  ``_Client`` overrides its three send methods to use
  our own ``httpx.Client`` (``transport=`` injectable for tests) and raises ``NotSent`` /
  ``NoAnswer`` / ``HttpStatus`` for ``errors.venue_errors`` to translate.
- **Posting.**  ``post_order`` in the client polls ``/data/trades`` for up to 30 s after a match
  to fill in transaction hashes; our runtime loop cannot block that long, so ``post_signed``
  serialises with the client's own ``order_to_json_v2`` and posts once.
- **Pacing** (tenacity): 425 (engine restarting) is retried with exponential backoff and 429
  after its ``Retry-After``, both only within ``retry_budget_s``; past the budget the call fails
  and a gate refuses further calls locally until ``Retry-After`` has passed, so we never hammer a
  venue that asked us to wait.  A 503 ``post_only_mode`` opens a post-only window during which
  only post-only submits are sent (``PacingGate``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import httpx
from py_clob_client_v2 import ClobClient
from py_clob_client_v2.clob_types import (
    ApiCreds,
    AssetType,
    BalanceAllowanceParams,
    OpenOrderParams,
    OrderMarketCancelParams,
    OrderPayload,
    TradeParams,
)
from py_clob_client_v2.order_utils.model.order_data_v2 import SignedOrderV2 as ClientSignedOrder
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side as ClientSide
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay

from polytraders.contracts.orders import SignedOrderRequest
from polytraders.venues.base import VenueError
from polytraders.venues.polymarket.config import PolymarketConfig, PrivateKey
from polytraders.venues.polymarket.errors import (
    POST_ONLY_MODE,
    HttpStatus,
    NoAnswer,
    NotSent,
    venue_errors,
)

__all__ = ["ApiCredentials", "PacingGate", "RestClient"]

T = TypeVar("T")
_BACKOFF_START_S: Final = 0.25
_BACKOFF_CAP_S: Final = 30.0


class ApiCredentials:
    """L2 credentials; ``repr`` shows the key id's first characters only."""

    __slots__ = ("api_key", "passphrase", "secret")

    def __init__(self, api_key: str, secret: str, passphrase: str) -> None:
        self.api_key = api_key
        self.secret = secret
        self.passphrase = passphrase

    def __repr__(self) -> str:
        return f"ApiCredentials(api_key={self.api_key[:4]}…)"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("ApiCredentials cannot be pickled or copied")


def _retry_after(response: httpx.Response, body: Any) -> float | None:
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    if isinstance(body, dict) and isinstance(body.get("retry_after_seconds"), int | float):
        return max(0.0, float(body["retry_after_seconds"]))
    return None


class _Client(ClobClient):  # type: ignore[misc]
    """The official client with its three send methods routed through our transport."""

    def __init__(self, http: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http = http

    def _send(self, method: str, endpoint: str, headers: Any = None, data: Any = None,
              params: Any = None) -> Any:
        content = data.encode() if isinstance(data, str) else (json.dumps(data).encode() if data is not None else None)
        hdrs = {"Content-Type": "application/json", "Accept": "*/*", **(headers or {})}
        try:
            response = self._http.request(method, endpoint, headers=hdrs, content=content, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise NotSent(type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise NoAnswer(type(exc).__name__) from None
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.status_code != 200:
            raise HttpStatus(response.status_code, body, _retry_after(response, body))
        return body

    def _get(self, endpoint: str, headers: Any = None, params: Any = None) -> Any:
        return self._send("GET", endpoint, headers, None, params)

    def _post(self, endpoint: str, headers: Any = None, data: Any = None, params: Any = None) -> Any:
        return self._send("POST", endpoint, headers, data, params)

    def _delete(self, endpoint: str, headers: Any = None, data: Any = None, params: Any = None) -> Any:
        return self._send("DELETE", endpoint, headers, data, params)


class PacingGate:
    """Local memory of what the venue told us to wait for (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.blocked_until: dict[str, float] = {}
        self.blocked_status: dict[str, int] = {}
        self.post_only_until = 0.0

    def check(self, lane: str, *, order_post: bool = False, post_only: bool = False) -> None:
        """Refuse locally (``VenueError``, nothing sent) while the venue asked us to wait."""
        now = self._clock()
        with self._lock:
            until = self.blocked_until.get(lane, 0.0)
            if now < until:
                raise VenueError(self.blocked_status[lane], "WAIT_RETRY_AFTER", f"{until - now:.1f} s left")
            if order_post and not post_only and now < self.post_only_until:
                raise VenueError(503, POST_ONLY_MODE, "post-only window: only post-only orders are sent")

    def post_only_active(self) -> bool:
        return self._clock() < self.post_only_until

    def note(self, lane: str, failure: HttpStatus) -> None:
        now = self._clock()
        wait = failure.retry_after_s
        with self._lock:
            if failure.status in (425, 429):
                delay = wait if wait is not None else (1.0 if failure.status == 429 else _BACKOFF_START_S)
                until = now + min(delay, _BACKOFF_CAP_S)
                self.blocked_until[lane] = max(self.blocked_until.get(lane, 0.0), until)
                self.blocked_status[lane] = failure.status
            body = failure.body if isinstance(failure.body, dict) else {}
            if failure.status == 503 and (body.get("code") == POST_ONLY_MODE or "post-only" in str(body.get("error"))):
                self.post_only_until = max(self.post_only_until, now + (wait if wait is not None else 120.0))


class RestClient:
    """The adapter's REST surface (credentials resolved in ``login``)."""

    def __init__(self, config: PolymarketConfig, key: PrivateKey, *, transport: httpx.BaseTransport | None = None,
                 gate: PacingGate | None = None) -> None:
        self._config = config
        self._http = httpx.Client(timeout=config.request_timeout_s, transport=transport)
        self._client = _Client(self._http, host=config.clob_url, chain_id=config.chain_id, key=key.reveal(),
                               signature_type=config.signature_type, funder=config.funder)
        self.gate = gate or PacingGate()
        self.creds: ApiCredentials | None = None
        self.address = key.address
        self.funder = config.funder or key.address

    def __repr__(self) -> str:
        return f"RestClient(host={self._config.clob_url}, address={self.address})"

    def close(self) -> None:
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _paced(self, fn: Callable[[], T], *, lane: str = "read", mutating: bool = False, order_id: str = "",
               order_post: bool = False, post_only: bool = False) -> T:
        """Run ``fn`` under the gate, the retry policy and the error translator.  Lanes
        ("trading", "read", "heartbeat") are paced separately: a 429 on order posts must not
        silence the heartbeat, whose loss cancels every order."""
        budget = self._config.retry_budget_s

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, HttpStatus) or exc.status not in (425, 429):
                return False
            self.gate.note(lane, exc)
            wait = exc.retry_after_s if exc.retry_after_s is not None else _BACKOFF_START_S
            return wait <= budget

        def wait_for(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            if isinstance(exc, HttpStatus) and exc.status == 429 and exc.retry_after_s is not None:
                return float(exc.retry_after_s)
            backoff: float = _BACKOFF_START_S * 2.0 ** (state.attempt_number - 1)
            return min(_BACKOFF_CAP_S, backoff)

        with venue_errors(mutating=mutating, order_id=order_id):
            self.gate.check(lane, order_post=order_post, post_only=post_only)
            try:
                for attempt in Retrying(retry=retry_if_exception(retryable), wait=wait_for,
                                        stop=stop_after_delay(budget), reraise=True):
                    with attempt:
                        return fn()
            except HttpStatus as exc:
                self.gate.note(lane, exc)
                raise
        raise AssertionError("unreachable")  # pragma: no cover - Retrying returns or raises

    # -- credentials ------------------------------------------------------------------------

    def login(self) -> ApiCredentials:
        """Create-or-derive the L2 credentials (a failed create falls back to derive)."""
        nonce = self._config.api_nonce

        def create_or_derive() -> Any:
            try:
                return self._client.create_api_key(nonce=nonce)
            except HttpStatus as exc:
                if exc.status != 400:
                    raise
            return self._client.derive_api_key(nonce=nonce)

        creds: ApiCreds = self._paced(create_or_derive)
        self._client.set_api_creds(creds)
        self.creds = ApiCredentials(creds.api_key, creds.api_secret, creds.api_passphrase)
        return self.creds

    # -- orders -----------------------------------------------------------------------------

    @staticmethod
    def _client_order(signed: SignedOrderRequest) -> ClientSignedOrder:
        return ClientSignedOrder(
            salt=str(signed.salt), maker=signed.maker, signer=signed.signer, tokenId=signed.token_id,
            makerAmount=str(signed.maker_amount), takerAmount=str(signed.taker_amount),
            side=ClientSide.BUY if signed.side == "BUY" else ClientSide.SELL,
            signatureType=signed.signature_type, timestamp=str(signed.timestamp_ms), metadata=signed.metadata,
            builder=signed.builder, expiration=str(signed.expiration_s), signature=signed.signature,
        )

    def _payload(self, signed: SignedOrderRequest, order_type: str, post_only: bool) -> dict[str, Any]:
        owner = self.creds.api_key if self.creds else ""
        return dict(order_to_json_v2(self._client_order(signed), owner, order_type, post_only, False))

    def _post_json(self, path: str, payload: Any) -> Any:
        serialized = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        headers = self._client._l2_headers("POST", path, body=payload, serialized_body=serialized)
        return self._client._post(f"{self._config.clob_url}{path}", headers=headers, data=serialized)

    def post_signed(self, signed: SignedOrderRequest, order_type: str, post_only: bool) -> Any:
        """``POST /order`` with the exact signed order; raw answer body."""
        payload = self._payload(signed, order_type, post_only)
        return self._paced(lambda: self._post_json("/order", payload), lane="trading", mutating=True,
                           order_id=signed.order_hash, order_post=True, post_only=post_only)

    def post_signed_batch(self, orders: Sequence[tuple[SignedOrderRequest, str]], post_only: bool) -> Any:
        """``POST /orders`` (at most 15); per-order refusals come back inside the 200."""
        if not 0 < len(orders) <= 15:
            raise ValueError("a batch holds 1 to 15 orders")
        payload = [self._payload(s, t, post_only) for s, t in orders]
        return self._paced(lambda: self._post_json("/orders", payload), lane="trading",
                           mutating=True, order_id=orders[0][0].order_hash, order_post=True, post_only=post_only)

    def cancel(self, venue_order_id: str) -> Any:
        return self._paced(lambda: self._client.cancel_order(OrderPayload(orderID=venue_order_id)), lane="trading")

    def cancel_many(self, venue_order_ids: Sequence[str]) -> Any:
        return self._paced(lambda: self._client.cancel_orders(list(venue_order_ids)), lane="trading")

    def cancel_all(self) -> Any:
        return self._paced(lambda: self._client.cancel_all(), lane="trading")

    def cancel_market(self, market: str = "", asset_id: str = "") -> Any:
        return self._paced(lambda: self._client.cancel_market_orders(
            OrderMarketCancelParams(market=market or None, asset_id=asset_id or None)), lane="trading")

    # -- reads ------------------------------------------------------------------------------

    def open_orders(self, market: str = "") -> list[dict[str, Any]]:
        params = OpenOrderParams(market=market) if market else None
        return list(self._paced(lambda: self._client.get_open_orders(params)))

    def trades(self, after_s: int | None = None) -> list[dict[str, Any]]:
        params = TradeParams(after=after_s) if after_s else None
        return list(self._paced(lambda: self._client.get_trades(params)))

    def markets_page(self, cursor: str) -> dict[str, Any]:
        return dict(self._paced(lambda: self._client.get_markets(next_cursor=cursor)))

    def market(self, condition_id: str) -> dict[str, Any]:
        return dict(self._paced(lambda: self._client.get_market(condition_id)))

    def book(self, token_id: str) -> dict[str, Any]:
        return dict(self._paced(lambda: self._client.get_order_book(token_id)))

    def balance_allowance(self, token_id: str | None = None) -> dict[str, Any]:
        asset = AssetType.CONDITIONAL if token_id else AssetType.COLLATERAL
        params = BalanceAllowanceParams(asset_type=asset, token_id=token_id or None)
        return dict(self._paced(lambda: self._client.get_balance_allowance(params)))

    def heartbeat(self, heartbeat_id: str) -> str:
        """Send one heartbeat; returns the id to echo next.  A stale id is answered 400 with the
        right one, which is adopted (the exchange then counts the next beat)."""
        def beat() -> Any:
            try:
                return self._client.post_heartbeat(heartbeat_id)
            except HttpStatus as exc:
                body = exc.body if isinstance(exc.body, dict) else {}
                if exc.status == 400 and isinstance(body.get("heartbeat_id"), str):
                    return self._client.post_heartbeat(body["heartbeat_id"])
                raise
        reply = self._paced(beat, lane="heartbeat")
        return str(reply.get("heartbeat_id", "")) if isinstance(reply, dict) else ""
