"""The pure venue-event check: one case per rule, at and just past each limit."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.contracts import OrderRecord
from polytraders.execution.venue_checks import FILL_ONLY_RULES, RULES, _Event, _plain_numbers, _shape, check_event
from polytraders.venues.base import VenueEvent

M = "0x" + "cd" * 32
ORDER = OrderRecord(client_order_id="co_1", venue_order_id="0xv1", intent_id="oi_00000001",
                    strategy_id="strat.test", market_id=M, token_id="101", side="BUY",
                    price=Decimal("0.50"), size=Decimal(10), order_type="GTC", status="live")
FILL = VenueEvent(kind="fill", venue_order_id="0xv1", client_order_id="co_1", token_id="101",
                  ts_ms=1, side="BUY", price=Decimal("0.50"), size=Decimal(4), remaining=Decimal(6),
                  fee=Decimal("0.01"), trade_id="t1", liquidity="maker", trade_status="MATCHED")


def fill(**changes: Any) -> VenueEvent:
    return dataclasses.replace(FILL, **changes)


def check(ev: Any, order: OrderRecord | None = ORDER, open_size: str = "10",
          records_fill: bool = True) -> tuple[str, str, str, str] | None:
    found = check_event(ev, order, Decimal(open_size), records_fill=records_fill)
    return None if found is None else (found.field, found.rule, found.observed, found.limit)


def test_a_sane_fill_passes_at_every_limit() -> None:
    assert check(FILL) is None
    assert check(fill(size=Decimal(10), remaining=Decimal(0))) is None  # exactly what is open
    assert check(fill(price=Decimal("0.0001"))) is None  # better than the BUY limit
    assert check(fill(fee=Decimal(0))) is None
    assert check(fill(fee=Decimal(4))) is None  # fee == size in pUSD
    assert check(fill(size=3, remaining=None, fee=None, side=None, price=None)) is None  # ints are exact


@pytest.mark.parametrize(("changes", "field", "rule", "observed"), [
    ({"size": Decimal("NaN")}, "size", "finite", "NaN"),
    ({"size": Decimal("sNaN")}, "size", "finite", "sNaN"),
    ({"size": Decimal("Infinity")}, "size", "finite", "Infinity"),
    ({"price": Decimal("-Infinity")}, "price", "finite", "-Infinity"),
    ({"fee": Decimal("NaN")}, "fee", "finite", "NaN"),
    ({"remaining": Decimal("Infinity")}, "remaining", "finite", "Infinity"),
    ({"size": 4.0}, "size", "finite", "4.0"),  # a float has already lost exactness
    ({"size": True}, "size", "finite", "True"),
    ({"size": Decimal("1E+30")}, "size", "fill_size", "1E+30"),
    ({"size": Decimal("10.000001")}, "size", "fill_size", "10.000001"),
    ({"size": Decimal(0)}, "size", "fill_size", "0"),
    ({"size": Decimal(-1)}, "size", "fill_size", "-1"),
    ({"size": None}, "size", "fill_size", "None"),
    ({"price": Decimal(0)}, "price", "price_range", "0"),
    ({"price": Decimal(1)}, "price", "price_range", "1"),
    ({"price": Decimal("-0.5")}, "price", "price_range", "-0.5"),
    ({"price": Decimal("0.51")}, "price", "fill_price", "0.51"),  # worse than our BUY limit
    ({"price": Decimal("0.12345")}, "price", "fill_price", "0.12345"),  # off the 4-dp grid
    ({"fee": Decimal("-0.00001")}, "fee", "fee", "-0.00001"),
    ({"fee": Decimal("4.00001")}, "fee", "fee", "4.00001"),
    ({"remaining": Decimal(-1)}, "remaining", "remaining", "-1"),
    ({"remaining": Decimal(11)}, "remaining", "remaining", "11"),
    ({"side": "SELL"}, "side", "same_order", "SELL"),
    ({"token_id": "999"}, "token_id", "same_order", "999"),
    ({"kind": "teleport"}, "kind", "shape", "teleport"),
    ({"side": "HOLD"}, "side", "shape", "HOLD"),
    ({"liquidity": "both"}, "liquidity", "shape", "both"),
    ({"trade_status": "SETTLED"}, "trade_status", "shape", "SETTLED"),
    ({"trade_id": 7}, "trade_id", "shape", "7"),
    ({"client_order_id": None}, "client_order_id", "shape", "None"),
    ({"ts_ms": -1}, "ts_ms", "shape", "-1"),
])
def test_each_rule_names_the_field_the_value_and_the_rule(changes: dict[str, Any], field: str, rule: str,
                                                          observed: str) -> None:
    found = check(fill(**changes))
    assert found is not None
    assert found[:3] == (field, rule, observed)
    assert found[3]  # the limit is always stated


def test_every_value_rule_is_exercised_above() -> None:
    # Adding a rule without a case above should fail here, not pass silently.
    assert {name for name, _ in RULES} == {"unknown_order", "fill_size", "price_range", "fill_price", "fee",
                                           "remaining", "same_order"}


def test_a_fill_is_held_to_what_journaled_fills_left_open() -> None:
    assert check(fill(size=Decimal(4)), open_size="4") is None
    assert check(fill(size=Decimal(4)), open_size="3.99") == ("size", "fill_size", "4", "<= 3.99 (open on the order)")


def test_a_fill_for_an_order_we_do_not_own_is_an_anomaly() -> None:
    assert check(FILL, order=None) == ("order", "unknown_order", "unknown", "an order we own")


def test_events_that_add_no_fill_are_not_held_to_the_open_size() -> None:
    # a repeated trade or a settlement update of a known trade: the shares were counted already
    assert check(fill(size=Decimal(4)), open_size="0", records_fill=False) is None
    # ... but they are still held to the shape and range rules
    assert check(fill(price=Decimal(2)), records_fill=False) == ("price", "price_range", "2", "0 < price < 1")


def test_cancels_and_acks_are_checked_against_the_order_size() -> None:
    cancel = VenueEvent(kind="cancel", venue_order_id="0xv1", client_order_id="co_1", token_id="101",
                        ts_ms=1, remaining=Decimal(10))
    assert check(cancel, records_fill=False) is None
    assert check(dataclasses.replace(cancel, remaining=Decimal("1E+30")), records_fill=False) == (
        "remaining", "remaining", "1E+30", "<= 10 (the order's size)")


def test_an_observed_value_is_kept_short() -> None:
    found = check(fill(trade_id="x" * 10_000))
    assert found is None  # long but well-typed ids are not impossible
    huge = check(fill(client_order_id=["co"] * 1_000))
    assert huge is not None and len(huge[2]) <= 80


def test_a_value_that_cannot_even_be_printed_is_still_reported() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert check(fill(client_order_id=10**5000)) == ("client_order_id", "shape", "<unprintable int>", "a string")
    assert check(fill(size=Hostile())) == ("size", "finite", "<unprintable Hostile>", "a finite decimal")


_DECIMALS = st.one_of(st.none(), st.decimals(allow_nan=True, allow_infinity=True), st.integers(-20, 20))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["cancel", "ack", "fill", "expire", "reject", "trade_status"]),
       price=_DECIMALS, size=_DECIMALS, remaining=_DECIMALS, fee=_DECIMALS,
       side=st.sampled_from([None, "BUY", "SELL"]), token_id=st.sampled_from(["101", "202", ""]),
       owned=st.booleans())
def test_an_event_that_records_no_fill_meets_the_same_first_broken_rule(
        kind: str, price: Any, size: Any, remaining: Any, fee: Any, side: Any, token_id: str,
        owned: bool) -> None:
    # the check of an event that records no fill skips the fill-only rules; every one of them
    # passes such an event anyway, so the first broken rule is the one running all of them finds
    ev = VenueEvent(kind=kind, venue_order_id="0xv1", client_order_id="co_1", token_id=token_id,  # type: ignore[arg-type]
                    ts_ms=1, side=side, price=price, size=size, remaining=remaining, fee=fee)
    order = ORDER if owned else None
    found = check_event(ev, order, Decimal(3), records_fill=False)
    problem, numbers = _shape(ev)
    if problem is not None:
        assert found == problem
        return
    facts = _Event(side=side, token_id=token_id, numbers=numbers, order=order, open_size=Decimal(3),
                   records_fill=False)
    every = next(((name, broken) for name, rule in RULES if (broken := rule(facts)) is not None), None)
    assert (None if found is None else (found.rule, (found.field, found.observed, found.limit))) == every
    assert all(rule(facts) is None for name, rule in RULES if name in FILL_ONLY_RULES)


class _Str(str):
    """A str subclass: `_shape` accepts it, the one-pass reading leaves it to `_shape`."""


_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3), st.builds(_Str, st.text(max_size=2)),
    st.decimals(allow_nan=True, allow_infinity=True), st.floats(), st.lists(st.integers(), max_size=1),
    st.sampled_from(["cancel", "fill", "BUY", "SELL", "maker", "taker", "MATCHED", "MINED"]))


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({name: _ANY for name in (
    "kind", "venue_order_id", "client_order_id", "token_id", "ts_ms", "side", "price", "size", "remaining", "fee",
    "trade_id", "liquidity", "trade_status", "error_code")}), st.booleans())
def test_the_one_pass_reading_of_a_venue_event_agrees_with_the_field_by_field_shape_check(
        fields: dict[str, Any], plain: bool) -> None:
    # whatever a broken adapter puts in a VenueEvent: the fast reading either steps aside (None)
    # or gives exactly the numbers the shape check gives for an event it finds well formed
    if plain:  # and the common case, every field of its declared type, is the fast one
        fields.update(kind="cancel", venue_order_id="0xv1", client_order_id="co_1", token_id="101", ts_ms=5,
                      side="BUY", liquidity=None, trade_status=None, trade_id=None, error_code=None,
                      **{k: v if v is None or isinstance(v, Decimal) and v.is_finite() else Decimal(1)
                         for k in ("price", "size", "remaining", "fee") for v in [fields[k]]})
    ev = VenueEvent(**fields)
    fast = _plain_numbers(ev)
    problem, numbers = _shape(ev)
    if plain:
        assert fast is not None
    if fast is not None:
        assert problem is None and fast == numbers
    assert check(ev, records_fill=False) == check(dataclasses.replace(ev) if fast is None else _Wrapped(ev),
                                                  records_fill=False)


class _Wrapped:
    """The same fields on another type: always checked field by field."""

    def __init__(self, ev: VenueEvent) -> None:
        for f in dataclasses.fields(ev):
            setattr(self, f.name, getattr(ev, f.name))
