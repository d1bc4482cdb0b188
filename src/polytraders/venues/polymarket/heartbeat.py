"""The heartbeat loop: a safety interlock, not a courtesy.

Once we send heartbeats the exchange cancels all our orders when none arrives for ~10 s (plus up
to 5 s).  ``Heartbeat.beat`` sends one and echoes the id the venue returned (a stale id is
answered with the right one, which the REST layer adopts).  When no beat has succeeded for
``deadline_s`` the orders must be presumed cancelled: ``lost`` is set, the failure is logged
once (without any credential) and ``on_lost`` asks for an immediate reconciliation, which
reports the orders the venue no longer holds.  The next successful beat clears ``lost``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from polytraders.venues.base import OutcomeUnknown, VenueError

__all__ = ["Heartbeat"]

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, send: Callable[[str], str], deadline_s: float, clock: Callable[[], float],
                 on_lost: Callable[[], None]) -> None:
        self._send = send
        self._deadline_s = deadline_s
        self._clock = clock
        self._on_lost = on_lost
        self._id = ""
        self.last_ok: float | None = None
        self.lost = False

    def age_s(self) -> float | None:
        return None if self.last_ok is None else self._clock() - self.last_ok

    def beat(self) -> None:
        try:
            self._id = self._send(self._id)
        except (VenueError, OutcomeUnknown) as exc:
            last = self.last_ok
            # Before the first beat the dead-man switch is not armed: nothing can be lost yet.
            if last is not None and self._clock() - last >= self._deadline_s and not self.lost:
                self.lost = True
                log.error("polymarket heartbeat lost (%s): the exchange cancels our orders", type(exc).__name__)
                self._on_lost()
            return
        self.last_ok = self._clock()
        self.lost = False

    def run(self, stop: threading.Event, interval_s: float) -> None:
        while not stop.wait(interval_s):
            self.beat()
