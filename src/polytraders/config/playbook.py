"""The "config drift detected" playbook, as data (run by `incidents/engine.py`).

Trigger: `GOV_CONFIG_DRIFT` from `gov.config_drift_detector`. The trigger is `unauthorised`
when a new difference has no active override covering it, else `override`. After the universal
steps: identify the bot and field; then either revert the running config to the approved one
and record who made the change (unauthorised), or record the override holding for its time
bound with its approval request open (intentional, not yet approved). The override's expiry
(the approved value restored, an alert raised) is the runtime's (`config/driver.py`), because
it happens long after this run.
"""

from __future__ import annotations

from typing import Final

from polytraders.incidents.playbooks import STEP_RCA, Step, playbook, register_playbook

CONFIG_DRIFT_PLAYBOOK: Final = register_playbook(playbook(
    "config_drift",
    trigger_kinds=("GOV_CONFIG_DRIFT",),
    priority="P2",
    page_role="governance",
    title="Config drift detected",
    remedy=(
        Step("identify_drift", "Identify the bot and field: approved value, running value, who changed it, "
             "and the override covering it, if any", "auto", "identify_config_drift"),
        Step("revert_unauthorised", "No override covers it: revert the running config to the approved one and "
             "record who made the change", "auto", "revert_config_drift", when=frozenset({"unauthorised"})),
        Step("hold_override", "An approved override covers it: it holds for its time bound while its approval "
             "request is open ('polytraders config approvals'); on expiry the approved value is restored",
             "auto", "hold_config_override", when=frozenset({"override"})),
        Step("page_oncall", "Page the governance on-call", "auto", "page"),
        Step(STEP_RCA, "Find out why the config was changed outside the approved path (closed by the RCA)",
             "manual", required_for_resolve=False),
    ),
))
