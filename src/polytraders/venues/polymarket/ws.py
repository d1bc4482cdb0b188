"""The market and user WebSocket channels, run on a background thread with its own event loop.

Each ``Channel`` connects, sends its subscribe message, sends the text ``PING`` every
``ping_interval_s`` (the CLOB drops a silent client after ~10 s) and hands every frame to
``on_frame`` (decode + enqueue only; called on the WebSocket thread).  When the socket closes
or cannot be opened it reconnects with exponential backoff and full jitter, capped at
``reconnect_max_s``, and reports each (re)connection through ``on_state`` so the venue can mark
books "needs snapshot" and reconcile the user channel through REST (the CLOB does not replay
what was missed).  The subscribe message is built on each connect, so subscriptions added
meanwhile are replayed.

Channel states (``on_state``): ``connecting`` -> ``connected`` -> ``disconnected`` -> ...;
``closed`` once ``WsRunner.stop`` was called.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import WebSocketException

__all__ = ["Channel", "WsRunner"]

log = logging.getLogger(__name__)
# The websockets library logs every frame at DEBUG, and the user channel's subscribe frame holds
# the API secret: its logger for our sockets never goes below INFO.
_WIRE_LOG = logging.getLogger(__name__ + ".wire")
_WIRE_LOG.setLevel(logging.INFO)
_BACKOFF_START_S: Final = 0.1


@dataclass(slots=True)
class Channel:
    """One WebSocket subscription (``name`` is "market" or "user")."""

    name: str
    url: str
    subscribe: Callable[[], str]
    on_frame: Callable[[str, str], None]
    on_state: Callable[[str, str, int], None]
    ping_interval_s: float = 10.0
    reconnect_max_s: float = 30.0
    connects: int = 0
    _ws: ClientConnection | None = field(default=None, repr=False)


class WsRunner:
    """Owns the background thread and its asyncio loop; ``stop`` closes everything."""

    def __init__(self, channels: list[Channel]) -> None:
        self._channels = channels
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="polymarket-ws", daemon=True)
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._started.wait(5)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def kick(self, name: str) -> None:
        """Close one channel's socket now (it reconnects): used after a stale-feed finding."""
        for ch in self._channels:
            if ch.name == name and ch._ws is not None:
                self._loop.call_soon_threadsafe(_spawn, ch._ws.close())

    def send(self, name: str, text: str) -> None:
        """Send a frame on a connected channel (dynamic subscribe); dropped when disconnected:
        the next connect's subscribe message carries the full subscription anyway."""
        for ch in self._channels:
            if ch.name == name and ch._ws is not None:
                self._loop.call_soon_threadsafe(_spawn, _quiet_send(ch._ws, text))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stop = asyncio.Event()
        self._started.set()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        assert self._stop is not None
        tasks = [asyncio.create_task(self._keep(ch)) for ch in self._channels]
        await self._stop.wait()
        for ch in self._channels:
            if ch._ws is not None:
                with contextlib.suppress(Exception):
                    await ch._ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ch in self._channels:
            ch.on_state(ch.name, "closed", ch.connects)

    async def _keep(self, ch: Channel) -> None:
        assert self._stop is not None
        failures = 0
        while not self._stop.is_set():
            ch.on_state(ch.name, "connecting", ch.connects)
            try:
                async with websockets.connect(ch.url, ping_interval=None, open_timeout=5, close_timeout=1,
                                              max_size=2**24, logger=_WIRE_LOG) as ws:
                    ch._ws = ws
                    await ws.send(ch.subscribe())
                    ch.connects += 1
                    failures = 0
                    ch.on_state(ch.name, "connected", ch.connects)
                    pinger = asyncio.create_task(self._ping(ws, ch.ping_interval_s))
                    try:
                        async for frame in ws:
                            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                            if text != "PONG":
                                ch.on_frame(ch.name, text)
                    finally:
                        pinger.cancel()
            except (OSError, WebSocketException, TimeoutError) as exc:
                log.info("polymarket ws %s: %s", ch.name, type(exc).__name__)
            except Exception:  # noqa: BLE001 - a bug in a callback must not kill the channel
                log.exception("polymarket ws %s: unexpected error", ch.name)
            finally:
                ch._ws = None
            if self._stop.is_set():
                break
            ch.on_state(ch.name, "disconnected", ch.connects)
            # Full jitter: reconnecting clients do not stampede the venue together.
            delay = random.uniform(0, min(ch.reconnect_max_s, _BACKOFF_START_S * 2**failures))
            failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    @staticmethod
    async def _ping(ws: ClientConnection, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await _quiet_send(ws, "PING")


def _spawn(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.ensure_future(coro)


async def _quiet_send(ws: ClientConnection, text: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send(text)
