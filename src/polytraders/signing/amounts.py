"""Exact Decimal -> 6-decimal base-unit amounts for CLOB V2 limit orders.

Mirrors ``OrderBuilder.get_order_amounts`` of py-clob-client-v2 1.2.1, but in exact
``Decimal`` arithmetic instead of binary floats:

* the price must already be on the tick grid and within ``[tick, 1 - tick]`` (the client
  would silently round it; we refuse instead);
* the size is rounded *down* to ``RoundingConfig.size`` decimals (2 for every tick), as the
  client does; a size that rounds down to zero is refused;
* BUY:  ``taker = size`` (shares), ``maker = size * price`` (pUSD);
  SELL: ``maker = size`` (shares), ``taker = size * price`` (pUSD);
* if the collateral amount has more than ``RoundingConfig.amount`` decimals it is rounded up
  to ``amount + 4`` decimals and then, if still too long, down to ``amount`` decimals (the
  client's rule).  For every tick in ``ROUNDING_CONFIG`` ``price + size == amount`` decimals,
  so with exact arithmetic the product never needs that step; it only exists in the client to
  clean up float noise.  It is kept here, and tested on its own, so a future table row with
  fewer ``amount`` decimals behaves like the client;
* the result is scaled by ``10**6`` and must be an exact integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Rounded,
)
from types import MappingProxyType
from typing import Final, Literal

from polytraders.signing.constants import TOKEN_DECIMALS, UINT256_MAX

SideName = Literal["BUY", "SELL"]


@dataclass(frozen=True, slots=True)
class RoundingConfig:
    """Decimal places allowed for price, size and the collateral amount at one tick size."""

    price: int
    size: int
    amount: int


#: py-clob-client-v2 1.2.1 ``order_builder.builder.ROUNDING_CONFIG``, keyed by exact Decimal.
ROUNDING_CONFIG: Final = MappingProxyType(
    {
        Decimal("0.1"): RoundingConfig(price=1, size=2, amount=3),
        Decimal("0.01"): RoundingConfig(price=2, size=2, amount=4),
        Decimal("0.005"): RoundingConfig(price=3, size=2, amount=5),
        Decimal("0.0025"): RoundingConfig(price=4, size=2, amount=6),
        Decimal("0.001"): RoundingConfig(price=3, size=2, amount=5),
        Decimal("0.0001"): RoundingConfig(price=4, size=2, amount=6),
    }
)
SUPPORTED_TICK_SIZES: Final[frozenset[Decimal]] = frozenset(ROUNDING_CONFIG)

# Arithmetic that must be exact: any rounding raises.
_EXACT: Final = Context(prec=200, traps=[InvalidOperation, Inexact, Rounded])
# Deliberate rounding (quantize with an explicit rounding mode).
_ROUNDING: Final = Context(prec=200, traps=[InvalidOperation])
_BASE_UNIT_SCALE: Final[int] = TOKEN_DECIMALS


def _expected_ticks() -> str:
    return ", ".join(sorted((str(t) for t in ROUNDING_CONFIG), key=Decimal))


def _fmt(value: Decimal) -> str:
    """Plain notation for readable messages (``0.0000001``, not ``1E-7``)."""
    return f"{value:f}" if abs(value.adjusted()) < 30 else str(value)


def _require_decimal(field: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(
            f"{field}={value!r} has type {type(value).__name__}: expected decimal.Decimal "
            "(floats are refused because they are inexact)"
        )
    dec = Decimal(value)
    if not dec.is_finite():
        raise ValueError(f"{field}={_fmt(dec)} is invalid: expected a finite number")
    return dec


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize(_ROUNDING).as_tuple().exponent
    assert isinstance(exponent, int)  # finite by construction
    return max(0, -exponent)


def _round_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING, context=_ROUNDING)


def _round_down(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR, context=_ROUNDING)


def rounding_config(tick: Decimal) -> RoundingConfig:
    """The rounding row for ``tick``; ValueError for a tick size the CLOB does not use."""
    tick_dec = _require_decimal("tick", tick)
    config = ROUNDING_CONFIG.get(tick_dec)
    if config is None:
        raise ValueError(
            f"tick={_fmt(tick_dec)} is not a known tick size: expected one of {_expected_ticks()}"
        )
    return config


def validate_price(price: Decimal, tick: Decimal) -> Decimal:
    """Return ``price`` if it is on the ``tick`` grid and within ``[tick, 1 - tick]``."""
    rounding_config(tick)
    tick_dec = Decimal(tick)
    price_dec = _require_decimal("price", price)
    low, high = tick_dec, _EXACT.subtract(Decimal(1), tick_dec)
    if not low <= price_dec <= high:
        raise ValueError(
            f"price={_fmt(price_dec)} is out of range: "
            f"expected {_fmt(low)} <= price <= {_fmt(high)}"
        )
    if _EXACT.remainder(price_dec, tick_dec) != 0:
        raise ValueError(
            f"price={_fmt(price_dec)} is off the tick grid: "
            f"expected a multiple of tick={_fmt(tick_dec)}"
        )
    return price_dec


def round_size(size: Decimal, tick: Decimal) -> Decimal:
    """The share size that will actually be signed: ``size`` rounded down to the allowed places.

    Refuses sizes <= 0 and sizes that round down to zero.
    """
    config = rounding_config(tick)
    size_dec = _require_decimal("size", size)
    if size_dec <= 0:
        raise ValueError(f"size={_fmt(size_dec)} is invalid: expected size > 0")
    try:
        rounded = _round_down(size_dec, config.size)
    except InvalidOperation:
        raise ValueError(f"size={_fmt(size_dec)} is invalid: expected a size below 1e190") from None
    if rounded <= 0:
        raise ValueError(
            f"size={_fmt(size_dec)} is invalid: expected at least "
            f"{Decimal(1).scaleb(-config.size)} shares (sizes are rounded down to "
            f"{config.size} decimals)"
        )
    return rounded


def apply_amount_rounding(value: Decimal, amount_places: int) -> Decimal:
    """The client's rule for a collateral amount with too many decimals.

    Round up to ``amount_places + 4`` decimals; if that still has more than ``amount_places``
    decimals, round down to ``amount_places``.  A no-op when ``value`` is already short enough.
    """
    if _decimal_places(value) > amount_places:
        value = _round_up(value, amount_places + 4)
        if _decimal_places(value) > amount_places:
            value = _round_down(value, amount_places)
    return value


def to_base_units(field: str, value: Decimal) -> int:
    """Exact ``value * 10**6`` as an int; ValueError if that is not an integer or not a uint256."""
    if _decimal_places(value) > _BASE_UNIT_SCALE:
        raise ValueError(
            f"{field}={_fmt(value)} is invalid: expected at most {_BASE_UNIT_SCALE} decimal places"
        )
    scaled = _EXACT.scaleb(value, Decimal(_BASE_UNIT_SCALE))
    units = int(scaled)
    if not 0 < units <= UINT256_MAX:
        raise ValueError(f"{field}={_fmt(value)} is invalid: expected 0 < base units <= 2**256 - 1")
    return units


def limit_order_amounts(
    side: SideName, price: Decimal, size: Decimal, tick: Decimal
) -> tuple[int, int]:
    """``(maker_amount, taker_amount)`` in 6-decimal base units for a limit order.

    BUY pays ``size * price`` pUSD (maker) for ``size`` shares (taker); SELL gives ``size``
    shares (maker) for ``size * price`` pUSD (taker).
    """
    plain = _plain_amounts(side, price, size, tick)
    return plain if plain is not None else _general_amounts(side, price, size, tick)


def _general_amounts(side: SideName, price: Decimal, size: Decimal, tick: Decimal) -> tuple[int, int]:
    """`limit_order_amounts` for any input, step by step (the client's rules, with its errors)."""
    config = rounding_config(tick)
    if side not in ("BUY", "SELL"):
        raise ValueError(f"side={side!r} is invalid: expected 'BUY' or 'SELL'")
    price_dec = validate_price(price, tick)
    shares = round_size(size, tick)
    try:
        collateral = _EXACT.multiply(shares, price_dec)
    except (Inexact, Rounded, InvalidOperation):
        raise ValueError(
            f"size={_fmt(shares)} is invalid: expected a size small enough to price exactly"
        ) from None
    collateral = apply_amount_rounding(collateral, config.amount)
    share_units = to_base_units("size", shares)
    collateral_units = to_base_units("size*price", collateral)
    if side == "BUY":
        return collateral_units, share_units
    return share_units, collateral_units


# tick -> (its 1 - tick, the size grid, 10**(6 - amount places)) for `_plain_amounts`
_PLAIN_ROWS: Final = {
    tick: (_EXACT.subtract(Decimal(1), tick), Decimal(1).scaleb(-config.size),
           10 ** (_BASE_UNIT_SCALE - config.amount))
    for tick, config in ROUNDING_CONFIG.items()
}
_SIX: Final = Decimal(_BASE_UNIT_SCALE)


def _plain_amounts(side: SideName, price: Decimal, size: Decimal, tick: Decimal) -> tuple[int, int] | None:
    """`limit_order_amounts` for the plain case, in one pass over the same exact arithmetic:
    Decimal inputs, a known tick, a price on its grid, a size that rounds to a positive one and
    a collateral amount that needs no rounding (always so for a price on the grid). None for
    anything else, which the general code then answers (or refuses, with its messages)."""
    if type(price) is not Decimal or type(size) is not Decimal or type(tick) is not Decimal:
        return None
    row = _PLAIN_ROWS.get(tick)
    if row is None or side not in ("BUY", "SELL") or not (price.is_finite() and size.is_finite()):
        return None
    high, size_grid, amount_unit = row
    try:
        if not tick <= price <= high or _EXACT.remainder(price, tick) != 0 or size <= 0:
            return None
        shares = size.quantize(size_grid, rounding=ROUND_FLOOR, context=_ROUNDING)
        if shares <= 0:
            return None
        collateral = _EXACT.scaleb(_EXACT.multiply(shares, price), _SIX)
        share_units = int(_EXACT.scaleb(shares, _SIX))
    except ArithmeticError:  # too long to be exact: the general code says why
        return None
    collateral_units = int(collateral)
    # more than the collateral's allowed places (needs the client's rounding) or past 6: general
    if collateral_units != collateral or collateral_units % amount_unit:
        return None
    if not (0 < collateral_units <= UINT256_MAX and 0 < share_units <= UINT256_MAX):
        return None
    if side == "BUY":
        return collateral_units, share_units
    return share_units, collateral_units


#: Decimal places the CLOB accepts on a marketable (FOK/FAK) order's amounts.
MARKETABLE_MAKER_PLACES: Final[int] = 2
MARKETABLE_TAKER_PLACES: Final[int] = 4
MIN_MARKETABLE_NOTIONAL: Final[Decimal] = Decimal(1)


def marketable_size(side: SideName, price: Decimal, size: Decimal, tick: Decimal) -> Decimal:
    """The largest 2-decimal share size <= ``size`` whose FOK/FAK amounts the CLOB accepts.

    A marketable order's maker amount may carry at most 2 decimals and its taker amount at most
    4 (polymarket-interfaces.md section 9).  A BUY's maker amount is ``size * price`` pUSD, so
    e.g. 10.37 shares at 0.57 (5.9109 pUSD) must shrink to 10.00.  A SELL's taker amount is
    ``size * price``.  Returns 0 when no positive size qualifies; the $1 minimum is checked
    by :func:`marketable_amounts_error`.
    """
    validate_price(price, tick)
    shares = round_size(size, tick)
    step = Decimal(1).scaleb(-rounding_config(tick).size)
    limit = MARKETABLE_MAKER_PLACES if side == "BUY" else MARKETABLE_TAKER_PLACES
    # The collateral amount size*price repeats its decimals with period <= 10**6 steps; in
    # practice (tick >= 0.0001) a valid size is found within 100 steps of the start.
    while shares > 0:
        if _decimal_places(_EXACT.multiply(shares, price)) <= limit:
            return shares
        shares -= step
    return Decimal(0)


def marketable_amounts_error(side: SideName, maker_amount: int, taker_amount: int) -> str | None:
    """Why the CLOB would refuse these FOK/FAK base-unit amounts, or None."""
    maker = Decimal(maker_amount).scaleb(-_BASE_UNIT_SCALE)
    taker = Decimal(taker_amount).scaleb(-_BASE_UNIT_SCALE)
    if _decimal_places(maker) > MARKETABLE_MAKER_PLACES or _decimal_places(taker) > MARKETABLE_TAKER_PLACES:
        return "amount precision"
    collateral = maker if side == "BUY" else taker
    if collateral < MIN_MARKETABLE_NOTIONAL:
        return "below $1"
    return None
