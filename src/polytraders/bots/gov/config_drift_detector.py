"""gov.config_drift_detector — does every running bot config match the approved one?

Purpose: compare each running bot's config (as loaded, plus live edits, reverts and overrides)
with the approved config (the approved branch of the config repository, as the runtime last
journaled it) and name every difference: bot, field, approved value, running value, who changed
it, and whether an active override covers it. It only observes; the "config drift" playbook
reverts or holds.
Inputs: `DriftCheck` (why the check runs: startup, deploy, interval, or a config envelope) and
the `config` projection, fed by the runtime's input envelopes `GOV_CONFIG_APPROVED_VERSION`
(commit id, content hash, values) and `GOV_CONFIG_SOURCE_INVALID`. Bots never read git.
Outputs (one note per check):
  GOV_CONFIG_DRIFT — a difference not in the last report (every current difference listed,
  new ones flagged); GOV_CONFIG_DRIFT_ONGOING — the same differences as last time;
  GOV_CONFIG_DRIFT_RESOLVED — the last report's differences closed; GOV_CONFIG_IN_SYNC —
  nothing differs; GOV_CONFIG_DRIFT_UNKNOWN — the approved source cannot be read or is
  invalid: never a match, whatever the running config holds.
When it checks: at startup and every deploy, on every config envelope, and every
`check_interval_s`.
Parameters (default / warning / hard):
  check_interval_s 300 / 600 / 3600 (s);
  max_override_ttl_s 7200 / 14400 / 86400 (s): the longest time an operator override may hold.
Reason codes: GOV_CONFIG_DRIFT, GOV_CONFIG_DRIFT_ONGOING, GOV_CONFIG_DRIFT_RESOLVED,
GOV_CONFIG_IN_SYNC, GOV_CONFIG_DRIFT_UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polytraders.contracts import Note
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer


@dataclass(frozen=True, slots=True)
class DriftCheck:
    reason: str  # startup | deploy | interval | config_entry
    seq: int = 0  # the entry that caused it, for a config_entry check


def _key(d: dict[str, Any]) -> tuple[str, str, str]:
    return (str(d["bot_id"]), str(d["field"]), repr(d["running"]))


def describe(d: dict[str, Any]) -> str:
    how = f"override {d['override_id']}" if d.get("override_id") else "no override: unauthorised"
    return (f"{d['bot_id']}.{d['field']}: approved {d['approved']}, running {d['running']} "
            f"(changed by {d['changed_by']} via {d['changed_via']}; {how})")


class ConfigDriftDetector(Bot[DriftCheck, Note]):
    bot_id = "gov.config_drift_detector"
    version = "0.1.0"
    layer = Layer.GOVERNANCE
    bot_class = "Governance Service"
    authority = frozenset({Authority.OBSERVE, Authority.EXPLAIN})
    params = (
        Param("check_interval_s", 300, 600, 3600, unit="s", doc="Seconds between scheduled checks."),
        Param("max_override_ttl_s", 7200, 14400, 86400, unit="s", doc="Longest time an override may hold."),
    )
    reason_codes = ("GOV_CONFIG_DRIFT", "GOV_CONFIG_DRIFT_ONGOING", "GOV_CONFIG_DRIFT_RESOLVED",
                    "GOV_CONFIG_IN_SYNC", "GOV_CONFIG_DRIFT_UNKNOWN")

    def decide(self, input: DriftCheck, ctx: BotContext) -> Decision[Note]:
        from polytraders.config.projection import ConfigProjection

        proj = ctx.state.typed("config", ConfigProjection)
        base: dict[str, Any] = {"check": input.reason, "caused_by_seq": input.seq}
        if proj.approved is None or proj.source_error is not None:
            error = proj.source_error or "no approved version has been read"
            return Decision(None, "GOV_CONFIG_DRIFT_UNKNOWN", {
                **base, "error": error, "approved_commit": (proj.approved or {}).get("commit"),
                "summary": f"approved config unknown: {error}; this is not a match"})
        base.update(approved_commit=proj.approved["commit"], content_hash=proj.approved["content_hash"])
        drifts = proj.drifts()
        before = {_key(d) for d in proj.reported}
        if not drifts:
            if proj.reported:
                return Decision(None, "GOV_CONFIG_DRIFT_RESOLVED", {
                    **base, "drifts": [], "closed": proj.reported,
                    "summary": "resolved: " + "; ".join(f"{d['bot_id']}.{d['field']}" for d in proj.reported)})
            return Decision(None, "GOV_CONFIG_IN_SYNC", {**base, "drifts": [], "summary": "running = approved"})
        new = [d for d in drifts if _key(d) not in before]
        for d in drifts:
            d["new"] = _key(d) not in before
        if not new:
            return Decision(None, "GOV_CONFIG_DRIFT_ONGOING", {
                **base, "drifts": drifts, "summary": f"{len(drifts)} difference(s) still open"})
        return Decision(None, "GOV_CONFIG_DRIFT", {
            **base, "drifts": drifts, "unauthorised": sum(1 for d in new if not d["authorised"]),
            "summary": "; ".join(describe(d) for d in new)})
