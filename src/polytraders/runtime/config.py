"""Bot configuration: every numeric parameter has a default, a warning and a hard limit.

`Param(direction="max")` is a ceiling where a larger value is riskier (a drawdown limit, a book
age); `direction="min"` is a floor where a smaller value is riskier (a cash reserve). A value
past `hard` refuses to start, naming bot, field, value and limit; a value past `warning` starts
but is reported (a `GOV_CONFIG_WARNING` envelope at load and a warning flag on every decision).
`Option` holds non-numeric settings (lists, flags, names) validated by type only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from polytraders.errors import ConfigError

Number = int | Decimal


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: Number
    warning: Number
    hard: Number
    direction: Literal["max", "min"] = "max"
    unit: str = ""
    doc: str = ""

    def __post_init__(self) -> None:
        ordered = (
            self.default <= self.warning <= self.hard
            if self.direction == "max"
            else self.default >= self.warning >= self.hard
        )
        if not ordered:
            raise ValueError(f"param {self.name}: default/warning/hard out of order")

    def breach(self, value: Number) -> Literal["ok", "warning", "hard"]:
        if self.direction == "max":
            return "hard" if value > self.hard else "warning" if value > self.warning else "ok"
        return "hard" if value < self.hard else "warning" if value < self.warning else "ok"


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    default: Any
    doc: str = ""


@dataclass(frozen=True, slots=True)
class ConfigWarning:
    bot_id: str
    field: str
    value: str
    warning: str
    hard: str


class BotConfig(BaseModel):
    """A bot's validated configuration. Values are exact: ints, Decimals, or typed options."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    bot_id: str
    config_version: str
    values: dict[str, Any]
    warnings: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def num(self, name: str) -> Decimal:
        return Decimal(self.values[name])

    def integer(self, name: str) -> int:
        return int(self.values[name])


def _coerce(bot_id: str, spec: Param, raw: Any) -> Number:
    if isinstance(raw, bool | float):
        raise ConfigError(
            f"Config for bot {bot_id}: field '{spec.name}' got {raw!r}; expected an exact number "
            f"(an integer or a decimal string such as \"0.05\"), never a float or boolean.",
        )
    try:
        value: Number = raw if isinstance(raw, int) else Decimal(str(raw))
    except InvalidOperation:
        raise ConfigError(
            f"Config for bot {bot_id}: field '{spec.name}' got {raw!r}; expected a number.",
        ) from None
    if isinstance(value, Decimal) and not value.is_finite():
        raise ConfigError(f"Config for bot {bot_id}: field '{spec.name}' must be finite, got {raw!r}.")
    if isinstance(spec.default, int) and isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ConfigError(
                f"Config for bot {bot_id}: field '{spec.name}' got {raw!r}; expected a whole number.",
            )
        value = int(value)
    return value


def build_config(
    bot_id: str,
    specs: Sequence[Param | Option],
    overrides: Mapping[str, Any] | None = None,
    *,
    config_version: str = "1",
) -> tuple[BotConfig, list[ConfigWarning]]:
    """Merge overrides onto defaults, validate, and classify each numeric value."""
    by_name = {s.name: s for s in specs}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(by_name))
    if unknown:
        raise ConfigError(
            f"Config for bot {bot_id} has unknown field(s) {', '.join(unknown)}; known fields are "
            f"{', '.join(sorted(by_name)) or '(none)'}.",
        )
    values: dict[str, Any] = {}
    warnings: list[ConfigWarning] = []
    for spec in specs:
        raw = overrides.get(spec.name, spec.default)
        if isinstance(spec, Option):
            if isinstance(spec.default, tuple) and isinstance(raw, list):
                raw = tuple(raw)  # JSON and TOML give lists
            if spec.name in overrides and not isinstance(raw, type(spec.default)):
                raise ConfigError(
                    f"Config for bot {bot_id}: field '{spec.name}' got {raw!r}; expected a "
                    f"{type(spec.default).__name__}.",
                )
            values[spec.name] = raw
            continue
        value = _coerce(bot_id, spec, raw)
        level = spec.breach(value)
        limit_word = "above" if spec.direction == "max" else "below"
        if level == "hard":
            raise ConfigError(
                f"Refusing to start bot {bot_id}: field '{spec.name}' = {value}{spec.unit} is "
                f"{limit_word} its hard limit {spec.hard}{spec.unit} (warning at {spec.warning}, "
                f"default {spec.default}).",
                code="GOV_CONFIG_WARNING",
            )
        if level == "warning":
            warnings.append(
                ConfigWarning(bot_id, spec.name, str(value), str(spec.warning), str(spec.hard))
            )
        values[spec.name] = value
    config = BotConfig(
        bot_id=bot_id,
        config_version=config_version,
        values=values,
        warnings=tuple(w.field for w in warnings),
    )
    return config, warnings


def config_as_json(config: BotConfig) -> dict[str, Any]:
    """Config values as JSON that `build_config` accepts back unchanged (numbers as strings)."""
    out: dict[str, Any] = {}
    for k, v in config.values.items():
        if isinstance(v, bool) or v is None or isinstance(v, str):
            out[k] = v
        elif isinstance(v, int | Decimal):
            out[k] = str(v)
        elif isinstance(v, tuple):
            out[k] = [str(x) if isinstance(x, Decimal) else x for x in v]
        else:
            out[k] = str(v)
    return out


def last_loaded_values(entries: Iterable[Any], bot_id: str) -> dict[str, Any] | None:
    """The config values a running system last journaled for `bot_id` (GOV_CONFIG_LOADED)."""
    found = None
    for entry in entries:
        d = entry.envelope.payload.get("detail", {})
        if entry.envelope.reason_code == "GOV_CONFIG_LOADED" and d.get("bot_id") == bot_id:
            found = d["values"]
    return found
