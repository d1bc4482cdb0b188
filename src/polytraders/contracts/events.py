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


class DivergenceItem(Contract):
    """One item where the internal ledger and the chain disagree beyond tolerance."""

    kind: ClassVar[str] = "divergence_item"
    item: str  # "pusd" or an outcome token id
    internal: Decimal  # the ledger: confirmed fills, transfers and approved adjustments
    onchain: Decimal
    in_flight: Decimal = Decimal(0)  # MATCHED/MINED fills that may or may not have settled yet
    difference: Decimal  # on-chain minus internal


class ReconcileMismatch(Contract):
    """GOV_RECONCILE_OK / GOV_RECONCILE_MISMATCH / GOV_RECONCILE_UNAVAILABLE: internal books versus
    chain at one block. On a mismatch `items` is the divergence record; `internal`/`onchain` hold
    every compared value. `last_applied_seq` is the last journal entry the ledger had folded."""

    kind: ClassVar[str] = "gov_reconcile"
    status: Literal["match", "mismatch", "unavailable"] = "mismatch"
    priority: Priority = "P0"  # a mismatch pages at P0; unavailable P1; a match P3
    address: str = ""
    internal: dict[str, str]
    onchain: dict[str, str]
    items: list[DivergenceItem] = Field(default_factory=list)
    last_block_number: int | None = None
    last_block_hash: str | None = None
    last_applied_seq: int = Field(ge=0)
    chain_read_seq: int | None = None
    error: str | None = None


ReconcileReport = ReconcileMismatch


class ChainRead(Contract):
    """What the reconciler's driver read from the chain (an input: replay never calls RPC).
    `status` is 'ok' with balances pinned to one block, or why there are none."""

    kind: ClassVar[str] = "chain_read"
    status: Literal["ok", "unreachable", "reorged"]
    address: str
    block_number: int | None = None
    block_hash: str | None = None
    block_ts_ms: int | None = None
    latest_block: int | None = None
    confirmations: int = 0
    pusd: Decimal | None = None
    outcome: dict[str, Decimal] = Field(default_factory=dict)
    error: str | None = None


class ChainTransfer(Contract):
    """A deposit or withdrawal of collateral or shares: explicit, so any other change is unexplained."""

    kind: ClassVar[str] = "chain_transfer"
    direction: Literal["deposit", "withdrawal"]
    item: str = "pusd"  # "pusd" or an outcome token id
    amount: Decimal = Field(gt=0)
    address: str = ""
    tx_hash: str | None = None
    reference: str = Field(default="", max_length=200)


class ReconcileAdjustment(Contract):
    """A by-hand reconciliation for an incident: an explanation and signed corrections (item ->
    signed amount added to the ledger). It counts only once a second operator approves it."""

    kind: ClassVar[str] = "reconcile_adjustment"
    adjustment_id: str
    incident_id: str
    explain: str = Field(min_length=1, max_length=2000)
    adjustments: dict[str, Decimal] = Field(default_factory=dict)
    requester: str


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

    def to_json_dict(self) -> dict[str, Any]:
        # `state` is the projections' own snapshots, JSON-native already (a test checks this
        # equals model_dump(mode="json")); walking megabytes of it through pydantic was half
        # of every checkpoint's cost
        return {"schema_version": self.schema_version, "upto_seq": self.upto_seq, "state": self.state}
