"""Incident playbooks as data, run by the one engine in :mod:`polytraders.incidents.engine`.

A :class:`Playbook` names the alerts it answers (``trigger_kinds``: the reason code of the
triggering envelope, e.g. ``RISK_KILLSWITCH_TRIPPED``), its priority, the on-call role to page
and an ordered tuple of :class:`Step`. Every playbook starts with the same three universal
steps (confirm, capture state, open the incident and assign a commander); :func:`playbook`
prepends them so no playbook can put a remedy first.

A step is ``auto`` (the engine runs its ``action``) or ``manual`` (listed as pending until an
operator marks it done). ``when`` restricts a step to some triggers (the finer cause, e.g.
``drawdown_intraday``); a step whose condition does not hold is journaled as skipped.
``required_for_resolve=False`` marks a step an incident may be resolved without (the root-cause
investigation is closed by the RCA, which is due after resolution).

New playbooks (API degraded, reconcile mismatch, config drift) are added with
:func:`register_playbook`; :func:`playbook_for` finds the one answering a trigger kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

StepKind = Literal["auto", "manual"]
Phase = Literal["universal", "remedy"]
PagePriority = Literal["P0", "P1", "P2", "P3"]

# Universal step ids and the engine-owned actions behind them.
STEP_CONFIRM: Final = "confirm"
STEP_CAPTURE: Final = "capture_state"
STEP_OPEN: Final = "open_incident_and_assign_commander"
# Steps the system can check: each closes on its evidence (the journaled reset, the recorded
# RCA), never on an operator's note alone.
STEP_RCA: Final = "investigate_root_cause"
STEP_RESET: Final = "reset_kill_switch"


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    kind: StepKind
    action: str | None = None
    phase: Phase = "remedy"
    when: frozenset[str] | None = None
    required_for_resolve: bool = True

    def __post_init__(self) -> None:
        if self.kind == "auto" and not self.action:
            raise ValueError(f"auto step {self.id!r} needs an action")

    def applies_to(self, trigger: str) -> bool:
        return self.when is None or trigger in self.when

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "action": self.action,
            "phase": self.phase,
            "when": sorted(self.when) if self.when is not None else None,
            "required_for_resolve": self.required_for_resolve,
        }


UNIVERSAL_STEPS: Final[tuple[Step, ...]] = (
    Step(STEP_CONFIRM, "Confirm the alert is real (confirm window held, not flapping)",
         "auto", "confirm", "universal"),
    Step(STEP_CAPTURE, "Capture state before any remedy: positions, open orders, last 100 "
         "envelopes, block height, kill switch, modes, config versions",
         "auto", "capture_state", "universal"),
    Step(STEP_OPEN, "Open the incident channel and assign an incident commander from the "
         "on-call roster", "auto", "open_incident", "universal"),
)


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    trigger_kinds: frozenset[str]
    priority: PagePriority
    page_role: str
    steps: tuple[Step, ...]
    title: str = ""

    def __post_init__(self) -> None:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"playbook {self.name}: duplicate step ids")
        n = len(UNIVERSAL_STEPS)
        if self.steps[:n] != UNIVERSAL_STEPS or any(s.phase == "universal" for s in self.steps[n:]):
            raise ValueError(f"playbook {self.name}: must start with exactly the universal steps")

    @property
    def remedy_steps(self) -> tuple[Step, ...]:
        return self.steps[len(UNIVERSAL_STEPS):]

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


def playbook(name: str, *, trigger_kinds: Iterable[str], priority: PagePriority, page_role: str,
             remedy: Iterable[Step], title: str = "") -> Playbook:
    """Build a playbook whose steps are the universal ones followed by ``remedy``."""
    return Playbook(name, frozenset(trigger_kinds), priority, page_role,
                    UNIVERSAL_STEPS + tuple(remedy), title or name)


DRAWDOWN_TRIGGERS: Final = frozenset({"drawdown_intraday", "drawdown_weekly"})

KILL_SWITCH_PLAYBOOK: Final = playbook(
    "kill_switch",
    trigger_kinds=("RISK_KILLSWITCH_TRIPPED",),
    priority="P0",
    page_role="risk",
    title="Kill switch fired",
    remedy=(
        Step("page_oncall", "Page the on-call risk engineer", "auto", "page"),
        Step("confirm_nothing_in_flight", "Confirm via the OLM that no order is in flight "
             "(wait up to inflight_wait_s, then record what is still in flight)",
             "auto", "confirm_no_inflight"),
        Step("publish_positions_snapshot", "Publish a positions snapshot to the incident channel",
             "auto", "publish_positions", when=DRAWDOWN_TRIGGERS),
        Step("run_replay_last_hour", "Run replay-last-hour and record whether the kill switch "
             "fired correctly", "auto", "replay"),
        Step(STEP_RCA, "Investigate the root cause (closed by the RCA)",
             "manual", required_for_resolve=False),
        Step(STEP_RESET, "Two-person reset via polytraders killswitch "
             "request-reset/approve-reset, once the trigger condition is clear", "manual"),
    ),
)

RECONCILE_PLAYBOOK: Final = playbook(
    "reconcile_mismatch",
    trigger_kinds=("GOV_RECONCILE_MISMATCH",),
    priority="P0",
    page_role="security",
    title="On-chain reconcile mismatch",
    remedy=(
        Step("confirm_trade_halted", "Confirm the kill switch tripped (reconcile_mismatch, global) and every "
             "Trade-authority bot is off", "auto", "confirm_trade_halted"),
        Step("capture_divergence", "Capture the divergence record into the incident: per item the internal "
             "value, on-chain value, last-seen block number and hash, last-applied journal seq",
             "auto", "capture_divergence"),
        Step("page_security", "Page the security on-call", "auto", "page"),
        Step("confirm_nothing_in_flight", "Confirm via the OLM that no order is in flight",
             "auto", "confirm_no_inflight"),
        Step("run_replay_last_hour", "Run replay-last-hour and record whether the kill switch fired correctly",
             "auto", "replay"),
        Step("investigate_root_cause", "Investigate where the difference came from (closed by the RCA)",
             "manual", required_for_resolve=False),
        Step("record_reconciliation", "Record an explanation and the by-hand reconciliation: polytraders "
             "reconcile resolve INCIDENT --explain TEXT [--adjust TOKEN=AMOUNT ...]", "manual"),
        Step("approve_reconciliation", "A second operator (approver or admin, separation of duties) approves "
             "it: polytraders reconcile approve ADJUSTMENT", "manual"),
        Step("fresh_reconcile_matches", "Run polytraders reconcile until it reports GOV_RECONCILE_OK",
             "manual"),
        Step("reset_kill_switch", "Two-person reset via polytraders killswitch request-reset/approve-reset "
             "(refused until the three steps above are done)", "manual"),
    ),
)

PLAYBOOKS: dict[str, Playbook] = {}


def register_playbook(pb: Playbook) -> Playbook:
    if pb.name in PLAYBOOKS and PLAYBOOKS[pb.name] is not pb:
        raise ValueError(f"playbook {pb.name!r} registered twice")
    for other in PLAYBOOKS.values():
        if other is not pb and other.trigger_kinds & pb.trigger_kinds:
            raise ValueError(f"playbooks {other.name} and {pb.name} answer the same trigger kind")
    PLAYBOOKS[pb.name] = pb
    return pb


def playbook_for(trigger_kind: str) -> Playbook | None:
    return next((pb for pb in PLAYBOOKS.values() if trigger_kind in pb.trigger_kinds), None)


register_playbook(KILL_SWITCH_PLAYBOOK)
register_playbook(RECONCILE_PLAYBOOK)


# The config-drift playbook is data kept beside its actions (config/playbook.py); importing it
# here registers it wherever playbooks are looked up.
from polytraders.config import playbook as _config_playbook  # noqa: E402,F401


def playbook_for_trip(trigger: str) -> Playbook:
    """A kill-switch trip runs the playbook of its cause when it has one, else the kill-switch one."""
    return RECONCILE_PLAYBOOK if trigger == "reconcile_mismatch" else KILL_SWITCH_PLAYBOOK
