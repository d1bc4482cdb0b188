"""Which bots have approved parameters, and the one way their values are checked.

The bots are those the running system builds (`engine/system.py`). Values are validated by the
runtime's own `build_config` (unknown field, not a number, past the hard limit: each one
paragraph naming bot and field), so a value the CLI accepts is a value a running system can
start with. Values are compared in their canonical JSON form (`config_as_json`).

Some fields belong to the runtime, not to the approved config (as Argo CD's
`ignoreDifferences` names fields other controllers own): the wallet the permission guard
allows is the order-signing key's address, and the API surfaces depend on the venue. They are
left out of the approved files and out of drift, and cannot be edited.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from polytraders.errors import BadInputError, ConfigError
from polytraders.replay.sets import allowed_range
from polytraders.runtime.bot import Bot
from polytraders.runtime.config import Option, Param, build_config, config_as_json

MAX_VALUE_CHARS = 2_000
RUNTIME_OWNED: frozenset[tuple[str, str]] = frozenset({
    ("sec.wallet_permission_guard", "allowed_wallets"),
    ("gov.api_degradation_monitor", "surfaces"),
})


def system_bots() -> dict[str, type[Bot[Any, Any]]]:
    """Every bot class the running system may build, by id."""
    from polytraders.bots.exec.order_lifecycle_manager import OrderLifecycleBot
    from polytraders.bots.exec.smart_router import SmartRouter
    from polytraders.bots.gov.api_degradation_monitor import ApiDegradationMonitor
    from polytraders.bots.gov.config_drift_detector import ConfigDriftDetector
    from polytraders.bots.gov.reconciler import Reconciler
    from polytraders.bots.risk.guardrails import GUARDRAILS_IN_ORDER
    from polytraders.bots.risk.kill_switch import KillSwitch
    from polytraders.bots.sec.checks import SECURITY_CHECKS_IN_ORDER
    from polytraders.bots.strat.maker_tight import MakerTight

    classes: tuple[type[Bot[Any, Any]], ...] = (KillSwitch, *GUARDRAILS_IN_ORDER, SmartRouter,
                                                *SECURITY_CHECKS_IN_ORDER, MakerTight, OrderLifecycleBot,
                                                ApiDegradationMonitor, ConfigDriftDetector, Reconciler)
    return {c.bot_id: c for c in classes}


def owned(bot_id: str, field: str) -> bool:
    return (bot_id, field) in RUNTIME_OWNED


def bot_class(bot_id: str) -> type[Bot[Any, Any]]:
    bots = system_bots()
    cls = bots.get(bot_id)
    if cls is None:
        raise BadInputError(f"There is no bot {bot_id[:80]!r} in the running system; bots with approved "
                            f"parameters are: {', '.join(sorted(bots))}.", code="GOV_CONFIG_UNKNOWN_FIELD")
    return cls


def editable_fields(cls: type[Bot[Any, Any]]) -> dict[str, Param | Option]:
    return {p.name: p for p in cls.params if not owned(cls.bot_id, p.name)}


def norm(value: Any) -> Any:
    """The canonical form values are journaled and compared in: numbers as exact text,
    booleans as booleans, lists of canonical items (as `config_as_json` writes them)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [norm(v) for v in value]
    return str(value)


def to_config(bot_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical values back to what `build_config` takes (an integer option from its text)."""
    cls = system_bots().get(bot_id)
    specs = {p.name: p for p in cls.params} if cls is not None else {}
    out = dict(values)
    for name, value in values.items():
        spec = specs.get(name)
        if isinstance(spec, Option) and type(spec.default) is int and isinstance(value, str):
            with contextlib.suppress(ValueError):  # build_config names the bad value
                out[name] = int(value)
    return out


def canonical(bot_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate `values` (a bot's fields, defaults for the rest) and return them canonically,
    without runtime-owned fields. ConfigError names the bad field."""
    cls = bot_class(bot_id)
    config, _ = build_config(bot_id, cls.params, to_config(bot_id, values))
    return {k: norm(v) for k, v in config_as_json(config).items() if not owned(bot_id, k)}


def defaults(bot_id: str) -> dict[str, Any]:
    return canonical(bot_id, {})


def parse_value(bot_id: str, field: str, raw: str) -> Any:
    """A CLI value for `bot_id.field`: numbers stay text (exact), a list or a boolean is read as
    TOML. Unknown fields and runtime-owned ones are refused, naming the editable fields."""
    cls = bot_class(bot_id)
    fields = editable_fields(cls)
    if owned(bot_id, field):
        raise BadInputError(f"{bot_id}.{field} is set by the runtime, not by the approved config; editable "
                            f"fields of {bot_id}: {', '.join(sorted(fields))}.", code="GOV_CONFIG_UNKNOWN_FIELD")
    spec = fields.get(field)
    if spec is None:
        raise BadInputError(f"{bot_id} has no field {field[:80]!r}; its fields are: {', '.join(sorted(fields))}.",
                            code="GOV_CONFIG_UNKNOWN_FIELD")
    text = raw.strip()
    if len(text) > MAX_VALUE_CHARS:
        raise BadInputError(f"The value for {bot_id}.{field} is {len(text)} characters long; a config value is at "
                            f"most {MAX_VALUE_CHARS}.", code="GOV_CONFIG_INVALID_VALUE")
    if isinstance(spec, Param):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def check_change(bot_id: str, base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied, validated; the canonical values of the changed fields.
    A value past its hard limit or of the wrong type is refused (BadInputError, its reason code)."""
    try:
        full = canonical(bot_id, {**base, **changes})
    except ConfigError as exc:
        code = "GOV_CONFIG_HARD_LIMIT" if "hard limit" in exc.message else "GOV_CONFIG_INVALID_VALUE"
        raise BadInputError(exc.message, code=code) from None
    specs = {p.name: p for p in bot_class(bot_id).params}
    for name in changes:
        spec = specs.get(name)
        # a limit is a ceiling from 0 (as replay's --set takes it): a negative one is a typo, not a policy
        if isinstance(spec, Param) and spec.direction == "max" and Decimal(full[name]) < 0:
            raise BadInputError(f"{bot_id}.{name} = {full[name]} is outside its allowed range "
                                f"{allowed_range(spec)} (default {spec.default}).", code="GOV_CONFIG_HARD_LIMIT")
    return {k: full[k] for k in changes}


def file_problems(bot_id: str, table: Mapping[str, Any]) -> list[str]:
    """What is wrong with one approved file (empty: nothing): unknown bot or field, a value the
    runtime would refuse. Used by `config check` and by the runtime before it trusts a file."""
    bots = system_bots()
    if bot_id not in bots:
        return [f"bots/{bot_id}.toml: there is no bot {bot_id!r} in the running system"]
    problems = []
    for field in table:
        if owned(bot_id, field):
            problems.append(f"bots/{bot_id}.toml: field '{field}' is set by the runtime and may not be approved")
    try:
        canonical(bot_id, {k: v for k, v in table.items() if not owned(bot_id, k)})
    except ConfigError as exc:
        problems.append(f"bots/{bot_id}.toml: {exc.message}")
    return problems
