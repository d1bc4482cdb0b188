"""Shared plumbing for the Risk guardrails: state lookup that fails closed, and vote builders.

Kept allocation-light on purpose: a guardrail's decide() should cost a few microseconds, so the
only model built per decision is the returned `RiskVote` (plus `RiskConstraints` on a reshape).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Context, Decimal
from typing import Any, Protocol, TypeVar, runtime_checkable

from polytraders.contracts import OrderIntent, RiskConstraints, RiskVote
from polytraders.contracts.reasons import registry
from polytraders.runtime.bot import Decision
from polytraders.runtime.context import BotContext
from polytraders.state.markets import MarketsProjection
from polytraders.state.portfolio import PortfolioProjection

SIZE_STEP = Decimal("0.01")
"""CLOB V2 rounds order sizes down to 2 decimals; a reshaped size must already be on that grid."""

T = TypeVar("T")


@runtime_checkable
class ReservationsView(Protocol):
    """What the guardrails read from the orders projection (name "orders")."""

    def reserved_pusd(self) -> Decimal: ...

    def reserved_shares(self, token_id: str) -> Decimal: ...


def projection(ctx: BotContext, name: str, cls: type[T]) -> T | None:
    """The named projection if registered and of the expected type, else None (fail closed)."""
    proj = ctx.state._projections.get(name)  # noqa: SLF001 - read-only lookup without raising
    return proj if isinstance(proj, cls) else None


def markets_of(ctx: BotContext) -> MarketsProjection | None:
    return projection(ctx, "markets", MarketsProjection)


def portfolio_of(ctx: BotContext) -> PortfolioProjection | None:
    return projection(ctx, "portfolio", PortfolioProjection)


def reservations_of(ctx: BotContext) -> ReservationsView | None:
    proj: Any = ctx.state._projections.get("orders")  # noqa: SLF001
    return proj if isinstance(proj, ReservationsView) else None


_DOWN = Context(prec=40, rounding=ROUND_DOWN)


def size_floor(size: Decimal) -> Decimal:
    return size.quantize(SIZE_STEP, rounding=ROUND_DOWN) if size > 0 else Decimal(0)


def size_that_fits(room_pusd: Decimal, price: Decimal) -> Decimal:
    """Largest size on the 0.01 grid with size x price <= room (division rounds down, so the
    product can never exceed the room)."""
    if room_pusd <= 0:
        return Decimal(0)
    return size_floor(_DOWN.divide(room_pusd, price))


def _message(code: str) -> str:
    entry = registry().get(code)
    return entry.meaning[:400] if entry is not None else code


def _observed(observed: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in observed.items()}


def approve(guard_id: str, intent: OrderIntent, **observed: object) -> Decision[RiskVote]:
    vote = RiskVote(guard_id=guard_id, intent_id=intent.intent_id, decision="APPROVE",
                    severity="INFO", reason_code="RISK_APPROVED",
                    message=_message("RISK_APPROVED"), observed=_observed(observed))
    return Decision(vote, "RISK_APPROVED", dict(observed))


def warn(guard_id: str, intent: OrderIntent, code: str, **observed: object) -> Decision[RiskVote]:
    vote = RiskVote(guard_id=guard_id, intent_id=intent.intent_id, decision="WARNING_ONLY",
                    severity="WARN", reason_code=code, message=_message(code),
                    observed=_observed(observed))
    return Decision(vote, code, dict(observed))


def reject(guard_id: str, intent: OrderIntent, code: str, **observed: object) -> Decision[RiskVote]:
    vote = RiskVote(guard_id=guard_id, intent_id=intent.intent_id, decision="REJECT",
                    severity="P1", reason_code=code, message=_message(code),
                    observed=_observed(observed))
    return Decision(vote, code, dict(observed))


def reshape(guard_id: str, intent: OrderIntent, code: str, max_size: Decimal,
            **observed: object) -> Decision[RiskVote]:
    vote = RiskVote(guard_id=guard_id, intent_id=intent.intent_id, decision="RESHAPE_REQUIRED",
                    severity="WARN", reason_code=code, message=_message(code),
                    constraints=RiskConstraints(max_size=max_size),
                    observed=_observed({**observed, "max_size": max_size}))
    return Decision(vote, code, {**observed, "max_size": max_size})
