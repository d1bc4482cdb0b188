"""Bot self-reporting contracts: health and plain-English explanations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field

from polytraders.contracts.base import Contract, EpochMs

HealthMode = Literal["off", "shadow", "advisory", "enforced", "quarantine"]


class BotHealthStatus(Contract):
    kind: ClassVar[str] = "bot_health"
    bot_id: str
    heartbeat_age_ms: int = Field(ge=0)
    error_rate_pct: Decimal
    decisions_last_minute: int = Field(ge=0)
    mode: HealthMode
    observed_at_ms: EpochMs


class BotExplanation(Contract):
    kind: ClassVar[str] = "bot_explanation"
    bot_id: str
    summary: str = Field(min_length=1, max_length=1000)
    reason_code: str
    detail: dict[str, Any] = Field(default_factory=dict)
