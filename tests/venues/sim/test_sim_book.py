"""Matching-engine tests against small books written out by hand.

Each test lays down a book order by order, sends one order and asserts the exact fills (price,
size, who), remaining sizes, queue order and resulting levels.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytraders.venues.base import BookLevel, Side, VenueOrderType
from polytraders.venues.sim.book import Fill, OrderBook, PlaceResult

D = Decimal
TICK = D("0.01")


def make_book(tick: Decimal = TICK) -> OrderBook:
    return OrderBook("tok", tick, D(5))


def put(
    book: OrderBook,
    order_id: str,
    side: Side,
    price: str,
    size: str,
    order_type: VenueOrderType = "GTC",
    *,
    ours: bool = False,
    post_only: bool = False,
    t: int = 0,
) -> PlaceResult:
    return book.place(
        order_id=order_id,
        client_order_id="c-" + order_id,
        ours=ours,
        side=side,
        price=D(price),
        size=D(size),
        order_type=order_type,
        created_ms=t,
        post_only=post_only,
    )


def summary(fills: tuple[Fill, ...]) -> list[tuple[str, str, Decimal, Decimal, Decimal, Decimal]]:
    """(maker, taker, price, size, maker_remaining, taker_remaining) per fill."""
    return [
        (f.maker_order_id, f.taker_order_id, f.price, f.size, f.maker_remaining, f.taker_remaining)
        for f in fills
    ]


def lv(price: str, size: str) -> BookLevel:
    return BookLevel(D(price), D(size))


@pytest.fixture
def ask_book() -> OrderBook:
    """asks: 0.50 [A 10, B 5]  0.51 [C 20]   bids: 0.48 [X 7]"""
    book = make_book()
    assert put(book, "A", "SELL", "0.50", "10", t=1).status == "rested"
    assert put(book, "B", "SELL", "0.50", "5", t=2).status == "rested"
    assert put(book, "C", "SELL", "0.51", "20", t=3).status == "rested"
    assert put(book, "X", "BUY", "0.48", "7", t=4).status == "rested"
    return book


def test_hand_book_levels(ask_book: OrderBook) -> None:
    bids, asks = ask_book.levels()
    assert bids == (lv("0.48", "7"),)
    assert asks == (lv("0.50", "15"), lv("0.51", "20"))
    assert ask_book.best_bid() == D("0.48")
    assert ask_book.best_ask() == D("0.50")
    assert ask_book.queue_at("SELL", D("0.50")) == ("A", "B")


def test_gtc_sweeps_in_price_time_priority_and_fills_at_maker_price(ask_book: OrderBook) -> None:
    result = put(ask_book, "T", "BUY", "0.51", "18", ours=True)
    assert result.status == "filled"
    assert result.remaining == 0
    assert summary(result.fills) == [
        ("A", "T", D("0.50"), D("10"), D("0"), D("8")),
        ("B", "T", D("0.50"), D("5"), D("0"), D("3")),
        ("C", "T", D("0.51"), D("3"), D("17"), D("0")),
    ]
    assert all(f.taker_side == "BUY" and f.taker_ours and not f.maker_ours for f in result.fills)
    bids, asks = ask_book.levels()
    assert asks == (lv("0.51", "17"),)
    assert bids == (lv("0.48", "7"),)
    assert "A" not in ask_book and "B" not in ask_book
    c_order = ask_book.order("C")
    assert c_order is not None and c_order.remaining == D("17")


def test_taker_with_better_limit_still_pays_maker_price(ask_book: OrderBook) -> None:
    result = put(ask_book, "T", "BUY", "0.99", "6")
    assert summary(result.fills) == [("A", "T", D("0.50"), D("6"), D("4"), D("0"))]
    # A keeps its place at the front of the queue after a partial fill.
    assert ask_book.queue_at("SELL", D("0.50")) == ("A", "B")


def test_gtc_partial_fill_rests_remainder(ask_book: OrderBook) -> None:
    result = put(ask_book, "T", "BUY", "0.50", "25", ours=True)
    assert result.status == "rested"
    assert result.remaining == D("10")
    assert summary(result.fills) == [
        ("A", "T", D("0.50"), D("10"), D("0"), D("15")),
        ("B", "T", D("0.50"), D("5"), D("0"), D("10")),
    ]
    bids, asks = ask_book.levels()
    assert bids == (lv("0.50", "10"), lv("0.48", "7"))
    assert asks == (lv("0.51", "20"),)
    resting = ask_book.order("T")
    assert resting is not None and resting.remaining == D("10") and resting.original_size == 25


def test_sell_side_mirror() -> None:
    """bids: 0.48 [X 6, Y 6]  0.47 [Z 10]; SELL 15 @ 0.47."""
    book = make_book()
    put(book, "X", "BUY", "0.48", "6")
    put(book, "Y", "BUY", "0.48", "6")
    put(book, "Z", "BUY", "0.47", "10")
    result = put(book, "S", "SELL", "0.47", "15")
    assert result.status == "filled"
    assert summary(result.fills) == [
        ("X", "S", D("0.48"), D("6"), D("0"), D("9")),
        ("Y", "S", D("0.48"), D("6"), D("0"), D("3")),
        ("Z", "S", D("0.47"), D("3"), D("7"), D("0")),
    ]
    assert book.levels() == ((lv("0.47", "7"),), ())


def test_non_crossing_limit_rests_without_fills(ask_book: OrderBook) -> None:
    result = put(ask_book, "T", "BUY", "0.49", "5")
    assert result == PlaceResult("rested", (), D("5"))
    assert ask_book.best_bid() == D("0.49")


def test_time_priority_within_level_for_new_arrivals(ask_book: OrderBook) -> None:
    put(ask_book, "D", "SELL", "0.50", "5", t=9)
    assert ask_book.queue_at("SELL", D("0.50")) == ("A", "B", "D")
    result = put(ask_book, "T", "BUY", "0.50", "16")
    assert [f.maker_order_id for f in result.fills] == ["A", "B", "D"]
    assert result.fills[-1].size == D("1")
    assert ask_book.queue_at("SELL", D("0.50")) == ("D",)


# ------------------------------------------------------------------ FOK / FAK


def test_fok_fills_completely_across_levels(ask_book: OrderBook) -> None:
    result = put(ask_book, "F", "BUY", "0.51", "35", "FOK")
    assert result.status == "filled"
    assert [(f.maker_order_id, f.size) for f in result.fills] == [
        ("A", D("10")),
        ("B", D("5")),
        ("C", D("20")),
    ]
    assert ask_book.levels()[1] == ()


def test_fok_not_fillable_is_rejected_and_book_untouched(ask_book: OrderBook) -> None:
    before = ask_book.levels()
    result = put(ask_book, "F", "BUY", "0.51", "36", "FOK")
    assert result == PlaceResult("rejected", (), D("36"), "FOK_ORDER_NOT_FILLED_ERROR")
    assert ask_book.levels() == before
    assert ask_book.queue_at("SELL", D("0.50")) == ("A", "B")
    assert "F" not in ask_book
    # Liquidity beyond the limit does not count: 15 available at <= 0.50.
    assert put(ask_book, "G", "BUY", "0.50", "16", "FOK").status == "rejected"
    assert put(ask_book, "H", "BUY", "0.50", "15", "FOK").status == "filled"


def test_fok_that_does_not_cross_is_rejected(ask_book: OrderBook) -> None:
    result = put(ask_book, "F", "BUY", "0.49", "10", "FOK")
    assert result.error_code == "FOK_ORDER_NOT_FILLED_ERROR"


def test_fak_fills_what_it_can_and_kills_the_rest(ask_book: OrderBook) -> None:
    result = put(ask_book, "K", "BUY", "0.50", "40", "FAK")
    assert result.status == "killed"
    assert result.remaining == D("25")
    assert [(f.maker_order_id, f.size) for f in result.fills] == [("A", D("10")), ("B", D("5"))]
    assert "K" not in ask_book
    assert ask_book.best_bid() == D("0.48")  # nothing rested
    assert ask_book.levels()[1] == (lv("0.51", "20"),)


def test_fak_with_nothing_to_match_is_killed_without_fills(ask_book: OrderBook) -> None:
    result = put(ask_book, "K", "SELL", "0.49", "10", "FAK")
    assert result == PlaceResult("killed", (), D("10"))
    assert ask_book.levels()[0] == (lv("0.48", "7"),)


# ------------------------------------------------------------------ post-only


def test_post_only_crossing_is_rejected(ask_book: OrderBook) -> None:
    before = ask_book.levels()
    result = put(ask_book, "P", "BUY", "0.50", "10", post_only=True)
    assert result.status == "rejected"
    assert result.error_code == "INVALID_POST_ONLY_ORDER"
    assert ask_book.levels() == before
    result = put(ask_book, "Q", "SELL", "0.48", "10", post_only=True)
    assert result.error_code == "INVALID_POST_ONLY_ORDER"


def test_post_only_that_does_not_cross_rests(ask_book: OrderBook) -> None:
    assert put(ask_book, "P", "BUY", "0.49", "10", post_only=True).status == "rested"
    assert put(ask_book, "Q", "SELL", "0.495", "10", post_only=True).status == "rejected"  # tick
    assert put(ask_book, "R", "SELL", "0.52", "10", "GTD", post_only=True).status == "rested"


@pytest.mark.parametrize("order_type", ["FOK", "FAK"])
def test_post_only_on_immediate_types_is_invalid(
    ask_book: OrderBook, order_type: VenueOrderType
) -> None:
    result = put(ask_book, "P", "BUY", "0.40", "10", order_type, post_only=True)
    assert result.error_code == "INVALID_POST_ONLY_ORDER_TYPE"


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("tick", "price", "ok"),
    [
        ("0.01", "0.01", True),
        ("0.01", "0.99", True),
        ("0.01", "0.5", True),
        ("0.01", "0.505", False),
        ("0.01", "0.00", False),
        ("0.01", "1.00", False),
        ("0.01", "0.995", False),
        ("0.01", "-0.10", False),
        ("0.001", "0.001", True),
        ("0.001", "0.999", True),
        ("0.001", "0.505", True),
        ("0.001", "0.0005", False),
        ("0.001", "1", False),
    ],
)
def test_tick_grid_and_price_range(tick: str, price: str, ok: bool) -> None:
    book = make_book(D(tick))
    result = put(book, "O", "BUY", price, "10")
    if ok:
        assert result.status == "rested"
    else:
        assert result.status == "rejected"
        assert result.error_code == "INVALID_ORDER_MIN_TICK_SIZE"
        assert len(book) == 0


def test_non_finite_price_is_rejected() -> None:
    book = make_book()
    assert put(book, "O", "BUY", "NaN", "10").error_code == "INVALID_ORDER_MIN_TICK_SIZE"


@pytest.mark.parametrize(
    ("size", "order_type", "price", "code"),
    [
        ("4.99", "GTC", "0.50", "INVALID_ORDER_MIN_SIZE"),
        ("4.99", "GTD", "0.50", "INVALID_ORDER_MIN_SIZE"),
        ("5", "GTC", "0.50", None),
        ("0", "GTC", "0.50", "INVALID_ORDER_ERROR"),
        ("-5", "GTC", "0.50", "INVALID_ORDER_ERROR"),
        ("5.001", "GTC", "0.50", "INVALID_ORDER_ERROR"),  # sizes are 2-dp lots
        ("1.99", "FAK", "0.50", "INVALID_ORDER_MIN_SIZE"),  # $0.995 < $1 marketable minimum
        ("2", "FAK", "0.50", None),  # exactly $1; min_size does not apply to FAK
        ("2", "FOK", "0.49", "INVALID_ORDER_MIN_SIZE"),
    ],
)
def test_size_rules(size: str, order_type: VenueOrderType, price: str, code: str | None) -> None:
    book = make_book()
    result = put(book, "O", "BUY", price, size, order_type)
    assert result.error_code == code
    if code is not None:
        assert result.status == "rejected"


# ------------------------------------------------------------------ cancel / clear


def test_cancel_from_middle_of_queue_keeps_others_in_order(ask_book: OrderBook) -> None:
    put(ask_book, "D", "SELL", "0.50", "5")
    removed = ask_book.cancel("B")
    assert removed is not None and removed.remaining == D("5")
    assert ask_book.queue_at("SELL", D("0.50")) == ("A", "D")
    assert ask_book.levels()[1][0] == lv("0.50", "15")
    assert ask_book.cancel("B") is None
    assert ask_book.cancel("nope") is None


def test_cancel_last_order_removes_level(ask_book: OrderBook) -> None:
    ask_book.cancel("A")
    ask_book.cancel("B")
    assert ask_book.best_ask() == D("0.51")
    assert ask_book.levels()[1] == (lv("0.51", "20"),)
    ask_book.cancel("C")
    assert ask_book.best_ask() is None
    # A deeper level can go first too.
    put(ask_book, "E", "SELL", "0.60", "5")
    put(ask_book, "F", "SELL", "0.70", "5")
    ask_book.cancel("F")
    assert ask_book.levels()[1] == (lv("0.60", "5"),)


def test_cancel_partially_filled_order_returns_remaining(ask_book: OrderBook) -> None:
    assert put(ask_book, "T", "BUY", "0.50", "6").status == "filled"
    removed = ask_book.cancel("A")
    assert removed is not None and removed.remaining == D("4") and removed.original_size == 10
    assert ask_book.levels()[1][0] == lv("0.50", "5")


def test_clear_empties_book(ask_book: OrderBook) -> None:
    removed = ask_book.clear()
    assert [o.order_id for o in removed] == ["A", "B", "C", "X"]
    assert ask_book.levels() == ((), ())
    assert len(ask_book) == 0


def test_duplicate_resting_id_is_a_programming_error(ask_book: OrderBook) -> None:
    with pytest.raises(ValueError):
        put(ask_book, "A", "SELL", "0.60", "5")


def test_ours_flag_travels_with_fills() -> None:
    book = make_book()
    put(book, "M", "SELL", "0.40", "10", ours=True)
    put(book, "N", "SELL", "0.40", "10")
    result = put(book, "T", "BUY", "0.40", "15")
    assert [(f.maker_order_id, f.maker_ours, f.taker_ours) for f in result.fills] == [
        ("M", True, False),
        ("N", False, False),
    ]
    assert result.fills[0].maker_client_order_id == "c-M"


def test_available_stops_counting_once_needed(ask_book: OrderBook) -> None:
    assert ask_book.available("BUY", D("0.50"), D("100")) == D("15")
    assert ask_book.available("BUY", D("0.51"), D("12")) == D("15")
    assert ask_book.available("SELL", D("0.48"), D("1")) == D("7")
    assert ask_book.available("SELL", D("0.49"), D("1")) == D("0")
