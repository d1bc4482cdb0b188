"""The Bot interface every decision module implements.

A bot declares who it is (registry id, version, layer, class, authority), its parameters
(default / warning / hard) and the reason codes it may emit. `decide(input, ctx)` is pure in
(input, context, config): time comes from `ctx.now()`, state from `ctx.state`, never from the
wall clock, the network or the disk. It returns one `Decision`; the runtime turns every decision
into exactly one journaled envelope and applies mode and authority rules to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from polytraders.contracts import BotExplanation, BotHealthStatus, Contract
from polytraders.contracts.reasons import require_code
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer, Mode

I = TypeVar("I")  # noqa: E741
O = TypeVar("O", bound=Contract)  # noqa: E741


@dataclass(frozen=True, slots=True, init=False)
class Decision(Generic[O]):
    """What a bot decided: a typed output (or None) and the registry code that explains it."""

    output: O | None
    reason_code: str
    detail: dict[str, Any]

    def __init__(self, output: O | None, reason_code: str, detail: dict[str, Any] | None = None) -> None:
        # the generated frozen __init__'s fields, each set through its slot's descriptor: every
        # vote and every strategy decision builds one, and `object.__setattr__` (what a frozen
        # dataclass uses) costs twice as much
        _set_output(self, output)
        _set_reason_code(self, reason_code)
        _set_detail(self, {} if detail is None else detail)


_set_output = Decision.__dict__["output"].__set__
_set_reason_code = Decision.__dict__["reason_code"].__set__
_set_detail = Decision.__dict__["detail"].__set__


@dataclass(slots=True)
class BotStats:
    last_decision_ms: int | None = None
    decisions: int = 0
    errors: int = 0
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=10_000))


class Bot(ABC, Generic[I, O]):
    bot_id: ClassVar[str]
    version: ClassVar[str] = "0.1.0"
    layer: ClassVar[Layer]
    bot_class: ClassVar[str]
    authority: ClassVar[frozenset[Authority]]
    params: ClassVar[tuple[Param | Option, ...]] = ()
    reason_codes: ClassVar[tuple[str, ...]] = ()
    supported_modes: ClassVar[frozenset[Mode]] = frozenset(Mode)

    def __init__(self) -> None:
        self.mode: Mode = Mode.ENFORCED
        self.quarantine_scope: frozenset[str] = frozenset()
        self._config: BotConfig | None = None
        self.stats = BotStats()

    # -- lifecycle -------------------------------------------------------------------------

    def init(self, config: BotConfig) -> None:
        """Accept a validated config (the runtime refuses hard violations before this)."""
        if config.bot_id != self.bot_id:
            raise ValueError(f"config for {config.bot_id} given to {self.bot_id}")
        self._config = config
        self.on_init(config)

    def on_init(self, config: BotConfig) -> None:
        """Hook for bots that precompute from their config."""

    @property
    def config(self) -> BotConfig:
        if self._config is None:
            raise RuntimeError(f"bot {self.bot_id} used before init()")
        return self._config

    def set_mode(self, mode: Mode, scope: frozenset[str] = frozenset()) -> None:
        if mode not in self.supported_modes:
            raise ValueError(f"bot {self.bot_id} does not support mode {mode.value}")
        self.mode = mode
        self.quarantine_scope = scope if mode is Mode.QUARANTINE else frozenset()

    # -- decisions -------------------------------------------------------------------------

    @abstractmethod
    def decide(self, input: I, ctx: BotContext) -> Decision[O]: ...

    def explain(self, decision: Decision[O]) -> BotExplanation:
        """One plain-English paragraph; bots may override with a richer story."""
        code = require_code(decision.reason_code)
        facts = ", ".join(f"{k} {v}" for k, v in sorted(decision.detail.items())
                          if isinstance(v, str | int | Decimal))
        summary = code.user_message + (f" ({facts})" if facts else "")
        return BotExplanation(
            bot_id=self.bot_id, summary=summary, reason_code=decision.reason_code,
            detail={k: str(v) for k, v in decision.detail.items()},
        )

    def health(self, now_ms: int) -> BotHealthStatus:
        s = self.stats
        window = [t for t in s.recent if now_ms - t <= 60_000]
        rate = (Decimal(s.errors) * 100 / Decimal(s.decisions)) if s.decisions else Decimal(0)
        return BotHealthStatus(
            bot_id=self.bot_id,
            heartbeat_age_ms=max(0, now_ms - s.last_decision_ms) if s.last_decision_ms else 0,
            error_rate_pct=rate.quantize(Decimal("0.01")),
            decisions_last_minute=len(window),
            mode=self.mode.value,
            observed_at_ms=now_ms,
        )
