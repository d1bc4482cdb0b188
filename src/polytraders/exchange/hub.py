"""WebSocket fan-out: sessions, their subscriptions and bounded outgoing queues.

Each connection is a small explicit state machine (``OPEN -> SUBSCRIBED -> CLOSED``); a message
that is not legal in the current state closes the socket with 1008 rather than guessing what
the client meant.  Publishing never blocks the exchange: each session has a bounded queue, and a
client too slow to drain it is disconnected (1013) instead of stalling everyone else.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

QUEUE_LIMIT: Final = 2_000
CLOSE_POLICY: Final = 1008
CLOSE_SLOW: Final = 1013
CLOSE_RESTART: Final = 1012
CLOSE_IDLE: Final = 1001


class Sess(enum.Enum):
    OPEN = "open"
    SUBSCRIBED = "subscribed"
    CLOSED = "closed"


# (state, message kind) -> next state; anything missing is a protocol violation.
NEXT: Final[dict[tuple[Sess, str], Sess]] = {
    (Sess.OPEN, "ping"): Sess.OPEN,
    (Sess.OPEN, "subscribe"): Sess.SUBSCRIBED,
    (Sess.SUBSCRIBED, "ping"): Sess.SUBSCRIBED,
    (Sess.SUBSCRIBED, "subscribe"): Sess.SUBSCRIBED,
    (Sess.SUBSCRIBED, "operation"): Sess.SUBSCRIBED,
}


def next_state(state: Sess, kind: str) -> Sess:
    return NEXT.get((state, kind), Sess.CLOSED)


@dataclass(eq=False, slots=True)
class Session:
    channel: str  # "market" or "user"
    queue: asyncio.Queue[str | int] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    state: Sess = Sess.OPEN
    assets: set[str] = field(default_factory=set)
    owner: str = ""
    markets: set[str] = field(default_factory=set)  # empty = every market
    custom: bool = False  # custom_feature_enabled: best_bid_ask and market_resolved too

    def offer(self, item: str | int) -> bool:
        """Queue ``item`` (a text frame, or a close code); False if the client is too slow."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True


class Hub:
    """All live sessions.  ``publish_*`` are synchronous and never wait on a socket."""

    def __init__(self) -> None:
        self.sessions: set[Session] = set()

    def add(self, session: Session) -> None:
        self.sessions.add(session)

    def remove(self, session: Session) -> None:
        self.sessions.discard(session)

    def watched_assets(self) -> set[str]:
        return {a for s in self.sessions if s.channel == "market" for a in s.assets}

    def _deliver(self, session: Session, text: str) -> None:
        if not session.offer(text):
            self.close(session, CLOSE_SLOW)

    def publish_market(self, asset_id: str, text: str, *, custom_only: bool = False) -> None:
        for s in list(self.sessions):
            if s.channel == "market" and s.state is Sess.SUBSCRIBED and asset_id in s.assets and (
                    s.custom or not custom_only):
                self._deliver(s, text)

    def publish_user(self, owners: Iterable[str], market: str, text: str) -> None:
        wanted = set(owners)
        for s in list(self.sessions):
            if s.channel == "user" and s.state is Sess.SUBSCRIBED and s.owner in wanted and (
                    not s.markets or market in s.markets):
                self._deliver(s, text)

    def close(self, session: Session, code: int) -> None:
        session.state = Sess.CLOSED
        self.sessions.discard(session)
        while True:  # make room: a close must get through even to a full queue
            try:
                session.queue.put_nowait(code)
                return
            except asyncio.QueueFull:
                session.queue.get_nowait()

    def close_channel(self, channel: str, code: int = CLOSE_RESTART) -> int:
        victims = [s for s in self.sessions if s.channel == channel]
        for s in victims:
            self.close(s, code)
        return len(victims)
