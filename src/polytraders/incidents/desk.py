"""The alert desk: universal playbook step 1 ("is it real?") in the running system.

Every alert source goes through here: the kill switch (every trip, whatever tripped it — a
guardrail, the reconciler's mismatch, the halt file, an operator's CLI), the API degradation
monitor (``GOV_API_DEGRADED`` / ``GOV_API_OK``), and through both of them the reconciler (a
mismatch trips the switch; an unreachable node degrades the ``rpc`` surface). Each alert key has
an :class:`AlertTracker`; each change of its state is put to ``gov.incident_commander``, whose
decision is journaled (``GOV_ALERT_CONFIRMED`` / ``GOV_ALERT_UNCONFIRMED`` /
``GOV_ALERT_FLAPPING``), and an incident opens only on a confirmed alert whose page is due. A
flapping alert opens nothing and pages nobody; a pending one is rechecked every turn
(:meth:`AlertDesk.tick`) and opens once it has held for ``confirm_window_s``.

Protective actions never wait for this: the guardian cancels and halts the moment a trip is
folded, before the desk hears of it. A trip's confirm window is 0 (it has happened and its
protection is done) but it still goes through the flap tracker, so a trigger that trips and is
reset over and over stops opening incidents and paging.

The desk also takes the as-of-trigger picture for step 2: a listener runs right after each
trigger entry is folded, before any remedy, so the state read then is the state as of that seq.
It reads the state then and keeps what it read (frozen records, copies of what folds change in
place); turning that into JSON waits until the protective action is done, off the trip path.

Time comes only from the runtime's clock (deterministic in the demo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from polytraders.bots.gov.incident_commander import TRIP_KIND, AlertInput, IncidentCommander
from polytraders.incidents.alerts import TRIP_CONFIRM_WINDOW_MS, AlertState, AlertTracker
from polytraders.incidents.engine import PlaybookRunner
from polytraders.incidents.snapshot import HeldPicture, hold_as_of_now
from polytraders.journal.base import JournalEntry
from polytraders.runtime.kinds import Mode
from polytraders.runtime.runner import Runtime

API_DEGRADED: Final = "GOV_API_DEGRADED"
API_OK: Final = "GOV_API_OK"
MAX_HELD_PICTURES: Final = 256  # as-of-trigger pictures kept for alerts not yet confirmed

Opener = Callable[[JournalEntry, "Confirmation"], str | None]


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the incident engine needs from step 1."""

    key: str
    state: AlertState
    confirm_window_ms: int
    decided_seq: int | None
    as_of_trigger: dict[str, Any] | None


@dataclass
class _Held:
    entry: JournalEntry
    trigger_kind: str
    trigger: str
    opener: Opener


def trip_key(entry: JournalEntry) -> str:
    p = entry.envelope.payload
    scope = p.get("scope") or {}
    label = "global" if scope.get("scope") == "global" else f"{scope.get('scope')}:{scope.get('value')}"
    return f"kill_switch:{p.get('trigger')}:{label}"


class AlertDesk:
    def __init__(self, runtime: Runtime, runner: PlaybookRunner, commander: IncidentCommander) -> None:
        self.rt = runtime
        self.runner = runner
        self.commander = commander
        self.trackers: dict[str, AlertTracker] = {}
        self.held: dict[str, _Held] = {}  # key -> the latest trigger waiting for confirmation
        self.pictures: dict[int, HeldPicture] = {}  # trigger seq -> state as of it
        self._cleared: list[tuple[str, int]] = []  # (key, at ms) from resets, observed at tick
        runtime.listeners.append(self._on_entry)

    # -- the listener: reads only ----------------------------------------------------------------

    def _on_entry(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.kind == "killswitch_event":
            if env.payload.get("event") == "tripped":
                self._picture(entry)
            elif env.payload.get("event") == "reset":
                self._cleared.append((trip_key(entry), self.rt.clock.now_ms()))
        elif env.reason_code == API_DEGRADED:
            self._picture(entry)

    def _picture(self, entry: JournalEntry) -> None:
        if len(self.pictures) >= MAX_HELD_PICTURES:
            self.pictures.pop(next(iter(self.pictures)))
        self.pictures[entry.seq] = hold_as_of_now(self.rt)  # written out when an incident needs it

    # -- sources ---------------------------------------------------------------------------------

    def tracker(self, key: str, *, trip: bool) -> AlertTracker:
        t = self.trackers.get(key)
        if t is None:
            cfg = self.commander.config
            window = TRIP_CONFIRM_WINDOW_MS if trip else cfg.integer("confirm_window_s") * 1000
            t = self.trackers[key] = AlertTracker(key, window, flap_window=cfg.integer("flap_window"),
                                                  flap_threshold=cfg.integer("flap_threshold"))
        return t

    def on_trip(self, entry: JournalEntry) -> str | None:
        """A trip, after the guardian protected it: confirm (flap-checked), then the playbook."""
        def open_trip(e: JournalEntry, c: Confirmation) -> str | None:
            return self.runner.handle_trip(e, alert_state=c.state, alert_key=c.key,
                                           confirm_window_ms=c.confirm_window_ms,
                                           decided_seq=c.decided_seq, as_of_trigger=c.as_of_trigger)
        if self.runner.incidents.get(self.runner.incident_id_for(entry)) is not None:
            return None  # already opened (a restart, or the operator's CLI when no system ran)
        return self.alert(trip_key(entry), entry, TRIP_KIND, str(entry.envelope.payload.get("trigger")),
                          active=True, opener=open_trip, trip=True)

    def alert(self, key: str, entry: JournalEntry, trigger_kind: str, trigger: str, *, active: bool,
              opener: Opener, trip: bool = False) -> str | None:
        """One observation of an alert condition; returns the incident id when one opened."""
        tracker = self.tracker(key, trip=trip)
        tracker.observe(active, self.rt.clock.now_ms())
        if active:
            self.held[key] = _Held(entry, trigger_kind, trigger, opener)
        elif tracker.state == "clear":
            self.held.pop(key, None)
        # a new trip, or a new alert while flapping, is put to the commander even when the
        # tracker's state did not change: the journal says why nothing opened
        return self._settle(key, tracker, force=active and (trip or tracker.state == "flapping"))

    def clear(self, key: str) -> None:
        """The condition is gone (an API surface back to ok, a trip reset)."""
        tracker = self.trackers.get(key)
        if tracker is None:
            return
        tracker.observe(False, self.rt.clock.now_ms())
        if tracker.state == "clear":
            self.held.pop(key, None)
        elif tracker.changed:  # it went flapping on this change: say so once
            self._settle(key, tracker)

    def tick(self, now_ms: int) -> list[str]:
        """Observe resets; promote pending alerts whose window has passed; open their incidents."""
        opened: list[str] = []
        while self._cleared:
            key, _ = self._cleared.pop(0)
            self.clear(key)
        for key, tracker in list(self.trackers.items()):
            if tracker.state == "pending" and tracker.recheck(now_ms) == "confirmed":
                inc = self._settle(key, tracker)
                if inc is not None:
                    opened.append(inc)
        return opened

    # -- deciding --------------------------------------------------------------------------------

    def _settle(self, key: str, tracker: AlertTracker, *, force: bool = False) -> str | None:
        """Put a changed state (or a new trip) to the commander; open when it says so."""
        held = self.held.get(key)
        if held is None or not (tracker.changed or tracker.page_due or force):
            return None
        if tracker.state == "clear":
            return None
        decided_seq, open_incident = self._decide(key, tracker, held, tracker.page_due or force)
        if not open_incident or tracker.state != "confirmed":
            return None
        self.held.pop(key, None)
        picture = self.pictures.pop(held.entry.seq, None)
        confirmation = Confirmation(key, "confirmed", tracker.confirm_window_ms, decided_seq,
                                    picture.picture() if picture is not None else None)
        return held.opener(held.entry, confirmation)

    def _decide(self, key: str, tracker: AlertTracker, held: _Held, page_due: bool) -> tuple[int | None, bool]:
        alert = AlertInput(key=key, trigger_kind=held.trigger_kind, trigger=held.trigger,
                           state=tracker.state, page_due=page_due, source_seq=held.entry.seq)
        if self.commander.mode is Mode.OFF:  # nobody to ask: the tracker's word stands
            return None, tracker.state == "confirmed"
        out = self.rt.decide(self.commander, alert, correlation_id=f"alert_{held.entry.seq}")
        detail = out.decision.detail if out.decision is not None else {}
        seq = out.entry.seq if out.entry is not None else None
        return seq, bool(detail.get("open_incident"))
