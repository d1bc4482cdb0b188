"""Typed wire objects: every contract the system journals, plus JSON Schema export."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from polytraders.contracts.base import BUILDER_CODE, SCHEMA_VERSION, Contract
from polytraders.contracts.decisions import DecisionRecord, DecisionStep
from polytraders.contracts.events import (
    ApiDegraded,
    ChainRead,
    ChainTransfer,
    Checkpoint,
    ConfigDrift,
    DivergenceItem,
    Incident,
    KillSwitchEvent,
    Note,
    OperatorCommand,
    ReconcileAdjustment,
    ReconcileMismatch,
    ReconcileReport,
    Scope,
)
from polytraders.contracts.health import ApiHealthSummary, BotExplanation, BotHealthStatus
from polytraders.contracts.market import BookLevel, MarketSnapshot, OrderBookSnapshot
from polytraders.contracts.order_batch import BatchedOrderRecord, OrderBatch
from polytraders.contracts.orders import (
    ExecutionPlan,
    FillRecord,
    OrderIntent,
    OrderRecord,
    PlannedOrder,
    PositionRecord,
    RiskConstraints,
    RiskVote,
    SignedOrderRequest,
)
from polytraders.contracts.transfers import Transfer
from polytraders.contracts.trust import FREE_TEXT_MAX, Genesis, JournalDigest, OperatorKey, OperatorRecord

CONTRACTS: tuple[type[Contract], ...] = (
    OrderIntent,
    RiskVote,
    RiskConstraints,
    ExecutionPlan,
    PlannedOrder,
    DecisionRecord,
    DecisionStep,
    SignedOrderRequest,
    OrderRecord,
    OrderBatch,
    BatchedOrderRecord,
    FillRecord,
    PositionRecord,
    MarketSnapshot,
    OrderBookSnapshot,
    BookLevel,
    KillSwitchEvent,
    Scope,
    ApiDegraded,
    ReconcileMismatch,
    DivergenceItem,
    ChainRead,
    ChainTransfer,
    ReconcileAdjustment,
    ConfigDrift,
    OperatorCommand,
    OperatorRecord,
    Checkpoint,
    Note,
    Incident,
    Genesis,
    JournalDigest,
    BotHealthStatus,
    BotExplanation,
    ApiHealthSummary,
    Transfer,
)


def export_schemas(directory: Path) -> list[Path]:
    """Write one JSON Schema (draft 2020-12) per contract, plus the envelope; return the paths."""
    from polytraders.contracts.envelope import ReportEnvelope

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    models: tuple[type[BaseModel], ...] = (*CONTRACTS, ReportEnvelope)
    for model in models:
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://polytraders.dev/schemas/{model.__name__}.json"
        path = directory / f"{model.__name__}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


__all__ = [
    "BUILDER_CODE",
    "BatchedOrderRecord",
    "CONTRACTS",
    "SCHEMA_VERSION",
    "ApiDegraded",
    "ApiHealthSummary",
    "BookLevel",
    "BotExplanation",
    "BotHealthStatus",
    "Checkpoint",
    "ConfigDrift",
    "Contract",
    "DecisionRecord",
    "DecisionStep",
    "FREE_TEXT_MAX",
    "ExecutionPlan",
    "FillRecord",
    "Genesis",
    "Incident",
    "JournalDigest",
    "KillSwitchEvent",
    "MarketSnapshot",
    "Note",
    "OperatorCommand",
    "OperatorKey",
    "OperatorRecord",
    "OrderBookSnapshot",
    "OrderBatch",
    "OrderIntent",
    "OrderRecord",
    "PlannedOrder",
    "PositionRecord",
    "ReconcileMismatch",
    "ReconcileReport",
    "ReconcileAdjustment",
    "ChainRead",
    "ChainTransfer",
    "DivergenceItem",
    "RiskConstraints",
    "RiskVote",
    "Scope",
    "SignedOrderRequest",
    "Transfer",
    "export_schemas",
]
