"""Open orders, in-flight orders, reservations and the venue reject rate, as a projection.

Folds three envelope kinds, all written only by the Order Lifecycle Manager:
- `order_record` (payload `OrderRecord`), one per transition: the latest record of a client
  order id wins. The OLM checks legality before it journals, so the fold trusts the journal;
- `order_batch` (payload `OrderBatch`): the orders one venue answer (a cancel-all's) moved,
  folded record by record exactly as the same records in their own envelopes would be;
- `fill` (payload `FillRecord`), one per fill and per settlement update, keyed by
  (trade_id, client_order_id) because a self-trade reports one trade id on both our orders;
- `note` with `EXEC_VENUE_ANOMALY`: a venue event the OLM refused to apply. Only the latest is
  kept, for the kill switch's `venue_anomaly` trigger, which reads it at that very entry.

The reject rate counts venue answers to submissions: an `order_record` whose previous status was
`submitted` and which the venue caused (not a local reconciliation, not our own cancel request).
A venue reject (a `reject` event or a 429/425/500/503 transport error) counts as a reject.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from polytraders.contracts.order_batch import OrderBatch
from polytraders.contracts.orders import FillRecord, OrderRecord, OrderStatus
from polytraders.journal.base import JournalEntry

OPEN_STATUSES: Final[frozenset[OrderStatus]] = frozenset(
    {"live", "partially_filled", "cancel_pending"}
)
IN_FLIGHT_STATUSES: Final[frozenset[OrderStatus]] = frozenset(
    {"created", "signed", "submitted", "cancel_pending"}
)
RESERVING_STATUSES: Final[frozenset[OrderStatus]] = OPEN_STATUSES | IN_FLIGHT_STATUSES
# The venue refusing our orders. A transport failure (429, 425, 5xx) is not one: it is API
# degradation, which gov.api_degradation_monitor watches and its playbook answers.
VENUE_REJECT_CODES: Final[frozenset[str]] = frozenset({"EXEC_REJECTED"})
# Transitions out of `submitted` that were not the venue answering the submission.
_NOT_AN_ANSWER: Final[frozenset[str]] = frozenset({"EXEC_RECONCILE_DIFF", "EXEC_STUCK_ORDER"})
VENUE_ANOMALY: Final = "EXEC_VENUE_ANOMALY"
# Digits a kept sum may hold and still be exact in the default 28-digit decimal context, with room
_EXACT_DIGITS: Final = 20


@dataclass(frozen=True, slots=True)
class VenueAnomaly:
    """A venue event the OLM refused: where it was (market_id "" when no order or token placed
    it) and what was wrong, as the journaled note says."""

    seq: int
    market_id: str
    detail: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, init=False)
class OrderState:
    """One order as the projection holds it: the latest record plus journal bookkeeping."""

    record: OrderRecord
    correlation_id: str | None
    created_ms: int
    since_ms: int
    """When the order entered its current status (envelope time)."""
    seq: int

    def __init__(self, record: OrderRecord, correlation_id: str | None, created_ms: int, since_ms: int,
                 seq: int) -> None:
        # written out with the slots' own setters: the generated frozen __init__ sets each field
        # through object.__setattr__, and one state is made for every order transition folded
        _state_record(self, record)
        _state_corr(self, correlation_id)
        _state_created(self, created_ms)
        _state_since(self, since_ms)
        _state_seq(self, seq)

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record.to_json_dict(),
            "correlation_id": self.correlation_id,
            "created_ms": self.created_ms,
            "since_ms": self.since_ms,
            "seq": self.seq,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderState:
        return cls(
            record=OrderRecord.model_validate(data["record"]),
            correlation_id=data["correlation_id"],
            created_ms=int(data["created_ms"]),
            since_ms=int(data["since_ms"]),
            seq=int(data["seq"]),
        )


_state_record, _state_corr, _state_created, _state_since, _state_seq = (
    OrderState.__dict__[name].__set__ for name in OrderState.__slots__)


class OrdersProjection:
    name = "orders"
    # every entry `apply` reads, by kind and by reason code (see `state/store.py`)
    relevant = (frozenset({OrderRecord.kind, OrderBatch.kind, FillRecord.kind}), frozenset({VENUE_ANOMALY}))

    def __init__(self) -> None:
        self._orders: dict[str, OrderState] = {}
        self._by_venue_id: dict[str, str] = {}
        self._fills: dict[tuple[str, str], FillRecord] = {}
        # Checkpoint JSON per order / fill, reused while the (immutable) object is the same one:
        # a checkpoint holds every order and fill ever seen, and re-dumping each through pydantic
        # made every checkpoint slower than the last.
        self._order_json: dict[str, tuple[OrderState, dict[str, Any]]] = {}
        self._fill_json: dict[tuple[str, str], tuple[FillRecord, dict[str, Any]]] = {}
        self._answers: list[tuple[int, bool]] = []  # (ts_ms, was a venue reject), in seq order
        # The same answers as columns for `reject_rate`'s binary search: times, and how many of
        # the answers before each index were rejects. Good while the times never go back.
        self._answer_ts: list[int] = []
        self._rejects_before: list[int] = [0]
        self._answers_in_time_order = True
        # reserved_pusd, kept as orders move: each reserving BUY's price x remaining, their
        # exact sum, and how many terms have each exponent (to give the sum the exponent a
        # fresh left-to-right sum would have)
        self._buy_terms: dict[str, Decimal] = {}
        self._buy_sum = Decimal(0)
        self._buy_exponents: Counter[int] = Counter()
        self._buy_exact = True  # False once a sum could have been rounded: then scan, as before
        self._reserved_read: Decimal | None = None  # reserved_pusd() as last read, until a term moves
        self._fill_keys: dict[str, set[tuple[str, str]]] = {}  # client order id -> its fill keys
        # Orders in a reserving status, kept in first-seen order (`_rank`), so the reads the
        # quoting loop and the guards make on every input cost the live orders, not every order
        # ever seen: over an hour those grow without bound while the live ones stay few.
        self._rank: dict[str, int] = {}
        self._live: dict[str, OrderState] = {}
        self._live_sorted = True
        self._live_by_token: dict[str, dict[str, OrderState]] = {}  # the same orders, by token
        self._live_token: dict[str, str] = {}  # client order id -> the token it is indexed under
        # Not in snapshots: the trigger reads it only at the entry that set it, never later.
        self.last_anomaly: VenueAnomaly | None = None

    # -- fold ------------------------------------------------------------------------------

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        kind = env.kind
        if kind == OrderRecord.kind:
            record = env.decode()
            assert isinstance(record, OrderRecord)
            f = env.__dict__  # (a pydantic model's attribute reads go through its `__getattr__` hook)
            self._apply_record(record, entry, f["reason_code"], f["correlation_id"])
        elif kind == OrderBatch.kind:
            batch = env.decode()
            assert isinstance(batch, OrderBatch)
            for item in batch.records:
                self._apply_record(item.record, entry, item.reason_code, item.correlation_id)
        elif kind == FillRecord.kind:
            fill = env.decode()
            assert isinstance(fill, FillRecord)
            self._put_fill(fill)
        elif kind == "note" and env.reason_code == VENUE_ANOMALY:
            detail = env.payload.get("detail", {})
            self.last_anomaly = VenueAnomaly(
                entry.seq, str(detail.get("market_id") or ""),
                tuple((k, str(detail[k])) for k in ("client_order_id", "venue_order_id", "event",
                                                    "field", "observed", "limit") if k in detail))

    def _put_fill(self, fill: FillRecord) -> None:
        key = (fill.trade_id, fill.client_order_id)
        self._fills[key] = fill
        self._fill_keys.setdefault(fill.client_order_id, set()).add(key)

    def _apply_record(self, record: OrderRecord, entry: JournalEntry, reason_code: str,
                      correlation_id: str | None) -> None:
        ts = entry.envelope.__dict__["ts_ms"]
        f = record.__dict__  # the record's values read from its dict (see `apply`)
        cid, status = f["client_order_id"], f["status"]
        prior = self._orders.get(cid)
        if prior is None:
            created_ms, since_ms, corr = ts, ts, correlation_id
        else:
            created_ms = prior.created_ms
            since_ms = prior.since_ms if prior.record.__dict__["status"] == status else ts
            corr = prior.correlation_id or correlation_id
        state = OrderState(record, corr, created_ms, since_ms, entry.seq)
        self._orders[cid] = state
        self._index(state, prior.record if prior is not None else None)
        venue_order_id = f["venue_order_id"]
        if venue_order_id:
            self._by_venue_id[venue_order_id] = cid
        if (
            f["previous"] == "submitted"
            and status not in ("submitted", "cancel_pending")
            and reason_code not in _NOT_AN_ANSWER
        ):
            self._answer(ts, status == "rejected" and reason_code in VENUE_REJECT_CODES)

    def _answer(self, ts: int, rejected: bool) -> None:
        if self._answer_ts and ts < self._answer_ts[-1]:
            self._answers_in_time_order = False  # another process's clock: scan, as before
        self._answers.append((ts, rejected))
        self._answer_ts.append(ts)
        self._rejects_before.append(self._rejects_before[-1] + rejected)

    def _index(self, state: OrderState, prior: OrderRecord | None = None) -> None:
        r = state.record
        f = r.__dict__  # (see `apply`)
        cid = f["client_order_id"]
        reserving = f["status"] in RESERVING_STATUSES
        p = prior.__dict__ if prior is not None else None
        if not (p is not None and p["side"] == f["side"] and p["price"] is f["price"]
                and p["size"] is f["size"] and p["filled"] is f["filled"]
                and (p["status"] in RESERVING_STATUSES) == reserving):
            # (a status move that keeps the order reserving, or not, with the very same
            # amounts, the usual transition, leaves its term as it was)
            self._reserve(cid, r)
        if cid not in self._rank:
            self._rank[cid] = len(self._rank)
        if reserving:
            if cid not in self._live and self._live and self._rank[cid] < self._rank[next(reversed(self._live))]:
                self._live_sorted = False  # an older order came back (reconciliation): re-sort on read
            self._live[cid] = state
            token_id = f["token_id"]
            before = self._live_token.get(cid)
            if before is not None and before != token_id:
                self._untoken(cid, before)
            self._live_token[cid] = token_id
            self._live_by_token.setdefault(token_id, {})[cid] = state
        else:
            self._live.pop(cid, None)
            before = self._live_token.pop(cid, None)
            if before is not None:
                self._untoken(cid, before)

    def _reserve(self, cid: str, r: OrderRecord) -> None:
        """Keep this order's term of `reserved_pusd` up to date."""
        term = None
        f = r.__dict__  # (see `apply`)
        if f["side"] == "BUY" and f["status"] in RESERVING_STATUSES:
            remaining = f["size"] - f["filled"]
            if remaining > 0:
                term = f["price"] * remaining
        before = self._buy_terms.pop(cid, None)
        if before is None and term is None:
            return
        self._reserved_read = None
        if before is not None:
            self._buy_sum -= before
            exponent = int(before.as_tuple().exponent)
            self._buy_exponents[exponent] -= 1
            if not self._buy_exponents[exponent]:
                del self._buy_exponents[exponent]
        if term is not None:
            self._buy_terms[cid] = term
            self._buy_sum += term
            self._buy_exponents[int(term.as_tuple().exponent)] += 1
        if len(self._buy_sum.as_tuple().digits) > _EXACT_DIGITS or (
                term is not None and len(term.as_tuple().digits) > _EXACT_DIGITS):
            self._buy_exact = False  # pragma: no cover - beyond any real order

    def _untoken(self, cid: str, token_id: str) -> None:
        orders = self._live_by_token.get(token_id)
        if orders is not None:
            orders.pop(cid, None)
            if not orders:
                del self._live_by_token[token_id]

    def _live_states(self) -> Iterable[OrderState]:
        """Live orders in the same order a scan of every order would visit them."""
        if not self._live_sorted:
            self._live = dict(sorted(self._live.items(), key=lambda kv: self._rank[kv[0]]))
            self._live_sorted = True
        return self._live.values()

    # -- queries ---------------------------------------------------------------------------

    def order(self, client_order_id: str) -> OrderRecord | None:
        state = self._orders.get(client_order_id)
        return state.record if state else None

    def state_of(self, client_order_id: str) -> OrderState | None:
        return self._orders.get(client_order_id)

    def by_venue_id(self, venue_order_id: str) -> OrderRecord | None:
        cid = self._by_venue_id.get(venue_order_id)
        return self.order(cid) if cid is not None else None

    def all_states(self) -> list[OrderState]:
        return list(self._orders.values())

    def live_states(self) -> list[OrderState]:
        """Orders in a reserving status (open or in flight), in the order `all_states` has them."""
        return list(self._live_states())

    def all_orders(self) -> list[OrderRecord]:
        return [s.record for s in self._orders.values()]

    def open_orders(self) -> list[OrderRecord]:
        """Resting at the venue as far as we know: live, partially_filled, cancel_pending."""
        return [s.record for s in self._live_states() if s.record.status in OPEN_STATUSES]

    def open_orders_for(self, token_id: str) -> list[OrderRecord]:
        """`open_orders()` of one token, in the same order, at the cost of that token's orders."""
        states = self._live_by_token.get(token_id)
        if not states:
            return []
        rank = self._rank
        return [s.record for s in sorted(states.values(), key=lambda s: rank[s.record.client_order_id])
                if s.record.status in OPEN_STATUSES]

    def in_flight(self) -> list[OrderRecord]:
        """Not yet confirmed by the venue: created, signed, submitted, cancel_pending."""
        return [s.record for s in self._live_states() if s.record.status in IN_FLIGHT_STATUSES]

    def in_flight_states(self) -> list[OrderState]:
        return [s for s in self._live_states() if s.record.status in IN_FLIGHT_STATUSES]

    def by_intent(self, intent_id: str) -> list[OrderRecord]:
        return [s.record for s in self._orders.values() if s.record.intent_id == intent_id]

    def _reserved(self, side: str, token_id: str | None) -> Decimal:
        total = Decimal(0)
        for s in self._live_states():
            r = s.record
            if r.side != side:
                continue
            if token_id is not None and r.token_id != token_id:
                continue
            remaining = r.size - r.filled
            if remaining > 0:
                total += (r.price * remaining) if side == "BUY" else remaining
        return total

    def reserved_pusd(self) -> Decimal:
        """pUSD held back by open and in-flight BUYs: price x (size - filled).

        Kept as orders move, not summed over the live orders on every read (the wallet-funding
        trigger reads it after every fill and order update). The terms are exact products and
        their sum is exact (far inside the context's 28 digits), so it equals the left-to-right
        sum in value; it is given that sum's exponent (the smallest among zero and the terms),
        so it is the same Decimal, digit for digit."""
        if not self._buy_exact:  # pragma: no cover - beyond any real order
            return self._reserved("BUY", None)
        read = self._reserved_read
        if read is None:
            # kept until a term changes: the trigger reads it after every order update, and
            # most updates (a status move, any SELL) leave every term as it was
            read = self._reserved_read = self._reserved_now()
        return read

    def _reserved_now(self) -> Decimal:
        if not self._buy_exponents:
            return Decimal(0)
        total = self._buy_sum
        exponent = min(0, min(self._buy_exponents))
        if total.as_tuple().exponent == exponent:
            return total
        return total.quantize(Decimal(1).scaleb(exponent))

    def reserved_shares(self, token_id: str) -> Decimal:
        """Shares of `token_id` held back by open and in-flight SELLs: size - filled."""
        total = Decimal(0)
        states = self._live_by_token.get(token_id)
        if not states:
            return total
        rank = self._rank
        for s in sorted(states.values(), key=lambda s: rank[s.record.client_order_id]):
            r = s.record
            if r.side == "SELL":
                remaining = r.size - r.filled
                if remaining > 0:
                    total += remaining
        return total

    def reject_rate(self, now_ms: int, window_ms: int) -> tuple[int, int]:
        """(venue rejects, venue-answered submissions) with envelope time in (now - window, now]."""
        start = now_ms - window_ms
        if self._answers_in_time_order:
            # times never went back: the window is one slice, found by two binary searches
            times = self._answer_ts
            lo, hi = bisect_right(times, start), bisect_right(times, now_ms)
            if hi <= lo:
                return 0, 0
            return self._rejects_before[hi] - self._rejects_before[lo], hi - lo
        rejects = answered = 0
        for ts, rejected in reversed(self._answers):
            if ts <= start:
                break  # answers are appended in journal order, and journal time never goes back
            if ts > now_ms:
                continue
            answered += 1
            rejects += rejected
        return rejects, answered

    def fills_for(self, client_order_id: str) -> list[FillRecord]:
        return [f for (_, cid), f in self._fills.items() if cid == client_order_id]

    def fill(self, trade_id: str, client_order_id: str) -> FillRecord | None:
        return self._fills.get((trade_id, client_order_id))

    def filled_by_fills(self, client_order_id: str) -> Decimal:
        """Shares of this order that journaled fills put into positions (FAILED ones were
        reversed). Unlike `OrderRecord.filled`, reconciliation never moves it."""
        total = Decimal(0)
        for key in self._fill_keys.get(client_order_id, ()):
            fill = self._fills[key]
            if fill.settlement != "FAILED":
                total += fill.size
        return total

    def anomaly_at(self, seq: int) -> VenueAnomaly | None:
        """The venue anomaly journaled at `seq`, if that entry was one."""
        last = self.last_anomaly
        return last if last is not None and last.seq == seq else None

    # -- persistence -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        order_json, fill_json = self._order_json, self._fill_json
        orders: dict[str, Any] = {}
        for cid, state in self._orders.items():
            hit = order_json.get(cid)
            if hit is None or hit[0] is not state:
                hit = order_json[cid] = (state, state.to_json())
            orders[cid] = hit[1]
        fills: list[dict[str, Any]] = []
        for key, fill in self._fills.items():
            got = fill_json.get(key)
            if got is None or got[0] is not fill:
                got = fill_json[key] = (fill, fill.to_json_dict())
            fills.append(got[1])
        return {
            "orders": orders,
            "fills": fills,
            "answers": [[ts, rejected] for ts, rejected in self._answers],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._orders = {cid: OrderState.from_json(v) for cid, v in data["orders"].items()}
        self._order_json, self._fill_json = {}, {}
        self._rank, self._live, self._live_sorted = {}, {}, True
        self._buy_terms, self._buy_sum, self._buy_exponents = {}, Decimal(0), Counter()
        self._buy_exact = True
        self._reserved_read = None
        self._live_by_token, self._live_token = {}, {}
        for state in self._orders.values():
            self._index(state)
        self._by_venue_id = {
            s.record.venue_order_id: cid
            for cid, s in self._orders.items()
            if s.record.venue_order_id
        }
        self._fills = {}
        self._fill_keys = {}
        for f in data["fills"]:
            self._put_fill(FillRecord.model_validate(f))
        self._answers, self._answer_ts, self._rejects_before = [], [], [0]
        self._answers_in_time_order = True
        for ts, rejected in data["answers"]:
            self._answer(int(ts), bool(rejected))
        self.last_anomaly = None
