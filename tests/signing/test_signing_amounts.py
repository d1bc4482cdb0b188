"""Exact limit-order amounts: worked examples, refusals, properties, official client."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.order_builder.builder import (  # type: ignore[import-untyped]
    ROUNDING_CONFIG as OFFICIAL_ROUNDING,
)
from py_clob_client_v2.order_builder.builder import (
    OrderBuilder,
)
from py_clob_client_v2.order_builder.helpers import round_down as official_round_down  # type: ignore[import-untyped]

from polytraders.signing.amounts import (
    ROUNDING_CONFIG,
    SUPPORTED_TICK_SIZES,
    SideName,
    apply_amount_rounding,
    limit_order_amounts,
    round_size,
    rounding_config,
    to_base_units,
)

D = Decimal


# ------------------------------------------------------------------------------------------
# Hand-worked examples
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("side", "price", "size", "tick", "maker", "taker"),
    [
        # tick 0.01 -- BUY: maker = size*price pUSD, taker = size shares
        ("BUY", "0.55", "10", "0.01", 5_500_000, 10_000_000),
        ("BUY", "0.37", "12.345", "0.01", 4_565_800, 12_340_000),  # size -> 12.34; 4.5658 pUSD
        ("BUY", "0.01", "5", "0.01", 50_000, 5_000_000),
        # tick 0.01 -- SELL: maker = size shares, taker = size*price pUSD
        ("SELL", "0.99", "100", "0.01", 100_000_000, 99_000_000),
        ("SELL", "0.01", "7.77", "0.01", 7_770_000, 77_700),  # 0.0777 pUSD
        # tick 0.001 -- BUY
        ("BUY", "0.123", "7.5", "0.001", 922_500, 7_500_000),  # 0.9225 pUSD
        ("BUY", "0.999", "33.33", "0.001", 33_296_670, 33_330_000),  # 33.29667 pUSD
        # tick 0.001 -- SELL
        ("SELL", "0.001", "5.01", "0.001", 5_010_000, 5_010),  # 0.00501 pUSD
        ("SELL", "0.457", "1234.56", "0.001", 1_234_560_000, 564_193_920),  # 564.19392 pUSD
        ("SELL", "0.457", "1234.569", "0.001", 1_234_560_000, 564_193_920),  # size rounded down
        # the other tick sizes
        ("BUY", "0.3", "3", "0.1", 900_000, 3_000_000),
        ("BUY", "0.995", "10", "0.005", 9_950_000, 10_000_000),
        ("SELL", "0.0025", "4", "0.0025", 4_000_000, 10_000),
        ("SELL", "0.0001", "2.5", "0.0001", 2_500_000, 250),
    ],
)
def test_hand_worked_examples(
    side: SideName, price: str, size: str, tick: str, maker: int, taker: int
) -> None:
    assert limit_order_amounts(side, D(price), D(size), D(tick)) == (maker, taker)


def test_tick_written_with_trailing_zero_is_the_same_tick() -> None:
    assert limit_order_amounts("BUY", D("0.50"), D("2"), D("0.010")) == (1_000_000, 2_000_000)


def test_round_size_truncates_to_two_decimals() -> None:
    assert round_size(D("1.999"), D("0.01")) == D("1.99")
    assert round_size(D("5"), D("0.001")) == D("5")


def test_rounding_table_matches_official_client() -> None:
    assert {str(t) for t in ROUNDING_CONFIG} == set(OFFICIAL_ROUNDING)
    for tick, cfg in ROUNDING_CONFIG.items():
        official = OFFICIAL_ROUNDING[str(tick)]
        assert (cfg.price, cfg.size, cfg.amount) == (official.price, official.size, official.amount)


def test_apply_amount_rounding_rule() -> None:
    # Too many decimals: round up to amount+4, then down to amount.
    assert apply_amount_rounding(D("0.123456789"), 3) == D("0.123")
    # Float noise just under a value: the round-up step restores it.
    assert apply_amount_rounding(D("0.12299999999999"), 3) == D("0.123")
    # Short enough: untouched.
    assert apply_amount_rounding(D("0.5"), 3) == D("0.5")


def test_to_base_units_is_exact() -> None:
    assert to_base_units("x", D("0.000001")) == 1
    with pytest.raises(ValueError, match=r"x=0\.0000001 .*at most 6 decimal places"):
        to_base_units("x", D("0.0000001"))


# ------------------------------------------------------------------------------------------
# Refusals
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("price", "tick", "pattern"),
    [
        ("0.555", "0.01", r"price=0\.555 is off the tick grid: expected a multiple of tick=0\.01"),
        ("0.1234", "0.001", r"price=0\.1234 is off the tick grid.*tick=0\.001"),
        ("0.0075", "0.005", r"price=0\.0075 is off the tick grid.*tick=0\.005"),
        ("0", "0.01", r"price=0 is out of range: expected 0\.01 <= price <= 0\.99"),
        ("1", "0.01", r"price=1 is out of range: expected 0\.01 <= price <= 0\.99"),
        ("0.9995", "0.001", r"price=0\.9995 is out of range: expected 0\.001 <= price <= 0\.999"),
        ("-0.5", "0.1", r"price=-0\.5 is out of range"),
        ("NaN", "0.01", r"price=NaN is invalid: expected a finite number"),
        ("Infinity", "0.01", r"price=Infinity is invalid"),
    ],
)
def test_refuses_bad_prices(price: str, tick: str, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        limit_order_amounts("BUY", D(price), D("10"), D(tick))


@pytest.mark.parametrize(
    ("size", "pattern"),
    [
        ("0", r"size=0 is invalid: expected size > 0"),
        ("-3", r"size=-3 is invalid: expected size > 0"),
        ("0.009", r"size=0\.009 is invalid: expected at least 0\.01 shares"),
        ("1E+250", r"size=1E\+250 is invalid"),
    ],
)
def test_refuses_bad_sizes(size: str, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        limit_order_amounts("SELL", D("0.5"), D(size), D("0.01"))


@pytest.mark.parametrize("tick", ["0.02", "0.05", "1", "0.00001"])
def test_refuses_unknown_ticks(tick: str) -> None:
    with pytest.raises(ValueError, match=rf"tick={tick} is not a known tick size: expected one of"):
        limit_order_amounts("BUY", D("0.5"), D("1"), D(tick))


def test_refuses_bad_side() -> None:
    with pytest.raises(ValueError, match=r"side='buy' is invalid: expected 'BUY' or 'SELL'"):
        limit_order_amounts("buy", D("0.5"), D("1"), D("0.01"))  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["price", "size", "tick"])
def test_refuses_floats(field: str) -> None:
    args: dict[str, object] = {"price": D("0.5"), "size": D("1"), "tick": D("0.01")}
    args[field] = float(str(args[field]))
    with pytest.raises(TypeError, match=rf"{field}=.* has type float: expected decimal\.Decimal"):
        limit_order_amounts("BUY", args["price"], args["size"], args["tick"])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------
@st.composite
def on_tick_orders(
    draw: st.DrawFn, max_shares: int = 10**10
) -> tuple[SideName, Decimal, Decimal, Decimal]:
    tick = draw(st.sampled_from(sorted(SUPPORTED_TICK_SIZES)))
    steps = int(1 / tick)
    price = tick * draw(st.integers(min_value=1, max_value=steps - 1))
    places = draw(st.integers(min_value=0, max_value=4))
    units = draw(st.integers(min_value=10 ** max(0, places - 2), max_value=max_shares * 10**places))
    size = Decimal(units).scaleb(-places)
    side: SideName = draw(st.sampled_from(["BUY", "SELL"]))
    return side, price, size, tick


@settings(max_examples=500, deadline=None)
@given(on_tick_orders())
def test_amounts_are_positive_ints_at_the_order_price(
    case: tuple[SideName, Decimal, Decimal, Decimal],
) -> None:
    side, price, size, tick = case
    maker, taker = limit_order_amounts(side, price, size, tick)
    assert type(maker) is int and type(taker) is int
    assert maker > 0 and taker > 0
    shares = size.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    cfg = rounding_config(tick)
    if side == "BUY":
        share_units, collateral_units = taker, maker
    else:
        share_units, collateral_units = maker, taker
    assert share_units == int(shares * 10**6)
    implied = Fraction(collateral_units, share_units)
    # The rounding rule allows at most 10**-amount pUSD of slack on the collateral leg ...
    slack = Fraction(1, 10**cfg.amount) / Fraction(shares)
    assert abs(implied - Fraction(price)) <= slack
    # ... and because price + size decimals == amount decimals for every tick, it is exact.
    assert implied == Fraction(price)


# ------------------------------------------------------------------------------------------
# Cross-check against py-clob-client-v2's float implementation
# ------------------------------------------------------------------------------------------
def _official_amounts(
    side: SideName, price: Decimal, size: Decimal, tick: Decimal
) -> tuple[int, int]:
    builder = OrderBuilder.__new__(OrderBuilder)  # get_order_amounts uses no instance state
    _, maker, taker = builder.get_order_amounts(
        side, float(size), float(price), OFFICIAL_ROUNDING[str(tick)]
    )
    return int(maker), int(taker)


def test_known_float_divergence_size_floor() -> None:
    """The client floors ``size`` in binary floating point: 5132.15 * 100 = 513214.99999999994,
    so it signs 5132.14 shares.  We sign the requested 5132.15 (both are on the price)."""
    assert _official_amounts("BUY", D("0.1"), D("5132.15"), D("0.1")) == (
        513_214_000,
        5_132_140_000,
    )
    assert limit_order_amounts("BUY", D("0.1"), D("5132.15"), D("0.1")) == (
        513_215_000,
        5_132_150_000,
    )


def test_known_float_divergence_large_notional() -> None:
    """Above roughly $350k of notional the client's float product loses the last base unit:
    624999 * 0.815 = 509374.185 exactly, the client signs 509374.184999 pUSD."""
    assert _official_amounts("BUY", D("0.815"), D("624999"), D("0.0025")) == (
        509_374_184_999,
        624_999_000_000,
    )
    assert limit_order_amounts("BUY", D("0.815"), D("624999"), D("0.0025")) == (
        509_374_185_000,
        624_999_000_000,
    )


# Up to 100k shares (< $100k notional) the client's float arithmetic is exact apart from the
# size-floor artefact above (checked empirically over ~10^5 random cases; divergences on the
# collateral leg only start around $350k).
@settings(max_examples=1000, deadline=None)
@given(on_tick_orders(max_shares=100_000))
def test_matches_official_client_rounding(case: tuple[SideName, Decimal, Decimal, Decimal]) -> None:
    side, price, size, tick = case
    official = _official_amounts(side, price, size, tick)
    # The size the client actually used (its float floor to 2 decimals).
    official_size = Decimal(repr(official_round_down(float(size), 2)))
    exact_size = size.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    if official_size == exact_size:
        assert limit_order_amounts(side, price, size, tick) == official
    else:
        # Float artefact: the client lost one hundredth of a share.  Given that same size,
        # our rules produce the client's amounts exactly.
        assert official_size == exact_size - Decimal("0.01")
        if official_size > 0:
            assert limit_order_amounts(side, price, official_size, tick) == official


# -- the plain fast path answers exactly as the general rules, or leaves the answer to them -------

_ANY_DECIMAL = st.one_of(
    st.decimals(min_value=Decimal("-2"), max_value=Decimal("2"), places=6),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("0.50"), Decimal("5E+1"), Decimal("1E-2"), Decimal("-0"), Decimal("0.010")]),
)
_ODD_TYPES = st.one_of(st.integers(-3, 1000), st.booleans(), st.floats(0, 2), st.text(max_size=4))


@settings(max_examples=400)
@given(st.sampled_from(["BUY", "SELL", "buy", "X"]),
       st.one_of(_ANY_DECIMAL, st.integers(0, 100).map(lambda n: Decimal(n) / 100), _ODD_TYPES),
       st.one_of(_ANY_DECIMAL, _ODD_TYPES),
       st.one_of(st.sampled_from(sorted(ROUNDING_CONFIG) + [Decimal("0.010"), Decimal("0.02")]), _ODD_TYPES))
def test_plain_amounts_are_the_general_ones(side: str, price: object, size: object, tick: object) -> None:
    from polytraders.signing.amounts import _general_amounts, _plain_amounts

    try:
        general: tuple[int, int] | Exception = _general_amounts(side, price, size, tick)  # type: ignore[arg-type]
    except (ValueError, TypeError, ArithmeticError) as exc:
        general = exc
    plain = _plain_amounts(side, price, size, tick)  # type: ignore[arg-type]
    if plain is not None:
        assert plain == general, "the fast path answered, and answered what the rules say"
    if isinstance(general, Exception):
        with pytest.raises(type(general)) as err:
            limit_order_amounts(side, price, size, tick)  # type: ignore[arg-type]
        assert str(err.value) == str(general), "the same refusal, word for word"
    else:
        assert limit_order_amounts(side, price, size, tick) == general  # type: ignore[arg-type]


def test_plain_amounts_answer_the_plain_case() -> None:
    from polytraders.signing.amounts import _plain_amounts

    assert _plain_amounts("BUY", D("0.47"), D(5), D("0.01")) == (2_350_000, 5_000_000)
    assert _plain_amounts("SELL", D("0.005"), D("10.129"), D("0.005")) == (10_120_000, 50_600)
    assert _plain_amounts("BUY", D("0.475"), D(5), D("0.01")) is None, "off the grid: the rules refuse it"
