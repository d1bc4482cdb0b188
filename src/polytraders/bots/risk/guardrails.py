"""The Risk guardrails in their declared pipeline order (risk.kill_switch runs before all)."""

from __future__ import annotations

from typing import Any

from polytraders.bots.risk.compliance_gate import ComplianceGate
from polytraders.bots.risk.drawdown_guard import DrawdownGuard
from polytraders.bots.risk.exposure_guard import ExposureGuard
from polytraders.bots.risk.market_halt_guard import MarketHaltGuard
from polytraders.bots.risk.stale_book_guard import StaleBookGuard
from polytraders.bots.risk.wallet_funding_guard import WalletFundingGuard
from polytraders.runtime.bot import Bot

GUARDRAILS_IN_ORDER: tuple[type[Bot[Any, Any]], ...] = (
    MarketHaltGuard,
    ComplianceGate,
    StaleBookGuard,
    WalletFundingGuard,
    DrawdownGuard,
    ExposureGuard,
)

__all__ = [
    "GUARDRAILS_IN_ORDER",
    "ComplianceGate",
    "DrawdownGuard",
    "ExposureGuard",
    "MarketHaltGuard",
    "StaleBookGuard",
    "WalletFundingGuard",
]
