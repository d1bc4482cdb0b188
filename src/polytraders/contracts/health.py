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


class ApiHealthSummary(Contract):
    """One API surface's figures over the monitor's windows, journaled every summary interval
    and at every level change, so the monitor's decisions replay from the journal."""

    kind: ClassVar[str] = "gov_api_summary"
    surface: str = Field(min_length=1, max_length=40)
    at_ms: EpochMs
    short_window_ms: int = Field(ge=1)
    long_window_ms: int = Field(ge=1)
    samples_short: int = Field(ge=0)
    errors_short: int = Field(ge=0)
    error_rate_short_pct: Decimal = Field(ge=0, le=100)
    error_rate_long_pct: Decimal = Field(ge=0, le=100)
    p50_ms: int | None = Field(default=None, ge=0)
    p99_ms: int | None = Field(default=None, ge=0)
    throttled: int = Field(default=0, ge=0)
    restarting: int = Field(default=0, ge=0)
    unavailable: int = Field(default=0, ge=0)
    last_success_ms: EpochMs | None = None
    last_sample_ms: EpochMs | None = None
