"""Contracts: property-based round trips, exactness, and readable validation errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from polytraders.contracts import (
    CONTRACTS,
    ExecutionPlan,
    KillSwitchEvent,
    OrderIntent,
    PlannedOrder,
    RiskConstraints,
    RiskVote,
    Scope,
    export_schemas,
)
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.contracts.orders import execution_plan, planned_order
from polytraders.errors import describe_validation_error

HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map(lambda s: "0x" + s)
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=8, max_size=40)
PRICES = st.integers(min_value=1, max_value=9999).map(lambda n: Decimal(n) / Decimal(10000))
SIZES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)

intents = st.builds(
    OrderIntent,
    intent_id=IDS,
    correlation_id=IDS,
    strategy_id=st.sampled_from(["strat.maker_tight", "s1"]),
    market_id=HEX64,
    token_id=st.integers(min_value=0, max_value=2**256 - 1).map(str),
    outcome=st.sampled_from(["YES", "NO"]),
    side=st.sampled_from(["BUY", "SELL"]),
    order_type=st.sampled_from(["LIMIT", "GTC", "FOK", "IOC", "POST_ONLY"]),
    price=PRICES,
    size=SIZES,
    emitted_at_ms=st.integers(min_value=0, max_value=2**53),
    reduce_only=st.booleans(),
)


@settings(max_examples=150)
@given(intents)
def test_order_intent_round_trips_through_json(intent: OrderIntent) -> None:
    data = json.loads(intent.model_dump_json())
    assert isinstance(data["price"], str)  # exact: never a binary float on the wire
    back = OrderIntent.model_validate(data)
    assert back == intent
    assert back.notional == intent.price * intent.size


@settings(max_examples=100)
@given(intents, st.sampled_from(["APPROVE", "REJECT", "WARNING_ONLY"]))
def test_vote_and_envelope_round_trip(intent: OrderIntent, decision: str) -> None:
    vote = RiskVote(guard_id="risk.x", intent_id=intent.intent_id, decision=decision,  # type: ignore[arg-type]
                    reason_code="RISK_APPROVED", message="m")
    env = ReportEnvelope.wrap(vote, actor=Actor(kind="bot", id="risk.x"),
                              reason_code="RISK_APPROVED", ts_ms=intent.emitted_at_ms,
                              correlation_id=intent.correlation_id)
    again = ReportEnvelope.model_validate(json.loads(env.model_dump_json()))
    assert again == env
    assert again.decode() == vote


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_price_outside_open_unit_interval_is_refused(p: Decimal) -> None:
    ok = Decimal(0) < p < Decimal(1) and p == p.quantize(Decimal("0.0001"))
    kwargs = dict(intent_id="oi_abcdefgh", correlation_id="corr_abcdefgh", strategy_id="s",
                  market_id="0x" + "a" * 64, token_id="1", outcome="YES", side="BUY",
                  price=p, size=Decimal(5), emitted_at_ms=0)
    if ok:
        assert OrderIntent(**kwargs).price == p  # type: ignore[arg-type]
    else:
        with pytest.raises(ValidationError):
            OrderIntent(**kwargs)  # type: ignore[arg-type]


def test_floats_never_become_prices_silently() -> None:
    with pytest.raises(ValidationError):
        OrderIntent(intent_id="oi_abcdefgh", correlation_id="corr_abcdefgh", strategy_id="s",
                    market_id="0x" + "a" * 64, token_id="1", outcome="YES", side="BUY",
                    price=0.1 + 0.2, size=Decimal(5), emitted_at_ms=0)  # type: ignore[arg-type]


def test_error_message_names_field_value_and_expectation() -> None:
    with pytest.raises(ValidationError) as info:
        OrderIntent.model_validate({"intent_id": "oi_abcdefgh", "correlation_id": "corr_abcdefgh",
                                    "strategy_id": "s", "market_id": "0xnothex", "token_id": "1",
                                    "outcome": "YES", "side": "HOLD", "price": "1.5", "size": "-1",
                                    "emitted_at_ms": 0})
    text = describe_validation_error("order intent", info.value)
    assert "market_id" in text and "side" in text and "'HOLD'" in text and "price" in text
    assert "\n" not in text


def test_unknown_fields_and_mutation_refused() -> None:
    scope = Scope()
    with pytest.raises(ValidationError):
        Scope(scope="global", value="*", surprise=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        scope.value = "x"  # type: ignore[misc]


def test_reshape_requires_constraints() -> None:
    with pytest.raises(ValidationError):
        RiskVote(guard_id="g", intent_id="i", decision="RESHAPE_REQUIRED", reason_code="RISK_APPROVED",
                 message="m")
    RiskVote(guard_id="g", intent_id="i", decision="RESHAPE_REQUIRED", reason_code="RISK_APPROVED",
             message="m", constraints=RiskConstraints(max_size=Decimal(5)))


def test_envelope_refuses_unregistered_code_and_unknown_kind() -> None:
    with pytest.raises(Exception, match="not in the registry"):
        ReportEnvelope.wrap(Scope(), actor=Actor(kind="system", id="t"), reason_code="RISK_MADE_UP",
                            ts_ms=0)
    with pytest.raises(ValidationError):
        ReportEnvelope(kind="nonsense", actor=Actor(kind="system", id="t"),
                       reason_code="GOV_RUN_STARTED", severity="INFO", ts_ms=0)  # type: ignore[arg-type]


def test_killswitch_event_carries_cause() -> None:
    ev = KillSwitchEvent(event="tripped", trip_id="ks_1", trigger="drawdown_intraday", scope=Scope(),
                         observed=Decimal("5.2"), threshold=Decimal("5"), caused_by_seq=42, at_ms=1)
    assert KillSwitchEvent.model_validate_json(ev.model_dump_json()) == ev


def test_schema_export_writes_one_valid_schema_per_contract(tmp_path: Path) -> None:
    paths = export_schemas(tmp_path)
    assert len(paths) == len(CONTRACTS) + 1
    for p in paths:
        schema = json.loads(p.read_text())
        assert schema["$schema"].endswith("2020-12/schema")
        assert schema["type"] == "object"


@settings(max_examples=50)
@given(intents)
def test_hand_written_envelope_dict_matches_pydantic(intent: OrderIntent) -> None:
    env = ReportEnvelope.wrap(intent, actor=Actor(kind="bot", id="strat.x"),
                              reason_code="STRAT_EDGE_DETECTED", ts_ms=5, config_warnings=("a",))
    dumped = env.model_dump(mode="json")
    assert dumped.pop("signature") is None  # an unsigned envelope carries no signature key at all
    assert env.to_json_dict() == dumped


# -- votes built by our own guards, and the order path's decision record ------------------------

OBSERVED = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=20), max_size=4)


@settings(max_examples=150)
@given(intents, st.sampled_from(["APPROVE", "REJECT", "WARNING_ONLY", "RESHAPE_REQUIRED"]),
       st.sampled_from(["INFO", "WARN", "P1", "P0"]), OBSERVED, st.none() | SIZES.filter(lambda d: d > 0))
def test_an_own_vote_is_the_validated_vote_and_serialises_the_same(
        intent: OrderIntent, decision: str, severity: str, observed: dict[str, str], cap: Decimal | None) -> None:
    constraints = None if cap is None else RiskConstraints(max_size=cap)
    args = dict(guard_id="risk.x", intent_id=intent.intent_id, decision=decision, severity=severity,
                reason_code="RISK_APPROVED", message="m", constraints=constraints, observed=observed)
    if decision == "RESHAPE_REQUIRED" and constraints is None:
        with pytest.raises(ValueError):
            RiskVote.own(**args)  # type: ignore[arg-type]
        return
    own = RiskVote.own(**args)  # type: ignore[arg-type]
    checked = RiskVote(**args)  # type: ignore[arg-type]
    assert own.to_json_dict() == checked.to_json_dict() == checked.model_dump(mode="json")
    assert RiskVote.model_validate(own.to_json_dict()) == checked


def test_an_assembled_contract_holds_pydantics_instance_slots_as_validation_sets_them() -> None:
    """`assembled` sets pydantic's four slots by their descriptors: the same fields set (a set of
    each object's own), no extra, no private, and a copy with an update leaves the original alone."""
    args = dict(guard_id="risk.x", intent_id="oi_1", decision="REJECT", severity="P1", reason_code="RISK_APPROVED",
                message="m", constraints=None, observed={"a": "1"})
    own, other, checked = RiskVote.own(**args), RiskVote.own(**args), RiskVote(**args)  # type: ignore[arg-type]
    assert own == checked and own.model_fields_set == checked.model_fields_set
    assert own.model_fields_set is not other.model_fields_set
    assert own.__pydantic_extra__ is None and own.__pydantic_private__ is None
    warned = own.model_copy(update={"decision": "WARNING_ONLY"})
    assert (warned.decision, own.decision) == ("WARNING_ONLY", "REJECT")
    with pytest.raises(ValidationError):
        own.decision = "APPROVE"  # type: ignore[misc]


def test_an_own_vote_still_refuses_an_overlong_message() -> None:
    with pytest.raises(ValueError, match="400"):
        RiskVote.own(guard_id="g", intent_id="i", decision="APPROVE", reason_code="RISK_APPROVED",
                     message="x" * 401)


@settings(max_examples=100)
@given(intents, st.lists(st.tuples(st.sampled_from(["APPROVE", "REJECT"]), st.booleans(),
                                   st.sampled_from(["enforced", "shadow", "advisory"])), min_size=1, max_size=10))
def test_a_decision_record_round_trips_through_its_envelope(
        intent: OrderIntent, votes: list[tuple[str, bool, str]]) -> None:
    from polytraders.contracts.decisions import DecisionRecord, DecisionStep, compact_output

    # every other vote names another intent and guard: those fields must then stay in the record
    cast = [RiskVote.own(guard_id=f"risk.g{i}" if i % 2 else "risk.other", decision=d,  # type: ignore[arg-type]
                         intent_id=intent.intent_id if i % 2 else "oi_another", reason_code="RISK_APPROVED",
                         message="m") for i, (d, _, _) in enumerate(votes)]
    steps = [DecisionStep.of(f"risk.g{i}", mode, "3", ("w",) if blocked else (), "RISK_APPROVED", "risk_vote",
                             compact_output(v.to_json_dict(), f"risk.g{i}", "RISK_APPROVED", intent.intent_id),
                             blocked)
             for i, ((_, blocked, mode), v) in enumerate(zip(votes, cast, strict=True))]
    record = DecisionRecord.trusted(intent_id=intent.intent_id, result="passed", steps=tuple(steps))
    assert DecisionRecord.model_validate(record.to_json_dict()) == record
    assert DecisionRecord.of(intent.intent_id, "passed", tuple(steps)) == record, "the runtime's constructor"
    env = ReportEnvelope.wrap(record, actor=Actor(kind="system", id="pipeline"), reason_code="RISK_APPROVED",
                              ts_ms=intent.emitted_at_ms, correlation_id=intent.correlation_id)
    back = ReportEnvelope.model_validate(json.loads(json.dumps(env.to_json_dict())))
    decoded = back.decode()
    assert isinstance(decoded, DecisionRecord) and decoded.to_json_dict() == record.to_json_dict()
    assert decoded.outputs() == cast, "every vote comes back whole from the compact form"
    for step in decoded.steps:
        assert "schema_version" not in step.output and "reason_code" not in step.output
    assert all(("intent_id" in s.output) == (s.output.get("guard_id") == "risk.other") for s in decoded.steps)


def test_a_decision_record_refuses_an_unregistered_step_code_and_an_empty_record() -> None:
    from polytraders.contracts.decisions import DecisionRecord

    step = {"bot_id": "risk.g", "mode": "enforced", "config_version": "1", "reason_code": "NOT_A_CODE",
            "output_kind": "note", "output": {"detail": {}}, "blocked": False}
    with pytest.raises(ValidationError):
        DecisionRecord.model_validate({"intent_id": "oi_1", "result": "passed", "steps": [step]})
    with pytest.raises(ValidationError):
        DecisionRecord.model_validate({"intent_id": "oi_1", "result": "passed", "steps": []})
    with pytest.raises(ValueError, match="at least one step"):
        DecisionRecord.of("oi_1", "passed", ())
    step["reason_code"] = "GOV_BOT_ERROR"
    record = DecisionRecord.model_validate({"intent_id": "oi_1", "result": "aborted", "steps": [step]})
    assert record.steps[0].blocked is False


@settings(max_examples=150)
@given(intents, st.sampled_from(["APPROVE", "REJECT", "WARNING_ONLY", "RESHAPE_REQUIRED"]), OBSERVED,
       st.sampled_from(["risk.x", "risk.y"]), st.sampled_from(["RISK_APPROVED", "RISK_MARKET_LIMIT"]),
       st.booleans(), st.none() | SIZES.filter(lambda d: d > 0))
def test_a_votes_compact_form_in_one_pass_is_the_compacted_json(
        intent: OrderIntent, decision: str, observed: dict[str, str], bot_id: str, code: str,
        same_intent: bool, cap: Decimal | None) -> None:
    from polytraders.contracts.decisions import compact_output

    constraints = RiskConstraints(max_size=cap) if decision == "RESHAPE_REQUIRED" or cap is not None else None
    vote = RiskVote.own(guard_id="risk.x", intent_id=intent.intent_id, decision=decision,  # type: ignore[arg-type]
                        reason_code="RISK_APPROVED", message="m", constraints=constraints, observed=observed)
    record_intent = (intent.intent_id if same_intent else "oi_another") if cap is None or same_intent else None
    one_pass = vote.compact_json_dict(bot_id, code, record_intent)
    compacted = compact_output(vote.to_json_dict(), bot_id, code, record_intent)
    assert list(one_pass.items()) == list(compacted.items()), "same keys, same order, same values"


@settings(max_examples=150)
@given(intents, st.sampled_from(["APPROVE", "REJECT", "WARNING_ONLY", "RESHAPE_REQUIRED"]), OBSERVED,
       st.sampled_from(["risk.x", "risk.y"]), st.sampled_from(["RISK_APPROVED", "RISK_MARKET_LIMIT"]),
       st.sampled_from([None, "same", "other"]), st.none() | SIZES.filter(lambda d: d > 0),
       st.sampled_from([(), ("max_size: above warning",)]))
def test_an_enforced_votes_step_in_one_go_is_the_step_of_builds(
        intent: OrderIntent, decision: str, observed: dict[str, str], bot_id: str, code: str,
        record_intent: str | None, cap: Decimal | None, warnings: tuple[str, ...]) -> None:
    """`DecisionStep.of_vote` (the order path's usual step) against `of` with the vote's compact
    form, whether or not the vote names the step's bot, code and intent; and a step's JSON keeps
    its keys, values and order (`schema_version` and empty warnings left out)."""
    from polytraders.contracts.decisions import DecisionStep

    constraints = RiskConstraints(max_size=cap) if decision == "RESHAPE_REQUIRED" or cap is not None else None
    vote = RiskVote.own(guard_id="risk.x", intent_id=intent.intent_id, decision=decision,  # type: ignore[arg-type]
                        reason_code="RISK_APPROVED", message="m", constraints=constraints, observed=observed)
    iid = {None: None, "same": intent.intent_id, "other": "oi_another"}[record_intent]
    fast = DecisionStep.of_vote(bot_id, "7", warnings, code, vote, iid)
    slow = DecisionStep.of(bot_id, "enforced", "7", warnings, code, "risk_vote",
                           vote.compact_json_dict(bot_id, code, iid), False)
    assert fast == slow and list(fast.output.items()) == list(slow.output.items())
    as_json = fast.to_json_dict()
    expected = [("bot_id", bot_id), ("mode", "enforced"), ("config_version", "7"), ("reason_code", code),
                ("output_kind", "risk_vote"), ("output", slow.output), ("blocked", False)]
    if warnings:
        expected.append(("config_warnings", list(warnings)))
    assert list(as_json.items()) == expected
    assert DecisionStep.model_validate(as_json) == fast


PLANNED = st.builds(
    lambda i, side, price, size, otype, post, exp: planned_order(f"co_{i:024x}", str(i), side, price, size, otype,
                                                                 post, exp),
    st.integers(min_value=1, max_value=2**64), st.sampled_from(["BUY", "SELL"]), PRICES, SIZES,
    st.sampled_from(["GTC", "GTD", "FOK", "FAK"]), st.booleans(), st.none() | st.integers(min_value=0, max_value=2**53))


@settings(max_examples=150)
@given(st.lists(PLANNED, min_size=1, max_size=4), st.sampled_from([Decimal("0.01"), Decimal("0.001"), Decimal("1E-4")]),
       st.decimals(min_value=0, max_value=100, places=4), st.integers(min_value=0, max_value=10**6),
       st.lists(st.sampled_from(["tick_snap", "max_size", "sliced"]), max_size=3), st.none() | st.integers(0, 2**53))
def test_a_plans_hand_written_json_is_pydantics(steps: list[PlannedOrder], tick: Decimal, fees: Decimal,
                                                 slip: int, applied: list[str], expires: int | None) -> None:
    plan = execution_plan("pl_x", "oi_x", "0x" + "ab" * 32, tuple(steps), tick, fees, slip, tuple(applied), expires)
    assert plan == ExecutionPlan.trusted(plan_id="pl_x", intent_id="oi_x", market_id="0x" + "ab" * 32,
                                         steps=tuple(steps), tick=tick, estimated_fees_pusd=fees,
                                         estimated_slippage_bps=slip, constraints_applied=tuple(applied),
                                         expires_at_ms=expires), "the router's constructor is trusted()'s"
    by_hand = plan.to_json_dict()
    assert json.dumps(by_hand) == json.dumps(plan.model_dump(mode="json")), "same keys, order and values"
    assert ExecutionPlan.model_validate(by_hand) == plan, "and it is a valid plan"


def test_a_plan_with_a_non_decimal_value_is_serialised_by_pydantic() -> None:
    odd = PlannedOrder.trusted(client_order_id="co_12345678", token_id="1", side="BUY", price=Decimal("0.5"),
                               size=5, order_type="GTC", post_only=False, expires_at_ms=None)
    with pytest.warns(UserWarning, match="serializer"):  # pydantic's own complaint: it went there
        assert odd.to_json_dict()["size"] == 5
    with pytest.raises(ValueError, match="at least one step"):
        execution_plan("pl_x", "oi_x", "0x" + "ab" * 32, (), Decimal("0.01"), Decimal(0), 0, (), None)
