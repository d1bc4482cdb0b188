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
re-validation (it is valid by construction while the book keeps the market's tick).  None of
this changes a random draw, an order id or a resting order: the market data is the same.
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
        self._tick_f = float(info.tick)
        # The mid lives on the tick grid, clamped to [_MID_LO, _MID_HI]: grid index -> price.
        self._n_lo = math.ceil(_MID_LO / self._tick_f)
        self._n_hi = math.floor(_MID_HI / self._tick_f)
        self._grid: dict[int, tuple[Decimal, Decimal]] = {}
        self.mid = _ZERO
        self._no_mid = _ONE
        self._set_mid(start_prob)
        # Index i holds the background size at price i * tick.
        self._sizes = {info.yes_token: yes_sizes, info.no_token: no_sizes}
        # Our background orders per token: (side, price) -> order id.
        self._bg: dict[str, dict[tuple[Side, Decimal], str]] = {
            info.yes_token: {},
            info.no_token: {},
        }
        # (mid, book fill_count) at the last refresh, to skip no-op refreshes.
        self._refreshed: dict[str, tuple[Decimal, int]] = {}
        # Tokens whose background orders all still rest whole as of the last refresh (none
        # was partly filled when placed); with no match since, each one's remaining size is
        # its price's ladder size, so only its price leaving the ladder can make it stale.
        self._whole: set[str] = set()
        # token -> mid -> the background ladder wanted around it (sizes are fixed per price,
        # so a ladder depends on the mid alone and is built once per mid seen).
        self._ladders: dict[str, dict[Decimal, dict[tuple[Side, Decimal], Decimal]]] = {
            info.yes_token: {},
            info.no_token: {},
        }
        self._next_id = 0
        self._bg_prefix = f"bg-{info.condition_id[2:10]}-"

    def _set_mid(self, prob: float) -> None:
        """Quantize ``prob`` to the tick (clamped to the mid band) as the YES and NO mids."""
        n = min(max(round(prob / self._tick_f), self._n_lo), self._n_hi)
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
        return self._refresh(yes_book, t_ms) + self._refresh(no_book, t_ms)

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
        self._prob += fair.theta * (fair.mu - self._prob) * dt + fair.sigma * math.sqrt(
            dt
        ) * rng.gauss(0.0, 1.0)
        self._prob = min(max(self._prob, _MID_LO), _MID_HI)
        self._set_mid(self._prob)
        fills = self._refresh(yes_book, t_ms)
        fills += self._refresh(no_book, t_ms)
        flow_p = self.flow_per_minute * dt / 60.0
        fills += self._flow(yes_book, t_ms, flow_p, rng)
        fills += self._flow(no_book, t_ms, flow_p, rng)
        return fills

    def shock(self, delta: float) -> None:
        """Jump the fair value (and its long-run mean) by ``delta``; the next step re-lays the
        ladders around the new mid, trading through any resting order in the way."""
        self._prob = min(max(self._prob + delta, _MID_LO), _MID_HI)
        self.fair = replace(self.fair, mu=min(max(self.fair.mu + delta, _MID_LO), _MID_HI))
        self._set_mid(self._prob)

    def clear(self) -> None:
        """Forget background orders (the venue emptied the books on resolution)."""
        for orders in self._bg.values():
            orders.clear()
        self._refreshed.clear()
        self._whole.clear()

    def _desired(self, token_id: str) -> dict[tuple[Side, Decimal], Decimal]:
        mid = self.mid_of(token_id)
        ladders = self._ladders[token_id]
        out = ladders.get(mid)
        if out is None:
            out = ladders[mid] = self._ladder(token_id, mid)
        return out

    def _ladder(self, token_id: str, mid: Decimal) -> dict[tuple[Side, Decimal], Decimal]:
        tick = self.info.tick
        sizes = self._sizes[token_id]
        shape = self.ladder
        low, high = tick, _ONE - tick
        out: dict[tuple[Side, Decimal], Decimal] = {}
        for k in range(shape.depth):
            offset = (shape.half_spread + k * shape.level_step) * tick
            bid = mid - offset
            if bid >= low:
                out[("BUY", bid)] = sizes[int(bid / tick)]
            ask = mid + offset
            if ask <= high:
                out[("SELL", ask)] = sizes[int(ask / tick)]
        return out

    def _refresh(self, book: OrderBook, t_ms: int) -> list[Fill]:
        token = book.token_id
        key = (self.mid_of(token), book.fill_count)
        if self._refreshed.get(token) == key:
            return []
        desired = self._desired(token)
        current = self._bg[token]
        last = self._refreshed.get(token)
        if token in self._whole and last is not None and last[1] == book.fill_count:
            stale = [(level, order_id) for level, order_id in current.items()
                     if level not in desired]
        else:
            stale = [
                (level, order_id)
                for level, order_id in current.items()
                if (order := book.order(order_id)) is None
                or desired.get(level) != order.remaining
            ]
        whole = True
        for level, order_id in stale:
            book.cancel(order_id)  # None when fully taken by someone: nothing to cancel
            del current[level]
        fills: list[Fill] = []
        # The ladder's quotes are valid by construction (on the market's tick inside the price
        # band, whole sizes >= MIN_SIZE) while the book still validates against that tick.
        valid = book.tick == self.info.tick
        for level, size in desired.items():
            if level in current:
                continue
            side, price = level
            order_id = self._new_id()
            if valid and book.rest_passive(order_id, side, price, size, t_ms):
                current[level] = order_id
                continue
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
        self._refreshed[token] = (key[0], book.fill_count)
        if whole:
            self._whole.add(token)
        else:
            self._whole.discard(token)
        return fills

    def _flow(self, book: OrderBook, t_ms: int, p: float, rng: random.Random) -> list[Fill]:
        if rng.random() >= p:
            return []
        side: Side = "BUY" if rng.random() < 0.5 else "SELL"
        size = Decimal(rng.randrange(5, 80))
        tick = self.info.tick
        reach = (self.ladder.half_spread + self.ladder.level_step * 2) * tick
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
        return list(result.fills)


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
