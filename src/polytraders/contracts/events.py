"""Protective and governance event contracts: kill switch, API health, reconcile, config drift,
operator commands and incidents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field

from polytraders.contracts.base import Contract, EpochMs

KillSwitchTrigger = Literal[
    "drawdown_intraday",
    "drawdown_weekly",
    "reject_rate",
    "feed_loss",
    "wallet_funding",
    "reconcile_mismatch",
    "venue_anomaly",
    "manual",
    "journal_tampering",
    "halt_file",
]
ScopeKind = Literal["global", "cluster", "strategy", "family", "bot", "market"]
Priority = Literal["P0", "P1", "P2", "P3"]


class Scope(Contract):
    """Where a protective action applies: everything, or one cluster/strategy/family/bot, or one
    market (`value` is its condition id)."""

    kind: ClassVar[str] = "scope"
    scope: ScopeKind = "global"
    value: str = Field(default="*", min_length=1, max_length=80)

    def label(self) -> str:
        return "global" if self.scope == "global" else f"{self.scope}:{self.value}"


class KillSwitchEvent(Contract):
    """A kill-switch trip or reset, with what caused it."""

    kind: ClassVar[str] = "killswitch_event"
    event: Literal["tripped", "reset"]
    trip_id: str
    trigger: KillSwitchTrigger
    scope: Scope
    observed: Decimal
    threshold: Decimal
    caused_by_seq: int | None = Field(default=None, ge=1)
    at_ms: EpochMs
    detail: dict[str, str] = Field(default_factory=dict)


class ApiDegraded(Contract):
    """GOV_API_DEGRADED / GOV_API_OK for one API surface."""

    kind: ClassVar[str] = "gov_api_health"
    surface: Literal["clob_rest", "clob_ws_market", "clob_ws_user", "gamma", "data_api", "rpc",
                     "builder_fee_oracle"]
    level: Literal["ok", "warning", "hard", "unknown"]
    previous: Literal["ok", "warning", "hard", "unknown", "none"] = "none"
    at_ms: EpochMs = 0
    latency_p50_ms: int | None = None
    latency_p99_ms: int | None = None
    error_rate_pct: Decimal | None = None
    last_success_ms: EpochMs | None = None


class ReconcileMismatch(Contract):
    """GOV_RECONCILE_MISMATCH: internal books versus chain."""

    kind: ClassVar[str] = "gov_reconcile"
    internal: dict[str, str]
    onchain: dict[str, str]
    last_block_number: int | None = None
    last_block_hash: str | None = None
    last_applied_seq: int = Field(ge=0)


class ConfigDrift(Contract):
    """GOV_CONFIG_DRIFT: one field whose running value differs from the approved one."""

    kind: ClassVar[str] = "gov_config_drift"
    bot_id: str
    field: str
    approved_value: str
    running_value: str
    authorised: bool = False


class OperatorCommand(Contract):
    """An authenticated operator's command; the running system acts on it and journals the result."""

    kind: ClassVar[str] = "operator_command"
    command: str = Field(min_length=1, max_length=80)
    args: dict[str, Any] = Field(default_factory=dict)
    role: str


class Note(Contract):
    """A decision with no typed output (e.g. STRAT_NO_EDGE), or a system fact with structured detail."""

    kind: ClassVar[str] = "note"
    detail: dict[str, Any] = Field(default_factory=dict)


class Incident(Contract):
    """An incident as opened or updated by the incident commander."""

    kind: ClassVar[str] = "incident"
    incident_id: str
    priority: Priority
    trigger: str
    status: Literal["open", "acknowledged", "resolved"]
    commander: str
    title: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Checkpoint(Contract):
    """Serialised projections up to `upto_seq`, so a restart need not read from seq 1."""

    kind: ClassVar[str] = "checkpoint"
    upto_seq: int = Field(ge=0)
    state: dict[str, Any]
