"""Local matching of our paper orders against a live book we neither own nor change.

What: one ``PaperBook`` per outcome token holds the latest live levels (from the market feed) and
our resting paper orders.  Nothing here talks to the network; ``PaperVenue`` feeds it.

Rules (all conservative: a paper fill is never easier than the real one would have been):
- **Taking.**  A marketable order (or the crossing part of a GTC/GTD order) takes the live
  opposite levels best first at *their* prices, never beyond its limit, and never more than a
  level's live size less what our earlier paper takes already used of it (``used``).  A level's
  ``used`` amount shrinks with the level (others took or cancelled it) and goes when it goes.
- **Resting.**  A resting order fills at *its own* price (it is the maker) when
  (a) the live opposite side crosses it (a new ask at or below our bid: that seller would have
  met us first), using the crossing levels' available size; or
  (b) a trade print from the feed went through its price on the side that hits it (a SELL taker
  at or below our bid), up to the print's size.  At exactly our price, the size that rested at
  our price when we joined (``queue_ahead``, shrunk by prints and by the level shrinking; size
  we already took from that level in paper is not ahead of us, it is gone) trades first.
  Prints whose taker side is unknown are ignored (they cannot be told from a trade against a
  level that already crossed us).
- **Priority** among our own orders: best price first, then oldest.  Our orders at one price
  keep their time order in the queue (a newer order's ``queue_ahead`` is never below an
  older one's).
- **Validation** is the CLOB's (``sim.book.validate_order``: tick grid, lots, minimum size,
  $1 marketable minimum, post-only on a marketable type).  A post-only order that would cross
  the *live* book is rejected ``INVALID_POST_ONLY_ORDER``; a FOK that the available size cannot
  fill completely is rejected ``FOK_ORDER_NOT_FILLED_ERROR`` and changes nothing.

Deliberate simplifications: our paper orders never match each other (the real CLOB would let
them self-trade), and YES/NO books are independent (no complementary matching).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from polytraders.venues.base import (
    FOK_ORDER_NOT_FILLED_ERROR,
    INVALID_POST_ONLY_ORDER,
    BookLevel,
    Liquidity,
    Side,
    VenueOrderType,
)
from polytraders.venues.sim.book import validate_order

__all__ = ["PaperBook", "PaperFill", "PaperOrder", "PlaceOutcome"]

_ZERO: Final = Decimal(0)
_RESTING: Final = frozenset({"GTC", "GTD"})


@dataclass(slots=True)
class PaperOrder:
    venue_order_id: str
    client_order_id: str
    token_id: str
    side: Side
    price: Decimal
    original_size: Decimal
    remaining: Decimal
    order_type: VenueOrderType
    created_ms: int
    seq: int
    queue_ahead: Decimal = _ZERO
    expires_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class PaperFill:
    """One fill of one of our orders.  ``book_price`` is the live price it was matched against
    (the level taken, the crossing level, or the trade print)."""

    venue_order_id: str
    client_order_id: str
    side: Side
    price: Decimal
    size: Decimal
    remaining: Decimal
    liquidity: Liquidity
    book_price: Decimal


@dataclass(frozen=True, slots=True)
class PlaceOutcome:
    status: Literal["rejected", "rested", "filled", "killed"]
    fills: tuple[PaperFill, ...]
    remaining: Decimal
    error_code: str | None = None


def _better_or_equal(side: Side, price: Decimal, limit: Decimal) -> bool:
    """Is a level at ``price`` within a ``side`` order's ``limit``?"""
    return price <= limit if side == "BUY" else price >= limit


class PaperBook:
    """The live levels of one token and our resting paper orders on it."""

    def __init__(self, token_id: str, tick: Decimal, min_size: Decimal) -> None:
        self.token_id = token_id
        self.tick = tick
        self.min_size = min_size
        self._live: dict[Side, dict[Decimal, Decimal]] = {"BUY": {}, "SELL": {}}  # BUY = bids
        self._used: dict[tuple[Side, Decimal], Decimal] = {}
        self.orders: dict[str, PaperOrder] = {}
        self._seq = 0

    # -- reads ---------------------------------------------------------------------------------

    def available(self, level_side: Side, price: Decimal) -> Decimal:
        """Live size at a level less what our paper takes already used of it."""
        live = self._live[level_side].get(price, _ZERO)
        return max(_ZERO, live - self._used.get((level_side, price), _ZERO))

    def live_size(self, level_side: Side, price: Decimal) -> Decimal:
        return self._live[level_side].get(price, _ZERO)

    def _opposite_levels(self, side: Side, limit: Decimal) -> Iterator[Decimal]:
        """Opposite live level prices within ``limit``, best for us first."""
        level_side: Side = "SELL" if side == "BUY" else "BUY"
        prices = sorted(self._live[level_side], reverse=(side == "SELL"))
        for price in prices:
            if not _better_or_equal(side, price, limit):
                return
            yield price

    def crosses_live(self, side: Side, price: Decimal) -> bool:
        return next(self._opposite_levels(side, price), None) is not None

    def _priority(self, side: Side) -> list[PaperOrder]:
        mine = [o for o in self.orders.values() if o.side == side]
        return sorted(mine, key=lambda o: ((-o.price if side == "BUY" else o.price), o.seq))

    # -- market data ---------------------------------------------------------------------------

    def sync(self, bids: Iterable[BookLevel], asks: Iterable[BookLevel]) -> list[PaperFill]:
        """Take a new live snapshot; returns the fills of resting orders it crosses."""
        self._live = {"BUY": {lv.price: lv.size for lv in bids if lv.size > 0},
                      "SELL": {lv.price: lv.size for lv in asks if lv.size > 0}}
        for key in list(self._used):
            live = self._live[key[0]].get(key[1], _ZERO)
            if live <= _ZERO:
                del self._used[key]
            else:
                self._used[key] = min(self._used[key], live)
        for order in self.orders.values():
            order.queue_ahead = min(order.queue_ahead, self.available(order.side, order.price))
        fills: list[PaperFill] = []
        for side in ("BUY", "SELL"):
            for order in self._priority(side):
                fills += self._take(order, "maker")
        self._drop_filled()
        return fills

    def trade(self, price: Decimal, size: Decimal, taker_side: str) -> list[PaperFill]:
        """A trade print: fills of our resting orders it went through (see the module rules)."""
        if taker_side not in ("BUY", "SELL") or size <= _ZERO:
            return []
        hit: Side = "BUY" if taker_side == "SELL" else "SELL"  # the side of the book it traded into
        left = size
        fills: list[PaperFill] = []
        at_price: list[PaperOrder] = []
        for order in self._priority(hit):
            if not _better_or_equal(hit, price, order.price):
                continue  # the print did not reach our price
            if order.price != price:
                take = min(left, order.remaining)
                if take > _ZERO:
                    fills.append(self._fill(order, take, order.price, "maker", price))
                    left -= take
            else:
                at_price.append(order)
        taken_at_price = _ZERO
        for order in at_price:  # oldest first: _priority sorts equal prices by age
            reach = left - order.queue_ahead - taken_at_price
            order.queue_ahead = max(_ZERO, order.queue_ahead - left)
            take = min(order.remaining, reach)
            if take > _ZERO:
                fills.append(self._fill(order, take, order.price, "maker", price))
                taken_at_price += take
        self._drop_filled()
        return fills

    # -- our orders ----------------------------------------------------------------------------

    def place(self, *, venue_order_id: str, client_order_id: str, side: Side, price: Decimal, size: Decimal,
              order_type: VenueOrderType, created_ms: int, post_only: bool = False,
              expires_at_ms: int | None = None) -> PlaceOutcome:
        error = validate_order(side, price, size, order_type, post_only, self.tick, self.min_size)
        if error is not None:
            return PlaceOutcome("rejected", (), size, error)
        if post_only and self.crosses_live(side, price):
            return PlaceOutcome("rejected", (), size, INVALID_POST_ONLY_ORDER)
        level_side: Side = "SELL" if side == "BUY" else "BUY"
        if order_type == "FOK":
            reachable = sum((self.available(level_side, p) for p in self._opposite_levels(side, price)), _ZERO)
            if reachable < size:
                return PlaceOutcome("rejected", (), size, FOK_ORDER_NOT_FILLED_ERROR)
        self._seq += 1
        same_price = [o.queue_ahead for o in self.orders.values() if o.side == side and o.price == price]
        order = PaperOrder(venue_order_id, client_order_id, self.token_id, side, price, size, size, order_type,
                           created_ms, self._seq, max([self.available(side, price), *same_price]), expires_at_ms)
        fills = tuple(self._take(order, "taker"))
        if order.remaining == _ZERO:
            return PlaceOutcome("filled", fills, _ZERO)
        if order_type not in _RESTING:
            return PlaceOutcome("killed", fills, order.remaining)
        self.orders[venue_order_id] = order
        return PlaceOutcome("rested", fills, order.remaining)

    def cancel(self, venue_order_id: str) -> PaperOrder | None:
        return self.orders.pop(venue_order_id, None)

    # -- matching ------------------------------------------------------------------------------

    def _take(self, order: PaperOrder, liquidity: Liquidity) -> list[PaperFill]:
        """Match ``order`` against available opposite levels within its limit, best first.  A
        taker fills at each level's price; a resting order (maker) at its own."""
        level_side: Side = "SELL" if order.side == "BUY" else "BUY"
        fills: list[PaperFill] = []
        for level in list(self._opposite_levels(order.side, order.price)):
            if order.remaining <= _ZERO:
                break
            take = min(order.remaining, self.available(level_side, level))
            if take <= _ZERO:
                continue
            self._used[(level_side, level)] = self._used.get((level_side, level), _ZERO) + take
            fills.append(self._fill(order, take, level if liquidity == "taker" else order.price, liquidity, level))
        return fills

    @staticmethod
    def _fill(order: PaperOrder, size: Decimal, price: Decimal, liquidity: Liquidity,
              book_price: Decimal) -> PaperFill:
        order.remaining -= size
        return PaperFill(order.venue_order_id, order.client_order_id, order.side, price, size, order.remaining,
                         liquidity, book_price)

    def _drop_filled(self) -> None:
        for vid in [v for v, o in self.orders.items() if o.remaining <= _ZERO]:
            del self.orders[vid]

    def clear(self) -> list[PaperOrder]:
        """Remove every resting order (the market closed); returns them oldest first."""
        gone = sorted(self.orders.values(), key=lambda o: o.seq)
        self.orders.clear()
        return gone
