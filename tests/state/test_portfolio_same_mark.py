"""`portfolio._same` (is a mark written exactly as another?) compares strings: it must agree with
comparing `as_tuple()`s, which is what "written the same way" means, for every Decimal."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.state.portfolio import _digits, _exponent, _same

_DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(lambda sign, digits, exponent: Decimal((sign, digits, exponent)), st.integers(0, 1),
              st.lists(st.integers(0, 9), min_size=1, max_size=30).map(tuple), st.integers(-40, 40)),
)


@settings(max_examples=500)
@given(_DECIMALS, _DECIMALS)
def test_same_is_tuple_equality(a: Decimal, b: Decimal) -> None:
    assert _same(a, b) == (a.as_tuple() == b.as_tuple())
    assert _same(a, a)


def test_same_edges() -> None:
    assert not _same(Decimal("0.5"), Decimal("0.50"))  # equal value, written differently
    assert not _same(Decimal("0"), Decimal("-0"))
    assert not _same(Decimal("NaN"), Decimal("sNaN"))
    assert not _same(Decimal("100"), Decimal("1E+2"))
    assert _same(Decimal("0.515"), Decimal("0.515"))
    assert _same(None, None)
    assert not _same(Decimal(1), None) and not _same(None, Decimal(1))


@settings(max_examples=500)
@given(_DECIMALS)
def test_exponent_and_digits_are_the_tuples(d: Decimal) -> None:
    """`_exponent`/`_digits` read a Decimal's string and `adjusted()` instead of `as_tuple()`:
    the same answers for every finite Decimal, and the same error or answer for the others."""
    t = d.as_tuple()
    assert _digits(d) == len(t.digits)
    if d.is_finite():
        assert _exponent(d) == t.exponent
    else:
        with pytest.raises(ValueError):
            _exponent(d)
