"""gov.incident_commander — decides which playbook answers an alert, and whether it is real.

Purpose: map one alert observation to a playbook decision: which playbook (by the triggering
reason code), whether the alert is confirmed, still pending, or flapping, and so whether an
incident opens and a page is due. Pure and deterministic; the side effects (state capture,
paging, the incident channel, every step) belong to `incidents.engine.PlaybookRunner`.
Inputs: `AlertInput` — alert key, trigger kind (the triggering envelope's reason code, e.g.
RISK_KILLSWITCH_TRIPPED, GOV_API_DEGRADED), trigger (the finer cause, e.g. drawdown_intraday),
the `AlertTracker` state the caller observed, whether a page is due, and the source seq.
A kill-switch trip has a confirm window of 0 (it has already happened, and its protection —
cancels and halts — is done before the alert reaches here), but it is flap-checked like any
alert: a trigger that trips and is reset over and over is FLAPPING and opens nothing. The
running system feeds this bot through `incidents.desk.AlertDesk`.
Outputs: no contract; a note whose detail holds playbook, priority, page_role, open_incident,
page and the confirm window in force.
Parameters (default / warning / hard):
  confirm_window_s      0 / 120 / 600   how long a soft alert must hold before it is real
  flap_window           10 / 30 / 100   evaluations looked back over for flapping
  flap_threshold        4 / 2 / 1       state changes in the window that make it flapping
                                        (a floor: lower suppresses more pages)
  require_rca_within_h  24 / 48 / 72    hours after resolution before the RCA is overdue
  inflight_wait_s       5 / 15 / 30     how long the playbook waits for in-flight orders
Reason codes: GOV_ALERT_CONFIRMED, GOV_ALERT_UNCONFIRMED, GOV_ALERT_FLAPPING.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from polytraders.contracts import Note
from polytraders.incidents.alerts import TRIP_CONFIRM_WINDOW_MS, AlertState
from polytraders.incidents.playbooks import playbook_for
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer

TRIP_KIND: Final = "RISK_KILLSWITCH_TRIPPED"


@dataclass(frozen=True, slots=True)
class AlertInput:
    key: str
    trigger_kind: str
    trigger: str
    state: AlertState
    page_due: bool = False
    source_seq: int | None = None


# (state) -> (reason code, open an incident?) — page only when the tracker says one is due.
_DECISIONS: Final[dict[str, tuple[str, bool]]] = {
    "confirmed": ("GOV_ALERT_CONFIRMED", True),
    "pending": ("GOV_ALERT_UNCONFIRMED", False),
    "clear": ("GOV_ALERT_UNCONFIRMED", False),
    "flapping": ("GOV_ALERT_FLAPPING", False),
}


class IncidentCommander(Bot[AlertInput, Note]):
    bot_id = "gov.incident_commander"
    version = "0.1.0"
    layer = Layer.GOVERNANCE
    bot_class = "Governance Service"
    authority = frozenset({Authority.OBSERVE, Authority.EXPLAIN})
    params = (
        Param("confirm_window_s", 0, 120, 600, unit="s",
              doc="How long a soft alert must hold continuously before it is confirmed."),
        Param("flap_window", 10, 30, 100,
              doc="Evaluations looked back over when counting state changes."),
        Param("flap_threshold", 4, 2, 1, direction="min",
              doc="More state changes than this within the window marks the alert flapping."),
        Param("require_rca_within_h", 24, 48, 72, unit="h",
              doc="Hours after resolution before a missing RCA is overdue."),
        Param("inflight_wait_s", 5, 15, 30, unit="s",
              doc="How long the kill-switch playbook waits for in-flight orders to settle."),
    )
    reason_codes = ("GOV_ALERT_CONFIRMED", "GOV_ALERT_UNCONFIRMED", "GOV_ALERT_FLAPPING")

    def decide(self, input: AlertInput, ctx: BotContext) -> Decision[Note]:
        is_trip = input.trigger_kind == TRIP_KIND
        state: AlertState = input.state
        code, open_incident = _DECISIONS[state]
        pb = playbook_for(input.trigger_kind)
        window_ms = TRIP_CONFIRM_WINDOW_MS if is_trip else ctx.config.integer(
            "confirm_window_s") * 1000
        detail: dict[str, object] = {
            "alert_key": input.key,
            "trigger_kind": input.trigger_kind,
            "trigger": input.trigger,
            "state": state,
            "confirm_window_ms": window_ms,
            "source_seq": input.source_seq,
            "playbook": pb.name if pb else None,
            "priority": pb.priority if pb else None,
            "page_role": pb.page_role if pb else None,
            # with no playbook there is nothing to run: say so instead of guessing a remedy
            "open_incident": open_incident and pb is not None,
            "page": input.page_due and state == "confirmed",
        }
        if pb is None and state == "confirmed":
            detail["note"] = "no playbook answers this trigger kind; handle it by hand"
        return Decision(None, code, detail)
