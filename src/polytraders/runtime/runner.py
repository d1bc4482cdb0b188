"""The runtime: turns every bot decision into exactly one journaled envelope, or into one step
of the order path's `DecisionRecord` (`evaluate` + `record_decision`: one envelope holding every
vote of one intent, written before the decision's side effects).

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

Every process sees every entry. The runtime folds entries in seq order with no gaps: when it
takes the journal's write lock it first folds whatever other processes committed (`on_begin`),
so its own appends never jump over a trip made elsewhere; `sync()` is the cheap head check run
before each decision. When the runtime is the running system (`open_session`), an unsigned entry
from another process is tampering: it is never applied, it halts trading at once, and it is
reported. The system also writes signed digests (`journal/digests.py`) every `digest_every`
entries or `digest_interval_ms`, at the end of the step that crosses either, and at shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from polytraders.contracts import (
    BUILDER_CODE,
    Contract,
    ExecutionPlan,
    Note,
    OrderIntent,
    RiskVote,
)
from polytraders.contracts.decisions import DecisionRecord, DecisionResult, DecisionStep, compact_output
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.contracts.reasons import Severity, registry, require_code
from polytraders.contracts.trust import JournalDigest
from polytraders.errors import ConfigError
from polytraders.journal.base import Journal, JournalEntry
from polytraders.journal.digests import anchors_dir, append_anchor
from polytraders.journal.signatures import Signer
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.clock import Clock
from polytraders.runtime.config import build_config, config_as_json
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import BLOCKING, RESHAPING, Authority, Layer, Mode
from polytraders.state.kill_switch import KillSwitchProjection
from polytraders.state.modes import ModesProjection, kill_switch_halt
from polytraders.state.store import StateStore
from polytraders.state.trust import Origin

O = TypeVar("O", bound=Contract)  # noqa: E741
SYSTEM = Actor(kind="system", id="runtime")
PIPELINE = Actor(kind="system", id="pipeline")  # writes the order path's decision records
_FAIL_CLOSED_LAYERS = frozenset({Layer.RISK, Layer.SECURITY})
_new_context = tuple.__new__


@dataclass(frozen=True, slots=True)
class Outcome(Generic[O]):
    """A decision after the runtime's rules: `effective` is what downstream may act on."""

    decision: Decision[O] | None
    entry: JournalEntry | None
    effective: O | None
    blocked: bool = False


_ACTORS: dict[str, Actor] = {}


def bot_actor(bot: Bot[Any, Any]) -> Actor:
    """The bot's actor (frozen, so one per bot id is built and reused)."""
    actor = _ACTORS.get(bot.bot_id)
    if actor is None:
        actor = _ACTORS[bot.bot_id] = Actor(kind="bot", id=bot.bot_id)
    return actor


class Runtime:
    def __init__(
        self,
        journal: Journal,
        clock: Clock,
        state: StateStore | None = None,
        *,
        builder_code: str = BUILDER_CODE,
        system_signer: Signer | None = None,
        digest_every: int = 1_000,
        digest_interval_ms: int = 10_000,
        checkpoint_every: int = 5_000,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.state = state or StateStore()
        self.state.trust.clock = clock
        for proj in (KillSwitchProjection(self.state.trust), ModesProjection()):
            if self.state.find(proj.name) is None:
                self.state.add(proj)
        self.kill_switch = self.state.typed("kill_switch", KillSwitchProjection)
        self.builder_code = builder_code
        self.bots: dict[str, Bot[Any, Any]] = {}
        # Called with every entry after it is folded into state (own appends and polled ones).
        self.listeners: list[Callable[[JournalEntry], None]] = []
        # Called with each entry the trust gate refused as tampering while this is the system.
        self.tamper_listeners: list[Callable[[dict[str, Any]], None]] = []
        self.system_signer = system_signer
        self.is_system = False
        self.digest_every = digest_every
        self.digest_interval_ms = digest_interval_ms
        # A checkpoint goes just before the first digest after this many entries, so that digest
        # vouches for it: a restart or a CLI reader then folds at most about this many entries.
        self.checkpoint_every = checkpoint_every
        self._checkpoint_seq = 0
        self._last_digest_ms = clock.now_ms()
        self._digesting = False
        self._problems_seen = 0
        self.halt_path: Path | None = None
        # operators acting through this runtime (a CLI command, a demo's crew): their entries are signed
        self.operator_signers: dict[str, Signer] = {}
        if hasattr(journal, "on_begin"):
            journal.on_begin = self._fold_others
        self.listeners.append(self._on_mode_entry)  # holds and mode changes from any process

    # -- other processes -------------------------------------------------------------------

    def _fold_others(self, head_seq: int) -> None:
        """Called with the write lock held: fold what others committed before our next append."""
        if head_seq > self.state.last_seq:
            self._fold(self.journal.read(self.state.last_seq + 1, head_seq))

    def _fold(self, entries: Any) -> int:
        origin: Origin = "foreign" if self.is_system else "history"
        applied = 0
        for entry in entries:
            admitted = self.state.apply(entry, origin)
            applied += 1
            if admitted is not None:
                self._notify(admitted)
        self._check_problems()
        return applied

    def _notify(self, entry: JournalEntry) -> None:
        for listener in self.listeners:
            try:
                listener(entry)
            except Exception as exc:  # a listener must not stop the fold; the entry is still applied
                self.state.skipped.append({"seq": entry.seq, "projection": getattr(listener, "__qualname__", "?"),
                                           "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                                           "reason_code": "GOV_PAYLOAD_SKIPPED"})

    def _check_problems(self) -> None:
        problems = self.state.trust.problems
        while self._problems_seen < len(problems):
            problem = problems[self._problems_seen]
            self._problems_seen += 1
            if self.is_system and problem["verdict"] == "tampered":
                self.kill_switch.external_halt = f"journal tampering at seq {problem['seq']}"
                for listener in self.tamper_listeners:
                    listener(problem)

    def sync(self) -> int:
        """The head check before a decision: fold anything others committed; obey a halt file."""
        ks = self.kill_switch
        if self.halt_path is not None and ks.external_halt is None and self.halt_path.exists() \
                and not any(t.trigger == "halt_file" for t in ks.active.values()):
            ks.external_halt = f"halt file {self.halt_path}"
        changed = getattr(self.journal, "changed", None)
        if changed is not None and not changed():
            return 0
        return self._fold(self.journal.read(self.state.last_seq + 1))

    def recover_from_write_failure(self) -> None:
        """After a failed write: drop the open transaction and, when entries already folded were
        rolled back with it, fold the journal again so state never runs ahead of it."""
        self.journal.rollback()
        if self.state.last_seq != self.journal.head()[0]:
            self.state.reload(self.journal)
            self._problems_seen = len(self.state.trust.problems)

    def begin_decision(self) -> None:
        """Before an order-path decision: obey the halt file and take the write lock, which folds
        everything other processes committed (`on_begin`)."""
        self.sync()
        begin = getattr(self.journal, "begin", None)
        if begin is not None:
            begin()

    def open_session(self, **detail: Any) -> JournalEntry:
        """Become the running system: sign a session start; from now on, others' unsigned entries
        are tampering."""
        if self.system_signer is None:
            raise ValueError("a session needs the system key")
        self.sync()
        if self.state.trust.session_open:  # the last session never closed: it crashed
            self.is_system = True
            self.write_digest(final=True, adopted=True)
        entry = self.record(Note(detail=detail), actor=SYSTEM, reason_code="GOV_SESSION_OPENED",
                            durable=True, signer=self.system_signer)
        self.is_system = True
        self._problems_seen = len(self.state.trust.problems)  # history was judged by its own rules
        self._checkpoint_seq = entry.seq
        return entry

    # -- digests ---------------------------------------------------------------------------

    def write_digest(self, *, final: bool = False, adopted: bool = False) -> JournalEntry | None:
        """Sign a digest vouching for every entry before it, into the journal and the anchors."""
        if self.system_signer is None or self._digesting:
            return None
        self._digesting = True
        try:
            due = self.checkpoint_every and (self.state.last_seq - self._checkpoint_seq
                                             >= self.state.checkpoint_interval(self.checkpoint_every))
            if due and not final:
                self._checkpoint_seq = self.record(self.state.checkpoint_contract(), actor=SYSTEM,
                                                   reason_code="GOV_CHECKPOINT").seq
            trust = self.state.trust
            digest = JournalDigest(prev_digest_seq=trust.last_digest_seq, at_ms=self.clock.now_ms(),
                                   final=final, rejected=tuple(trust.rejected_since_digest), adopted=adopted)
            entry = self.record(digest, actor=SYSTEM, reason_code="GOV_JOURNAL_DIGEST", durable=True,
                                signer=self.system_signer)
            self._last_digest_ms = self.clock.now_ms()
            path = getattr(self.journal, "path", None)
            if path is not None:
                append_anchor(anchors_dir(Path(path)), entry)
            if final:
                self.is_system = False
            return entry
        finally:
            self._digesting = False

    def _maybe_digest(self, entry: JournalEntry) -> None:
        """Digests go at safe points (`digest_if_due`, a step's end), not on whichever entry
        crosses the count: a digest with its checkpoint costs tens of milliseconds and must not
        land inside a trip's protective action. Only a burst of twice the count with no safe
        point in it is vouched for on the spot, and never inside a decision: the digest's durable
        append would release the write lock between the vote and the order."""
        if not self.is_system or self._digesting or getattr(self.journal, "held", False):
            return
        if entry.seq - self.state.trust.last_digest_seq >= 2 * self.digest_every:
            self.write_digest()

    def digest_if_due(self) -> JournalEntry | None:
        """At a safe point: sign a digest when `digest_every` entries or `digest_interval_ms`
        have passed since the last one."""
        if not self.is_system or self._digesting:
            return None
        if (self.state.last_seq - self.state.trust.last_digest_seq >= self.digest_every
                or self.clock.now_ms() - self._last_digest_ms >= self.digest_interval_ms):
            return self.write_digest()
        return None

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
        signer: Signer | None = None,
        payload: dict[str, Any] | None = None,
    ) -> JournalEntry:
        """Append one envelope and fold it into state. `durable` before any side effect.
        `signer` signs it (the system key for digests); an operator actor's entries are signed
        with that operator's key when it acts through this runtime. `payload` is the contract's
        `to_json_dict()` when the caller already has it (see `ReportEnvelope.wrap`)."""
        if signer is None and actor.kind == "operator":
            signer = self.operator_signers.get(actor.id)
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
            payload=payload,
        )
        entry = self.journal.append(envelope, durable=durable, signer=signer)
        state = self.state
        admitted = state.apply(entry, "own")
        if admitted is not None:
            self._notify(admitted)
            entry = admitted
        # the two checks below, each first asked cheaply: this runs for every envelope
        if self._problems_seen < len(state.trust.problems):
            self._check_problems()
        if self.is_system and entry.seq - state.trust.last_digest_seq >= 2 * self.digest_every:
            self._maybe_digest(entry)
        return entry

    def poll(self) -> int:
        """Fold entries other processes appended (operator commands, trips, resets)."""
        return self._fold(self.journal.read(self.state.last_seq + 1))

    def note(self, reason_code: str, *, actor: Actor = SYSTEM, durable: bool = False,
             correlation_id: str | None = None, signer: Signer | None = None, **detail: Any) -> JournalEntry:
        return self.record(Note(detail=detail), actor=actor, reason_code=reason_code,
                           durable=durable, correlation_id=correlation_id, signer=signer)

    # -- bots ------------------------------------------------------------------------------

    def add_bot(
        self,
        bot: Bot[Any, Any],
        overrides: dict[str, Any] | None = None,
        *,
        config_version: str = "1",
        mode: Mode = Mode.ENFORCED,
    ) -> Bot[Any, Any]:
        """Validate config (refusing hard breaches, journaled), init the bot and journal its mode."""
        try:
            config, warnings = build_config(bot.bot_id, bot.params, overrides,
                                            config_version=config_version)
            bot.init(config)
        except ConfigError as exc:
            self.note("GOV_CONFIG_REFUSED", durable=True, bot_id=bot.bot_id, error=exc.message[:500])
            raise
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
        """Change a bot's base mode; its effective mode also honours every active hold."""
        self.note("GOV_MODE_CHANGED", actor=actor, bot_id=bot_id, mode=mode.value,
                  scope=sorted(scope), reason=reason)
        self._apply_mode(bot_id, scope)

    def place_hold(self, bot_id: str, source: str, mode: Mode, *, actor: Actor = SYSTEM, reason: str = "",
                   durable: bool = False) -> None:
        """Hold a bot at `mode` (or more restrictive) until `source` releases it."""
        self.note("GOV_MODE_HOLD", actor=actor, bot_id=bot_id, source=source, mode=mode.value, action="place",
                  reason=reason, durable=durable)

    def release_hold(self, bot_id: str, source: str, *, actor: Actor = SYSTEM, reason: str = "",
                     durable: bool = False) -> None:
        self.note("GOV_MODE_HOLD", actor=actor, bot_id=bot_id, source=source, action="release", reason=reason,
                  durable=durable)

    def _apply_mode(self, bot_id: str, scope: frozenset[str] = frozenset()) -> None:
        """Set the bot's in-memory mode to its effective mode: base mode and holds (journaled), and
        the kill switch's halt of a Trade-authority bot (derived from the active trips)."""
        bot = self.bots.get(bot_id)
        if bot is None:
            return
        modes = self.state.find("modes")
        effective = modes.effective(bot_id) if isinstance(modes, ModesProjection) else None
        if _TRADE in bot.authority and kill_switch_halt(self.kill_switch, bot_id) is not None:
            effective = _OFF
        if effective is not None:
            bot.set_mode(_MODE_OF[effective], scope if effective == _QUARANTINE else bot.quarantine_scope)

    def halted_by_kill_switch(self) -> list[str]:
        """The Trade-authority bots the kill switch halts now (its derived hold), sorted."""
        ks = self.kill_switch
        return sorted(b for b, bot in self.bots.items()
                      if _TRADE in bot.authority and kill_switch_halt(ks, b) is not None)

    def apply_trade_modes(self) -> None:
        """Re-derive every Trade-authority bot's mode: after a trip or a reset is folded (inside the
        trip's window: kept to a loop over the bots), and when an in-memory halt begins."""
        for bot_id, bot in self.bots.items():
            if _TRADE in bot.authority:
                self._apply_mode(bot_id)

    def _on_mode_entry(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.reason_code in ("GOV_MODE_HOLD", "GOV_MODE_CHANGED"):
            detail = env.payload.get("detail", {})
            bot_id = detail.get("bot_id")
            if isinstance(bot_id, str):
                scope = frozenset(detail.get("scope", ())) if env.reason_code == "GOV_MODE_CHANGED" \
                    else frozenset()
                self._apply_mode(bot_id, scope)
        elif env.kind == "killswitch_event":  # the kill switch's hold is placed by the trip, released by the reset
            self.apply_trade_modes()

    def context(self, bot: Bot[Any, Any], correlation_id: str | None) -> BotContext:
        # the named tuple built directly from its fields in order: one is built per decision
        return _new_context(BotContext, (self.clock, bot.config, self.state, self.kill_switch,
                                         correlation_id, self.builder_code))

    def decide(self, bot: Bot[Any, O], input: Any, *, correlation_id: str | None = None) -> Outcome[O]:
        """One bot's decision, journaled as its own envelope (the runtime's rules applied)."""
        if bot.mode is Mode.OFF:
            return Outcome(None, None, None)
        judged = self._judge(bot, input, correlation_id)
        entry = self.record(judged.contract, actor=bot_actor(bot), reason_code=judged.reason_code,
                            correlation_id=correlation_id, config_version=bot.config.config_version,
                            mode=bot.mode.value, config_warnings=bot.config.warnings)
        return Outcome(judged.decision, entry, judged.effective, judged.blocked)

    def evaluate(self, bot: Bot[Any, O], input: Any, *, correlation_id: str | None = None,
                 intent_id: str | None = None) -> Evaluated[O]:
        """One bot's decision under the same rules as `decide`, returned as a step for a
        `DecisionRecord` of `intent_id` instead of being journaled on its own (the order path
        writes the record). The step is None when the bot is off."""
        mode = bot.mode
        if mode is Mode.OFF:
            return _new_context(Evaluated, (None, False, None))
        if mode is not Mode.ENFORCED:
            return self._step(bot, self._judge(bot, input, correlation_id), intent_id)
        # An enforced bot, the order path's every step: an approving vote (what `_judge` passes
        # unchanged) becomes its step with no intermediate objects.
        decision = self._ask(bot, input, correlation_id)
        if isinstance(decision, _Judged):
            return self._step(bot, decision, intent_id)
        config, code, output = bot.config, decision.reason_code, decision.output
        if type(output) is RiskVote and output.decision == "APPROVE":
            step = DecisionStep.of_vote(bot.bot_id, config.config_version, config.warnings, code, output, intent_id)
            return _new_context(Evaluated, (output, False, step))
        if type(output) is ExecutionPlan and bot.layer is Layer.EXECUTION:
            # the router's plan: within its authority, and an enforced plan passes as it is
            step = DecisionStep.of(bot.bot_id, "enforced", config.config_version, config.warnings, code,
                                   "execution_plan", compact_output(output.to_json_dict(), bot.bot_id, code,
                                                                    intent_id), False)
            return _new_context(Evaluated, (output, False, step))
        return self._step(bot, _judged(bot, decision), intent_id)

    def _step(self, bot: Bot[Any, O], judged: _Judged[O], intent_id: str | None) -> Evaluated[O]:
        config = bot.config
        contract = judged.contract
        bot_id, code = bot.bot_id, judged.reason_code
        step = DecisionStep.of(bot_id, _MODE_VALUES[bot.mode], config.config_version, config.warnings, code,
                               contract.kind, compact_output(contract.to_json_dict(), bot_id, code, intent_id),
                               judged.blocked)
        return _new_context(Evaluated, (judged.effective, judged.blocked, step))

    def record_decision(self, intent_id: str, result: DecisionResult, steps: list[DecisionStep], *,
                        reason_code: str, correlation_id: str | None) -> JournalEntry:
        """Journal one order-path decision (every step) as one envelope; `reason_code` says how
        the path ended. Written before any side effect the decision allows."""
        record = DecisionRecord.of(intent_id, result, tuple(steps))
        return self.record(record, actor=PIPELINE, reason_code=reason_code, correlation_id=correlation_id)

    def _judge(self, bot: Bot[Any, O], input: Any, correlation_id: str | None) -> _Judged[O]:
        """Ask the bot and apply the runtime's rules (quarantine, errors, authority, mode)."""
        if bot.mode is Mode.QUARANTINE and _touches(input, bot.quarantine_scope):
            vote = RiskVote(guard_id=bot.bot_id, intent_id=input.intent_id, decision="REJECT",
                            severity="WARN", reason_code="RISK_QUARANTINED",
                            message="The intent touches a quarantined scope.")
            return _Judged(Decision(vote, "RISK_QUARANTINED"), vote, "RISK_QUARANTINED",  # type: ignore[arg-type]
                           vote, True)  # type: ignore[arg-type]
        decision = self._ask(bot, input, correlation_id)
        if isinstance(decision, _Judged):
            return decision
        output = decision.output
        if type(output) is RiskVote and output.decision == "APPROVE" and bot.mode is Mode.ENFORCED:
            # the common case, short-cut: an approval breaks no authority rule and an enforced
            # approval passes as it is (what the general rules below would conclude)
            return _Judged(decision, output, decision.reason_code, output, False)
        return _judged(bot, decision)

    def _ask(self, bot: Bot[Any, O], input: Any, correlation_id: str | None) -> Decision[O] | _Judged[O]:
        """The bot's decision with a registered reason code, counted in its stats; a bot that
        raised (or gave an unregistered code) comes back already judged (`_failed`)."""
        now = self.clock.now_ms()
        try:
            decision = bot.decide(input, _new_context(BotContext, (
                self.clock, bot.config, self.state, self.kill_switch, correlation_id, self.builder_code)))
            if decision.reason_code not in registry():
                require_code(decision.reason_code)
        except Exception as exc:  # a bot bug must never escape the event loop
            return _failed(bot, exc)
        stats = bot.stats
        stats.decisions += 1
        stats.last_decision_ms = now
        stats.recent.append(now)
        return decision


def _failed(bot: Bot[Any, O], exc: Exception) -> _Judged[O]:
    """A bot that raised: journaled as GOV_BOT_ERROR; a Risk or Security bot fails closed."""
    bot.stats.errors += 1
    note = Note(detail={"bot_id": bot.bot_id, "error": type(exc).__name__, "message": str(exc)[:200]})
    return _Judged(None, note, "GOV_BOT_ERROR", None, bot.layer in _FAIL_CLOSED_LAYERS)


def _judged(bot: Bot[Any, O], decision: Decision[O]) -> _Judged[O]:
    """The authority and mode rules applied to a decision the bot returned."""
    violation = _authority_violation(bot, decision.output)
    if violation is not None:
        note = Note(detail={"bot_id": bot.bot_id, "violation": violation,
                            "attempted_reason_code": decision.reason_code})
        return _Judged(decision, note, "GOV_AUTHORITY_VIOLATION", None, bot.layer in _FAIL_CLOSED_LAYERS)
    contract: Contract = decision.output if decision.output is not None else Note(detail=decision.detail)
    effective, blocked = _apply_mode(bot, decision.output)
    return _Judged(decision, contract, decision.reason_code, effective, blocked)


_MODE_VALUES: dict[Mode, str] = {m: m.value for m in Mode}
# read where a trip is folded (the enum's attribute and value lookups go through descriptors)
_MODE_OF: dict[str, Mode] = {m.value: m for m in Mode}
_OFF, _QUARANTINE = Mode.OFF.value, Mode.QUARANTINE.value
_TRADE = Authority.TRADE


class _Judged(NamedTuple, Generic[O]):
    """A decision after the runtime's rules, before it is journaled."""

    decision: Decision[O] | None
    contract: Contract
    reason_code: str
    effective: O | None
    blocked: bool


class Evaluated(NamedTuple, Generic[O]):
    """A decision after the runtime's rules, as one step of the order path's decision record:
    `effective` is what downstream may act on; `blocked` ends the path."""

    effective: O | None
    blocked: bool
    step: DecisionStep | None


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
