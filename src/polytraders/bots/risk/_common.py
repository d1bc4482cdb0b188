"""Shared plumbing for the Risk guardrails: state lookup that fails closed, and vote builders.

Kept allocation-light on purpose: a guardrail's decide() should cost a few microseconds, so the
only model built per decision is the returned `RiskVote` (plus `RiskConstraints` on a reshape).
Votes are built with `own_vote` (`RiskVote.own` with positional fields), without a validation
pass: every value here is already typed (literal decisions and severities, registered codes and
their messages, observed values turned to strings), and `own_vote` still makes the checks a typed
call site cannot (a reshape carries constraints, the message fits). Outside data never reaches
this constructor.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Context, Decimal
from typing import Protocol, TypeVar, runtime_checkable

from polytraders.contracts import OrderIntent, RiskConstraints, RiskVote
from polytraders.contracts.orders import RiskDecision, VoteSeverity, own_vote
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
    proj = ctx.state.find(name)
    return proj if isinstance(proj, cls) else None


def markets_of(ctx: BotContext) -> MarketsProjection | None:
    return projection(ctx, "markets", MarketsProjection)


def portfolio_of(ctx: BotContext) -> PortfolioProjection | None:
    return projection(ctx, "portfolio", PortfolioProjection)


_VERIFIED_VIEWS: dict[int, ReservationsView] = {}


def reservations_of(ctx: BotContext) -> ReservationsView | None:
    proj: object = ctx.state.find("orders")
    if proj is None:
        return None
    # isinstance against a runtime Protocol costs microseconds; check each object once
    known = _VERIFIED_VIEWS.get(id(proj))
    if known is not None and known is proj:
        return known
    if not isinstance(proj, ReservationsView):
        return None
    if len(_VERIFIED_VIEWS) > 64:
        _VERIFIED_VIEWS.clear()
    _VERIFIED_VIEWS[id(proj)] = proj
    return proj


_DOWN = Context(prec=40, rounding=ROUND_DOWN)


def size_floor(size: Decimal) -> Decimal:
    return size.quantize(SIZE_STEP, rounding=ROUND_DOWN) if size > 0 else Decimal(0)


def size_that_fits(room_pusd: Decimal, price: Decimal) -> Decimal:
    """Largest size on the 0.01 grid with size x price <= room (division rounds down, so the
    product can never exceed the room)."""
    if room_pusd <= 0:
        return Decimal(0)
    return size_floor(_DOWN.divide(room_pusd, price))


_MESSAGES: dict[str, str] = {}


def _message(code: str) -> str:
    msg = _MESSAGES.get(code)
    if msg is None:
        entry = registry().get(code)
        if entry is None:
            raise ValueError(f"reason code {code!r} is not registered")
        msg = _MESSAGES[code] = entry.meaning[:400]
    return msg


def _vote(guard_id: str, intent: OrderIntent, decision: RiskDecision, severity: VoteSeverity,
          code: str, observed: dict[str, object],
          constraints: RiskConstraints | None = None) -> RiskVote:
    # a loop rather than a comprehension (which is a function call of its own): every
    # guardrail's every vote comes through here
    shown: dict[str, str] = {}
    for k, v in observed.items():
        shown[k] = str(v)
    return own_vote(guard_id, intent.intent_id, decision, severity, code, _message(code), constraints, shown)


def approve(guard_id: str, intent: OrderIntent, **observed: object) -> Decision[RiskVote]:
    return Decision(_vote(guard_id, intent, "APPROVE", "INFO", "RISK_APPROVED", observed),
                    "RISK_APPROVED", observed)


def warn(guard_id: str, intent: OrderIntent, code: str, **observed: object) -> Decision[RiskVote]:
    return Decision(_vote(guard_id, intent, "WARNING_ONLY", "WARN", code, observed), code,
                    observed)


def reject(guard_id: str, intent: OrderIntent, code: str, **observed: object) -> Decision[RiskVote]:
    return Decision(_vote(guard_id, intent, "REJECT", "P1", code, observed), code, observed)


def reshape(guard_id: str, intent: OrderIntent, code: str, max_size: Decimal,
            **observed: object) -> Decision[RiskVote]:
    if max_size <= 0:
        raise ValueError("a reshape must leave a positive size")
    observed["max_size"] = max_size
    constraints = RiskConstraints(max_size=max_size)
    return Decision(_vote(guard_id, intent, "RESHAPE_REQUIRED", "WARN", code, observed,
                          constraints), code, observed)
