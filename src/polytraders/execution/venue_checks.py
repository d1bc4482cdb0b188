"""Is a venue event possible for the order it names? A pure check, run before the OLM applies it.

Purpose: bad data from a venue (a bug in the exchange, in our adapter, or a hostile peer) must
never become a position. The Order Lifecycle Manager asks `check_event` first; a non-None answer
is journaled as `EXEC_VENUE_ANOMALY` (naming the order, the field, the observed value and the
limit), trips the kill switch for that market, and the event is not applied at all.

Inputs: the event, the order it claims (None when we own no such order), the shares still open on
that order for new fills (order size minus the fills already journaled and not reversed), and
whether applying the event would record a new fill.
Output: the first `Anomaly` found (rules run in table order), or None.

Why comparisons only: a hostile Decimal (sNaN, 1E+999999) can make arithmetic raise, and NaN
makes ordering comparisons raise, so every number is proven finite before anything else touches
it, and no rule does arithmetic on a value from the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, get_args

from polytraders.contracts.orders import OrderRecord
from polytraders.venues.base import EventKind, Liquidity, TradeStatus, VenueEvent

_NUMERIC: Final = ("price", "size", "remaining", "fee")
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_PRICE_GRID: Final = Decimal("0.0001")  # the contracts' price grid (FillRecord refuses finer)
_OBSERVED_MAX: Final = 80  # characters of an observed value kept in the journal


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One broken rule: which field, what the venue said, what it must be."""

    field: str
    rule: str
    observed: str
    limit: str


@dataclass(slots=True)
class _Event:
    """The facts a rule reads: the event's numbers already proven finite Decimals. Not frozen:
    made once per event and only read by the rules, and a frozen dataclass's `__init__` costs
    several times more (one per cancelled order on a kill-switch trip's path)."""

    side: object
    token_id: object
    numbers: dict[str, Decimal]
    order: OrderRecord | None
    open_size: Decimal
    records_fill: bool


def observed_text(value: object) -> str:
    """What the venue said, as an operator reads it: Decimals plainly, anything else by repr
    (so a float or a list is visibly the wrong type), never longer than the journal keeps.
    Never raises: a repr can fail (an int past Python's digit limit, a hostile __repr__)."""
    if isinstance(value, str):
        return value[:_OBSERVED_MAX]
    try:
        text = str(value) if isinstance(value, Decimal) else repr(value)
    except Exception:  # noqa: BLE001 - the value is evidence, not something to crash on
        text = f"<unprintable {type(value).__name__}>"
    return text[:_OBSERVED_MAX]


_text = observed_text


def _as_decimal(value: object) -> Decimal | None:
    """The value as a finite Decimal, or None. Floats are refused: they have already lost
    exactness, and the venue interface promises Decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


# -- rules -----------------------------------------------------------------------------------
# Each rule returns (field, observed, limit) when broken, else None. They run in order and the
# first broken one is reported, so the cheap shape checks guard the ones that compare numbers.

_Rule = Callable[[_Event], tuple[str, str, str] | None]


def _known_order(e: _Event) -> tuple[str, str, str] | None:
    if e.records_fill and e.order is None:
        return "order", "unknown", "an order we own"
    return None


def _fill_size(e: _Event) -> tuple[str, str, str] | None:
    if not e.records_fill:
        return None
    size = e.numbers.get("size")
    if size is None or size <= _ZERO:
        return "size", _text(size), "> 0"
    if size > e.open_size:
        return "size", _text(size), f"<= {e.open_size} (open on the order)"
    return None


def _price_range(e: _Event) -> tuple[str, str, str] | None:
    price = e.numbers.get("price")
    if price is not None and not (_ZERO < price < _ONE):
        return "price", _text(price), "0 < price < 1"
    return None


def _fill_price(e: _Event) -> tuple[str, str, str] | None:
    price = e.numbers.get("price")
    if not e.records_fill or price is None or e.order is None:
        return None
    if price != price.quantize(_PRICE_GRID):
        return "price", _text(price), f"a multiple of {_PRICE_GRID}"
    # A match never gives us a worse price than our limit (takers trade at the resting price).
    if e.order.side == "BUY" and price > e.order.price:
        return "price", _text(price), f"<= {e.order.price} (BUY limit)"
    if e.order.side == "SELL" and price < e.order.price:
        return "price", _text(price), f">= {e.order.price} (SELL limit)"
    return None


def _fee(e: _Event) -> tuple[str, str, str] | None:
    fee = e.numbers.get("fee")
    if fee is None:
        return None
    if fee < _ZERO:
        return "fee", _text(fee), ">= 0"
    size = e.numbers.get("size")
    # A share pays out at most 1 pUSD, so no fee on a fill can exceed its size in pUSD.
    if e.records_fill and size is not None and fee > size:
        return "fee", _text(fee), f"<= {size} (the fill's size in pUSD)"
    return None


def _remaining(e: _Event) -> tuple[str, str, str] | None:
    remaining = e.numbers.get("remaining")
    if remaining is None:
        return None
    if remaining < _ZERO:
        return "remaining", _text(remaining), ">= 0"
    if e.order is not None and remaining > e.order.size:
        return "remaining", _text(remaining), f"<= {e.order.size} (the order's size)"
    return None


def _same_order(e: _Event) -> tuple[str, str, str] | None:
    if not e.records_fill or e.order is None:
        return None
    if e.side is not None and e.side != e.order.side:
        return "side", _text(e.side), e.order.side
    if e.token_id and e.token_id != e.order.token_id:
        return "token_id", _text(e.token_id), e.order.token_id
    return None


RULES: Final[tuple[tuple[str, _Rule], ...]] = (
    ("unknown_order", _known_order),
    ("fill_size", _fill_size),
    ("price_range", _price_range),
    ("fill_price", _fill_price),
    ("fee", _fee),
    ("remaining", _remaining),
    ("same_order", _same_order),
)
"""Value rules, in the order they are checked (after the shape checks in `check_event`)."""

# Rules that hold by definition for an event that records no fill (each returns None at once
# then); such events (an ack, a cancel: a trip's cancel-all answer brings one per resting order)
# are checked against the others only, in the same order, with the same first broken rule.
FILL_ONLY_RULES: Final = frozenset({"unknown_order", "fill_size", "fill_price", "same_order"})
_NON_FILL_RULES: Final = tuple((name, rule) for name, rule in RULES if name not in FILL_ONLY_RULES)

# Fields whose value must be one of a closed set (None allowed: not every kind carries them).
_CHOICES: Final[tuple[tuple[str, frozenset[object]], ...]] = (
    ("side", frozenset({"BUY", "SELL"})),
    ("liquidity", frozenset(get_args(Liquidity))),
    ("trade_status", frozenset(get_args(TradeStatus))),
)
_STRINGS: Final = ("venue_order_id", "client_order_id", "token_id")
_OPTIONAL_STRINGS: Final = ("trade_id", "error_code")
_KINDS: Final = frozenset(get_args(EventKind))
_SIDES, _LIQUIDITY, _TRADE_STATUSES = (allowed for _, allowed in _CHOICES)


def _shape(ev: object) -> tuple[Anomaly | None, dict[str, Decimal]]:
    """Kind, identifiers, closed-set fields, time and the finiteness of every number."""
    kind = getattr(ev, "kind", None)
    if not isinstance(kind, str) or kind not in _KINDS:  # (an unhashable kind must not raise)
        return Anomaly("kind", "shape", _text(kind), "one of " + ", ".join(sorted(_KINDS))), {}
    for name in _STRINGS:
        value = getattr(ev, name, None)
        if not isinstance(value, str):
            return Anomaly(name, "shape", _text(value), "a string"), {}
    for name in _OPTIONAL_STRINGS:
        value = getattr(ev, name, None)
        if value is not None and not isinstance(value, str):
            return Anomaly(name, "shape", _text(value), "a string or absent"), {}
    for name, allowed in _CHOICES:
        value = getattr(ev, name, None)
        if value is not None and (not isinstance(value, str) or value not in allowed):
            return Anomaly(name, "shape", _text(value), "one of " + ", ".join(sorted(map(str, allowed)))), {}
    ts = getattr(ev, "ts_ms", None)
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        return Anomaly("ts_ms", "shape", _text(ts), "an integer >= 0"), {}
    numbers: dict[str, Decimal] = {}
    for name in _NUMERIC:
        raw = getattr(ev, name, None)
        if raw is None:
            continue
        value = _as_decimal(raw)
        if value is None:
            return Anomaly(name, "finite", _text(raw), "a finite decimal"), {}
        numbers[name] = value
    return None, numbers


def _plain_numbers(ev: object) -> dict[str, Decimal] | None:
    """`_shape`'s numbers for a `VenueEvent` whose every field has exactly its declared type
    (what our adapters build), read with one attribute access per field; None for anything
    else, which `_shape` then checks field by field and names what is wrong. A cancel-all's
    answer brings one event per resting order on a kill-switch trip's path."""
    if type(ev) is not VenueEvent:
        return None
    side, liquidity, status, ts = ev.side, ev.liquidity, ev.trade_status, ev.ts_ms
    if not (type(ev.kind) is str and ev.kind in _KINDS and type(ev.venue_order_id) is str
            and type(ev.client_order_id) is str and type(ev.token_id) is str
            and (ev.trade_id is None or type(ev.trade_id) is str)
            and (ev.error_code is None or type(ev.error_code) is str)
            and (side is None or (type(side) is str and side in _SIDES))
            and (liquidity is None or (type(liquidity) is str and liquidity in _LIQUIDITY))
            and (status is None or (type(status) is str and status in _TRADE_STATUSES))
            and type(ts) is int and ts >= 0):
        return None
    numbers: dict[str, Decimal] = {}
    for name, value in (("price", ev.price), ("size", ev.size), ("remaining", ev.remaining), ("fee", ev.fee)):
        if value is None:
            continue
        if type(value) is not Decimal or not value.is_finite():
            return None
        numbers[name] = value
    return numbers


def check_event(ev: object, order: OrderRecord | None, open_size: Decimal, *,
                records_fill: bool) -> Anomaly | None:
    """The first rule the event breaks, or None when it may be applied to `order`.

    `ev` is typed `object` on purpose: the check must hold for whatever a broken adapter hands
    over, not only for well-typed `VenueEvent`s. `open_size` is only read when `records_fill`."""
    numbers = _plain_numbers(ev)
    if numbers is None:
        problem, numbers = _shape(ev)
        if problem is not None:
            return problem
    facts = _Event(side=getattr(ev, "side", None), token_id=getattr(ev, "token_id", ""),
                   numbers=numbers, order=order, open_size=open_size, records_fill=records_fill)
    for rule, check in RULES if records_fill else _NON_FILL_RULES:
        broken = check(facts)
        if broken is not None:
            return Anomaly(broken[0], rule, broken[1], broken[2])
    return None
