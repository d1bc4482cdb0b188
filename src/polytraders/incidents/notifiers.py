"""Notifiers used by the incident commander: the incident channel, Slack and PagerDuty.

Design notes
------------
* A :class:`Notice` is what the commander wants said. It carries its own timestamp
  (``ts_ms``); nothing here reads the wall clock. The only time-related side effect is the
  back-off sleep between retries, and the sleep function is injectable.
* Every ``send`` returns a :class:`DeliveryResult` and never raises for a delivery failure
  (network error, HTTP error, full disk). Configuration errors (a malformed URL, an empty
  routing key) raise ``ValueError`` when a notifier is built, never when it sends.
* Secrets never leave this module in clear text. A Slack webhook URL is a bearer token and a
  PagerDuty routing key is a secret: they are kept in ``SecretStr``, shown in targets and
  reprs as ``scheme://host/…redacted``, scrubbed from error messages, and scrubbed from the
  ``httpx`` request log line (``HTTP Request: POST <url>``) by a logging filter.
* :class:`Dispatcher` pages every configured pager (so acknowledge/resolve reach the same
  services as the trigger). When none accepts the notice, it writes the notice to the incident
  channel (and Slack, when configured) marked as a paging fallback, and the returned
  :class:`PageOutcome` carries ``GOV_PAGING_SYSTEM_UNAVAILABLE`` for the caller to raise.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TextIO, get_args, runtime_checkable
from urllib.parse import quote, urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import InitErrorDetails

__all__ = [
    "PAGING_UNAVAILABLE_CODE",
    "PAGERDUTY_EVENTS_URL",
    "REDACTED",
    "Action",
    "ChannelNotifier",
    "ConsoleChannel",
    "DeliveryResult",
    "Dispatcher",
    "FileChannel",
    "Notice",
    "NotifierConfig",
    "PageOutcome",
    "Pager",
    "PagerDutyEvents",
    "Priority",
    "SlackWebhook",
    "build_dispatcher",
    "pagerduty_event",
    "pagerduty_severity",
    "slack_message",
]

_log = logging.getLogger(__name__)

Priority = Literal["P0", "P1", "P2", "P3"]
Action = Literal["trigger", "acknowledge", "resolve"]

PAGING_UNAVAILABLE_CODE: Final = "GOV_PAGING_SYSTEM_UNAVAILABLE"
PAGERDUTY_EVENTS_URL: Final = "https://events.pagerduty.com/v2/enqueue"
REDACTED: Final = "…redacted"

_PRIORITIES: Final[frozenset[str]] = frozenset(get_args(Priority))
_ACTIONS: Final[frozenset[str]] = frozenset(get_args(Action))
_SEVERITY: Final[Mapping[str, str]] = {
    "P0": "critical",
    "P1": "error",
    "P2": "warning",
    "P3": "info",
}
_ACTION_LABEL: Final[Mapping[str, str]] = {
    "trigger": "TRIGGERED",
    "acknowledge": "ACKNOWLEDGED",
    "resolve": "RESOLVED",
}
_LOOPBACK_HOSTS: Final[frozenset[str]] = frozenset({"127.0.0.1", "localhost", "::1"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TS_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

# PagerDuty Events API v2 limits.
_PD_DEDUP_MAX: Final = 255
_PD_SUMMARY_MAX: Final = 1024
# Our own caps on custom_details, chosen so the whole event stays well under PagerDuty's
# 512 KB payload limit even when every character is escaped by JSON as \uXXXX (6 bytes).
_PD_BODY_MAX: Final = 8000
_PD_FIELDS_MAX: Final = 50
_PD_KEY_MAX: Final = 100
_PD_VALUE_MAX: Final = 1000

# Slack Block Kit limits.
_SLACK_HEADER_MAX: Final = 150
_SLACK_SECTION_TEXT_MAX: Final = 3000
_SLACK_FIELD_TEXT_MAX: Final = 2000
_SLACK_FIELDS_PER_SECTION: Final = 10
_SLACK_FIELD_SECTIONS: Final = 4
_SLACK_FALLBACK_TEXT_MAX: Final = 3000

_ERROR_MAX: Final = 300

Sleep = Callable[[float], None]


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing the incident commander wants said to people.

    ``fields`` holds short labelled facts (``trigger``, ``observed``, ``threshold``...).
    ``dedup_key`` ties trigger, acknowledge and resolve of one incident together in PagerDuty;
    use the same key for all three.
    """

    incident_id: str
    priority: Priority
    title: str
    body: str
    fields: dict[str, str] = field(hash=False)
    action: Action
    dedup_key: str
    ts_ms: int
    # What happened, as the incident channel says it ("opened", "page", "step_done", ...).
    # ``action`` is the pager's verb (PagerDuty has only trigger/acknowledge/resolve), so the
    # channel carries this instead when it is set.
    event: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.incident_id, str) or not self.incident_id.strip():
            raise ValueError("Notice.incident_id must be a non-blank string")
        if self.priority not in _PRIORITIES:
            raise ValueError("Notice.priority must be one of P0, P1, P2, P3")
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError("Notice.title must be a non-blank string")
        if not isinstance(self.body, str):
            raise ValueError("Notice.body must be a string")
        if self.action not in _ACTIONS:
            raise ValueError("Notice.action must be one of trigger, acknowledge, resolve")
        if self.event is not None and (not isinstance(self.event, str) or not self.event.strip()):
            raise ValueError("Notice.event must be a non-blank string when given")
        if not isinstance(self.dedup_key, str) or not self.dedup_key.strip():
            raise ValueError("Notice.dedup_key must be a non-blank string")
        if len(self.dedup_key) > _PD_DEDUP_MAX:
            raise ValueError(f"Notice.dedup_key must be at most {_PD_DEDUP_MAX} characters")
        if isinstance(self.ts_ms, bool) or not isinstance(self.ts_ms, int):
            raise ValueError("Notice.ts_ms must be an integer (milliseconds since the epoch)")
        if not 0 <= self.ts_ms <= _MAX_TS_MS:
            raise ValueError("Notice.ts_ms is out of range")
        if not isinstance(self.fields, Mapping):
            raise ValueError("Notice.fields must be a mapping of str to str")
        copied: dict[str, str] = {}
        for key, value in self.fields.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError("Notice.fields must map str to str")
            copied[key] = value
        # Own a private copy so later mutation of the caller's dict cannot change the notice.
        object.__setattr__(self, "fields", copied)

    @property
    def timestamp(self) -> str:
        """``ts_ms`` as ISO-8601 UTC, millisecond precision: ``2026-01-02T03:04:05.678Z``."""
        return iso8601_ms(self.ts_ms)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one delivery to one target. ``target`` never contains a secret."""

    target: str
    ok: bool
    attempts: int
    status: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """The outcome of :meth:`Dispatcher.page`.

    ``results`` holds one entry per configured pager. ``fallback_results`` holds the channel
    (and Slack) deliveries made because paging failed; it is empty when a pager accepted.
    """

    delivered: bool
    fallback_used: bool
    results: list[DeliveryResult]
    fallback_results: list[DeliveryResult] = field(default_factory=list)

    @property
    def reason_code(self) -> str | None:
        """``GOV_PAGING_SYSTEM_UNAVAILABLE`` when no pager accepted the notice, else ``None``."""
        return None if self.delivered else PAGING_UNAVAILABLE_CODE


# --------------------------------------------------------------------------------------------
# Protocols
# --------------------------------------------------------------------------------------------


@runtime_checkable
class ChannelNotifier(Protocol):
    """Somewhere people read incident updates: a file, a console, a Slack channel."""

    @property
    def target(self) -> str:
        """A printable, secret-free name for the destination."""
        ...

    def send(self, notice: Notice, *, paging_fallback: bool = False) -> DeliveryResult:
        """Deliver ``notice``; never raise for a delivery failure."""
        ...


@runtime_checkable
class Pager(Protocol):
    """Something that wakes a person up (PagerDuty)."""

    @property
    def target(self) -> str:
        """A printable, secret-free name for the destination."""
        ...

    def send(self, notice: Notice) -> DeliveryResult:
        """Deliver ``notice``; never raise for a delivery failure."""
        ...


# --------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------


def iso8601_ms(ts_ms: int) -> str:
    """Milliseconds since the epoch as ISO-8601 UTC, computed without floating point."""
    moment = _EPOCH + timedelta(milliseconds=ts_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clean(text: str) -> str:
    """Make ``text`` encodable as UTF-8 (lone surrogates become U+FFFD)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _mrkdwn(text: str, limit: int) -> str:
    """Escape ``text`` for Slack mrkdwn (``&``, ``<``, ``>``) and cut it to ``limit`` chars.

    Escaping stops user text from forming links or mentions such as ``<!channel>``.
    """
    escaped = _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # do not leave half an entity behind
    return cut + "…"


# --------------------------------------------------------------------------------------------
# Payload rendering (pure functions)
# --------------------------------------------------------------------------------------------


def pagerduty_severity(priority: Priority) -> str:
    """P0→critical, P1→error, P2→warning, P3→info."""
    return _SEVERITY[priority]


def pagerduty_event(
    notice: Notice, routing_key: str, *, source: str = "polytraders"
) -> dict[str, Any]:
    """The PagerDuty Events API v2 body for ``notice``.

    ``trigger`` carries a payload; ``acknowledge`` and ``resolve`` carry only the routing key,
    the action and the dedup key, as the API expects.
    """
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": notice.action,
        "dedup_key": _clean(notice.dedup_key),
    }
    if notice.action != "trigger":
        return event
    details: dict[str, Any] = {
        "incident_id": _clean(notice.incident_id),
        "priority": notice.priority,
        "body": _truncate(_clean(notice.body), _PD_BODY_MAX),
    }
    items = list(notice.fields.items())
    shown = {
        _truncate(_clean(k), _PD_KEY_MAX): _truncate(_clean(v), _PD_VALUE_MAX)
        for k, v in items[:_PD_FIELDS_MAX]
    }
    details["fields"] = shown
    if len(items) > _PD_FIELDS_MAX:
        details["fields_omitted"] = len(items) - _PD_FIELDS_MAX
    summary = _truncate(_one_line(f"[{notice.priority}] {_clean(notice.title)}"), _PD_SUMMARY_MAX)
    event["payload"] = {
        "summary": summary,
        "source": _truncate(_clean(source), 255) or "polytraders",
        "severity": pagerduty_severity(notice.priority),
        "timestamp": notice.timestamp,
        "custom_details": details,
    }
    return event


def slack_message(notice: Notice, *, paging_fallback: bool = False) -> dict[str, Any]:
    """A Slack incoming-webhook body: fallback ``text`` plus Block Kit ``blocks``.

    Blocks: a header, a section with the plain-English body, then sections of fields (at most
    ten per section). All user text is escaped so it cannot mention ``@channel`` or form links.
    """
    label = _clean(notice.event).upper() if notice.event else _ACTION_LABEL[notice.action]
    prefix = "PAGING FALLBACK – " if paging_fallback else ""
    headline = _one_line(f"{prefix}{notice.priority} {label}: {_clean(notice.title)}")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _truncate(headline, _SLACK_HEADER_MAX),
                "emoji": True,
            },
        }
    ]
    if paging_fallback:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Paging system unavailable.* No pager accepted this notice; "
                    "reach the on-call engineer by hand.",
                },
            }
        )
    body = notice.body if notice.body.strip() else "(no details)"
    blocks.append(
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _mrkdwn(body, _SLACK_SECTION_TEXT_MAX)},
        }
    )
    pairs: list[tuple[str, str]] = [
        ("Incident", notice.incident_id),
        ("Priority", notice.priority),
        ("Action", notice.event or notice.action),
        ("Time (UTC)", notice.timestamp),
    ]
    pairs.extend(notice.fields.items())
    capacity = _SLACK_FIELDS_PER_SECTION * _SLACK_FIELD_SECTIONS
    omitted = max(0, len(pairs) - capacity)
    pairs = pairs[:capacity]
    for start in range(0, len(pairs), _SLACK_FIELDS_PER_SECTION):
        chunk = pairs[start : start + _SLACK_FIELDS_PER_SECTION]
        blocks.append(
            {
                "type": "section",
                "fields": [_slack_field(key, value) for key, value in chunk],
            }
        )
    if omitted:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{omitted} more field(s) are in the incident channel record.",
                    }
                ],
            }
        )
    text = _mrkdwn(headline, _SLACK_FALLBACK_TEXT_MAX)
    return {"text": text, "blocks": blocks}


def _slack_field(key: str, value: str) -> dict[str, str]:
    label = _mrkdwn(_one_line(key) or "(unnamed)", 200)
    room = _SLACK_FIELD_TEXT_MAX - len(label) - 3
    shown = _mrkdwn(value, room) if value.strip() else "—"
    return {"type": "mrkdwn", "text": f"*{label}*\n{shown}"}


def _channel_record(notice: Notice, *, paging_fallback: bool) -> dict[str, Any]:
    return {
        "kind": "incident_notice",
        "incident_id": _clean(notice.incident_id),
        "priority": notice.priority,
        "action": _clean(notice.event) if notice.event else notice.action,
        "pager_action": notice.action,
        "title": _clean(notice.title),
        "body": _clean(notice.body),
        "fields": {_clean(k): _clean(v) for k, v in notice.fields.items()},
        "dedup_key": _clean(notice.dedup_key),
        "ts_ms": notice.ts_ms,
        "timestamp": notice.timestamp,
        "paging_fallback": paging_fallback,
    }


# --------------------------------------------------------------------------------------------
# Secret handling
# --------------------------------------------------------------------------------------------


def _redacted_endpoint(url: str) -> str:
    """``scheme://host[:port]/…redacted``; never the path, query or user info."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme or '?'}://{netloc}/{REDACTED}"


def _secret_variants(secrets: Iterable[str]) -> list[str]:
    out: set[str] = set()
    for secret in secrets:
        if len(secret) < 6:
            continue
        out.add(secret)
        out.add(quote(secret, safe=""))
        out.add(quote(secret, safe="/:"))
    # Longest first so that a full URL is replaced before its path.
    return sorted(out, key=len, reverse=True)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that act as a credential."""
    parts = urlsplit(url)
    found = [url]
    if parts.path not in ("", "/"):
        found.append(parts.path)
        found.extend(seg for seg in parts.path.split("/") if len(seg) >= 8)
    if parts.query:
        found.append(parts.query)
    if parts.password:
        found.append(parts.password)
    return found


def _url_credentials(url: str) -> list[str]:
    """Query string and password of a URL that is otherwise not a secret."""
    parts = urlsplit(url)
    return [x for x in (parts.query, parts.password) if x]


class _SecretLogFilter(logging.Filter):
    """Scrubs registered secrets from records of the ``httpx`` logger.

    httpx logs ``HTTP Request: POST <full url> ...`` at INFO; for a Slack webhook the URL is
    the credential.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._raw: set[str] = set()
        self._secrets: list[str] = []

    def register(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._raw.update(secrets)
            self._secrets = _secret_variants(self._raw)

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        scrubbed = _scrub(message, secrets)
        if scrubbed != message:
            record.msg = scrubbed
            record.args = None
        return True


_HTTPX_LOG_FILTER: Final = _SecretLogFilter()
logging.getLogger("httpx").addFilter(_HTTPX_LOG_FILTER)


def _validate_endpoint(url: str, what: str) -> None:
    """Raise ValueError (never echoing ``url``) unless it is https, or http on loopback."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise ValueError(f"{what} is not a valid URL") from None
    if not host:
        raise ValueError(f"{what} must be an absolute http(s) URL with a host")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        return
    raise ValueError(f"{what} must use https (plain http is allowed only on loopback)")


def _reveal(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


# --------------------------------------------------------------------------------------------
# HTTP delivery with retries
# --------------------------------------------------------------------------------------------


def _retry_after_seconds(value: str | None) -> float | None:
    """Delta-seconds form of Retry-After only; the HTTP-date form would need the wall clock."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


@dataclass(frozen=True, slots=True)
class _RetryPolicy:
    retries: int
    backoff_s: float
    max_delay_s: float

    def backoff(self, failed_attempt: int) -> float:
        return float(min(self.backoff_s * (2 ** (failed_attempt - 1)), self.max_delay_s))


def _validate_policy(timeout_s: float, retries: int, backoff_s: float, max_delay_s: float) -> None:
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise ValueError("timeout_s must be a positive number")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError("retries must be a non-negative integer")
    if not (math.isfinite(backoff_s) and backoff_s >= 0):
        raise ValueError("backoff_s must be a non-negative number")
    if not (math.isfinite(max_delay_s) and max_delay_s >= 0):
        raise ValueError("max_delay_s must be a non-negative number")


class _HttpSender:
    """POSTs JSON with retries. Shared by the Slack and PagerDuty notifiers."""

    def __init__(
        self,
        *,
        url: SecretStr,
        target: str,
        secrets: Sequence[str],
        accept: Callable[[int], bool],
        timeout_s: float,
        policy: _RetryPolicy,
        sleep: Sleep,
        client: httpx.Client | None,
    ) -> None:
        self._url = url
        self._target = target
        self._secrets = _secret_variants(secrets)
        self._accept = accept
        self._timeout_s = timeout_s
        self._policy = policy
        self._sleep = sleep
        self._client = client
        _HTTPX_LOG_FILTER.register(secrets)

    def _error(self, text: str) -> str:
        return _truncate(_scrub(_clean(text), self._secrets), _ERROR_MAX)

    def post(self, body: Mapping[str, Any]) -> DeliveryResult:
        try:
            content = orjson.dumps(body)
        except (TypeError, orjson.JSONEncodeError) as exc:
            return DeliveryResult(self._target, False, 0, None, self._error(f"encode: {exc}"))
        if self._client is not None:
            return self._run(self._client, content)
        try:
            with httpx.Client(follow_redirects=False) as client:
                return self._run(client, content)
        except Exception as exc:  # never raise for a delivery failure
            return DeliveryResult(
                self._target, False, 0, None, self._error(f"{type(exc).__name__}: {exc}")
            )

    def _run(self, client: httpx.Client, content: bytes) -> DeliveryResult:
        max_attempts = self._policy.retries + 1
        status: int | None = None
        error: str | None = None
        attempt = 0
        while attempt < max_attempts:
            attempt += 1
            retry_after: float | None = None
            retryable = False
            try:
                response = client.post(
                    self._url.get_secret_value(),
                    content=content,
                    headers={"Content-Type": "application/json"},
                    timeout=self._timeout_s,
                )
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                status = None
                error = self._error(f"{type(exc).__name__}: {exc}")
                break  # a configuration problem; retrying cannot help
            except httpx.TransportError as exc:  # connect/read/write errors, timeouts
                status = None
                error = self._error(f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc))
                retryable = True
            except Exception as exc:  # never raise for a delivery failure
                status = None
                error = self._error(f"{type(exc).__name__}: {exc}")
                break
            else:
                status = response.status_code
                if self._accept(status):
                    return DeliveryResult(self._target, True, attempt, status, None)
                snippet = _one_line(response.text[:_ERROR_MAX])
                error = self._error(f"HTTP {status}" + (f": {snippet}" if snippet else ""))
                retryable = status == 429 or 500 <= status <= 599
                if status in (429, 503):
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if not retryable or attempt >= max_attempts:
                break
            if retry_after is not None:
                delay = min(retry_after, self._policy.max_delay_s)
            else:
                delay = self._policy.backoff(attempt)
            _log.info(
                "notifier %s attempt %d failed (%s); retrying in %.3fs",
                self._target,
                attempt,
                error,
                delay,
            )
            self._sleep(delay)
        _log.warning("notifier %s failed after %d attempt(s): %s", self._target, attempt, error)
        return DeliveryResult(self._target, False, attempt, status, error)


# --------------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------------


class FileChannel:
    """The default incident channel: one JSON object per line, appended and fsync'd."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self._path = Path(path)
        self._fsync = fsync
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def target(self) -> str:
        return f"file:{self._path}"

    def __repr__(self) -> str:
        return f"FileChannel({str(self._path)!r})"

    def send(self, notice: Notice, *, paging_fallback: bool = False) -> DeliveryResult:
        try:
            line = orjson.dumps(_channel_record(notice, paging_fallback=paging_fallback)) + b"\n"
            with self._lock:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with open(self._path, "ab") as handle:
                    handle.write(line)
                    handle.flush()
                    if self._fsync:
                        os.fsync(handle.fileno())
        except Exception as exc:  # disk full, permissions...: report, never raise
            _log.error("incident channel %s write failed: %s", self.target, exc)
            return DeliveryResult(self.target, False, 1, None, f"{type(exc).__name__}: {exc}")
        return DeliveryResult(self.target, True, 1, None, None)


class ConsoleChannel:
    """Writes one human-readable line per notice to a text stream."""

    def __init__(self, stream: TextIO, *, name: str = "console") -> None:
        self._stream = stream
        self._name = name

    @property
    def target(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"ConsoleChannel(name={self._name!r})"

    def send(self, notice: Notice, *, paging_fallback: bool = False) -> DeliveryResult:
        parts = [
            notice.timestamp,
            notice.priority,
            _clean(notice.event).upper() if notice.event else _ACTION_LABEL[notice.action],
            _clean(notice.incident_id),
        ]
        if paging_fallback:
            parts.append("[PAGING FALLBACK: no pager accepted this notice]")
        parts.append(f"{_clean(notice.title)} — {_clean(notice.body)}")
        if notice.fields:
            parts.append(
                "(" + ", ".join(f"{_clean(k)}={_clean(v)}" for k, v in notice.fields.items()) + ")"
            )
        line = _one_line(" ".join(parts)) + "\n"
        try:
            self._stream.write(line)
            self._stream.flush()
        except Exception as exc:
            return DeliveryResult(self.target, False, 1, None, f"{type(exc).__name__}: {exc}")
        return DeliveryResult(self.target, True, 1, None, None)


class SlackWebhook:
    """Posts notices to a Slack incoming webhook.

    Retries connection errors, timeouts, 429 (honouring a delta-seconds ``Retry-After``, capped
    at ``max_delay_s``) and 5xx with exponential backoff ``backoff_s * 2**(n-1)`` (capped at
    ``max_delay_s``); gives up at once on any other 4xx. Success is any 2xx.
    """

    def __init__(
        self,
        url: str | SecretStr,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Sleep = time.sleep,
        client: httpx.Client | None = None,
        *,
        max_delay_s: float = 30.0,
    ) -> None:
        raw = _reveal(url)
        _validate_endpoint(raw, "Slack webhook URL")
        _validate_policy(timeout_s, retries, backoff_s, max_delay_s)
        self._target = f"slack:{_redacted_endpoint(raw)}"
        self._sender = _HttpSender(
            url=SecretStr(raw),
            target=self._target,
            secrets=_url_secrets(raw),
            accept=lambda status: 200 <= status <= 299,
            timeout_s=timeout_s,
            policy=_RetryPolicy(retries, backoff_s, max_delay_s),
            sleep=sleep,
            client=client,
        )

    @property
    def target(self) -> str:
        return self._target

    def __repr__(self) -> str:
        return f"SlackWebhook(target={self._target!r})"

    def send(self, notice: Notice, *, paging_fallback: bool = False) -> DeliveryResult:
        try:
            body = slack_message(notice, paging_fallback=paging_fallback)
        except Exception as exc:
            return DeliveryResult(self._target, False, 0, None, f"render: {type(exc).__name__}")
        return self._sender.post(body)


class PagerDutyEvents:
    """Sends notices to the PagerDuty Events API v2.

    Success is ``202 Accepted``. Retries connection errors, timeouts, 429 and 5xx with
    exponential backoff; ``400`` (invalid event) and other statuses are not retried.
    """

    def __init__(
        self,
        routing_key: str | SecretStr,
        url: str = PAGERDUTY_EVENTS_URL,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Sleep = time.sleep,
        client: httpx.Client | None = None,
        *,
        source: str = "polytraders",
        max_delay_s: float = 30.0,
    ) -> None:
        key = _reveal(routing_key)
        if not key.strip():
            raise ValueError("PagerDuty routing key must not be empty")
        _validate_endpoint(url, "PagerDuty events URL")
        _validate_policy(timeout_s, retries, backoff_s, max_delay_s)
        self._routing_key = SecretStr(key)
        self._source = source
        self._target = f"pagerduty:{_redacted_endpoint(url)}"
        self._sender = _HttpSender(
            url=SecretStr(url),
            target=self._target,
            secrets=[key, *_url_credentials(url)],
            accept=lambda status: status == 202,
            timeout_s=timeout_s,
            policy=_RetryPolicy(retries, backoff_s, max_delay_s),
            sleep=sleep,
            client=client,
        )

    @property
    def target(self) -> str:
        return self._target

    def __repr__(self) -> str:
        return f"PagerDutyEvents(target={self._target!r}, routing_key={REDACTED!r})"

    def send(self, notice: Notice) -> DeliveryResult:
        try:
            body = pagerduty_event(
                notice, self._routing_key.get_secret_value(), source=self._source
            )
        except Exception as exc:
            return DeliveryResult(self._target, False, 0, None, f"render: {type(exc).__name__}")
        return self._sender.post(body)


# --------------------------------------------------------------------------------------------
# Dispatcher
# --------------------------------------------------------------------------------------------


def _target_of(notifier: object) -> str:
    try:
        target = notifier.target  # type: ignore[attr-defined]
    except Exception:
        return type(notifier).__name__
    return target if isinstance(target, str) else type(notifier).__name__


def _guarded(
    notifier: object, call: Callable[..., DeliveryResult], *args: Any, **kwargs: Any
) -> DeliveryResult:
    """Run a notifier; a notifier that raises counts as a failed delivery."""
    try:
        result = call(*args, **kwargs)
    except Exception as exc:
        _log.error("notifier %s raised %s", _target_of(notifier), type(exc).__name__)
        return DeliveryResult(_target_of(notifier), False, 0, None, f"raised {type(exc).__name__}")
    if not isinstance(result, DeliveryResult):
        return DeliveryResult(_target_of(notifier), False, 0, None, "returned no DeliveryResult")
    return result


class Dispatcher:
    """Routes notices: ``page`` to every pager (with channel fallback), ``post`` to channels."""

    def __init__(
        self,
        channel: ChannelNotifier,
        pagers: Sequence[Pager] = (),
        slack: ChannelNotifier | None = None,
    ) -> None:
        self._channel = channel
        self._pagers: tuple[Pager, ...] = tuple(pagers)
        self._slack = slack

    @property
    def channel(self) -> ChannelNotifier:
        return self._channel

    @property
    def pagers(self) -> tuple[Pager, ...]:
        return self._pagers

    @property
    def slack(self) -> ChannelNotifier | None:
        return self._slack

    def __repr__(self) -> str:
        return (
            f"Dispatcher(channel={_target_of(self._channel)!r}, "
            f"pagers={[_target_of(p) for p in self._pagers]!r}, "
            f"slack={None if self._slack is None else _target_of(self._slack)!r})"
        )

    def page(self, notice: Notice) -> PageOutcome:
        """Send ``notice`` to every pager.

        If none accepts it (or none is configured), write it to the channel, and to Slack when
        configured, marked as a paging fallback. ``outcome.reason_code`` is then
        ``GOV_PAGING_SYSTEM_UNAVAILABLE``.
        """
        results = [_guarded(pager, pager.send, notice) for pager in self._pagers]
        if any(r.ok for r in results):
            return PageOutcome(delivered=True, fallback_used=False, results=results)
        if self._pagers:  # with none configured the channel is the plan, not a fallback
            _log.warning(
                "%s: no pager accepted notice for incident %s; using the incident channel",
                PAGING_UNAVAILABLE_CODE,
                _clean(notice.incident_id),
            )
        fallback = [self._post_one(c, notice, paging_fallback=True) for c in self._channels()]
        return PageOutcome(
            delivered=False, fallback_used=True, results=results, fallback_results=fallback
        )

    def post(self, notice: Notice) -> list[DeliveryResult]:
        """Post ``notice`` to the channel, then to Slack when configured."""
        return [self._post_one(c, notice, paging_fallback=False) for c in self._channels()]

    def _channels(self) -> list[ChannelNotifier]:
        return [self._channel] if self._slack is None else [self._channel, self._slack]

    @staticmethod
    def _post_one(
        channel: ChannelNotifier, notice: Notice, *, paging_fallback: bool
    ) -> DeliveryResult:
        return _guarded(channel, channel.send, notice, paging_fallback=paging_fallback)


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


_SECRET_CONFIG_FIELDS: Final = frozenset({"slack_webhook_url", "pagerduty_routing_key"})


def _redact_validation_error(exc: ValidationError) -> ValidationError:
    """A copy of ``exc`` whose per-error ``input`` never holds a secret.

    ``hide_input_in_errors`` only hides inputs in ``str(exc)``; ``exc.errors()`` still carries
    them, and error formatters (ours included) print them.
    """
    details: list[InitErrorDetails] = []
    for item in exc.errors(include_url=False):
        loc = item["loc"]
        value: Any = item.get("input")
        if loc and loc[0] in _SECRET_CONFIG_FIELDS:
            value = REDACTED
        elif isinstance(value, Mapping):
            value = {k: (REDACTED if k in _SECRET_CONFIG_FIELDS else v) for k, v in value.items()}
        detail: InitErrorDetails = {"type": item["type"], "loc": loc, "input": value}
        if "ctx" in item:
            detail["ctx"] = item["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(exc.title, details, hide_input=True)


class NotifierConfig(BaseModel):
    """Notifier settings. Secrets are ``SecretStr`` and are hidden in errors and reprs."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    channel_path: Path
    slack_webhook_url: SecretStr | None = None
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_url: str = PAGERDUTY_EVENTS_URL
    pagerduty_source: str = Field(default="polytraders", min_length=1, max_length=255)
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=1.0, ge=0, le=300)
    max_delay_s: float = Field(default=30.0, ge=0, le=600)

    def __init__(self, **data: Any) -> None:
        error: ValidationError | None = None
        try:
            super().__init__(**data)
        except ValidationError as exc:
            error = _redact_validation_error(exc)
        if error is not None:
            raise error  # raised outside the except block: no chained original

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> NotifierConfig:
        error: ValidationError | None = None
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            error = _redact_validation_error(exc)
        raise error

    @classmethod
    def model_validate_json(
        cls, json_data: str | bytes | bytearray, **kwargs: Any
    ) -> NotifierConfig:
        error: ValidationError | None = None
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            error = _redact_validation_error(exc)
        raise error

    @field_validator("slack_webhook_url")
    @classmethod
    def _check_slack_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _validate_endpoint(value.get_secret_value(), "slack_webhook_url")
        return value

    @field_validator("pagerduty_routing_key")
    @classmethod
    def _check_routing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("pagerduty_routing_key must not be blank")
        return value

    @field_validator("pagerduty_url")
    @classmethod
    def _check_pagerduty_url(cls, value: str) -> str:
        _validate_endpoint(value, "pagerduty_url")
        return value


def build_dispatcher(
    config: NotifierConfig,
    *,
    sleep: Sleep = time.sleep,
    client: httpx.Client | None = None,
) -> Dispatcher:
    """A :class:`Dispatcher` with a :class:`FileChannel` plus Slack/PagerDuty when configured."""
    slack: SlackWebhook | None = None
    if config.slack_webhook_url is not None:
        slack = SlackWebhook(
            config.slack_webhook_url,
            timeout_s=config.timeout_s,
            retries=config.retries,
            backoff_s=config.backoff_s,
            sleep=sleep,
            client=client,
            max_delay_s=config.max_delay_s,
        )
    pagers: list[Pager] = []
    if config.pagerduty_routing_key is not None:
        pagers.append(
            PagerDutyEvents(
                config.pagerduty_routing_key,
                url=config.pagerduty_url,
                timeout_s=config.timeout_s,
                retries=config.retries,
                backoff_s=config.backoff_s,
                sleep=sleep,
                client=client,
                source=config.pagerduty_source,
                max_delay_s=config.max_delay_s,
            )
        )
    return Dispatcher(FileChannel(config.channel_path), pagers, slack)
