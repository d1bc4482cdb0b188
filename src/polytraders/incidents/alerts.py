"""Alert confirmation and flap suppression (universal playbook step 1: "is it real?").

An :class:`AlertTracker` watches one alert condition, identified by ``key``, and is fed one
boolean observation per evaluation with the evaluation's time (``now_ms``; nothing here reads a
clock). It answers one of four states:

* ``clear``     — the condition is not active;
* ``pending``   — active, but not yet for a full ``confirm_window_ms`` of continuous activity;
* ``confirmed`` — active continuously for at least ``confirm_window_ms`` (a window of 0 confirms
  on the first active observation);
* ``flapping``  — the raw condition changed more than ``flap_threshold`` times within the last
  ``flap_window`` evaluations. Flapping is sticky: it ends only once a full window of
  ``flap_window`` evaluations passes with no change at all. While flapping, no page is due.

``page_due`` is true exactly on the evaluation that enters ``confirmed`` (from any other state,
including the end of a flapping spell), so a settled alert that is still real is re-paged once,
and a flapping one is never re-paged.

The caller journals the result: ``pending`` → ``GOV_ALERT_UNCONFIRMED``, ``confirmed`` →
``GOV_ALERT_CONFIRMED``, ``flapping`` → ``GOV_ALERT_FLAPPING`` (see :func:`reason_code_for`).

Protective actions that cannot wait do not go through a tracker at all: the kill switch trips
and cancels at once, and an already-tripped switch is a confirmed alert by definition
(``TRIP_CONFIRM_WINDOW_MS`` is 0). The incident that follows a trip therefore opens without a
confirmation delay; confirmation only gates paging and incidents for softer signals.
"""

from __future__ import annotations

from collections import deque
from typing import Final, Literal

AlertState = Literal["clear", "pending", "confirmed", "flapping"]

TRIP_CONFIRM_WINDOW_MS: Final = 0
"""A kill-switch trip has already happened; there is nothing left to confirm."""

_CODES: Final[dict[str, str]] = {
    "pending": "GOV_ALERT_UNCONFIRMED",
    "confirmed": "GOV_ALERT_CONFIRMED",
    "flapping": "GOV_ALERT_FLAPPING",
}


def reason_code_for(state: AlertState) -> str | None:
    """The code the caller journals for ``state``; ``None`` for ``clear`` (nothing to say)."""
    return _CODES.get(state)


class AlertTracker:
    """Confirm-window and flap tracking for one alert condition. Deterministic."""

    def __init__(
        self,
        key: str,
        confirm_window_ms: int,
        flap_window: int = 10,
        flap_threshold: int = 4,
    ) -> None:
        if confirm_window_ms < 0:
            raise ValueError("confirm_window_ms must be >= 0")
        if flap_window < 2:
            raise ValueError("flap_window must be at least 2 evaluations")
        if flap_threshold < 1:
            raise ValueError("flap_threshold must be at least 1")
        self.key = key
        self.confirm_window_ms = confirm_window_ms
        self.flap_window = flap_window
        self.flap_threshold = flap_threshold
        self._changes: deque[bool] = deque(maxlen=flap_window)
        self._last_active: bool | None = None
        self._active_since_ms: int | None = None
        self._last_ms: int | None = None
        self._flapping = False
        self.state: AlertState = "clear"
        self.page_due = False
        self.changed = False

    def observe(self, active: bool, now_ms: int) -> AlertState:
        """Feed one evaluation; return the new state (also kept in ``self.state``)."""
        if self._last_ms is not None and now_ms < self._last_ms:
            raise ValueError(f"alert {self.key}: time went backwards ({now_ms} < {self._last_ms})")
        self._last_ms = now_ms
        flipped = self._last_active is not None and active != self._last_active
        self._changes.append(flipped)
        self._last_active = active
        if active and (flipped or self._active_since_ms is None):
            self._active_since_ms = now_ms
        if not active:
            self._active_since_ms = None

        changes = sum(self._changes)
        if changes > self.flap_threshold:
            self._flapping = True
        elif self._flapping and changes == 0 and len(self._changes) == self.flap_window:
            self._flapping = False  # settled: a full window without a single change

        previous = self.state
        new: AlertState
        if self._flapping:
            new = "flapping"
        elif not active:
            new = "clear"
        else:
            assert self._active_since_ms is not None
            held = now_ms - self._active_since_ms
            new = "confirmed" if held >= self.confirm_window_ms else "pending"
        self.state = new
        self.changed = new != previous
        self.page_due = new == "confirmed" and previous != "confirmed"
        return new

    def recheck(self, now_ms: int) -> AlertState:
        """Re-evaluate a ``pending`` alert against the clock without counting an evaluation:
        the condition has not been observed again, so nothing flipped and the flap window is
        untouched. This is how a held alert becomes ``confirmed`` once its window has passed."""
        self.changed = self.page_due = False
        if self.state != "pending" or self._active_since_ms is None:
            return self.state
        if self._last_ms is not None and now_ms < self._last_ms:
            raise ValueError(f"alert {self.key}: time went backwards ({now_ms} < {self._last_ms})")
        if now_ms - self._active_since_ms >= self.confirm_window_ms:
            self.state = "confirmed"
            self.changed = self.page_due = True
        return self.state
