"""Every failure of a Polymarket call, translated once (STYLE E5).

Exception tree::

    Exception
    ├── HttpFailure            raised by our transport (rest.py), never leaves the package
    │   ├── NotSent            connect error / connect timeout: the request never left
    │   ├── NoAnswer           sent, but the answer was lost (read timeout, dropped connection)
    │   └── HttpStatus         an answer with a status other than 200 (body, Retry-After)
    ├── VenueError             (venues.base) not accepted, nothing changed
    │   └── OrderRefused       a 400 naming a documented order error: the venue turns it into
    │                          a ``reject`` event, as the Venue protocol wants
    └── OutcomeUnknown         (venues.base) a submit that may have taken effect

``venue_errors(mutating=..., order_id=...)`` is the one translator.  A submit that got no answer
(``NoAnswer``) or a 5xx that is not one of the CLOB's explicit refusals (trading disabled,
cancel-only, post-only mode) raises ``OutcomeUnknown``: the order may be live and only
reconciliation can say.  Everything else is a ``VenueError``.  Messages are built from status
codes and the server's error text; request headers (API key, passphrase, HMAC) and bodies
(signatures) never go into an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from py_clob_client_v2.exceptions import PolyException

from polytraders.venues.base import (
    DOCUMENTED_ORDER_ERRORS,
    EXECUTION_ERROR,
    FOK_ORDER_NOT_FILLED_ERROR,
    INVALID_ORDER_DUPLICATED,
    INVALID_ORDER_ERROR,
    INVALID_ORDER_EXPIRATION,
    INVALID_ORDER_MIN_SIZE,
    INVALID_ORDER_MIN_TICK_SIZE,
    INVALID_ORDER_NOT_ENOUGH_BALANCE,
    INVALID_POST_ONLY_ORDER,
    MARKET_NOT_READY,
    OutcomeUnknown,
    VenueError,
)

__all__ = [
    "POST_ONLY_MODE",
    "HttpFailure",
    "HttpStatus",
    "NoAnswer",
    "NotSent",
    "OrderRefused",
    "error_text",
    "order_error_code",
    "venue_errors",
]

POST_ONLY_MODE: Final = "post_only_mode"
CANCEL_ONLY_MODE: Final = "cancel_only_mode"
TRADING_DISABLED: Final = "trading_disabled"

# The CLOB's free-text order refusals (polymarket-interfaces.md §1.9) -> documented codes, for
# answers that carry only ``{"error": text}``.  First match wins.
_TEXT_CODES: Final[tuple[tuple[str, str], ...]] = (
    ("duplicated", INVALID_ORDER_DUPLICATED),
    ("not enough balance", INVALID_ORDER_NOT_ENOUGH_BALANCE),
    ("minimum tick size", INVALID_ORDER_MIN_TICK_SIZE),
    ("lower than the minimum", INVALID_ORDER_MIN_SIZE),
    ("invalid expiration", INVALID_ORDER_EXPIRATION),
    ("post-only order", INVALID_POST_ONLY_ORDER),
    ("fok orders are fully filled", FOK_ORDER_NOT_FILLED_ERROR),
    ("no orders found to match with fak", EXECUTION_ERROR),
    ("not yet ready", MARKET_NOT_READY),
    ("invalid order payload", INVALID_ORDER_ERROR),
    ("crosses the book", INVALID_POST_ONLY_ORDER),
)


class HttpFailure(Exception):
    """A transport outcome for ``venue_errors`` to translate."""


class NotSent(HttpFailure):
    """The connection was never made: nothing reached the venue."""


class NoAnswer(HttpFailure):
    """The request may have reached the venue; no answer came back."""


class HttpStatus(HttpFailure):
    """A non-200 answer."""

    def __init__(self, status: int, body: Any, retry_after_s: float | None) -> None:
        super().__init__(f"HTTP {status}: {error_text(body)[:200]}")
        self.status = status
        self.body = body
        self.retry_after_s = retry_after_s


class OrderRefused(VenueError):
    """A business refusal of a submit (HTTP 400 with a documented order error code)."""

    def __init__(self, code: str, message: str, venue_order_id: str) -> None:
        super().__init__(400, code, message)
        self.venue_order_id = venue_order_id


def error_text(body: Any) -> str:
    """The server's error message (``{"error": ...}``), or the text it sent."""
    if isinstance(body, Mapping):
        return str(body.get("error") or body.get("errorMsg") or "")
    return str(body or "")


def order_error_code(body: Any) -> str | None:
    """The documented order error a refusal names, from ``errorMsg`` or from its text."""
    if isinstance(body, Mapping):
        named = body.get("errorMsg")
        if isinstance(named, str) and named in DOCUMENTED_ORDER_ERRORS:
            return named
    text = error_text(body).lower()
    for needle, code in _TEXT_CODES:
        if needle in text:
            return code
    return None


def _status_code(failure: HttpStatus) -> str:
    """A short machine code for a refusal that is not an order error."""
    body, status = failure.body, failure.status
    if isinstance(body, Mapping) and isinstance(body.get("code"), str):
        return str(body["code"])
    text = error_text(body).lower()
    if status == 503:
        if "post-only" in text:
            return POST_ONLY_MODE
        if "cancel-only" in text:
            return CANCEL_ONLY_MODE
        if "disabled" in text:
            return TRADING_DISABLED
    return {401: "UNAUTHORIZED", 404: "NOT_FOUND", 425: "ENGINE_RESTARTING",
            429: "RATE_LIMITED"}.get(status, f"HTTP_{status}")


def explicit_refusal(failure: HttpStatus) -> bool:
    """A 503 that says, in words, that nothing was accepted (disabled/cancel-only/post-only)."""
    return failure.status == 503 and _status_code(failure) in (POST_ONLY_MODE, CANCEL_ONLY_MODE, TRADING_DISABLED)


@contextmanager
def venue_errors(*, mutating: bool = False, order_id: str = "") -> Iterator[None]:
    """Translate transport outcomes into ``VenueError`` / ``OrderRefused`` / ``OutcomeUnknown``.

    ``mutating``: the call is a submit, whose lost answer means "outcome unknown".
    """
    try:
        yield
    except NotSent as exc:
        raise VenueError(0, "CONNECT", str(exc)[:200]) from None
    except NoAnswer as exc:
        if mutating:
            raise OutcomeUnknown(order_id, 0, str(exc)[:200]) from None
        raise VenueError(0, "NO_ANSWER", str(exc)[:200]) from None
    except HttpStatus as exc:
        message = error_text(exc.body)[:200]
        if mutating and exc.status == 400:
            code = order_error_code(exc.body)
            if code is not None:
                named = exc.body.get("orderID") if isinstance(exc.body, Mapping) else None
                raise OrderRefused(code, message, str(named or order_id)) from None
        if mutating and exc.status >= 500 and not explicit_refusal(exc):
            raise OutcomeUnknown(order_id, exc.status, message) from None
        raise VenueError(exc.status, _status_code(exc), message) from None
    except PolyException as exc:
        # Raised by the official client before sending (no credentials, bad arguments).
        raise VenueError(0, "CLIENT", str(getattr(exc, "msg", ""))[:200]) from None
