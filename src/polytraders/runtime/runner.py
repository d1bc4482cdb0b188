"""The runtime: turns every bot decision into exactly one journaled envelope.

The runtime, not the bots, enforces the rules:
- authority: only Trade-authority bots may emit an `OrderIntent`; a REJECT vote needs a blocking
  authority (Pause/Reject/Veto) and a RESHAPE vote a reshaping one; Governance never blocks.
  A violation is journaled as `GOV_AUTHORITY_VIOLATION` and the output is discarded;
- modes: `off` skips the call; `shadow` journals and discards; `advisory` journals and passes
  votes on as WARNING_ONLY and never submits; `quarantine` rejects intents touching its scope and
  lets everything else through;
- failures: a bot that raises is journaled as `GOV_BOT_ERROR`; a Risk or Security bot that
  fails counts as a REJECT (fail closed);
- config: hard limit breaches refuse to start; warning breaches are journaled at load and flagged
  on every decision envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from polytraders.contracts import (
    BUILDER_CODE,
    Contract,
    ExecutionPlan,
    Note,
    OrderIntent,
    RiskVote,
)
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.contracts.reasons import Severity, require_code
from polytraders.journal.base import Journal, JournalEntry
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.clock import Clock
from polytraders.runtime.config import build_config, config_as_json
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import BLOCKING, RESHAPING, Authority, Layer, Mode
from polytraders.state.kill_switch import KillSwitchProjection
from polytraders.state.modes import ModesProjection
from polytraders.state.store import StateStore

O = TypeVar("O", bound=Contract)
SYSTEM = Actor(kind="system", id="runtime")
_FAIL_CLOSED_LAYERS = frozenset({Layer.RISK, Layer.SECURITY})


@dataclass(frozen=True, slots=True)
class Outcome(Generic[O]):
    """A decision after the runtime's rules: `effective` is what downstream may act on."""

    decision: Decision[O] | None
    entry: JournalEntry | None
    effective: O | None
    blocked: bool = False


def bot_actor(bot: Bot[Any, Any]) -> Actor:
    return Actor(kind="bot", id=bot.bot_id)


class Runtime:
    def __init__(
        self,
        journal: Journal,
        clock: Clock,
        state: StateStore | None = None,
        *,
        builder_code: str = BUILDER_CODE,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.state = state or StateStore()
        for proj in (KillSwitchProjection(), ModesProjection()):
            if self.state.find(proj.name) is None:
                self.state.add(proj)
        self.kill_switch = self.state.typed("kill_switch", KillSwitchProjection)
        self.builder_code = builder_code
        self.bots: dict[str, Bot[Any, Any]] = {}
        # Called with every entry after it is folded into state (own appends and polled ones).
        self.listeners: list[Callable[[JournalEntry], None]] = []

    # -- recording -------------------------------------------------------------------------

    def record(
        self,
        contract: Contract,
        *,
        actor: Actor,
        reason_code: str,
        correlation_id: str | None = None,
        durable: bool = False,
        config_version: str = "0",
        mode: str | None = None,
        severity: Severity | None = None,
        config_warnings: tuple[str, ...] = (),
    ) -> JournalEntry:
        """Append one envelope and fold it into state. `durable` before any side effect."""
        envelope = ReportEnvelope.wrap(
            contract,
            actor=actor,
            reason_code=reason_code,
            ts_ms=self.clock.now_ms(),
            correlation_id=correlation_id,
            config_version=config_version,
            mode=mode,
            kill_switch="tripped" if self.kill_switch.tripped else "armed",
            severity=severity,
            config_warnings=config_warnings,
        )
        entry = self.journal.append(envelope, durable=durable)
        self.state.apply(entry)
        for listener in self.listeners:
            listener(entry)
        return entry

    def poll(self) -> int:
        """Fold entries other processes appended (operator commands, trips, resets)."""
        applied = 0
        for entry in self.journal.read(self.state.last_seq + 1):
            self.state.apply(entry)
            for listener in self.listeners:
                listener(entry)
            applied += 1
        return applied

    def note(self, reason_code: str, *, actor: Actor = SYSTEM, durable: bool = False,
             correlation_id: str | None = None, **detail: Any) -> JournalEntry:
        return self.record(Note(detail=detail), actor=actor, reason_code=reason_code,
                           durable=durable, correlation_id=correlation_id)

    # -- bots ------------------------------------------------------------------------------

    def add_bot(
        self,
        bot: Bot[Any, Any],
        overrides: dict[str, Any] | None = None,
        *,
        config_version: str = "1",
        mode: Mode = Mode.ENFORCED,
    ) -> Bot[Any, Any]:
        """Validate config (refusing hard breaches), init the bot and journal its mode."""
        config, warnings = build_config(bot.bot_id, bot.params, overrides,
                                        config_version=config_version)
        bot.init(config)
        self.bots[bot.bot_id] = bot
        self.note("GOV_CONFIG_LOADED", bot_id=bot.bot_id, config_version=config_version,
                  values=config_as_json(config))
        for w in warnings:
            self.note("GOV_CONFIG_WARNING", bot_id=w.bot_id, field=w.field, value=w.value,
                      warning=w.warning, hard=w.hard)
        self.set_mode(bot.bot_id, mode)
        return bot

    def set_mode(self, bot_id: str, mode: Mode, *, actor: Actor = SYSTEM,
                 scope: frozenset[str] = frozenset(), reason: str = "") -> None:
        bot = self.bots[bot_id]
        bot.set_mode(mode, scope)
        self.note("GOV_MODE_CHANGED", actor=actor, bot_id=bot_id, mode=mode.value,
                  scope=sorted(scope), reason=reason)

    def context(self, bot: Bot[Any, Any], correlation_id: str | None) -> BotContext:
        return BotContext(
            clock=self.clock,
            config=bot.config,
            state=self.state,
            kill_switch=self.kill_switch,
            correlation_id=correlation_id,
            builder_code=self.builder_code,
        )

    def decide(self, bot: Bot[Any, O], input: Any, *, correlation_id: str | None = None) -> Outcome[O]:
        if bot.mode is Mode.OFF:
            return Outcome(None, None, None)
        actor = bot_actor(bot)
        common: dict[str, Any] = {
            "actor": actor,
            "correlation_id": correlation_id,
            "config_version": bot.config.config_version,
            "mode": bot.mode.value,
            "config_warnings": bot.config.warnings,
        }
        if bot.mode is Mode.QUARANTINE and _touches(input, bot.quarantine_scope):
            vote = RiskVote(guard_id=bot.bot_id, intent_id=input.intent_id, decision="REJECT",
                            severity="WARN", reason_code="RISK_QUARANTINED",
                            message="The intent touches a quarantined scope.")
            entry = self.record(vote, reason_code="RISK_QUARANTINED", **common)
            return Outcome(Decision(vote, "RISK_QUARANTINED"), entry, vote, blocked=True)  # type: ignore[arg-type]
        now = self.clock.now_ms()
        try:
            decision = bot.decide(input, self.context(bot, correlation_id))
            require_code(decision.reason_code)
        except Exception as exc:  # a bot bug must never escape the event loop
            bot.stats.errors += 1
            entry = self.record(
                Note(detail={"bot_id": bot.bot_id, "error": type(exc).__name__,
                             "message": str(exc)[:200]}),
                reason_code="GOV_BOT_ERROR", **common,
            )
            return Outcome(None, entry, None, blocked=bot.layer in _FAIL_CLOSED_LAYERS)
        bot.stats.decisions += 1
        bot.stats.last_decision_ms = now
        bot.stats.recent.append(now)

        violation = _authority_violation(bot, decision.output)
        if violation is not None:
            entry = self.record(
                Note(detail={"bot_id": bot.bot_id, "violation": violation,
                             "attempted_reason_code": decision.reason_code}),
                reason_code="GOV_AUTHORITY_VIOLATION", **common,
            )
            return Outcome(decision, entry, None, blocked=bot.layer in _FAIL_CLOSED_LAYERS)

        contract: Contract = decision.output if decision.output is not None else Note(
            detail=decision.detail)
        entry = self.record(contract, reason_code=decision.reason_code, **common)
        effective, blocked = _apply_mode(bot, decision.output)
        return Outcome(decision, entry, effective, blocked)


def _touches(input: Any, scope: frozenset[str]) -> bool:
    if not isinstance(input, OrderIntent):
        return False
    return bool({input.market_id, input.strategy_id, input.token_id} & scope)


def _authority_violation(bot: Bot[Any, Any], output: Contract | None) -> str | None:
    if output is None:
        return None
    if isinstance(output, OrderIntent) and Authority.TRADE not in bot.authority:
        return "emitted an OrderIntent without Trade authority"
    if isinstance(output, RiskVote):
        if bot.layer is Layer.GOVERNANCE and output.decision in ("REJECT", "RESHAPE_REQUIRED"):
            return "a Governance bot tried to block or reshape"
        if output.decision == "REJECT" and not (bot.authority & BLOCKING):
            return "voted REJECT without a blocking authority"
        if output.decision == "RESHAPE_REQUIRED" and not (bot.authority & RESHAPING):
            return "voted RESHAPE_REQUIRED without Reshape authority"
    if isinstance(output, ExecutionPlan) and bot.layer is not Layer.EXECUTION:
        return "produced an ExecutionPlan outside the Execution layer"
    return None


def _apply_mode(bot: Bot[Any, O], output: O | None) -> tuple[O | None, bool]:
    mode = bot.mode
    if output is None:
        return None, False
    if mode is Mode.SHADOW:
        return None, False
    if isinstance(output, RiskVote):
        blocking = output.decision in ("REJECT", "RESHAPE_REQUIRED")
        if mode in (Mode.ADVISORY, Mode.QUARANTINE) and blocking:
            # advisory never blocks; quarantine only blocks inside its scope (handled earlier)
            return output.model_copy(update={"decision": "WARNING_ONLY"}), False
        return output, output.decision == "REJECT"
    if mode is Mode.ADVISORY:
        return None, False  # advisory never submits or shapes
    return output, False
