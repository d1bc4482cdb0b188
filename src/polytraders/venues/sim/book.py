"""Per-token limit order book with price-time priority, CLOB V2 order semantics.

What: one ``OrderBook`` per outcome token.  It validates orders the way the CLOB does (tick grid
and ``tick <= price <= 1 - tick``, two-decimal share lots, min size for resting orders, $1
minimum for marketable FOK/FAK, post-only rules), matches an incoming order against the
opposite side best price first and oldest first within a price, and reports every match as a
``Fill`` executed at the resting (maker) order's price.

- GTC / GTD: match what crosses, rest the remainder (GTD expiry is driven by the venue, which
  owns the clock; the book only stores ``expires_at_ms``).
- FOK: if the crossing liquidity cannot fill the whole size the order is rejected with
  ``FOK_ORDER_NOT_FILLED_ERROR`` and the book is untouched.
- FAK: match what crosses, the rest is dropped (status ``killed``).
- post-only: a post-only order that would cross is rejected (``INVALID_POST_ONLY_ORDER``);
  post-only on FOK/FAK is ``INVALID_POST_ONLY_ORDER_TYPE``.

Our orders and synthetic other-trader orders share the book; ``RestingOrder.ours`` tells them
apart so the venue only reports fills that touch our orders.

Simplification (deliberate): the YES and NO tokens of a market are independent books.  The real
CLOB also matches complementary orders across outcomes (BUY YES against BUY NO mints a pair,
SELL against SELL merges) and negative-risk conversions; the simulator ignores both.

Efficiency: each side keeps its level prices in one ascending list (the best bid last, the best
ask first; no price is ever negated), a dict from price to a FIFO list of orders (queues are a few orders long, so a
list's cheap creation beats a deque's cheap ``popleft``) and a
running size total per level.  Placing costs O(log L) plus the levels it consumes; cancel is a dict lookup plus a scan
of one price level's queue; nothing walks the whole book except an explicit ``levels()``
snapshot, and that only for a side that changed since the last one (each side counts its
changes; its levels, their canonical text and the book hash are kept until the count moves).
The liquidity generator's re-lay of a book that holds only its ladder and that nobody used since
the last re-lay is noted, not done, and carried out by the next use of the book (every public
method first settles it), exactly as the re-lays would have left it.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from polytraders.venues.base import (
    FOK_ORDER_NOT_FILLED_ERROR,
    INVALID_ORDER_ERROR,
    INVALID_ORDER_MIN_SIZE,
    INVALID_ORDER_MIN_TICK_SIZE,
    INVALID_POST_ONLY_ORDER,
    INVALID_POST_ONLY_ORDER_TYPE,
    BookLevel,
    Side,
    VenueOrderType,
    book_hash_of_text,
    decimal_text,
    levels_text,
)

LOT: Final = Decimal("0.01")
"""Share sizes have at most two decimals (the clients' rounding config for every tick size)."""

MIN_MARKETABLE_NOTIONAL: Final = Decimal("1")
"""FOK/FAK orders must be worth at least $1 at their limit price."""

MARKETABLE_LOT: Final = Decimal("0.0001")
"""A marketable BUY's share amount is its taker amount, which may carry 4 decimals."""

MARKETABLE_MAKER_PLACES: Final = 2
MARKETABLE_TAKER_PLACES: Final = 4
"""The CLOB's precision rule for FOK/FAK amounts: maker at most 2 decimals, taker at most 4."""

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_RESTING_TYPES: Final = frozenset({"GTC", "GTD"})
_MADE_LIMIT: Final = 4_096
_ORDER_TYPES: Final = frozenset({"GTC", "GTD", "FOK", "FAK"})

PlaceStatus = Literal["rejected", "rested", "filled", "killed"]


@dataclass(slots=True, eq=False, init=False)
class RestingOrder:
    """A live order in the book.  Mutable: ``remaining`` shrinks as it fills.

    ``eq=False`` so queues compare by identity (two orders with equal fields are still two
    orders, and identity comparison keeps ``list.remove`` cheap).  ``__init__`` is written out
    because the generated one costs a third more, and the generator creates ~20 a second.
    """

    order_id: str
    client_order_id: str
    ours: bool
    side: Side
    price: Decimal
    original_size: Decimal
    remaining: Decimal
    order_type: VenueOrderType
    created_ms: int
    expires_at_ms: int | None

    def __init__(
        self,
        order_id: str,
        client_order_id: str,
        ours: bool,
        side: Side,
        price: Decimal,
        original_size: Decimal,
        remaining: Decimal,
        order_type: VenueOrderType,
        created_ms: int,
        expires_at_ms: int | None = None,
    ) -> None:
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.ours = ours
        self.side = side
        self.price = price
        self.original_size = original_size
        self.remaining = remaining
        self.order_type = order_type
        self.created_ms = created_ms
        self.expires_at_ms = expires_at_ms


@dataclass(frozen=True, slots=True)
class Fill:
    """One match between an incoming (taker) order and one resting (maker) order."""

    token_id: str
    price: Decimal
    size: Decimal
    taker_side: Side
    maker_order_id: str
    maker_client_order_id: str
    maker_ours: bool
    maker_remaining: Decimal
    taker_order_id: str
    taker_client_order_id: str
    taker_ours: bool
    taker_remaining: Decimal


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """Outcome of ``OrderBook.place``.

    ``rejected``: nothing changed, ``error_code`` says why.  ``rested``: the unfilled remainder
    (possibly the whole order) now rests.  ``filled``: completely filled on entry.  ``killed``:
    a FAK whose unfilled remainder was dropped (``fills`` may be empty).
    """

    status: PlaceStatus
    fills: tuple[Fill, ...]
    remaining: Decimal
    error_code: str | None = None


def validate_order(
    side: str,
    price: object,
    size: object,
    order_type: str,
    post_only: bool,
    tick: Decimal,
    min_size: Decimal,
) -> str | None:
    """Static checks the CLOB applies before matching; returns an error code or None."""
    if side not in ("BUY", "SELL") or order_type not in _ORDER_TYPES:
        return INVALID_ORDER_ERROR
    if not isinstance(price, Decimal) or not price.is_finite():
        return INVALID_ORDER_MIN_TICK_SIZE
    if price < tick or price > _ONE - tick or price % tick != _ZERO:
        return INVALID_ORDER_MIN_TICK_SIZE
    if not isinstance(size, Decimal) or not size.is_finite() or size <= _ZERO:
        return INVALID_ORDER_ERROR
    if size % (LOT if order_type in _RESTING_TYPES else MARKETABLE_LOT) != _ZERO:
        return INVALID_ORDER_ERROR
    if post_only and order_type not in _RESTING_TYPES:
        return INVALID_POST_ONLY_ORDER_TYPE
    if order_type in _RESTING_TYPES:
        if size < min_size:
            return INVALID_ORDER_MIN_SIZE
    elif price * size < MIN_MARKETABLE_NOTIONAL:
        return INVALID_ORDER_MIN_SIZE
    return None


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def marketable_amounts_ok(maker: Decimal, taker: Decimal) -> bool:
    """True when a FOK/FAK order's maker/taker amounts (in whole units) meet the CLOB's
    precision rule.  For a BUY the maker amount is pUSD and the taker amount shares; for a
    SELL the reverse."""
    return _places(maker) <= MARKETABLE_MAKER_PLACES and _places(taker) <= MARKETABLE_TAKER_PLACES


class _BookSide:
    """One side of the book.

    ``keys`` holds the level prices ascending (each the price object of the order that opened
    the level, so a level keeps its first order's spelling), so the best level is ``keys[-1]``
    for bids and ``keys[0]`` for asks; neither side ever negates a price.

    ``version`` moves on every change to the side's levels or totals; the aggregated levels and
    their canonical text are rebuilt only when it has moved since they were last built.
    """

    __slots__ = (
        "_built", "_levels", "_made", "_text", "is_bid", "keys", "levels", "totals", "version"
    )

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.keys: list[Decimal] = []
        self.levels: dict[Decimal, list[RestingOrder]] = {}
        self.totals: dict[Decimal, Decimal] = {}
        self.version = 0
        self._built = -1
        self._levels: tuple[BookLevel, ...] = ()
        self._text = ""
        # price -> (a price object, a total object, their BookLevel, its text) from earlier
        # builds.  Reused when both objects are the very same, or equal in value and spelling
        # (same exponent): a ladder that comes back to a price with the same size, as the
        # generator's do every few seconds, gets its earlier level object and text back.  One
        # entry per price, so it is bounded by the price grid; pruned anyway past _MADE_LIMIT.
        self._made: dict[Decimal, tuple[Decimal, Decimal, BookLevel, str]] = {}

    def aggregated(self) -> tuple[tuple[BookLevel, ...], str]:
        """Every level best first, and ``levels_text`` of them (cached per ``version``)."""
        if self._built != self.version:
            totals = self.totals
            made = self._made
            levels: list[BookLevel] = []
            texts: list[str] = []
            for price in reversed(self.keys) if self.is_bid else self.keys:
                total = totals[price]
                old = made.get(price)
                if old is None or old[1] is not total or old[0] is not price:
                    if (
                        old is not None
                        and old[1] == total
                        and old[1].same_quantum(total)
                        and old[0].same_quantum(price)
                    ):
                        old = made[price] = (price, total, old[2], old[3])
                    else:
                        level = BookLevel(price, total)
                        old = made[price] = (
                            price, total, level, f"{decimal_text(price)}@{decimal_text(total)}"
                        )
                levels.append(old[2])
                texts.append(old[3])
            if len(made) > _MADE_LIMIT:
                self._made = {lv.price: made[lv.price] for lv in levels}
            self._levels = tuple(levels)
            self._text = ",".join(texts)
            self._built = self.version
        return self._levels, self._text

    def best(self) -> Decimal | None:
        keys = self.keys
        if not keys:
            return None
        return keys[-1] if self.is_bid else keys[0]

    def add(self, order: RestingOrder) -> None:
        price = order.price
        queue = self.levels.get(price)
        if queue is None:
            queue = []
            self.levels[price] = queue
            self.totals[price] = _ZERO
            insort(self.keys, price)
        queue.append(order)
        self.totals[price] += order.remaining
        self.version += 1

    def rest(self, order: RestingOrder, opening_total: Decimal) -> None:
        """`add` for one of the generator's quotes: a level it opens gets `opening_total` (the
        generator's own object for that sum, so `aggregated` finds the level's text by identity)."""
        price = order.price
        queue = self.levels.get(price)
        if queue is None:
            self.levels[price] = [order]
            self.totals[price] = opening_total
            insort(self.keys, price)
        else:
            queue.append(order)
            self.totals[price] += order.remaining
        self.version += 1

    def drop_level(self, price: Decimal) -> None:
        self.version += 1
        del self.levels[price]
        del self.totals[price]
        keys = self.keys
        if self.is_bid:
            if keys[-1] == price:  # the common case: the best level was consumed
                keys.pop()
                return
        elif keys[0] == price:
            del keys[0]
            return
        del keys[bisect_left(keys, price)]

    def remove(self, order: RestingOrder) -> None:
        queue = self.levels[order.price]
        queue.remove(order)
        if queue:
            self.totals[order.price] -= order.remaining
            self.version += 1
        else:
            self.drop_level(order.price)

    def prices_best_first(self) -> Iterator[Decimal]:
        return reversed(self.keys) if self.is_bid else iter(self.keys)


class _Pending:
    """Re-lays noted but not yet carried out: ids of resting orders to cancel, and quotes to
    rest (order id -> side, price, size, opening total, created_ms) in the order they came."""

    __slots__ = ("add", "cancel")

    def __init__(self) -> None:
        self.cancel: list[str] = []
        self.add: dict[str, tuple[Side, Decimal, Decimal, Decimal, int]] = {}


class OrderBook:
    """The book of one token.  See the module docstring for the semantics."""

    def __init__(self, token_id: str, tick: Decimal, min_size: Decimal) -> None:
        self.token_id = token_id
        self.tick = tick
        self.min_size = min_size
        self._bids = _BookSide(is_bid=True)
        self._asks = _BookSide(is_bid=False)
        self._orders: dict[str, RestingOrder] = {}
        # Bumped on every match; lets the liquidity generator skip work when nothing traded.
        self.fill_count = 0
        # False once the tick changed: resting prices were checked against the old grid only.
        self.one_grid = True
        self._hash_key: tuple[int, int, int | None] | None = None
        self._hash = ""
        # A ladder re-lay nobody has looked at yet (see relay_ladder's ``defer``), and whether
        # anyone but the generator's re-lay used the book since the last re-lay.
        self._pending: _Pending | None = None
        self._seen = True

    def set_tick(self, tick: Decimal) -> None:
        """Validate new orders against ``tick`` from now on (resting orders keep their prices)."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        if tick != self.tick:
            self.one_grid = False
        self.tick = tick

    # ------------------------------------------------------------------ queries
    def best_bid(self) -> Decimal | None:
        if self._pending is not None:
            self._settle()
        self._seen = True
        return self._bids.best()

    def best_ask(self) -> Decimal | None:
        if self._pending is not None:
            self._settle()
        self._seen = True
        return self._asks.best()

    def order(self, order_id: str) -> RestingOrder | None:
        if self._pending is not None:
            self._settle()
        self._seen = True
        return self._orders.get(order_id)

    def __contains__(self, order_id: object) -> bool:
        if self._pending is not None:
            self._settle()
        self._seen = True
        return order_id in self._orders

    def __len__(self) -> int:
        if self._pending is not None:
            self._settle()
        self._seen = True
        return len(self._orders)

    def queue_at(self, side: Side, price: Decimal) -> tuple[str, ...]:
        """Order ids resting at one price, in time priority (for tests and diagnostics)."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        book_side = self._bids if side == "BUY" else self._asks
        return tuple(o.order_id for o in book_side.levels.get(price, ()))

    def levels(
        self, depth: int | None = None
    ) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
        """Aggregated (bids, asks), best first, optionally only the top ``depth`` levels."""
        bids, asks, _ = self.snapshot(depth)
        return bids, asks

    def snapshot(
        self, depth: int | None = None
    ) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...], str]:
        """``levels(depth)`` and their ``book_hash``.  Both are rebuilt only for a side that
        changed since the last call, so polling a quiet book costs two comparisons."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        bids, bid_text = self._bids.aggregated()
        asks, ask_text = self._asks.aggregated()
        if depth is not None:
            depth = max(depth, 0)
            if len(bids) > depth:
                bids = bids[:depth]
                bid_text = levels_text(bids)
            if len(asks) > depth:
                asks = asks[:depth]
                ask_text = levels_text(asks)
        key = (self._bids.version, self._asks.version, depth)
        if key != self._hash_key:
            self._hash = book_hash_of_text(self.token_id, bid_text, ask_text)
            self._hash_key = key
        return bids, asks, self._hash

    def crosses(self, side: Side, price: Decimal) -> bool:
        """Would an order at ``price`` on ``side`` match anything right now?"""
        if self._pending is not None:
            self._settle()
        self._seen = True
        if side == "BUY":
            best_ask = self._asks.best()
            return best_ask is not None and best_ask <= price
        best_bid = self._bids.best()
        return best_bid is not None and best_bid >= price

    def available(self, side: Side, price: Decimal, needed: Decimal) -> Decimal:
        """Crossing liquidity for a taker, counted only until ``needed`` is reached."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        opposite = self._asks if side == "BUY" else self._bids
        total = _ZERO
        for level_price in opposite.prices_best_first():
            if (side == "BUY" and level_price > price) or (side == "SELL" and level_price < price):
                break
            total += opposite.totals[level_price]
            if total >= needed:
                break
        return total

    # ------------------------------------------------------------------ mutations
    def place(
        self,
        *,
        order_id: str,
        client_order_id: str,
        ours: bool,
        side: Side,
        price: Decimal,
        size: Decimal,
        order_type: VenueOrderType,
        created_ms: int,
        post_only: bool = False,
        expires_at_ms: int | None = None,
    ) -> PlaceResult:
        """Validate, match and (for GTC/GTD) rest an order."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        error = validate_order(side, price, size, order_type, post_only, self.tick, self.min_size)
        if error is not None:
            return PlaceResult("rejected", (), size, error)
        if order_id in self._orders:
            raise ValueError(f"order id {order_id!r} already rests in book {self.token_id}")
        crosses = self.crosses(side, price)
        if post_only and crosses:
            return PlaceResult("rejected", (), size, INVALID_POST_ONLY_ORDER)
        if order_type == "FOK" and (not crosses or self.available(side, price, size) < size):
            return PlaceResult("rejected", (), size, FOK_ORDER_NOT_FILLED_ERROR)
        order = RestingOrder(
            order_id=order_id,
            client_order_id=client_order_id,
            ours=ours,
            side=side,
            price=price,
            original_size=size,
            remaining=size,
            order_type=order_type,
            created_ms=created_ms,
            expires_at_ms=expires_at_ms,
        )
        fills = self._match(order) if crosses else ()
        if order.remaining == _ZERO:
            return PlaceResult("filled", fills, _ZERO)
        if order_type not in _RESTING_TYPES:
            return PlaceResult("killed", fills, order.remaining)
        (self._bids if side == "BUY" else self._asks).add(order)
        self._orders[order_id] = order
        return PlaceResult("rested", fills, order.remaining)

    def rest_passive(
        self, order_id: str, side: Side, price: Decimal, size: Decimal, created_ms: int
    ) -> bool:
        """Rest another trader's GTC order that the caller guarantees passes ``validate_order``
        on this book (the liquidity generator's quotes), exactly as ``place`` would rest it;
        returns False, changing nothing, when it would cross (use ``place`` to match it)."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        # crosses() and _BookSide.add, inlined: the generator rests ~200 quotes a second
        if side == "BUY":
            book_side = self._bids
            keys = self._asks.keys
            if keys and keys[0] <= price:
                return False
        else:
            book_side = self._asks
            keys = self._bids.keys
            if keys and keys[-1] >= price:
                return False
        if order_id in self._orders:
            raise ValueError(f"order id {order_id!r} already rests in book {self.token_id}")
        order = RestingOrder(order_id, order_id, False, side, price, size, size, "GTC", created_ms)
        queue = book_side.levels.get(price)
        if queue is None:
            book_side.levels[price] = [order]
            book_side.totals[price] = _ZERO + size
            insort(book_side.keys, price)
        else:
            queue.append(order)
            book_side.totals[price] += size
        book_side.version += 1
        self._orders[order_id] = order
        return True

    def relay_ladder(
        self,
        current: dict[int, str],
        stale: Sequence[int],
        placement: Sequence[tuple[int, Side, Decimal, Decimal, Decimal]],
        start: int,
        prefix: str,
        last_id: int,
        created_ms: int,
        defer: bool = False,
    ) -> tuple[int, int]:
        """The liquidity generator's re-lay of one ladder in one call (a fine-tick market
        replaces ~20 quotes a second): ``current`` maps its level keys to its resting order ids.

        First each ``stale`` level's order is cancelled (an id no longer resting is skipped) and
        the level dropped from ``current``.  Then every quote of ``placement[start:]`` (level
        key, side, price, size, and ``0 + size``: the level total ``rest_passive`` would start,
        computed once by the caller, so a ladder's recurring levels share one total object and
        ``aggregated`` recognises them by identity) whose level is not in ``current`` gets the
        next order id
        (``prefix`` + the number after ``last_id``) and rests exactly as ``rest_passive`` would
        rest it, until one would cross.  Returns (the index of that quote, or
        ``len(placement)``; the last id number used, the crossing quote's not included).

        ``defer``: the caller's word that every order in ``current`` rests whole, untouched since
        the last re-lay.  When, besides, the book holds nothing but ``current`` and nobody has
        used it since the last re-lay (a NO book nobody quotes or reads is re-laid every time its
        mid moves), the cancels and rests are only noted, with the same order ids, and carried
        out by the first use of the book (any public method).  Nothing can cross then (the
        ladder's bids sit below its asks and nothing else rests), every level holds one order,
        and a quote placed and cancelled before that use never needs to exist: the book the use
        sees is the one the re-lays would have left, order ids, sizes and spellings alike."""
        pending = self._pending
        if defer and not self._seen and start == 0:
            live = len(self._orders)  # what rests once the noted re-lays are done
            if pending is not None:
                live += len(pending.add) - len(pending.cancel)
            if live == len(current):
                if pending is None:
                    pending = self._pending = _Pending()
                adds = pending.add
                for level in stale:
                    order_id = current.pop(level)
                    if adds.pop(order_id, None) is None:
                        pending.cancel.append(order_id)
                for level, side, price, size, total in placement:
                    if level in current:
                        continue
                    last_id += 1
                    order_id = f"{prefix}{last_id}"
                    adds[order_id] = (side, price, size, total, created_ms)
                    current[level] = order_id
                return len(placement), last_id
        if pending is not None:
            self._settle()
        self._seen = False
        orders = self._orders
        bids, asks = self._bids, self._asks
        for level in stale:
            order = orders.pop(current.pop(level), None)
            if order is None:
                continue  # fully taken by someone: nothing to cancel
            (bids if order.side == "BUY" else asks).remove(order)
        bid_keys, ask_keys = bids.keys, asks.keys
        for index in range(start, len(placement)):
            level, side, price, size, total = placement[index]
            if level in current:
                continue
            if side == "BUY":
                if ask_keys and ask_keys[0] <= price:
                    return index, last_id
                book_side = bids
            else:
                if bid_keys and bid_keys[-1] >= price:
                    return index, last_id
                book_side = asks
            last_id += 1
            order_id = f"{prefix}{last_id}"
            if order_id in orders:
                raise ValueError(f"order id {order_id!r} already rests in book {self.token_id}")
            order = RestingOrder(order_id, order_id, False, side, price, size, size, "GTC",
                                 created_ms)
            book_side.rest(order, total)
            orders[order_id] = order
            current[level] = order_id
        return len(placement), last_id

    def _settle(self) -> None:
        """Carry out the re-lays ``relay_ladder`` deferred, as they would have been done."""
        pending = self._pending
        assert pending is not None
        self._pending = None
        orders = self._orders
        bids, asks = self._bids, self._asks
        for order_id in pending.cancel:
            order = orders.pop(order_id, None)
            if order is None:
                continue
            (bids if order.side == "BUY" else asks).remove(order)
        bid_keys, ask_keys = bids.keys, asks.keys
        for order_id, (side, price, size, total, created_ms) in pending.add.items():
            if side == "BUY":
                crossing = bool(ask_keys) and ask_keys[0] <= price
                book_side = bids
            else:
                crossing = bool(bid_keys) and bid_keys[-1] >= price
                book_side = asks
            if crossing or order_id in orders:
                # relay_ladder defers only a book holding its own ladder alone, which cannot
                # cross itself and uses each id once; anything else is a bug, not market data
                raise RuntimeError(f"deferred ladder of book {self.token_id} cannot be laid")
            order = RestingOrder(order_id, order_id, False, side, price, size, size, "GTC",
                                 created_ms)
            book_side.rest(order, total)
            orders[order_id] = order

    def _match(self, taker: RestingOrder) -> tuple[Fill, ...]:
        opposite = self._asks if taker.side == "BUY" else self._bids
        is_buy = taker.side == "BUY"
        fills: list[Fill] = []
        while taker.remaining > _ZERO and opposite.keys:
            best = opposite.best()
            assert best is not None
            if (is_buy and best > taker.price) or (not is_buy and best < taker.price):
                break
            queue = opposite.levels[best]
            while taker.remaining > _ZERO and queue:
                maker = queue[0]
                qty = min(maker.remaining, taker.remaining)
                maker.remaining -= qty
                taker.remaining -= qty
                opposite.totals[best] -= qty
                opposite.version += 1
                self.fill_count += 1
                fills.append(
                    Fill(
                        token_id=self.token_id,
                        price=best,
                        size=qty,
                        taker_side=taker.side,
                        maker_order_id=maker.order_id,
                        maker_client_order_id=maker.client_order_id,
                        maker_ours=maker.ours,
                        maker_remaining=maker.remaining,
                        taker_order_id=taker.order_id,
                        taker_client_order_id=taker.client_order_id,
                        taker_ours=taker.ours,
                        taker_remaining=taker.remaining,
                    )
                )
                if maker.remaining == _ZERO:
                    del queue[0]
                    del self._orders[maker.order_id]
            if not queue:
                opposite.drop_level(best)
        return tuple(fills)

    def cancel(self, order_id: str) -> RestingOrder | None:
        """Remove a resting order; returns it (with its unfilled ``remaining``) or None."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        order = self._orders.pop(order_id, None)
        if order is None:
            return None
        # _BookSide.remove and drop_level, inlined: the generator cancels ~20 quotes a second
        book_side = self._bids if order.side == "BUY" else self._asks
        price = order.price
        queue = book_side.levels[price]
        book_side.version += 1
        if len(queue) > 1:
            queue.remove(order)
            book_side.totals[price] -= order.remaining
            return order
        del book_side.levels[price]  # the order was the level's only one
        del book_side.totals[price]
        keys = book_side.keys
        del keys[bisect_left(keys, price)]
        return order

    def clear(self) -> list[RestingOrder]:
        """Remove every resting order (market resolved); returns them in id-insertion order."""
        if self._pending is not None:
            self._settle()
        self._seen = True
        removed = list(self._orders.values())
        self._orders.clear()
        self._bids = _BookSide(is_bid=True)
        self._asks = _BookSide(is_bid=False)
        self._hash_key = None  # the new sides count versions from 0 again
        return removed
