"""HTTP errors with the CLOB's JSON body shape, raised by handlers and rendered in one place.

Every error the exchange returns is ``{"error": <message>}`` with a real status code, optionally
with more keys (``errorMsg``/``success``/``orderID`` on order refusals, ``code`` and
``retry_after_seconds`` on 503, the correct ``heartbeat_id`` on a stale heartbeat).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """A refusal the client sees as ``status`` + ``{"error": message, **extra}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


def bad_request(message: str, **extra: Any) -> ApiError:
    return ApiError(400, message, extra=extra)


def unauthorized(message: str = "Unauthorized/Invalid api key") -> ApiError:
    return ApiError(401, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


async def render_api_error(request: Request, exc: Exception) -> Response:
    """Starlette exception handler: the one place an ``ApiError`` becomes a response."""
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def render_internal_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected is still a JSON error body (and the trace goes to the log)."""
    return JSONResponse({"error": "internal error"}, status_code=500)
