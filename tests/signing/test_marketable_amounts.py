"""The CLOB's FOK/FAK amount precision rule, as our order building and the simulator apply it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from polytraders.signing.amounts import (
    limit_order_amounts,
    marketable_amounts_error,
    marketable_size,
)
from polytraders.venues.base import INVALID_ORDER_ERROR, INVALID_ORDER_MIN_SIZE, VenueOrder
from polytraders.venues.sim.venue import SimVenue


def test_buy_size_shrinks_until_the_maker_amount_has_two_decimals() -> None:
    # 10.37 x 0.57 = 5.9109 pUSD (4 dp): refused by the CLOB; 10.00 x 0.57 = 5.70 is fine.
    assert marketable_size("BUY", Decimal("0.57"), Decimal("10.37"), Decimal("0.01")) == Decimal("10.00")
    maker, taker = limit_order_amounts("BUY", Decimal("0.57"), Decimal("10.37"), Decimal("0.01"))
    assert marketable_amounts_error("BUY", maker, taker) == "amount precision"


def test_sell_taker_amount_may_have_four_decimals() -> None:
    assert marketable_size("SELL", Decimal("0.57"), Decimal("10.37"), Decimal("0.01")) == Decimal("10.37")


def test_below_one_dollar_is_refused() -> None:
    assert marketable_amounts_error("BUY", 900_000, 2_000_000) == "below $1"


@given(
    st.integers(min_value=1, max_value=99).map(lambda k: Decimal(k) / 100),
    st.integers(min_value=100, max_value=100_000).map(lambda k: Decimal(k) / 100),
    st.sampled_from(["BUY", "SELL"]),
)
def test_fitted_sizes_always_pass_and_never_grow(price: Decimal, size: Decimal, side: str) -> None:
    fitted = marketable_size(side, price, size, Decimal("0.01"))  # type: ignore[arg-type]
    assert fitted <= size
    assert size - fitted < 1  # with a 0.01 tick a valid size is within 100 lots
    if fitted > 0 and fitted * price >= 1:
        maker, taker = limit_order_amounts(side, price, fitted, Decimal("0.01"))  # type: ignore[arg-type]
        assert marketable_amounts_error(side, maker, taker) is None  # type: ignore[arg-type]


def test_sim_refuses_marketable_orders_that_break_the_rule() -> None:
    venue = SimVenue(seed=1, n_markets=1, start_ms=1_700_000_000_000)
    token = venue.markets()[0].yes_token
    ask = venue.book(token).best_ask  # type: ignore[union-attr]
    assert ask is not None
    bad = VenueOrder("c1", token, "BUY", ask, Decimal("10.37"), "FAK")
    price_ok = (ask * Decimal("10.37")).normalize().as_tuple().exponent
    events = venue.submit(bad, venue.now_ms)
    if isinstance(price_ok, int) and price_ok < -2:
        assert [e.error_code for e in events] == [INVALID_ORDER_ERROR]
    tiny = VenueOrder("c2", token, "BUY", ask, Decimal("1"), "FAK", maker_amount=500_000, taker_amount=1_000_000)
    assert [e.error_code for e in venue.submit(tiny, venue.now_ms)] == [INVALID_ORDER_MIN_SIZE]
