"""Runtime rules: one envelope per decide, modes, authority, fail-closed errors, config limits."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from polytraders.contracts import OrderIntent, RiskConstraints, RiskVote
from polytraders.errors import ConfigError
from polytraders.journal import SqliteJournal
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.clock import SimClock
from polytraders.runtime.config import Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer, Mode
from polytraders.runtime.runner import Runtime
from polytraders.state.store import StateStore


def intent(market: str = "a", strategy: str = "strat.demo") -> OrderIntent:
    return OrderIntent(intent_id="oi_test0001", correlation_id="corr_test0001", strategy_id=strategy,
                       market_id="0x" + market * 64, token_id="7", outcome="YES", side="BUY",
                       price=Decimal("0.40"), size=Decimal(10), emitted_at_ms=0)


class Guard(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.test_guard"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.REJECT, Authority.RESHAPE})
    params = (Param("max_size", 100, 200, 500), Option("deny", ()))
    reason_codes = ("RISK_APPROVED", "RISK_MARKET_LIMIT")
    verdict: ClassVar[str] = "REJECT"

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        code = "RISK_MARKET_LIMIT" if self.verdict == "REJECT" else "RISK_APPROVED"
        return Decision(RiskVote(guard_id=self.bot_id, intent_id=input.intent_id,
                                 decision=self.verdict, reason_code=code, message="m"), code)  # type: ignore[arg-type]


class ObserverThatBlocks(Guard):
    bot_id = "gov.test_observer"
    layer = Layer.GOVERNANCE
    bot_class = "Governance Service"
    authority = frozenset({Authority.OBSERVE})


class ReadOnlyReshaper(Guard):
    bot_id = "risk.test_reader"
    authority = frozenset({Authority.REJECT})

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        return Decision(RiskVote(guard_id=self.bot_id, intent_id=input.intent_id,
                                 decision="RESHAPE_REQUIRED", reason_code="RISK_APPROVED", message="m",
                                 constraints=RiskConstraints(max_size=Decimal(1))), "RISK_APPROVED")


class Scout(Bot[Any, OrderIntent]):
    bot_id = "intel.test_scout"
    layer = Layer.INTELLIGENCE
    bot_class = "Signal Service"
    authority = frozenset({Authority.READ_ONLY})
    reason_codes = ("STRAT_EDGE_DETECTED",)

    def decide(self, input: Any, ctx: BotContext) -> Decision[OrderIntent]:
        return Decision(intent(), "STRAT_EDGE_DETECTED")


class Trader(Scout):
    bot_id = "strat.test_trader"
    layer = Layer.STRATEGY
    authority = frozenset({Authority.TRADE})


class Crasher(Guard):
    bot_id = "risk.test_crasher"

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        raise RuntimeError("boom")


class WallClockReader(Guard):
    bot_id = "risk.test_clock"

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        return Decision(None, "RISK_APPROVED", {"now": ctx.now()})


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    return Runtime(SqliteJournal(tmp_path / "rt.db", synchronous="NORMAL"), SimClock(1_000), StateStore())


def count(rt: Runtime) -> int:
    rt.journal.flush()
    return sum(1 for _ in rt.journal.read())


def test_every_decide_yields_exactly_one_envelope(rt: Runtime) -> None:
    bot = rt.add_bot(Guard())
    before = count(rt)
    out = rt.decide(bot, intent(), correlation_id="corr_test0001")
    assert count(rt) == before + 1
    assert out.entry is not None and out.entry.envelope.actor.id == "risk.test_guard"
    assert out.entry.envelope.correlation_id == "corr_test0001"
    assert out.blocked and out.effective is not None and out.effective.decision == "REJECT"


def test_off_mode_does_not_call_decide(rt: Runtime) -> None:
    bot = rt.add_bot(Guard(), mode=Mode.OFF)
    before = count(rt)
    out = rt.decide(bot, intent())
    assert out.entry is None and count(rt) == before


def test_shadow_is_journaled_but_discarded(rt: Runtime) -> None:
    bot = rt.add_bot(Guard(), mode=Mode.SHADOW)
    out = rt.decide(bot, intent())
    assert out.entry is not None and out.entry.envelope.mode == "shadow"
    assert out.effective is None and not out.blocked


def test_advisory_never_blocks(rt: Runtime) -> None:
    bot = rt.add_bot(Guard(), mode=Mode.ADVISORY)
    out = rt.decide(bot, intent())
    assert out.effective is not None and out.effective.decision == "WARNING_ONLY"
    assert not out.blocked
    assert out.entry is not None and out.entry.envelope.payload["decision"] == "REJECT"


def test_advisory_strategy_never_submits(rt: Runtime) -> None:
    bot = rt.add_bot(Trader(), mode=Mode.ADVISORY)
    out = rt.decide(bot, None)
    assert out.entry is not None and out.entry.envelope.kind == "order_intent"
    assert out.effective is None


def test_quarantine_rejects_only_inside_scope(rt: Runtime) -> None:
    Guard.verdict = "APPROVE"
    try:
        bot = rt.add_bot(Guard())
        rt.set_mode(bot.bot_id, Mode.QUARANTINE, scope=frozenset({"0x" + "b" * 64}))
        inside = rt.decide(bot, intent(market="b"))
        outside = rt.decide(bot, intent(market="a"))
    finally:
        Guard.verdict = "REJECT"
    assert inside.blocked and inside.entry is not None
    assert inside.entry.envelope.reason_code == "RISK_QUARANTINED"
    assert not outside.blocked and outside.effective is not None
    assert outside.effective.decision == "APPROVE"


def test_only_trade_authority_may_emit_intents(rt: Runtime) -> None:
    scout = rt.add_bot(Scout())
    out = rt.decide(scout, None)
    assert out.effective is None
    assert out.entry is not None and out.entry.envelope.reason_code == "GOV_AUTHORITY_VIOLATION"
    trader = rt.add_bot(Trader())
    assert rt.decide(trader, None).effective is not None


def test_governance_can_never_block(rt: Runtime) -> None:
    bot = rt.add_bot(ObserverThatBlocks())
    out = rt.decide(bot, intent())
    assert not out.blocked and out.effective is None
    assert out.entry is not None and out.entry.envelope.reason_code == "GOV_AUTHORITY_VIOLATION"


def test_reshape_needs_reshape_authority(rt: Runtime) -> None:
    bot = rt.add_bot(ReadOnlyReshaper())
    out = rt.decide(bot, intent())
    assert out.entry is not None and out.entry.envelope.reason_code == "GOV_AUTHORITY_VIOLATION"
    assert out.blocked  # a risk bot that misbehaves fails closed


def test_bot_exception_is_journaled_and_fails_closed(rt: Runtime) -> None:
    bot = rt.add_bot(Crasher())
    out = rt.decide(bot, intent())
    assert out.blocked
    assert out.entry is not None and out.entry.envelope.reason_code == "GOV_BOT_ERROR"
    assert out.entry.envelope.payload["detail"]["error"] == "RuntimeError"


def test_bots_read_time_from_the_context(rt: Runtime) -> None:
    bot = rt.add_bot(WallClockReader())
    assert rt.clock.now_ms() == 1_000
    out = rt.decide(bot, intent())
    assert out.entry is not None and out.entry.envelope.payload["detail"]["now"] == 1_000


def test_hard_limit_refuses_to_start_naming_everything(rt: Runtime) -> None:
    with pytest.raises(ConfigError) as info:
        rt.add_bot(Guard(), {"max_size": 501})
    msg = str(info.value)
    assert "risk.test_guard" in msg and "max_size" in msg and "501" in msg and "500" in msg


def test_warning_breach_is_journaled_and_flagged_on_each_decision(rt: Runtime) -> None:
    bot = rt.add_bot(Guard(), {"max_size": 300})
    rt.journal.flush()
    warns = [e for e in rt.journal.read() if e.envelope.reason_code == "GOV_CONFIG_WARNING"]
    assert len(warns) == 1 and warns[0].envelope.payload["detail"]["field"] == "max_size"
    out = rt.decide(bot, intent())
    assert out.entry is not None and out.entry.envelope.config_warnings == ("max_size",)


@pytest.mark.parametrize("bad", [1.5, True, "abc", "NaN"])
def test_bad_config_values_are_refused(rt: Runtime, bad: object) -> None:
    with pytest.raises(ConfigError, match="max_size"):
        rt.add_bot(Guard(), {"max_size": bad})


def test_unknown_config_field_is_refused(rt: Runtime) -> None:
    with pytest.raises(ConfigError, match="unknown field"):
        rt.add_bot(Guard(), {"max_sise": 5})


@pytest.mark.parametrize("vouched", [True, False])
def test_state_rebuilds_identically_from_checkpoint(tmp_path: Path, trusted_runtime: Any, vouched: bool) -> None:
    path = tmp_path / "cp.db"
    rt, _ = trusted_runtime(path, SimClock(0), state=StateStore())
    bot = rt.add_bot(Guard())
    rt.set_mode(bot.bot_id, Mode.SHADOW)
    rt.record(rt.state.checkpoint_contract(), actor=rt_actor(), reason_code="GOV_CHECKPOINT")
    if vouched:
        rt.write_digest()
    rt.set_mode(bot.bot_id, Mode.ADVISORY)
    rt.journal.close()
    full = Runtime(SqliteJournal(path), SimClock(0), StateStore())
    n_full = full.state.rebuild(full.journal, use_checkpoint=False)
    fast = Runtime(SqliteJournal(path), SimClock(0), StateStore())
    n_fast = fast.state.rebuild(fast.journal)
    # a checkpoint no signed digest covers could be forged: it is ignored
    assert (n_fast < n_full) if vouched else (n_fast == n_full)
    assert fast.state.snapshot() == full.state.snapshot()
    assert fast.state.get("modes").snapshot()["modes"]["risk.test_guard"] == "advisory"


def rt_actor() -> Any:
    from polytraders.runtime.runner import SYSTEM

    return SYSTEM


# -- the order path's decision record: the same rules, one envelope ------------------------------

class Approver(Guard):
    bot_id = "risk.test_approver"

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        return Decision(RiskVote(guard_id=self.bot_id, intent_id=input.intent_id, decision="APPROVE",
                                 reason_code="RISK_APPROVED", message="m"), "RISK_APPROVED")


def _cases(rt: Runtime) -> list[tuple[Bot[Any, Any], OrderIntent]]:
    shadow = rt.add_bot(Guard(), mode=Mode.SHADOW)
    advisory = rt.add_bot(ReadOnlyReshaper(), mode=Mode.ADVISORY)
    quarantined = rt.add_bot(Approver())
    rt.set_mode(quarantined.bot_id, Mode.QUARANTINE, scope=frozenset({"0x" + "b" * 64}))
    return [(shadow, intent()), (advisory, intent()), (quarantined, intent(market="b")),
            (quarantined, intent(market="a")), (rt.add_bot(Crasher()), intent()),
            (rt.add_bot(ObserverThatBlocks()), intent()), (rt.add_bot(ReadOnlyReshaper()), intent())]


def test_evaluate_applies_exactly_the_rules_decide_applies(rt: Runtime) -> None:
    """Every mode and rule (shadow, advisory, quarantine in and out of scope, a crash, a governance
    block, a reshape without authority): the step holds what decide's own envelope holds."""
    from polytraders.contracts.decisions import full_output

    for bot, i in _cases(rt):
        out = rt.decide(bot, i, correlation_id="corr_test0001")
        ev = rt.evaluate(bot, i, correlation_id="corr_test0001", intent_id="oi_test0001")
        assert out.entry is not None and ev.step is not None
        env = out.entry.envelope
        assert (ev.effective, ev.blocked) == (out.effective, out.blocked), bot.bot_id
        output = full_output(ev.step.output_kind, ev.step.output, ev.step.bot_id, ev.step.reason_code, "oi_test0001")
        assert (ev.step.bot_id, ev.step.mode, ev.step.config_version, ev.step.reason_code, ev.step.output_kind,
                output, ev.step.blocked) == (env.actor.id, env.mode, env.config_version, env.reason_code,
                                             env.kind, env.payload, out.blocked), bot.bot_id
    assert rt.evaluate(rt.add_bot(Scout(), mode=Mode.OFF), None) == (None, False, None)


def test_a_decision_record_holds_every_step_and_a_crash_fails_closed(rt: Runtime) -> None:
    from polytraders.engine.pipeline import OrderPath

    ks, shadow, crasher = rt.add_bot(Approver()), rt.add_bot(Guard(), mode=Mode.SHADOW), rt.add_bot(Crasher())
    never = rt.add_bot(Guard())
    path = OrderPath(rt, kill_switch=ks, guardrails=(shadow, crasher, never), router=never, security=(),
                     signer=None, olm=None, route_request=None)
    before = count(rt)
    result = path.process(intent())
    assert (result.result, result.reason_code) == ("rejected", "GOV_BOT_ERROR")
    assert count(rt) == before + 1, "one envelope for the whole decision"
    [entry] = list(rt.journal.read(before + 1))
    env = entry.envelope
    assert env.kind == "decision_record" and env.reason_code == "GOV_BOT_ERROR"
    assert env.correlation_id == "corr_test0001" and env.actor.id == "pipeline"
    payload = env.payload
    assert payload["result"] == "rejected" and payload["intent_id"] == "oi_test0001"
    assert [(s["bot_id"], s["mode"], s["reason_code"], s["blocked"]) for s in payload["steps"]] == [
        ("risk.test_approver", "enforced", "RISK_APPROVED", False),
        ("risk.test_guard", "shadow", "RISK_MARKET_LIMIT", False),  # journaled, discarded
        ("risk.test_crasher", "enforced", "GOV_BOT_ERROR", True)]  # a Risk bot's crash is a REJECT
    assert payload["steps"][2]["output"]["detail"] == {"bot_id": "risk.test_crasher", "error": "RuntimeError",
                                                      "message": "boom"}
    assert crasher.stats.errors == 1 and never.stats.decisions == 0, "the path ended at the crash"


def test_an_unexpected_error_mid_path_still_journals_the_steps_taken(rt: Runtime) -> None:
    """Before: each step was its own envelope, so steps taken before a crash were in the journal.
    Now the record is written when the path ends; a crash still leaves them, as `aborted`."""
    from polytraders.engine.pipeline import OrderPath

    ks, guard = rt.add_bot(Approver()), rt.add_bot(Guard(), mode=Mode.ADVISORY)

    def broken_route_request(**_: Any) -> Any:
        raise LookupError("no route for this market")

    path = OrderPath(rt, kill_switch=ks, guardrails=(guard,), router=ks, security=(), signer=None, olm=None,
                     route_request=broken_route_request)
    before = count(rt)
    with pytest.raises(LookupError):
        path.process(intent())
    assert count(rt) == before + 1
    [entry] = list(rt.journal.read(before + 1))
    payload = entry.envelope.payload
    assert entry.envelope.kind == "decision_record" and payload["result"] == "aborted"
    assert [(s["bot_id"], s["mode"], s["output"]["decision"], s["blocked"]) for s in payload["steps"]] == [
        ("risk.test_approver", "enforced", "APPROVE", False),
        ("risk.test_guard", "advisory", "REJECT", False)]  # advisory: journaled as voted, never blocks
