"""Seeded synthetic binary markets: identities, a mean-reverting fair value, background
liquidity and other traders' aggressive flow.

What:
- ``market_ids(seed, index)`` derives a market's condition id (``0x`` + 64 hex) and its YES/NO
  token ids (uint256 decimal strings, like Polymarket's) from sha256 of the seed, so scenario
  code can name a market before the venue exists.
- ``generate_markets(seed, n, rng)`` draws every other parameter (tick 0.01 or 0.001, cluster,
  neg-risk flag, fair-value process, spread and ladder shape, per-price liquidity sizes) from
  the one ``random.Random`` it is given.
- ``SyntheticMarket.step`` advances one time step: the YES fair value follows an
  Ornstein-Uhlenbeck-like process on the probability (clamped to [0.03, 0.97]), the mid is
  quantized to the tick, both books' background ladders are refreshed around it (NO mid =
  1 - YES mid), and with a configurable rate another trader sends a FAK that sweeps part of the
  ladder - hitting our resting orders too when they are at the front.

Why: the OLM and strategies need markets that move, where resting orders get filled (and picked
off when the price moves through them), reproducibly from a seed.

Determinism: every random draw comes from the ``rng`` argument, in a fixed order.  Floats are
used only inside the random walk; the walk's value is quantized to the tick before it touches
any price, and every price and size is a ``Decimal``.

Ladder cost: level sizes are a fixed function of the price (a per-token table drawn once), so
when the mid moves one tick only the ladder's end levels change; and a token whose mid did not
move and whose book saw no trade since the last refresh is skipped entirely.  The ladder wanted
around a mid is built once per mid; with no trade since the last refresh, an order is stale only
when its price left the ladder; and a quote that cannot cross rests without the matcher's
re-validation (it is valid by construction while the book keeps the market's tick); a re-lay
of a book nobody used since the last one (the NO book, unless someone trades or reads it) is
noted and carried out by the book's next use.  None of this changes a random draw, an order id
or a resting order: the market data is the same.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

from polytraders.venues.base import MarketInfo, Side
from polytraders.venues.sim.book import Fill, OrderBook

CLUSTERS: Final[tuple[str, ...]] = ("politics", "sports", "crypto", "macro", "culture")
_SUBJECTS: Final[dict[str, tuple[str, ...]]] = {
    "politics": ("the incumbent win re-election", "the bill pass the senate", "turnout top 60%"),
    "sports": ("the home side win the final", "the record fall this season", "the match go long"),
    "crypto": ("BTC close above its high", "the ETF see net inflows", "the fork ship on time"),
    "macro": ("the central bank cut rates", "CPI print above 3%", "unemployment rise"),
    "culture": ("the film top the box office", "the album go platinum", "the show be renewed"),
}
MIN_SIZE: Final = Decimal(5)
_TICKS: Final[tuple[Decimal, Decimal]] = (Decimal("0.01"), Decimal("0.001"))
_MID_LO: Final = 0.03
_MID_HI: Final = 0.97
_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def market_ids(seed: int, index: int) -> tuple[str, str, str]:
    """(condition_id, yes_token, no_token) of market ``index`` for ``seed``."""
    base = f"polytraders-sim/{seed}/market/{index}"
    condition_id = "0x" + _sha(base).hex()
    yes_token = str(int.from_bytes(_sha(base + "/YES"), "big"))
    no_token = str(int.from_bytes(_sha(base + "/NO"), "big"))
    return condition_id, yes_token, no_token


@dataclass(frozen=True, slots=True)
class FairValueParams:
    """OU parameters on the YES probability; time unit is seconds."""

    mu: float
    theta: float
    sigma: float


@dataclass(frozen=True, slots=True)
class LadderShape:
    """Background quotes: best level ``half_spread`` ticks from the mid, then ``depth`` levels
    ``level_step`` ticks apart."""

    half_spread: int
    level_step: int
    depth: int


class _Quotes:
    """The generator's background quotes on one token's book.

    Levels are keyed by a signed grid index: ``-i`` for a bid at ``i * tick``, ``+i`` for an
    ask there (every quoted price is at least one tick, so the two never meet at 0).
    """

    __slots__ = ("current", "fills", "ladders", "mid_n", "opening", "prices", "sizes", "whole")

    def __init__(self, sizes: Sequence[Decimal], prices: Sequence[Decimal]) -> None:
        # Index i holds the background size at price i * tick, and that price.
        self.sizes = sizes
        self.prices = prices
        # 0 + size per price: the total a level opened by one of our quotes starts with, one
        # object per price, so a level that comes back is recognised by identity.
        self.opening = [_ZERO + size for size in sizes]
        # Our background orders: level key -> order id.
        self.current: dict[int, str] = {}
        # mid grid index -> (level key -> size, placement order of (key, side, price, size)):
        # sizes are fixed per price, so a ladder depends on the mid alone and is built once.
        self.ladders: dict[int, tuple[dict[int, Decimal], _Placement]] = {}
        # (mid index, book fill_count) at the last refresh, to skip no-op refreshes.
        self.mid_n = -1
        self.fills = -1
        # Every background order still rested whole as of the last refresh (none was partly
        # filled when placed); with no match since, each one's remaining size is its price's
        # ladder size, so only its price leaving the ladder can make it stale.
        self.whole = False

    def forget(self) -> None:
        self.current.clear()
        self.mid_n = self.fills = -1
        self.whole = False


# (level key, side, price, size, 0 + size: the total a level opened by the quote starts with)
_Placement = tuple[tuple[int, Side, Decimal, Decimal, Decimal], ...]


class SyntheticMarket:
    """One binary market's generator state (fair value, background orders, flow)."""

    def __init__(
        self,
        info: MarketInfo,
        fair: FairValueParams,
        ladder: LadderShape,
        start_prob: float,
        yes_sizes: Sequence[Decimal],
        no_sizes: Sequence[Decimal],
        flow_per_minute: float,
    ) -> None:
        self.info = info
        self.fair = fair
        self.ladder = ladder
        self.flow_per_minute = flow_per_minute
        self._prob = start_prob
        tick = info.tick
        self._tick_f = float(tick)
        # The price grid: i * tick for i in [0, 1 / tick], spelled as the tick spells it.
        self._units = int(_ONE / tick)
        self._prices = [Decimal(i) * tick for i in range(self._units + 1)]
        # The mid lives on the tick grid, clamped to [_MID_LO, _MID_HI]: grid index -> price.
        self._n_lo = math.ceil(_MID_LO / self._tick_f)
        self._n_hi = math.floor(_MID_HI / self._tick_f)
        self._grid: dict[int, tuple[Decimal, Decimal]] = {}
        self.mid = _ZERO
        self._no_mid = _ONE
        self._n = 0
        self._set_mid(start_prob)
        self._yes = _Quotes(yes_sizes, self._prices)
        self._no = _Quotes(no_sizes, self._prices)
        self._quotes = {info.yes_token: self._yes, info.no_token: self._no}
        self._next_id = 0
        self._bg_prefix = f"bg-{info.condition_id[2:10]}-"
        self._reach = (ladder.half_spread + ladder.level_step * 2) * tick

    def _set_mid(self, prob: float) -> None:
        """Quantize ``prob`` to the tick (clamped to the mid band) as the YES and NO mids."""
        n = min(max(round(prob / self._tick_f), self._n_lo), self._n_hi)
        self._n = n
        mids = self._grid.get(n)
        if mids is None:
            mid = Decimal(n) * self.info.tick
            mids = self._grid[n] = (mid, _ONE - mid)
        self.mid, self._no_mid = mids

    def _new_id(self) -> str:
        self._next_id += 1
        return f"{self._bg_prefix}{self._next_id}"

    def mid_of(self, token_id: str) -> Decimal:
        return self.mid if token_id == self.info.yes_token else self._no_mid

    def populate(self, yes_book: OrderBook, no_book: OrderBook, t_ms: int) -> list[Fill]:
        """Lay down the initial ladders."""
        fills = self._refresh(self._yes, self._n, yes_book, t_ms)
        fills.extend(self._refresh(self._no, self._units - self._n, no_book, t_ms))
        return fills

    def step(
        self,
        t_ms: int,
        dt_ms: int,
        yes_book: OrderBook,
        no_book: OrderBook,
        rng: random.Random,
    ) -> list[Fill]:
        """Advance the fair value by ``dt_ms`` and let the world trade; returns all matches."""
        dt = dt_ms / 1000.0
        fair = self.fair
        prob = self._prob
        prob += fair.theta * (fair.mu - prob) * dt + fair.sigma * math.sqrt(dt) * rng.gauss(
            0.0, 1.0
        )
        # clamp and quantize as _set_mid does (min/max spelled out: one step per market-second)
        if prob < _MID_LO:
            prob = _MID_LO
        elif prob > _MID_HI:
            prob = _MID_HI
        self._prob = prob
        n = round(prob / self._tick_f)
        if n < self._n_lo:
            n = self._n_lo
        elif n > self._n_hi:
            n = self._n_hi
        if n != self._n:
            self._set_mid(prob)
        # most steps move neither mid and see no trade: skip the refresh calls then
        yes, no = self._yes, self._no
        fills = (
            self._refresh(yes, n, yes_book, t_ms)
            if yes.mid_n != n or yes.fills != yes_book.fill_count
            else []
        )
        if no.mid_n != self._units - n or no.fills != no_book.fill_count:
            fills.extend(self._refresh(no, self._units - n, no_book, t_ms))
        flow_p = self.flow_per_minute * dt / 60.0
        # the other traders' draws, in the fixed order: YES book, then NO book
        if rng.random() < flow_p:
            fills.extend(self._flow(yes_book, t_ms, rng))
        if rng.random() < flow_p:
            fills.extend(self._flow(no_book, t_ms, rng))
        return fills

    def shock(self, delta: float) -> None:
        """Jump the fair value (and its long-run mean) by ``delta``; the next step re-lays the
        ladders around the new mid, trading through any resting order in the way."""
        self._prob = min(max(self._prob + delta, _MID_LO), _MID_HI)
        self.fair = replace(self.fair, mu=min(max(self.fair.mu + delta, _MID_LO), _MID_HI))
        self._set_mid(self._prob)

    def clear(self) -> None:
        """Forget background orders (the venue emptied the books on resolution)."""
        self._yes.forget()
        self._no.forget()

    def _ladder(self, q: _Quotes, mid_n: int) -> tuple[dict[int, Decimal], _Placement]:
        sizes, prices, opening = q.sizes, q.prices, q.opening
        shape = self.ladder
        top = self._units - 1  # the highest price on the grid inside the band: 1 - tick
        wanted: dict[int, Decimal] = {}
        placement: list[tuple[int, Side, Decimal, Decimal, Decimal]] = []
        for k in range(shape.depth):
            offset = shape.half_spread + k * shape.level_step
            bid = mid_n - offset
            if bid >= 1:
                wanted[-bid] = sizes[bid]
                placement.append((-bid, "BUY", prices[bid], sizes[bid], opening[bid]))
            ask = mid_n + offset
            if ask <= top:
                wanted[ask] = sizes[ask]
                placement.append((ask, "SELL", prices[ask], sizes[ask], opening[ask]))
        return wanted, tuple(placement)

    def _refresh(self, q: _Quotes, mid_n: int, book: OrderBook, t_ms: int) -> list[Fill]:
        fill_count = book.fill_count
        if q.mid_n == mid_n and q.fills == fill_count:
            return []
        ladder = q.ladders.get(mid_n)
        if ladder is None:
            ladder = q.ladders[mid_n] = self._ladder(q, mid_n)
        wanted, placement = ladder
        current = q.current
        untouched = q.whole and q.fills == fill_count
        if untouched:
            stale = [level for level in current if level not in wanted]
        else:
            order_of = book.order
            stale = [
                level
                for level, order_id in current.items()
                if (order := order_of(order_id)) is None or wanted.get(level) != order.remaining
            ]
        fills: list[Fill] = []
        whole = True
        # The ladder's quotes are valid by construction (on the market's tick inside the price
        # band, whole sizes >= MIN_SIZE) while the book still validates against that tick.
        if book.tick == self.info.tick:
            index, self._next_id = book.relay_ladder(
                current, stale, placement, 0, self._bg_prefix, self._next_id, t_ms, untouched)
        else:
            for level in stale:
                book.cancel(current.pop(level))  # None when fully taken: nothing to cancel
            index = 0
        while index < len(placement):
            level, side, price, size, _ = placement[index]
            index += 1
            if level in current:
                continue
            self._next_id += 1
            order_id = f"{self._bg_prefix}{self._next_id}"
            # A new background quote may cross one of our stale orders: that is a real fill
            # for us (the price moved through our quote), so place it through the matcher.
            result = book.place(
                order_id=order_id,
                client_order_id=order_id,
                ours=False,
                side=side,
                price=price,
                size=size,
                order_type="GTC",
                created_ms=t_ms,
            )
            fills.extend(result.fills)
            if result.status == "rested":
                current[level] = order_id
                whole = whole and result.remaining == size
            if book.tick == self.info.tick:
                index, self._next_id = book.relay_ladder(
                    current, (), placement, index, self._bg_prefix, self._next_id, t_ms)
        q.mid_n = mid_n
        q.fills = book.fill_count
        q.whole = whole
        return fills

    def _flow(self, book: OrderBook, t_ms: int, rng: random.Random) -> tuple[Fill, ...]:
        """Another trader's FAK on ``book`` (its arrival was already drawn)."""
        side: Side = "BUY" if rng.random() < 0.5 else "SELL"
        size = Decimal(rng.randrange(5, 80))
        tick = self.info.tick
        reach = self._reach
        mid = self.mid_of(book.token_id)
        limit = min(mid + reach, _ONE - tick) if side == "BUY" else max(mid - reach, tick)
        # Marketable orders must be worth $1 at their limit.
        size = max(size, Decimal(math.ceil(_ONE / limit)))
        order_id = self._new_id()
        result = book.place(
            order_id=order_id,
            client_order_id=order_id,
            ours=False,
            side=side,
            price=limit,
            size=size,
            order_type="FAK",
            created_ms=t_ms,
        )
        return result.fills


def generate_markets(
    seed: int, n_markets: int, rng: random.Random, *, flow_per_minute: float = 3.0
) -> list[SyntheticMarket]:
    """Build ``n_markets`` markets; identities from sha256(seed), the rest from ``rng``."""
    markets: list[SyntheticMarket] = []
    for index in range(n_markets):
        condition_id, yes_token, no_token = market_ids(seed, index)
        tick = _TICKS[0] if rng.random() < 0.7 else _TICKS[1]
        cluster = CLUSTERS[rng.randrange(len(CLUSTERS))]
        subjects = _SUBJECTS[cluster]
        subject = subjects[rng.randrange(len(subjects))]
        neg_risk = rng.random() < 0.2
        info = MarketInfo(
            condition_id=condition_id,
            question=f"Synthetic market {index}: will {subject}?",
            yes_token=yes_token,
            no_token=no_token,
            tick=tick,
            min_size=MIN_SIZE,
            neg_risk=neg_risk,
            status="open",
            cluster=cluster,
        )
        fair = FairValueParams(
            mu=rng.uniform(0.15, 0.85),
            theta=1.0 / rng.uniform(120.0, 900.0),
            sigma=rng.uniform(0.0008, 0.003),
        )
        start_prob = min(max(fair.mu + rng.gauss(0.0, 0.05), _MID_LO), _MID_HI)
        if tick == _TICKS[0]:
            ladder = LadderShape(half_spread=rng.randint(1, 2), level_step=1, depth=5)
        else:
            ladder = LadderShape(
                half_spread=rng.randint(3, 10), level_step=rng.randint(2, 5), depth=5
            )
        grid = int(_ONE / tick) + 1
        yes_sizes = [Decimal(rng.randrange(20, 201)) for _ in range(grid)]
        no_sizes = [Decimal(rng.randrange(20, 201)) for _ in range(grid)]
        markets.append(
            SyntheticMarket(info, fair, ladder, start_prob, yes_sizes, no_sizes, flow_per_minute)
        )
    return markets
