"""Accounting as a projection: positions, cash, PnL, equity curve, drawdown and exposure.

Inputs (envelopes):
- `fill` (FillRecord): the same `trade_id` recurs as settlement progresses (MATCHED, MINED,
  CONFIRMED, RETRYING, FAILED). The position and cash change is applied the first time a trade
  is seen and reversed exactly if it later becomes FAILED. A trade first seen as FAILED changes
  nothing.
- `note` with reason `GOV_WALLET_BALANCE` and detail `{"pusd": "<decimal>", "source": ...}`: the
  authoritative pUSD cash at that moment. Fills move cash between two reads; the next read
  replaces it; a read that differs from the cash fills and transfers explain is an
  *adjustment* (an unexplained transfer, e.g. a withdrawal nobody journaled). Until the first
  read, cash is unknown and equity/drawdown read as None, so the guardrails that need them
  fail closed.
- `transfer` (Transfer): a deposit or withdrawal moves cash and equity, never PnL or drawdown.
- `order_record` (OrderRecord): only to attribute fills to strategies (client_order_id ->
  strategy_id).
- `order_book` of a token we hold and `market_snapshot`: marks and clusters change, so equity
  is re-observed.

Method: average cost. A position keeps a signed size and a signed cost basis. Adding in the
same direction adds `size x price` to the cost; reducing removes the proportional share of the
cost and realises `closing x price - removed cost` (sign-aware, so an over-sell flips into an
opposite position at the fill price). Fees are expensed at once: they reduce realised PnL and
cash and are never capitalised into the cost basis, so `avg_price` is the pure trade average.
V2 fees are fixed at match time, so they come only from fill events.

Exactness: sums and products are exact Decimals; the only divisions (proportional cost removal,
average price, percentages) use a private 40-digit context, so results never depend on the
process-wide decimal context.

FAILED reversals: fills not yet final stay in a per-token pending list after a settled base;
a token's position is the base folded with its non-failed pending fills, so a reversal in the
middle of later fills is exact under average cost. Once the head of the list is CONFIRMED (or
FAILED) it is folded into the base, which keeps the list short.

Marks: each outcome token (YES and NO alike) is marked at its own book mid; with no two-sided
book, at the last fill price. Exposure is |size| x mark, or |cost basis| without any mark.

Equity curve: a point whenever equity changes (fills, wallet reads, book updates of held
tokens), at most one per second of event time (a later point in the same second replaces the
earlier one), bounded to the last `CURVE_MAX_POINTS`. Peaks are tracked apart from the curve so
downsampling never hides one: the intraday peak since 00:00 UTC of the current day, and hourly
maxima over the last 8 days for the rolling 7-day peak. The weekly window starts at an hour
boundary, so it may include up to one extra hour: the peak can only be higher, and the drawdown
reads conservative.

Transfers and drawdown: peaks and drawdown are measured on *performance equity*, equity less
every external flow (deposits − withdrawals + adjustments), i.e. initial + realised + unrealised.
So a withdrawal of 99 % of the wallet moves neither the peak nor the drawdown, and the identity
equity = initial + deposits − withdrawals + adjustments + realised + unrealised holds after every
entry (`accounting()`; asserted at every step of every demo scenario by the tests).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from polytraders.contracts import FillRecord, OrderBookSnapshot, OrderRecord, PositionRecord, Transfer
from polytraders.journal.base import JournalEntry
from polytraders.state.markets import MarketsProjection
from polytraders.state.store import StateStore

ZERO = Decimal(0)
HUNDRED = Decimal(100)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
WEEK_MS = 7 * DAY_MS
BUCKET_KEEP_HOURS = 8 * 24
CURVE_MAX_POINTS = 20_000
UNATTRIBUTED = "unattributed"
UNKNOWN_CLUSTER = "unknown"
WALLET_BALANCE_CODE = "GOV_WALLET_BALANCE"
# digits a value summed step by step may hold and still be exact in the 28-digit default context
_EXACT_DIGITS = 20
MAX_WALLET_PUSD = Decimal(10) ** 15  # a read beyond this is bad data, not a balance
_FINAL = frozenset({"CONFIRMED", "FAILED"})
_CTX = Context(prec=40, rounding=ROUND_HALF_EVEN)


def _div(a: Decimal, b: Decimal) -> Decimal:
    return _CTX.divide(a, b)


# (market_id, token_id, size, avg_price, cost, realised, mark or None, unrealised)
PositionValues = tuple[str, str, Decimal, Decimal, Decimal, Decimal, Decimal | None, Decimal]


# (market_id, token_id, size, cost, realised, mark or None): `PortfolioProjection.position_inputs`
PositionInputs = tuple[str, str, Decimal, Decimal, Decimal, Decimal | None]


def position_values_of(inputs: list[PositionInputs]) -> list[PositionValues]:
    """`position_values()` as it was when `inputs` were read (the same Decimals: the average price
    through the module's context, the unrealised PnL in the caller's, as `position_values` does)."""
    out: list[PositionValues] = []
    for market_id, token_id, size, cost, realised, mark in sorted(inputs, key=_token_of):
        avg = ZERO if size == 0 else _div(cost, size)
        out.append((market_id, token_id, size, avg, cost, realised, mark,
                    size * mark - cost if mark is not None else ZERO))
    return out


def _token_of(inputs: PositionInputs) -> str:
    return inputs[1]


def position_record(market_id: str, token_id: str, size: Decimal, avg_price: Decimal, cost: Decimal,
                    realised: Decimal, mark: Decimal | None, unrealised: Decimal) -> PositionRecord:
    return PositionRecord(market_id=market_id, token_id=token_id, size=size, avg_price=avg_price,
                          cost_basis_pusd=cost, realised_pnl_pusd=realised, mark_price=mark,
                          unrealised_pnl_pusd=unrealised)


@dataclass(slots=True)
class _Fill:
    trade_id: str
    strategy_id: str
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    status: str

    @property
    def qty(self) -> Decimal:
        return self.size if self.side == "BUY" else -self.size

    @property
    def cash_delta(self) -> Decimal:
        return -self.qty * self.price - self.fee

    def to_json(self) -> dict[str, str]:
        return {"trade_id": self.trade_id, "strategy_id": self.strategy_id, "side": self.side,
                "price": str(self.price), "size": str(self.size), "fee": str(self.fee),
                "status": self.status}

    @classmethod
    def from_json(cls, d: dict[str, str]) -> _Fill:
        return cls(d["trade_id"], d["strategy_id"], d["side"], Decimal(d["price"]),
                   Decimal(d["size"]), Decimal(d["fee"]), d["status"])


@dataclass(slots=True)
class _Lot:
    """Average-cost state of one token: signed size and signed cost basis."""

    size: Decimal = ZERO
    cost: Decimal = ZERO
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    last_price: Decimal | None = None

    def copy(self) -> _Lot:
        return _Lot(self.size, self.cost, self.realised, self.fees, self.last_price)

    def add(self, f: _Fill) -> None:
        q = f.qty
        pos = self.size
        if pos == 0 or (pos > 0) == (q > 0):
            self.size = pos + q
            self.cost += q * f.price
        else:
            held = abs(pos)
            closing = min(held, f.size)
            removed = self.cost if closing == held else _div(self.cost * closing, held)
            sign = 1 if pos > 0 else -1
            self.realised += sign * closing * f.price - removed
            self.cost -= removed
            self.size = pos + (closing if q > 0 else -closing)
            rest = f.size - closing
            if rest > 0:  # over-fill flips the position at the fill price
                self.size = rest if q > 0 else -rest
                self.cost = self.size * f.price
        self.realised -= f.fee
        self.fees += f.fee
        self.last_price = f.price

    @property
    def avg_price(self) -> Decimal:
        return ZERO if self.size == 0 else _div(self.cost, self.size)

    def to_json(self) -> dict[str, str | None]:
        return {"size": str(self.size), "cost": str(self.cost), "realised": str(self.realised),
                "fees": str(self.fees),
                "last_price": None if self.last_price is None else str(self.last_price)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> _Lot:
        lp = d["last_price"]
        return cls(Decimal(d["size"]), Decimal(d["cost"]), Decimal(d["realised"]),
                   Decimal(d["fees"]), None if lp is None else Decimal(lp))


@dataclass(slots=True)
class _Token:
    market_id: str
    base: _Lot = field(default_factory=_Lot)
    pending: list[_Fill] = field(default_factory=list)
    current: _Lot = field(default_factory=_Lot)

    def refold(self) -> None:
        lot = self.base.copy()
        for f in self.pending:
            if f.status != "FAILED":
                lot.add(f)
        self.current = lot

    def compact(self, settled: set[str]) -> None:
        while self.pending and self.pending[0].status in _FINAL:
            f = self.pending.pop(0)
            if f.status == "CONFIRMED":
                self.base.add(f)
            settled.add(f.trade_id)


@dataclass(frozen=True, slots=True)
class _Aggregates:
    equity: Decimal
    gross: Decimal
    by_market: dict[str, Decimal]
    by_cluster: dict[str, Decimal]
    by_strategy: dict[str, Decimal]
    # every token they mark is held (no strategy nets a token the portfolio holds none of):
    # then only a held token's book can move them, and a book that leaves its mark as it was
    # leaves them as they are
    held_marks_only: bool = True



class _SortedKeys:
    """The sorted keys of a collection that mostly grows, re-sorting only what was added since
    the last call: every trade and order id ever seen goes into each checkpoint, and sorting
    them all afresh made every checkpoint slower than the last."""

    __slots__ = ("_seen", "_sorted")

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._sorted: list[str] = []

    def of(self, keys: AbstractSet[str]) -> list[str]:
        new = keys - self._seen
        if len(self._seen) + len(new) != len(keys):  # something left: start over
            self._seen = set(keys)
            self._sorted = sorted(self._seen)
        elif new:
            self._seen |= new
            self._sorted.extend(new)
            self._sorted.sort()  # a sorted run plus a short tail: near-linear
        return list(self._sorted)

class PortfolioProjection:
    """Positions, cash, PnL, equity and drawdown, marked with a `MarketsProjection`."""

    name = "portfolio"
    # every entry `apply` reads, by kind and by reason code (see `state/store.py`)
    relevant = (frozenset({FillRecord.kind, Transfer.kind, OrderRecord.kind, OrderBookSnapshot.kind,
                           "market_snapshot"}), frozenset({WALLET_BALANCE_CODE}))

    def __init__(self, markets: MarketsProjection) -> None:
        self.markets = markets
        self._clear()

    def _clear(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._live: dict[str, str] = {}  # trade_id -> token_id, for trades not yet settled
        self._settled: set[str] = set()
        self._order_strategy: dict[str, str] = {}
        self._settled_sorted = _SortedKeys()
        self._order_strategy_sorted = _SortedKeys()
        self._strategy_net: dict[str, dict[str, Decimal]] = {}
        self._cash = ZERO
        self._cash_known = False
        # external flows: kept apart so they never count as PnL or drawdown
        self._initial = ZERO
        self._deposits = ZERO
        self._withdrawals = ZERO
        self._adjustments = ZERO
        self._balance_ts_ms: int | None = None
        self._last_equity: Decimal | None = None
        self._last_perf: Decimal | None = None
        self._last_ts_ms: int | None = None
        self._day: int | None = None
        self._day_peak = ZERO
        self._hour_peaks: dict[int, Decimal] = {}
        # (ts, equity, external flows so far): equity less external is performance equity
        self._curve: deque[tuple[int, Decimal, Decimal]] = deque(maxlen=CURVE_MAX_POINTS)
        self._agg: _Aggregates | None = None
        # Reads the kill switch makes after every input, cached until what they depend on
        # changes: `_version` moves with every change of equity or peaks (the points that drop
        # `_agg`), `_held` with every change of which tokens are held.
        self._version = 0
        self._equity_cache: tuple[int, Decimal] | None = None
        self._eq_marks: dict[str, Decimal | None] = {}  # the marks that cached equity was summed with
        # how many of that sum's terms (and cash) have each exponent, or None: not kept for it
        self._eq_exponents: Counter[int] | None = None
        self._dd_intraday: tuple[int, int, Decimal | None] | None = None
        self._dd_weekly: tuple[int, int, Decimal | None] | None = None
        self._held: tuple[tuple[str, str], ...] | None = None
        self._book_floor: int | None = None  # no held token's book is older than this (ms)

    # -- fold ------------------------------------------------------------------------------

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        kind = env.kind
        if kind == FillRecord.kind:
            self._on_fill(env.payload, env.ts_ms)
        elif kind == "note":
            if env.reason_code == WALLET_BALANCE_CODE:
                read = Decimal(str(env.payload["detail"]["pusd"]))
                if not read.is_finite() or not Decimal(0) <= read < MAX_WALLET_PUSD:
                    raise ValueError(f"wallet balance {read} is not a finite amount in [0, {MAX_WALLET_PUSD})")
                if self._cash_known:
                    # what fills and journaled transfers do not explain is an adjustment: an
                    # external flow, so it moves equity but not the performance peaks
                    self._adjustments += read - self._cash
                else:
                    # cash so far held only fills and transfers seen before the first read
                    self._initial = read - self._cash
                self._cash = read
                self._cash_known = True
                self._balance_ts_ms = env.ts_ms
                self._changed(env.ts_ms)
        elif kind == Transfer.kind:
            amount = Decimal(str(env.payload["amount_pusd"]))
            if env.payload["direction"] == "deposit":
                self._deposits += amount
                self._cash += amount
            else:
                self._withdrawals += amount
                self._cash -= amount
            self._changed(env.ts_ms)
        elif kind == OrderRecord.kind:
            p = env.payload
            self._order_strategy.setdefault(p["client_order_id"], p["strategy_id"])
        elif kind == OrderBookSnapshot.kind:
            token_id = env.payload["token_id"]
            tok = self._tokens.get(token_id)
            if tok is not None and tok.current.size != 0:
                self._changed(env.ts_ms, mark_override=self._payload_mark(env.payload))
        elif kind == "market_snapshot":
            self._dirty()  # clusters may have moved

    def _payload_mark(self, payload: dict[str, Any]) -> tuple[str, Decimal | None] | None:
        """The mark a book update implies, so the equity point does not depend on whether
        the markets projection folded this entry before or after us."""
        token_id = payload["token_id"]
        top = self.markets.top(token_id)
        if top is not None and top.ts_ms > payload["ts_ms"]:
            return None  # a late, older book: the markets projection ignores it too
        bids, asks = payload.get("bids") or (), payload.get("asks") or ()
        mid = (Decimal(str(bids[0]["price"])) + Decimal(str(asks[0]["price"]))) / 2 \
            if bids and asks else None
        return token_id, mid

    def _on_fill(self, p: dict[str, Any], ts_ms: int) -> None:
        trade_id = p["trade_id"]
        status = p["settlement"]
        if trade_id in self._settled:
            return
        live_token = self._live.get(trade_id)
        if live_token is not None:
            self._settle(live_token, trade_id, status, ts_ms)
            return
        token_id = p["token_id"]
        if token_id not in self._tokens:
            self._tokens[token_id] = _Token(market_id=p["market_id"])
        tok = self._tokens[token_id]
        f = _Fill(trade_id, self._order_strategy.get(p["client_order_id"], UNATTRIBUTED),
                  p["side"], Decimal(str(p["price"])), Decimal(str(p["size"])),
                  Decimal(str(p.get("fee_pusd", "0"))), status)
        tok.pending.append(f)
        self._live[trade_id] = token_id
        if status != "FAILED":
            basis = self._fill_basis(token_id, tok.current)
            tok.current.add(f)
            self._lots_changed()
            self._cash += f.cash_delta
            self._strategy_add(f.strategy_id, token_id, f.qty)
            self._changed(ts_ms, fill_basis=basis)
        self._compact(tok)

    def _fill_basis(self, token_id: str, lot: _Lot) -> tuple[str, Decimal | None, Decimal] | None:
        """Before a fill moves `token_id`'s lot and the cash: (the token, its term in the
        equity last summed or None when it held nothing, the cash), if that sum is current."""
        cached = self._equity_cache
        if cached is None or cached[0] != self._version or self._eq_exponents is None or not self._cash_known:
            return None
        if lot.size == 0:
            return None if token_id in self._eq_marks else (token_id, None, self._cash)
        if token_id not in self._eq_marks:
            return None
        mark = self._eq_marks[token_id]
        return token_id, lot.size * mark if mark is not None else lot.cost, self._cash

    def _filled_equity(self, total: Decimal, basis: tuple[str, Decimal | None, Decimal]) -> Decimal | None:
        """`equity()` after a fill, from the equity last summed (the caller checked it was
        current when `basis` was taken): that sum less the old cash and the token's old term,
        plus the new cash and its new term, instead of summing every held lot again (a fill's
        cost grew with the number of held tokens). Exact, and given the exponent a fresh
        left-to-right sum has (see `_moved_equity`), so the same Decimal, digit for digit.
        None: sum afresh."""
        exponents = self._eq_exponents
        token_id, old_term, old_cash = basis
        tok = self._tokens.get(token_id)
        if exponents is None or tok is None:
            return None
        lot = tok.current
        mark = self._mark(token_id, lot) if lot.size != 0 else None
        new_term = None if lot.size == 0 else lot.size * mark if mark is not None else lot.cost
        cash = self._cash
        moved = total - old_cash + cash
        if old_term is not None:
            moved -= old_term
        if new_term is not None:
            moved += new_term
        values = [moved, total, cash, old_cash] + [t for t in (old_term, new_term) if t is not None]
        if not moved or max(_digits(v) for v in values) > _EXACT_DIGITS:
            self._eq_exponents = None
            return None  # a zero's sign, or digits near the context's limit: sum afresh
        for gone in (old_cash, old_term):
            if gone is not None:
                exponent = _exponent(gone)
                exponents[exponent] -= 1
                if not exponents[exponent]:
                    del exponents[exponent]
        exponents[_exponent(cash)] += 1
        if new_term is not None:
            exponents[_exponent(new_term)] += 1
            self._eq_marks[token_id] = mark
        else:
            self._eq_marks.pop(token_id, None)
        target = min(exponents)
        if _exponent(moved) != target:
            moved = moved.quantize(Decimal(1).scaleb(target))
        return moved

    def _settle(self, token_id: str, trade_id: str, status: str, ts_ms: int) -> None:
        tok = self._tokens[token_id]
        f = next(x for x in tok.pending if x.trade_id == trade_id)
        if f.status == "FAILED" or f.status == status:
            return  # FAILED is terminal; repeats change nothing
        f.status = status
        if status == "FAILED":
            self._cash -= f.cash_delta
            self._strategy_add(f.strategy_id, token_id, -f.qty)
            tok.refold()
            self._lots_changed()
            self._changed(ts_ms)
        self._compact(tok)

    def _compact(self, tok: _Token) -> None:
        before = len(tok.pending)
        tok.compact(self._settled)
        if len(tok.pending) != before:
            for tid in list(self._live):
                if tid in self._settled:
                    del self._live[tid]

    def _strategy_add(self, strategy_id: str, token_id: str, qty: Decimal) -> None:
        book = self._strategy_net.setdefault(strategy_id, {})
        net = book.get(token_id, ZERO) + qty
        if net == 0:
            book.pop(token_id, None)
        else:
            book[token_id] = net

    # -- equity observations ---------------------------------------------------------------

    def _dirty(self) -> None:
        self._agg = None
        self._version += 1

    def _lots_changed(self) -> None:
        self._held = None
        self._book_floor = None

    def _changed(self, ts_ms: int, mark_override: tuple[str, Decimal | None] | None = None,
                 fill_basis: tuple[str, Decimal | None, Decimal] | None = None) -> None:
        before = self._equity_cache if self._equity_cache is not None and \
            self._equity_cache[0] == self._version else None
        if (before is not None and mark_override is not None and self._cash_known
                and self._last_equity is not None and before[1] == self._last_equity
                and self._same_mark(mark_override)):
            # A book that left its token's mark exactly as it was (most books): equity, peaks
            # and so the drawdowns are what the caches hold, and the path below would end at
            # its equal-equity return having only moved `_version`. Keeping the version keeps
            # those caches (the kill switch reads them after every input). The aggregates stay
            # too (the guards read them on every intent), unless they also mark a token no one
            # holds, whose book does not come here: they are dropped then, as before.
            agg = self._agg
            if agg is not None and not agg.held_marks_only:
                self._agg = None
            return
        self._dirty()
        if not self._cash_known:
            return
        if before is not None and mark_override is not None and self._same_mark(mark_override):
            # a book that left this token's mark as it was (most do): the equity is the one
            # already summed, the same Decimal, without another pass over the lots
            eq, usual = before[1], True
        else:
            moved = self._moved_equity(before[1], mark_override) \
                if before is not None and mark_override is not None else None
            if moved is None and before is not None and fill_basis is not None and mark_override is None:
                filled = self._filled_equity(before[1], fill_basis)
                moved = (filled, True) if filled is not None else None
            eq, usual = moved if moved is not None else self._equity(mark_override)
        if usual:
            # the same sum `equity()` would make (the book's mark is exactly the one the markets
            # projection now holds), so the same Decimal: no second pass over the lots
            self._equity_cache = (self._version, eq)
        if self._last_equity is not None and eq == self._last_equity:
            return
        self._last_equity = eq
        eq = eq - self._external()  # peaks are tracked on performance equity (module docstring)
        prev = self._last_perf
        if prev is not None and eq == prev:
            self._append_curve(ts_ms)
            return
        day = ts_ms // DAY_MS
        if day != self._day:
            # the equity carried across midnight was `prev`: it is this day's opening level
            self._day = day
            self._day_peak = eq if prev is None else max(prev, eq)
        elif eq > self._day_peak:
            self._day_peak = eq
        hour = ts_ms // HOUR_MS
        peak = self._hour_peaks.get(hour, eq)
        self._hour_peaks[hour] = max(peak, eq, eq if prev is None else prev)
        if len(self._hour_peaks) > BUCKET_KEEP_HOURS:
            floor = hour - BUCKET_KEEP_HOURS
            for h in [h for h in self._hour_peaks if h < floor]:
                del self._hour_peaks[h]
        self._last_perf = eq
        self._append_curve(ts_ms)

    def _append_curve(self, ts_ms: int) -> None:
        assert self._last_equity is not None
        point = (ts_ms, self._last_equity, self._external())
        if self._curve and self._curve[-1][0] // 1000 == ts_ms // 1000:
            self._curve[-1] = point
        else:
            self._curve.append(point)
        self._last_ts_ms = ts_ms

    def _external(self) -> Decimal:
        return self._deposits - self._withdrawals + self._adjustments

    def _equity(self, mark_override: tuple[str, Decimal | None] | None = None) -> tuple[Decimal, bool]:
        """(equity with one token marked as `mark_override` says, whether every mark used is
        exactly (value and exponent) the one `equity()` would use)."""
        total = self._cash
        usual_marks = True
        marks = self._eq_marks = {}
        exponents = self._eq_exponents = Counter((_exponent(total),))
        for token_id, tok in self._tokens.items():
            lot = tok.current
            if lot.size == 0:
                continue
            if mark_override is not None and mark_override[0] == token_id:
                mark = mark_override[1] if mark_override[1] is not None else lot.last_price
                if not _same(mark, self._mark(token_id, lot)):
                    usual_marks = False
            else:
                mark = self._mark(token_id, lot)
            marks[token_id] = mark
            term = lot.size * mark if mark is not None else lot.cost
            exponents[_exponent(term)] += 1
            total += term
        return total, usual_marks

    def _moved_equity(self, total: Decimal, mark_override: tuple[str, Decimal | None]) -> tuple[Decimal, bool] | None:
        """`_equity(mark_override)` from the equity last summed, when only this token's mark
        moved since (the caller checked the version): that sum less the token's old term plus
        its new one. Exact (every value is far inside the context's 28 digits), so equal in
        value to a fresh sum; given the exponent a fresh left-to-right sum has (the smallest
        among cash and the terms), so the same Decimal, digit for digit. None: sum afresh."""
        exponents = self._eq_exponents
        token_id, mid = mark_override
        tok = self._tokens.get(token_id)
        if exponents is None or tok is None or token_id not in self._eq_marks or tok.current.size == 0:
            return None
        lot = tok.current
        mark = mid if mid is not None else lot.last_price
        old = self._eq_marks[token_id]
        old_term = lot.size * old if old is not None else lot.cost
        new_term = lot.size * mark if mark is not None else lot.cost
        moved = total - old_term + new_term
        if not moved or max(_digits(moved), _digits(old_term), _digits(new_term)) > _EXACT_DIGITS:
            self._eq_exponents = None
            return None  # a zero's sign, or digits near the context's limit: sum afresh
        old_exp = _exponent(old_term)
        exponents[old_exp] -= 1
        if not exponents[old_exp]:
            del exponents[old_exp]
        exponents[_exponent(new_term)] += 1
        target = min(exponents)
        if _exponent(moved) != target:
            moved = moved.quantize(Decimal(1).scaleb(target))
        self._eq_marks[token_id] = mark
        return moved, _same(mark, self._mark(token_id, lot))

    def _same_mark(self, mark_override: tuple[str, Decimal | None]) -> bool:
        """Is the overridden token marked now exactly as in the last equity summed, and as
        `equity()` would mark it? (Only its book changed since: the caller checks the version.)"""
        token_id, mid = mark_override
        tok = self._tokens.get(token_id)
        if tok is None or token_id not in self._eq_marks:
            return False
        lot = tok.current
        mark = mid if mid is not None else lot.last_price
        return _same(mark, self._mark(token_id, lot)) and _same(mark, self._eq_marks[token_id])

    def _mark(self, token_id: str, lot: _Lot) -> Decimal | None:
        mid = self.markets.mid(token_id)
        return mid if mid is not None else lot.last_price

    def _aggregates(self) -> _Aggregates:
        agg = self._agg
        if agg is not None:
            return agg
        equity = self._cash
        gross = ZERO
        by_market: dict[str, Decimal] = {}
        by_cluster: dict[str, Decimal] = {}
        marks: dict[str, Decimal | None] = {}
        for token_id, tok in self._tokens.items():
            lot = tok.current
            if lot.size == 0:
                continue
            mark = marks[token_id] = self._mark(token_id, lot)
            value = lot.size * mark if mark is not None else lot.cost
            equity += value
            exposure = abs(value)
            gross += exposure
            by_market[tok.market_id] = by_market.get(tok.market_id, ZERO) + exposure
            cluster = self.markets.cluster_of(tok.market_id) or UNKNOWN_CLUSTER
            by_cluster[cluster] = by_cluster.get(cluster, ZERO) + exposure
        by_strategy: dict[str, Decimal] = {}
        held_marks_only = True
        for strategy_id, nets in self._strategy_net.items():
            total = ZERO
            for token_id, net in nets.items():
                mark = marks.get(token_id)
                if mark is None:
                    if token_id not in marks:  # a token no one holds: its book never comes here
                        held_marks_only = False
                    lot = self._tokens[token_id].current
                    mark = self._mark(token_id, lot) or lot.avg_price
                total += abs(net) * mark
            if total:
                by_strategy[strategy_id] = total
        agg = self._agg = _Aggregates(equity, gross, by_market, by_cluster, by_strategy, held_marks_only)
        return agg

    # -- reads -----------------------------------------------------------------------------

    @property
    def cash_known(self) -> bool:
        return self._cash_known

    def cash_pusd(self) -> Decimal | None:
        """Cash in pUSD, or None before the first wallet balance read."""
        return self._cash if self._cash_known else None

    def balance_read_at_ms(self) -> int | None:
        return self._balance_ts_ms

    def position_size(self, token_id: str) -> Decimal:
        tok = self._tokens.get(token_id)
        return ZERO if tok is None else tok.current.size

    def mark(self, token_id: str) -> Decimal | None:
        tok = self._tokens.get(token_id)
        return self.markets.mid(token_id) if tok is None else self._mark(token_id, tok.current)

    def equity(self) -> Decimal | None:
        if not self._cash_known:
            return None
        agg = self._agg
        if agg is not None:
            return agg.equity
        cached = self._equity_cache
        if cached is not None and cached[0] == self._version:
            return cached[1]
        # the same sum, in the same order, as `_aggregates` makes: the same Decimal
        equity = self._cash
        marks = self._eq_marks = {}
        exponents = self._eq_exponents = Counter((_exponent(equity),))
        for token_id, tok in self._tokens.items():
            lot = tok.current
            if lot.size == 0:
                continue
            mark = marks[token_id] = self._mark(token_id, lot)
            term = lot.size * mark if mark is not None else lot.cost
            exponents[_exponent(term)] += 1
            equity += term
        self._equity_cache = (self._version, equity)
        return equity

    def gross_exposure(self) -> Decimal:
        return self._aggregates().gross

    def exposure_by_market(self) -> dict[str, Decimal]:
        return self._aggregates().by_market

    def exposure_by_cluster(self) -> dict[str, Decimal]:
        return self._aggregates().by_cluster

    def exposure_by_strategy(self) -> dict[str, Decimal]:
        return self._aggregates().by_strategy

    def realised_pnl(self) -> Decimal:
        return sum((t.current.realised for t in self._tokens.values()), ZERO)

    def fees_pusd(self) -> Decimal:
        return sum((t.current.fees for t in self._tokens.values()), ZERO)

    def unrealised_pnl(self) -> Decimal:
        total = ZERO
        for token_id, tok in self._tokens.items():
            lot = tok.current
            if lot.size != 0:
                mark = self._mark(token_id, lot)
                if mark is not None:
                    total += lot.size * mark - lot.cost
        return total

    def equity_curve(self) -> list[tuple[int, Decimal]]:
        return [(t, eq) for t, eq, _ in self._curve]

    def performance_curve(self) -> list[tuple[int, Decimal]]:
        """Equity less external flows at each point: what drawdown is measured on."""
        return [(t, eq - ext) for t, eq, ext in self._curve]

    def accounting(self) -> dict[str, Decimal] | None:
        """The terms of the identity equity = initial + deposits − withdrawals + adjustments +
        realised + unrealised, each computed on its own path (cash and marks for equity, lots
        for PnL) so a test can check that they agree; None while cash is unknown."""
        equity = self.equity()
        if equity is None:
            return None
        return {"equity": equity, "initial": self._initial, "deposits": self._deposits,
                "withdrawals": self._withdrawals, "adjustments": self._adjustments,
                "realised": self.realised_pnl(), "unrealised": self.unrealised_pnl()}

    def performance_equity(self) -> Decimal | None:
        """initial + realised + unrealised: equity with every external flow taken out."""
        eq = self.equity()
        return None if eq is None else eq - self._external()

    def peak_intraday(self, now_ms: int) -> Decimal | None:
        eq = self.performance_equity()
        if eq is None:
            return None
        if self._day is None or now_ms // DAY_MS != self._day:
            return eq  # nothing recorded yet today: the day opened at the current equity
        return max(self._day_peak, eq)

    def peak_weekly(self, now_ms: int) -> Decimal | None:
        eq = self.performance_equity()
        if eq is None:
            return None
        first_hour = (now_ms - WEEK_MS) // HOUR_MS
        peak = eq
        for hour, value in self._hour_peaks.items():
            if hour >= first_hour and value > peak:
                peak = value
        return peak

    def drawdown_intraday_pct(self, now_ms: int) -> Decimal | None:
        """Percent below the peak since 00:00 UTC; None while cash is unknown."""
        day = now_ms // DAY_MS  # all that `now_ms` changes in the answer
        memo = self._dd_intraday
        if memo is not None and memo[0] == self._version and memo[1] == day:
            return memo[2]
        value = _drawdown(self.peak_intraday(now_ms), self.performance_equity())
        self._dd_intraday = (self._version, day, value)
        return value

    def drawdown_weekly_pct(self, now_ms: int) -> Decimal | None:
        """Percent below the rolling 7-day peak; None while cash is unknown."""
        first_hour = (now_ms - WEEK_MS) // HOUR_MS  # all that `now_ms` changes in the answer
        memo = self._dd_weekly
        if memo is not None and memo[0] == self._version and memo[1] == first_hour:
            return memo[2]
        value = _drawdown(self.peak_weekly(now_ms), self.performance_equity())
        self._dd_weekly = (self._version, first_hour, value)
        return value

    def held_tokens(self) -> tuple[tuple[str, str], ...]:
        """(token_id, market_id) of every open position, in token order (as `iter_lots`)."""
        held = self._held
        if held is None:
            held = self._held = tuple((token_id, self._tokens[token_id].market_id)
                                      for token_id in sorted(self._tokens)
                                      if self._tokens[token_id].current.size != 0)
        return held

    def held_books_fresh(self, now_ms: int, limit_ms: int) -> bool:
        """True when every held token has a book younger than `limit_ms` at `now_ms` (so no
        feed-loss condition can hold); False means: look token by token.

        Amortised O(1): a book's timestamp never goes back (the markets projection drops an
        older book), so the oldest held book's time, once found, stays a floor under all of
        them until the held tokens change; it is looked up again only when the floor itself
        has grown too old."""
        floor = self._book_floor
        if floor is not None and now_ms - floor < limit_ms:
            return True
        oldest: int | None = None
        for token_id, _market_id in self.held_tokens():
            top = self.markets.top(token_id)
            if top is None:
                self._book_floor = None
                return False
            if oldest is None or top.ts_ms < oldest:
                oldest = top.ts_ms
        if oldest is None:
            return True  # nothing held
        self._book_floor = oldest
        return now_ms - oldest < limit_ms

    def iter_lots(self) -> Iterator[tuple[str, str, Decimal, Decimal]]:
        """(token_id, market_id, size, cost) for every open position, in token order."""
        for token_id in sorted(self._tokens):
            tok = self._tokens[token_id]
            if tok.current.size != 0:
                yield token_id, tok.market_id, tok.current.size, tok.current.cost

    def positions(self) -> list[PositionRecord]:
        """Every token ever traded (closed ones keep their realised PnL), in token order."""
        return [position_record(*values) for values in self.position_values()]

    def position_values(self) -> list[PositionValues]:
        """`positions()` as immutable values, no records built yet: what the kill switch's
        as-of-trigger picture holds on the trip path (the records, validated, cost several
        times more and are only needed when the picture is written out)."""
        return position_values_of(self.position_inputs())

    def position_inputs(self) -> list[PositionInputs]:
        """What `position_values()` is computed from, read now and nothing computed yet: each
        token's (market id, token id, size, cost, realised, mark or None), immutable values in no
        particular order. `position_values_of` gives `position_values()` of them later. For the
        kill switch's as-of-trigger picture, read inside the trip window: the Decimal arithmetic
        and the sort wait until the picture is written out."""
        mark = self._mark
        return [(tok.market_id, token_id, lot.size, lot.cost, lot.realised,
                 mark(token_id, lot) if lot.size != 0 else None)
                for token_id, tok in self._tokens.items() for lot in (tok.current,)]

    # -- checkpoints -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "tokens": {
                tid: {"market_id": t.market_id, "base": t.base.to_json(),
                      "pending": [f.to_json() for f in t.pending]}
                for tid, t in sorted(self._tokens.items())
            },
            "settled": self._settled_sorted.of(self._settled),
            "order_strategy": {cid: self._order_strategy[cid]
                               for cid in self._order_strategy_sorted.of(self._order_strategy.keys())},
            "strategy_net": {s: {t: str(v) for t, v in sorted(n.items())}
                             for s, n in sorted(self._strategy_net.items())},
            "cash": str(self._cash),
            "cash_known": self._cash_known,
            "balance_ts_ms": self._balance_ts_ms,
            "last_equity": None if self._last_equity is None else str(self._last_equity),
            "last_perf": None if self._last_perf is None else str(self._last_perf),
            "flows": {"initial": str(self._initial), "deposits": str(self._deposits),
                      "withdrawals": str(self._withdrawals), "adjustments": str(self._adjustments)},
            "last_ts_ms": self._last_ts_ms,
            "day": self._day,
            "day_peak": str(self._day_peak),
            "hour_peaks": {str(h): str(v) for h, v in sorted(self._hour_peaks.items())},
            "curve": [[ts, str(v), str(x)] for ts, v, x in self._curve],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._clear()
        for tid, t in data["tokens"].items():
            tok = _Token(market_id=t["market_id"], base=_Lot.from_json(t["base"]),
                         pending=[_Fill.from_json(f) for f in t["pending"]])
            tok.refold()
            self._tokens[tid] = tok
            for f in tok.pending:
                self._live[f.trade_id] = tid
        self._settled = set(data["settled"])
        self._order_strategy = dict(data["order_strategy"])
        self._strategy_net = {s: {t: Decimal(v) for t, v in n.items()}
                              for s, n in data["strategy_net"].items()}
        self._cash = Decimal(data["cash"])
        self._cash_known = bool(data["cash_known"])
        self._balance_ts_ms = data["balance_ts_ms"]
        le = data["last_equity"]
        self._last_equity = None if le is None else Decimal(le)
        lp = data.get("last_perf", le)  # checkpoints before transfers: no flows, perf = equity
        self._last_perf = None if lp is None else Decimal(lp)
        flows = data.get("flows", {})
        self._initial = Decimal(flows.get("initial", "0"))
        self._deposits = Decimal(flows.get("deposits", "0"))
        self._withdrawals = Decimal(flows.get("withdrawals", "0"))
        self._adjustments = Decimal(flows.get("adjustments", "0"))
        self._last_ts_ms = data["last_ts_ms"]
        self._day = data["day"]
        self._day_peak = Decimal(data["day_peak"])
        self._hour_peaks = {int(h): Decimal(v) for h, v in data["hour_peaks"].items()}
        self._curve = deque(((int(p[0]), Decimal(p[1]), Decimal(p[2] if len(p) > 2 else 0))
                             for p in data["curve"]), maxlen=CURVE_MAX_POINTS)


def _exponent(d: Decimal) -> int:
    """``d.as_tuple().exponent`` of a finite Decimal, read from its string: without an
    exponent mark the string is in plain notation, whose exponent is minus the digits after
    the point (0 without one). `as_tuple` builds a tuple of every digit and a named tuple
    through a Python-level constructor, several times the cost, up to six times for every
    book of a held token that moves a mark."""
    text = str(d)
    if "E" in text or not d.is_finite():
        return int(d.as_tuple().exponent)  # scientific notation, or raises as before
    point = text.find(".")
    return 0 if point < 0 else point + 1 - len(text)


def _digits(d: Decimal) -> int:
    """``len(d.as_tuple().digits)`` of a finite Decimal: the coefficient's digits run from the
    most significant one (`adjusted()`) down to the exponent (a zero has the one digit 0)."""
    if not d.is_finite():
        return len(d.as_tuple().digits)
    return d.adjusted() - _exponent(d) + 1


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    """The same number written the same way (so sums with it come out digit for digit equal).

    Compares the decimals' strings: a Decimal's string is exact and reversible (sign,
    coefficient digits and exponent, NaN payloads and signed zeros included), so two strings
    are equal exactly when the two `as_tuple()`s are; `as_tuple` builds its named tuple through
    a Python-level constructor, about five times the cost, on every book of a held token."""
    return a is b or (a is not None and b is not None and str(a) == str(b))


def _drawdown(peak: Decimal | None, equity: Decimal | None) -> Decimal | None:
    if peak is None or equity is None:
        return None
    if equity >= peak:
        return ZERO
    if peak <= 0:
        return HUNDRED  # no positive peak to measure from and still falling: worst case
    return _div((peak - equity) * HUNDRED, peak)


def add_accounting(store: StateStore) -> tuple[MarketsProjection, PortfolioProjection]:
    """Register the markets and portfolio projections (markets first, so marks are current
    when the portfolio folds the same entry)."""
    markets = MarketsProjection()
    portfolio = PortfolioProjection(markets)
    store.add(markets)
    store.add(portfolio)
    return markets, portfolio
