"""Fixtures for the notifier tests: a real, scriptable HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from polytraders.incidents.notifiers import Notice


@dataclass(frozen=True)
class Reply:
    """One scripted answer of the receiver."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0


@dataclass(frozen=True)
class Recorded:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    json: Any


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 that records requests and plays a script of replies.

    When the script runs out, every further request gets ``default``.
    """

    def __init__(self, default: Reply) -> None:
        self.default = default
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    parsed: Any = json.loads(raw)
                except ValueError:
                    parsed = None
                reply = receiver._record_and_next(
                    Recorded(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        raw=raw,
                        json=parsed,
                    )
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # keep test output quiet (and the secret paths out of stderr)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _record_and_next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            return self._script.pop(0) if self._script else self.default

    @staticmethod
    def reply(
        status: int,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        delay_s: float = 0.0,
    ) -> Reply:
        """A scripted answer (so tests need not import this module)."""
        return Reply(status, dict(headers or {}), body, delay_s)

    def script(self, *replies: Reply | int) -> None:
        with self._lock:
            self._script = [r if isinstance(r, Reply) else Reply(r) for r in replies]

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def bodies(self) -> list[Any]:
        return [r.json for r in self.requests]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that answers 202 (PagerDuty style) unless scripted otherwise."""
    rx = Receiver(
        Reply(
            202,
            {"Content-Type": "application/json"},
            b'{"status":"success","message":"Event processed"}',
        )
    )
    rx.start()
    try:
        yield rx
    finally:
        rx.stop()


@pytest.fixture
def slack_receiver() -> Iterator[Receiver]:
    """A receiver that answers like Slack: 200 ``ok``."""
    rx = Receiver(Reply(200, {"Content-Type": "text/plain"}, b"ok"))
    rx.start()
    try:
        yield rx
    finally:
        rx.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


class SleepRecorder:
    """An injectable sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def build_notice(**overrides: Any) -> Notice:
    values: dict[str, Any] = {
        "incident_id": "inc-20260102-001",
        "priority": "P0",
        "title": "Kill switch tripped: intraday drawdown",
        "body": "Intraday drawdown reached 5.2% against a 5.0% limit. All trading is halted.",
        "fields": {"trigger": "intraday_drawdown", "observed": "5.2%", "threshold": "5.0%"},
        "action": "trigger",
        "dedup_key": "polytraders/inc-20260102-001",
        "ts_ms": 1_767_323_045_678,
    }
    values.update(overrides)
    return Notice(**values)


@pytest.fixture
def make_notice() -> Callable[..., Notice]:
    """A factory for notices: ``make_notice(action="resolve")``."""
    return build_notice


@pytest.fixture
def notice() -> Notice:
    return build_notice()
