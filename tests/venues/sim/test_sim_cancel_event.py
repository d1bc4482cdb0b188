"""The simulator builds its cancel and expiry events by writing VenueEvent's slots directly
(a cancel-all answers with one per resting order, inside the kill switch's trip window): each
must be the event VenueEvent's own __init__ makes of the same values, equal, hashing alike and
with every field readable."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.venues.base import VenueEvent
from polytraders.venues.sim.venue import SimVenue, _OurOrder

_text = st.text(min_size=0, max_size=12)
_dec = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["cancel", "expire"]), vid=_text, cid=_text, token=_text,
       ts=st.integers(min_value=0, max_value=2**62), side=st.sampled_from(["BUY", "SELL"]), price=_dec,
       remaining=_dec, reason=st.one_of(st.none(), _text))
def test_cancel_event_is_the_one_init_makes(kind: str, vid: str, cid: str, token: str, ts: int, side: str,
                                            price: Decimal, remaining: Decimal, reason: str | None) -> None:
    rec = _OurOrder(vid, cid, token, side, price, Decimal(1), "GTC", 0)  # type: ignore[arg-type]
    made = SimVenue._cancel_event(None, kind, rec, remaining, ts, reason)  # type: ignore[arg-type]
    expected = VenueEvent(kind=kind, venue_order_id=vid, client_order_id=cid, token_id=token,  # type: ignore[arg-type]
                          ts_ms=ts, side=side, price=price, remaining=remaining, error_code=reason)  # type: ignore[arg-type]
    assert type(made) is VenueEvent
    assert made == expected and hash(made) == hash(expected)
    for f in fields(VenueEvent):
        assert getattr(made, f.name) is getattr(expected, f.name) or getattr(made, f.name) == getattr(expected, f.name)
        assert type(getattr(made, f.name)) is type(getattr(expected, f.name))


def test_event_slots_are_the_dataclass_fields_in_order() -> None:
    # the simulator unpacks one slot setter per field, in this order
    assert VenueEvent.__slots__ == tuple(f.name for f in fields(VenueEvent))
