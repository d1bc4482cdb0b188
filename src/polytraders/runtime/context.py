"""What a bot may see while deciding: time, its config, read-only state and the kill switch."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from polytraders.runtime.clock import Clock
from polytraders.runtime.config import BotConfig

if TYPE_CHECKING:
    from polytraders.state.kill_switch import KillSwitchProjection
    from polytraders.state.store import StateStore


class BotContext(NamedTuple):
    """Injected per decision. Bots read time only through `now()`.

    Immutable; a named tuple rather than a frozen dataclass because one is built for every
    decision and a frozen dataclass costs several times more to build.

    `state` is the live projection store; bots must treat it as read-only (the runtime is the
    only writer, through the journal).
    """

    clock: Clock
    config: BotConfig
    state: StateStore
    kill_switch: KillSwitchProjection
    correlation_id: str | None
    builder_code: str

    def now(self) -> int:
        return self.clock.now_ms()

    @property
    def kill_switch_active(self) -> bool:
        return self.kill_switch.tripped
