"""Lifecycle: evidence gathering, derived stages, gates and promotion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.base import Journal, JournalEntry
from polytraders.journal.sqlite import SqliteJournal
from polytraders.operators.auth import Operator
from polytraders.registry import lifecycle
from polytraders.registry.catalogue import UnknownBotError
from polytraders.registry.lifecycle import (
    SHADOW_READY_MS,
    STAGE_SPECS,
    STAGES,
    BotEvidence,
    PromotionRefusedError,
    derive_stage,
    evidence_for,
    gather,
    gather_evidence,
    implementation_of,
    promote,
)
from polytraders.runtime.bot import Bot
from polytraders.runtime.clock import SimClock

from .helpers import HOUR, T0, emit, run_started, shadow_run

KS = "risk.kill_switch"
ALICE = Operator("alice", "admin")


def stage_of(j: SqliteJournal, bot_id: str = KS) -> str:
    return derive_stage(evidence_for(bot_id, gather(j))).stage


def last_entry(j: SqliteJournal) -> JournalEntry:
    return j.tail(1)[0]


# -- stages as data ---------------------------------------------------------------------------


def test_stages_and_specs_are_ordered_data() -> None:
    assert STAGES == ("pending", "demo_wired", "shadow_ready", "runtime_live", "production_live")
    assert tuple(s.stage for s in STAGE_SPECS) == STAGES
    for spec in STAGE_SPECS[1:]:
        assert spec.gates, spec.stage
        assert len({g.id for g in spec.gates}) == len(spec.gates)
    assert not STAGE_SPECS[1].needs_promotion  # demo_wired is automatic
    assert all(s.needs_promotion for s in STAGE_SPECS[2:])


def test_implementation_of_imports_real_modules() -> None:
    impl = implementation_of("risk.kill_switch")
    assert impl is not None and issubclass(impl, Bot)
    assert impl.bot_id == "risk.kill_switch"
    assert implementation_of("risk.no_such_guard") is None
    assert implementation_of("nodot") is None


# -- gathering --------------------------------------------------------------------------------


class _CountingView:
    """A journal that is not a SqliteJournal, so gather takes the generic read() path."""

    def __init__(self, inner: SqliteJournal) -> None:
        self.inner = inner
        self.reads = 0

    def read(self, *args: Any, **kwargs: Any) -> Iterator[JournalEntry]:
        self.reads += 1
        return self.inner.read(*args, **kwargs)


def test_gather_is_one_pass_and_counts(journal: SqliteJournal) -> None:
    base = journal.head()[0]  # genesis and the session start
    emit(journal, KS, T0, mode="enforced")
    run_started(journal, T0 + 1)
    emit(journal, KS, T0 + 2, code="RISK_KILLSWITCH_ACTIVE")
    emit(journal, "exec.smart_router", T0 + 3, mode=None)
    emit(journal, KS, T0 + 5, code="GOV_BOT_ERROR")
    journal.flush()

    facts = gather(journal)  # SQLite fast path: raw envelope JSON
    view = _CountingView(journal)
    assert gather(cast(Journal, view)) == facts  # public read() path: same evidence
    assert view.reads == 1
    assert facts.entries == base + 5 and facts.head_seq == base + 5
    assert facts.synthetic_runs == 1 and facts.first_synthetic_seq == base + 2
    ks = facts.bots[KS]
    assert ks.envelopes == 3
    assert dict(ks.reason_codes) == {
        "RISK_KILLSWITCH_ARMED": 1, "RISK_KILLSWITCH_ACTIVE": 1, "GOV_BOT_ERROR": 1}
    assert dict(ks.modes) == {"enforced": 1, "shadow": 2}
    assert (ks.first_ts_ms, ks.last_ts_ms) == (T0, T0 + 5)
    assert ks.after_synthetic == 2  # the first envelope came before the run started
    assert ks.errors == 1
    assert ks.shadow_envelopes == 2 and ks.shadow_ms == 3
    assert ks.last is not None and ks.last.seq == base + 5 and ks.last.reason_code == "GOV_BOT_ERROR"
    assert facts.bots["exec.smart_router"].modes == {"unset": 1}
    assert set(gather_evidence(journal)) == {KS, "exec.smart_router"}


def test_non_synthetic_run_is_not_a_synthetic_feed(journal: SqliteJournal) -> None:
    run_started(journal, T0, feed="live")
    emit(journal, KS, T0 + 1)
    journal.flush()
    facts = gather(journal)
    assert facts.synthetic_runs == 0
    assert facts.bots[KS].after_synthetic == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5 * HOUR), st.sampled_from(["shadow", "enforced"])),
                min_size=1, max_size=30))
def test_shadow_time_counts_only_consecutive_shadow_stretches(
    steps: list[tuple[int, str]],
) -> None:
    ev = BotEvidence(KS)
    ts = T0
    expected = 0
    prev_mode: str | None = None
    for seq, (delta, mode) in enumerate(steps, start=1):
        ts += delta
        if prev_mode == "shadow" and mode == "shadow":
            expected += delta
        prev_mode = mode
        ev._observe(seq, ts, mode, "note", "RISK_KILLSWITCH_ARMED", after_synthetic=False)
    assert ev.shadow_ms == expected
    assert ev.shadow_ms <= ev.shadow_span_ms <= (ev.last_ts_ms or 0) - (ev.first_ts_ms or 0)


# -- demo_wired -------------------------------------------------------------------------------


def test_pending_without_evidence(journal: SqliteJournal, fake_impls: object) -> None:
    assert stage_of(journal) == "pending"


def test_demo_wired_needs_synthetic_feed_envelopes(
    journal: SqliteJournal, fake_impls: object,
) -> None:
    emit(journal, KS, T0)  # emitted, but no synthetic run yet
    journal.flush()
    assert stage_of(journal) == "pending"
    run_started(journal, T0 + 10)
    journal.flush()
    assert stage_of(journal) == "pending"  # the run started, but the bot has not emitted since
    emit(journal, KS, T0 + 20)
    journal.flush()
    status = derive_stage(evidence_for(KS, gather(journal)))
    assert status.stage == "demo_wired"
    assert all(g.passed for g in status.gates["demo_wired"])


def test_demo_wired_needs_an_implementation(journal: SqliteJournal, fake_impls: object) -> None:
    run_started(journal, T0)
    emit(journal, "gov.reconciler", T0 + 1)  # no (fake) module for this bot
    journal.flush()
    status = derive_stage(evidence_for("gov.reconciler", gather(journal)))
    assert status.stage == "pending"
    failing = {g.id: g.detail for g in status.failing("demo_wired")}
    assert set(failing) == {"implementation"}
    assert "polytraders.bots.gov.reconciler" in failing["implementation"]


# -- promotion --------------------------------------------------------------------------------


def test_promotion_refused_names_gate_and_is_journaled(
    journal: SqliteJournal, fake_impls: object,
) -> None:
    shadow_run(journal, KS, hours=3)
    assert stage_of(journal) == "demo_wired"
    before = journal.head()[0]
    with pytest.raises(PromotionRefusedError) as info:
        promote(journal, KS, "shadow_ready", ALICE, clock=SimClock(T0))
    err = info.value
    assert isinstance(err, RefusedError)
    assert err.missing_gates == ("shadow_24h",)
    assert "shadow_24h" in str(err) and "3.0 h" in str(err)
    assert err.code == "GOV_PROMOTION_REFUSED"
    entry = last_entry(journal)
    assert entry.seq == before + 1
    env = entry.envelope
    assert env.reason_code == "GOV_PROMOTION_REFUSED"
    assert env.actor.kind == "operator" and env.actor.id == "alice"
    detail = env.payload["detail"]
    assert detail["bot_id"] == KS
    assert detail["missing_gates"] == ["shadow_24h"]
    assert (detail["from_stage"], detail["to_stage"]) == ("demo_wired", "shadow_ready")
    assert stage_of(journal) == "demo_wired"
    assert gather(journal).bots[KS].refusals == 1


def test_successful_shadow_ready_promotion(journal: SqliteJournal, fake_impls: object) -> None:
    shadow_run(journal, KS, hours=24)
    status = derive_stage(evidence_for(KS, gather(journal)))
    assert status.stage == "demo_wired"  # gates pass, but no promotion is recorded yet
    assert all(g.passed for g in status.gates["shadow_ready"])

    result = promote(journal, "risk.killswitch", "shadow_ready", ALICE, clock=SimClock(T0))
    assert (result.bot_id, result.from_stage, result.to_stage) == (
        KS, "demo_wired", "shadow_ready")
    env = result.entry.envelope
    assert env.reason_code == "GOV_BOT_PROMOTED"
    assert env.actor.label() == "operator:alice"
    detail = env.payload["detail"]
    assert detail["bot_id"] == KS and detail["to_stage"] == "shadow_ready"
    assert detail["evidence"]["shadow_ms"] == SHADOW_READY_MS
    assert detail["evidence"]["unexpected_codes"] == []
    assert set(detail["evidence"]["gates"]) == {"shadow_24h", "no_unexpected_codes"}
    assert stage_of(journal) == "shadow_ready"
    promotions = gather(journal).bots[KS].promotions
    assert [(p.to_stage, p.operator) for p in promotions] == [("shadow_ready", "alice")]


def test_just_under_24h_is_refused(journal: SqliteJournal, fake_impls: object) -> None:
    end = shadow_run(journal, KS, hours=23)
    emit(journal, KS, end + HOUR - 1)
    journal.flush()
    with pytest.raises(PromotionRefusedError) as info:
        promote(journal, KS, "shadow_ready", ALICE, clock=SimClock(T0))
    assert info.value.missing_gates == ("shadow_24h",)


def test_unexpected_code_blocks_shadow_ready(journal: SqliteJournal, fake_impls: object) -> None:
    end = shadow_run(journal, KS, hours=30)
    emit(journal, KS, end + 1, code="GOV_BOT_ERROR")
    journal.flush()
    with pytest.raises(PromotionRefusedError) as info:
        promote(journal, KS, "shadow_ready", ALICE, clock=SimClock(T0))
    assert info.value.missing_gates == ("no_unexpected_codes",)
    assert "GOV_BOT_ERROR" in str(info.value)


def test_stage_follows_evidence_after_promotion(
    journal: SqliteJournal, fake_impls: object,
) -> None:
    end = shadow_run(journal, KS, hours=25)
    promote(journal, KS, "shadow_ready", ALICE, clock=SimClock(T0))
    assert stage_of(journal) == "shadow_ready"
    emit(journal, KS, end + 1, code="RISK_KILLSWITCH_TRIPPED")  # not declared by the fake
    journal.flush()
    assert stage_of(journal) == "demo_wired"


def test_skipping_a_stage_is_refused(journal: SqliteJournal, fake_impls: object) -> None:
    with pytest.raises(PromotionRefusedError) as info:
        promote(journal, KS, "shadow_ready", ALICE, clock=SimClock(T0))
    assert info.value.missing_gates[0] == "stage_order"
    assert "shadow_24h" in info.value.missing_gates
    assert "pending" in str(info.value)
    assert last_entry(journal).envelope.reason_code == "GOV_PROMOTION_REFUSED"


def test_demo_wired_cannot_be_promoted_by_hand(
    journal: SqliteJournal, fake_impls: object,
) -> None:
    shadow_run(journal, KS, hours=1)
    with pytest.raises(PromotionRefusedError) as info:
        promote(journal, KS, "demo_wired", ALICE, clock=SimClock(T0))
    assert info.value.missing_gates == ("stage_order",)
    assert "automatically" in str(info.value)


def test_runtime_live_refused_naming_absent_evidence(
    journal: SqliteJournal, fake_impls: object,
) -> None:
    shadow_run(journal, KS, hours=24)
    promote(journal, KS, "shadow_ready", ALICE, clock=SimClock(T0))
    with pytest.raises(PromotionRefusedError) as info:
        promote(journal, KS, "runtime_live", ALICE, clock=SimClock(T0))
    missing = info.value.missing_gates
    assert "real_venue_adapter" in missing and "paper_wallet" in missing
    assert "stage_order" not in missing
    assert "real_venue_adapter" in str(info.value)
    with pytest.raises(PromotionRefusedError) as info2:
        promote(journal, KS, "production_live", ALICE, clock=SimClock(T0))
    assert "approvals_2_of_3" in info2.value.missing_gates
    assert stage_of(journal) == "shadow_ready"


def test_bad_input_is_not_journaled(journal: SqliteJournal, fake_impls: object) -> None:
    base = journal.head()[0]
    with pytest.raises(UnknownBotError):
        promote(journal, "risk.nope_nope", "shadow_ready", ALICE, clock=SimClock(T0))
    with pytest.raises(BadInputError):
        promote(journal, KS, "live", ALICE, clock=SimClock(T0))
    assert journal.head()[0] == base


def test_promotion_for_an_alias_actor_is_not_counted_as_canonical(
    journal: SqliteJournal, fake_impls: object,
) -> None:
    # envelopes are keyed by the exact actor id the runtime used (the bot's canonical id)
    run_started(journal, T0)
    emit(journal, "risk.killswitch", T0 + 1)
    journal.flush()
    assert stage_of(journal) == "pending"


def test_lifecycle_module_has_monkeypatchable_implementation_of() -> None:
    assert lifecycle.implementation_of is implementation_of
