"""`replay --set BOT.PARAM=VALUE`, checked before anything runs.

Only the bots replay re-runs can be changed (the kill switch and the risk guardrails), only
their numeric parameters, and only to a value inside the parameter's hard limit: a what-if
that no running system could start with answers nothing. Every refusal names the allowed
parameters with their ranges (exit 2).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from polytraders.bots.risk.guardrails import GUARDRAILS_IN_ORDER
from polytraders.bots.risk.kill_switch import KillSwitch
from polytraders.errors import BadInputError
from polytraders.runtime.bot import Bot
from polytraders.runtime.config import Param

REPLAYED_BOTS: tuple[type[Bot[Any, Any]], ...] = (KillSwitch, *GUARDRAILS_IN_ORDER)


def numeric_params(bot: type[Bot[Any, Any]]) -> dict[str, Param]:
    return {p.name: p for p in bot.params if isinstance(p, Param)}


def allowed_range(p: Param) -> str:
    # "max" parameters are limits that trip when exceeded: 0 up to the hard limit; "min"
    # parameters are floors: the hard limit up
    return f"0..{p.hard}{p.unit}" if p.direction == "max" else f">= {p.hard}{p.unit}"


def allowed_text(bot: type[Bot[Any, Any]] | None = None) -> str:
    bots = REPLAYED_BOTS if bot is None else (bot,)
    return "; ".join(f"{b.bot_id}.{name} ({allowed_range(p)})"
                     for b in bots for name, p in sorted(numeric_params(b).items()))


def parse_sets(items: list[str]) -> dict[str, dict[str, Any]]:
    """`BOT.PARAM=VALUE` items to {bot_id: {param: value}}, each checked (BadInputError, exit 2)."""
    by_id = {b.bot_id: b for b in REPLAYED_BOTS}
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        bot_id, dot, name = key.strip().rpartition(".")
        if not eq or not dot or not bot_id or not name or not raw.strip():
            raise BadInputError(f"--set {item[:120]!r}: expected BOT_ID.PARAM=VALUE, for example "
                                f"risk.kill_switch.drawdown_intraday_pct=6.")
        bot = by_id.get(bot_id)
        if bot is None:
            raise BadInputError(f"--set {item[:120]!r}: replay re-runs only {', '.join(by_id)}; the parameters "
                                f"it can change are: {allowed_text()}.")
        spec = numeric_params(bot).get(name)
        if spec is None:
            raise BadInputError(f"--set {item[:120]!r}: {bot_id} has no parameter {name!r}; its parameters are: "
                                f"{allowed_text(bot)}.")
        out.setdefault(bot_id, {})[name] = _value(item, bot, spec, raw.strip())
    return out


def _value(item: str, bot: type[Bot[Any, Any]], spec: Param, raw: str) -> int | Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    whole = isinstance(spec.default, int)
    if not value.is_finite() or (whole and value != value.to_integral_value()):
        raise BadInputError(f"--set {item[:120]!r}: {raw[:40]!r} is not {'a whole' if whole else 'a'} number; "
                            f"{bot.bot_id}.{spec.name} takes {allowed_range(spec)}.")
    inside = (0 <= value <= spec.hard) if spec.direction == "max" else value >= spec.hard
    if not inside:
        raise BadInputError(f"--set {item[:120]!r}: {value}{spec.unit} is outside the hard limit; "
                            f"{bot.bot_id}.{spec.name} takes {allowed_range(spec)} (default {spec.default}). "
                            f"Allowed parameters of {bot.bot_id}: {allowed_text(bot)}.")
    return int(value) if whole else value
