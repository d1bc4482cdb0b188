"""The `orders` projection: queries, reject-rate window, restore(snapshot) == fold from seq 1."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.contracts import FillRecord, OrderRecord
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.contracts.orders import OrderStatus
from polytraders.journal.base import GENESIS_HASH, JournalEntry
from polytraders.state.orders import OrdersProjection, OrderState

ACTOR = Actor(kind="bot", id="exec.order_lifecycle_manager")
MARKET = "0x" + "ab" * 32
STATUSES: list[OrderStatus] = ["created", "signed", "submitted", "live", "partially_filled",
                               "filled", "cancel_pending", "cancelled", "expired", "rejected"]


class Feed:
    def __init__(self) -> None:
        self.seq = 0
        self.entries: list[JournalEntry] = []

    def add(self, contract: OrderRecord | FillRecord, code: str, ts: int,
            corr: str | None = "corr-00001") -> JournalEntry:
        self.seq += 1
        env = ReportEnvelope.wrap(contract, actor=ACTOR, reason_code=code, ts_ms=ts,
                                  correlation_id=corr)
        entry = JournalEntry(self.seq, GENESIS_HASH, f"{self.seq:064x}", env)
        self.entries.append(entry)
        return entry


def rec(cid: str, status: OrderStatus, *, previous: OrderStatus | None = None,
        side: str = "BUY", price: str = "0.5", size: str = "10", filled: str = "0",
        token: str = "111", intent: str = "intent-0001", venue_id: str | None = None,
        venue_error: str | None = None) -> OrderRecord:
    return OrderRecord(client_order_id=cid, intent_id=intent, strategy_id="strat.test",
                       market_id=MARKET, token_id=token, side=side, price=Decimal(price),
                       size=Decimal(size), filled=Decimal(filled), order_type="GTC",
                       status=status, previous=previous, venue_order_id=venue_id,
                       venue_error=venue_error)


def fold(entries: list[JournalEntry]) -> OrdersProjection:
    p = OrdersProjection()
    for e in entries:
        p.apply(e)
    return p


def restored(p: OrdersProjection) -> OrdersProjection:
    q = OrdersProjection()
    q.restore(orjson.loads(orjson.dumps(p.snapshot())))
    return q


def test_queries_over_a_small_history() -> None:
    f = Feed()
    f.add(rec("a", "created"), "EXEC_ORDER_CREATED", 1)
    f.add(rec("a", "submitted", previous="signed", venue_id="0xa"), "EXEC_SUBMITTED", 2)
    f.add(rec("a", "partially_filled", previous="submitted", filled="4", venue_id="0xa"),
          "EXEC_PARTIAL_FILL_HANDLED", 3)
    f.add(rec("b", "submitted", previous="signed", price="0.2", intent="intent-0002"),
          "EXEC_SUBMITTED", 4)
    f.add(rec("c", "live", previous="submitted", side="SELL", size="7", token="222"),
          "EXEC_RESTING", 5)
    f.add(rec("d", "rejected", previous="submitted", venue_error="400 INVALID_ORDER_MIN_SIZE"),
          "EXEC_REJECTED", 6)
    f.add(rec("e", "cancel_pending", previous="live", side="SELL", size="3", filled="1",
              token="222"), "EXEC_CANCEL_REQUESTED", 7)
    f.add(FillRecord(trade_id="t1", client_order_id="a", market_id=MARKET, token_id="111",
                     side="BUY", price=Decimal("0.5"), size=Decimal(4), liquidity="maker",
                     ts_ms=3), "EXEC_PARTIAL_FILL_HANDLED", 3)
    p = fold(f.entries)
    assert [r.client_order_id for r in p.open_orders()] == ["a", "c", "e"]
    assert [r.client_order_id for r in p.in_flight()] == ["b", "e"]
    # a: 0.5 x 6 open, b: 0.2 x 10 in flight; SELLs and the rejected order reserve no pUSD
    assert p.reserved_pusd() == Decimal("5.0")
    assert p.reserved_shares("222") == Decimal(9)
    assert p.reserved_shares("111") == 0
    assert [r.client_order_id for r in p.by_intent("intent-0002")] == ["b"]
    assert p.by_venue_id("0xa") == p.order("a")
    assert p.order("zzz") is None
    assert [x.trade_id for x in p.fills_for("a")] == ["t1"]
    # answers: a (partially filled out of submitted), c (live), d (rejected by the venue)
    assert p.reject_rate(10, 100) == (1, 3)
    assert p.reject_rate(10, 5) == (1, 1)  # window (5, 10]: only d
    assert p.reject_rate(4, 100) == (0, 1)
    state = p.state_of("a")
    assert state is not None and (state.created_ms, state.since_ms) == (1, 3)
    assert state.correlation_id == "corr-00001"


def test_reconciliation_and_own_cancels_are_not_venue_answers() -> None:
    f = Feed()
    f.add(rec("a", "rejected", previous="submitted", venue_error="INFLIGHT_TIMEOUT"),
          "EXEC_RECONCILE_DIFF", 1)
    f.add(rec("b", "cancel_pending", previous="submitted"), "EXEC_CANCEL_REQUESTED", 2)
    f.add(rec("c", "rejected", previous="created", venue_error="x"), "EXEC_BAD_ENVELOPE", 3)
    f.add(rec("d", "rejected", previous="submitted", venue_error="INVALID_ORDER_MIN_SIZE"),
          "EXEC_REJECTED", 4)
    assert fold(f.entries).reject_rate(10, 100) == (1, 1)
    # a transport failure (429, 503) is answered but is API degradation, not a reject of our order
    f.add(rec("e", "rejected", previous="submitted", venue_error="503 TRADING_DISABLED"),
          "EXEC_VENUE_UNAVAILABLE", 5)
    assert fold(f.entries).reject_rate(10, 100) == (1, 2)


def test_other_kinds_are_ignored() -> None:
    from polytraders.contracts import Note

    f = Feed()
    f.seq = 0
    env = ReportEnvelope.wrap(Note(detail={"x": 1}), actor=ACTOR, reason_code="EXEC_RECONCILED",
                              ts_ms=1)
    p = fold([JournalEntry(1, GENESIS_HASH, "0" * 64, env)])
    assert p.snapshot() == {"orders": {}, "fills": [], "answers": []}


_step = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from(STATUSES),
    st.sampled_from(STATUSES),
    st.sampled_from(["BUY", "SELL"]),
    st.integers(min_value=0, max_value=10),
    st.sampled_from(["EXEC_RESTING", "EXEC_REJECTED", "EXEC_RECONCILE_DIFF", "EXEC_FILL"]),
    st.integers(min_value=0, max_value=5),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_step, max_size=25), st.integers(min_value=0, max_value=25))
def test_restore_of_snapshot_equals_fold_from_seq_1(steps: list[Any], cut: int) -> None:
    f = Feed()
    ts = 0
    for cid, status, previous, side, filled, code, dt, with_fill in steps:
        ts += dt
        f.add(rec(cid, status, previous=previous, side=side, filled=str(filled),
                  venue_id=f"0x{cid}"), code, ts)
        if with_fill:
            f.add(FillRecord(trade_id=f"t{f.seq}", client_order_id=cid, market_id=MARKET,
                             token_id="111", side=side, price=Decimal("0.5"), size=Decimal(1),
                             liquidity="taker", ts_ms=ts), "EXEC_FILL", ts)
    full = fold(f.entries)
    # a checkpoint taken part-way, restored, then the tail applied
    cut = min(cut, len(f.entries))
    partial = restored(fold(f.entries[:cut]))
    for e in f.entries[cut:]:
        partial.apply(e)
    for q in (restored(full), partial):
        assert q.snapshot() == full.snapshot()
        assert q.open_orders() == full.open_orders()
        assert q.in_flight() == full.in_flight()
        assert q.reserved_pusd() == full.reserved_pusd()
        assert q.reserved_shares("111") == full.reserved_shares("111")
        assert q.reject_rate(ts, 7) == full.reject_rate(ts, 7)
        for cid in "abcd":
            assert q.by_venue_id(f"0x{cid}") == full.by_venue_id(f"0x{cid}")
            assert q.fills_for(cid) == full.fills_for(cid)
    # Decimals are strings in the snapshot, never floats
    assert b'"price":0.5' not in orjson.dumps(full.snapshot())


def test_checkpoint_rebuild_equals_full_fold_on_a_real_journal(tmp_path: Any) -> None:
    from polytraders.bots.exec.order_lifecycle_manager import (
        OrderLifecycleBot,
        OrderLifecycleManager,
    )
    from polytraders.journal.sqlite import SqliteJournal
    from polytraders.runtime.clock import SimClock
    from polytraders.runtime.runner import SYSTEM, Runtime
    from polytraders.state.store import StateStore
    from polytraders.venues.sim.venue import SimVenue

    t0 = 1_700_000_000_000
    journal = SqliteJournal(tmp_path / "j.db", synchronous="NORMAL")
    clock = SimClock(t0)
    runtime = Runtime(journal, clock, StateStore([OrdersProjection()]))
    venue = SimVenue(3, 1, t0, background=False)
    olm = OrderLifecycleManager(runtime, venue, OrderLifecycleBot())
    info = venue.markets()[0]
    from polytraders.contracts import BUILDER_CODE, OrderIntent, PlannedOrder, SignedOrderRequest

    def send(n: int, price: str) -> None:
        cid = f"coid-{n:04d}"
        intent = OrderIntent(intent_id=f"intent-{n:04d}", correlation_id=f"corr-{n:04d}",
                             strategy_id="s", market_id=info.condition_id,
                             token_id=info.yes_token, outcome="YES", side="BUY",
                             price=Decimal(price), size=Decimal(10), emitted_at_ms=t0)
        planned = PlannedOrder(client_order_id=cid, token_id=info.yes_token, side="BUY",
                               price=Decimal(price), size=Decimal(10), order_type="GTC")
        signed = SignedOrderRequest(
            plan_id="plan", client_order_id=cid, order_hash="0x" + f"{n:064x}", salt=n,
            maker="0x" + "11" * 20, signer="0x" + "11" * 20, token_id=info.yes_token,
            maker_amount=1, taker_amount=1, side="BUY", signature_type=0, timestamp_ms=t0,
            metadata="0x" + "00" * 32, builder=BUILDER_CODE, signature="0x" + "ab" * 65,
            order_type="GTC", chain_id=137, verifying_contract="0x" + "22" * 20)
        olm.submit(signed, planned, intent)

    send(1, "0.5")
    send(2, "0.4")
    olm.on_venue_events(venue.place_external(info.yes_token, "SELL", Decimal("0.5"),
                                             Decimal(5), t0))
    runtime.record(runtime.state.checkpoint_contract(), actor=SYSTEM,
                   reason_code="GOV_CHECKPOINT",
                   durable=True)
    send(3, "0.3")
    olm.cancel("coid-0002")
    journal.flush()
    with_cp = StateStore([OrdersProjection()])
    without = StateStore([OrdersProjection()])
    from polytraders.state.kill_switch import KillSwitchProjection
    from polytraders.state.modes import ModesProjection

    for store in (with_cp, without):
        store.add(KillSwitchProjection())
        store.add(ModesProjection())
    with_cp.rebuild(journal)
    without.rebuild(journal, use_checkpoint=False)
    assert with_cp.snapshot()["orders"] == without.snapshot()["orders"]
    assert with_cp.snapshot()["orders"] == runtime.state.snapshot()["orders"]
    orders = with_cp.typed("orders", OrdersProjection)
    assert [r.client_order_id for r in orders.open_orders()] == ["coid-0001", "coid-0003"]
    journal.close()



def _scan(p: OrdersProjection, statuses: frozenset[str]) -> list[OrderRecord]:
    return [s.record for s in p.all_states() if s.record.status in statuses]


@settings(max_examples=80, deadline=None)
@given(st.lists(_step, max_size=40), st.integers(min_value=0, max_value=40))
def test_live_order_index_answers_as_a_scan_of_every_order(steps: list[Any], cut: int) -> None:
    """The reads the quoting loop and guards make cost the live orders only; they must give the
    same orders, in the same order, and the same sums, as scanning every order ever seen, also
    when a finished order comes back (a reconciliation) and after a restore."""
    from polytraders.state.orders import IN_FLIGHT_STATUSES, OPEN_STATUSES, RESERVING_STATUSES

    f = Feed()
    for n, (cid, status, previous, side, filled, code, _dt, _fill) in enumerate(steps):
        f.add(rec(cid, status, previous=previous, side=side, filled=str(filled), price="0.25",
                  token="111" if n % 2 else "222"), code, n)
    cut = min(cut, len(f.entries))
    partial = restored(fold(f.entries[:cut]))
    for e in f.entries[cut:]:
        partial.apply(e)
    for p in (fold(f.entries), partial):
        assert p.open_orders() == _scan(p, OPEN_STATUSES)
        assert p.in_flight() == _scan(p, IN_FLIGHT_STATUSES)
        assert [s.record for s in p.in_flight_states()] == _scan(p, IN_FLIGHT_STATUSES)
        live = _scan(p, RESERVING_STATUSES)
        assert p.reserved_pusd() == sum((r.price * (r.size - r.filled) for r in live
                                         if r.side == "BUY" and r.size > r.filled), Decimal(0))
        for token in ("111", "222"):
            assert p.reserved_shares(token) == sum((r.size - r.filled for r in live if r.side == "SELL"
                                                    and r.token_id == token and r.size > r.filled), Decimal(0))


@settings(max_examples=80, deadline=None)
@given(st.lists(_step, max_size=30), st.lists(st.tuples(st.sampled_from("abcdez"), st.integers(0, 10)), max_size=6),
       st.sets(st.sampled_from("abcde")))
def test_reconciling_against_live_orders_equals_against_every_order(
        steps: list[Any], venue: list[tuple[str, int]], suspects: set[str]) -> None:
    """The OLM reconciles against the live orders only; the verdict is the one every order gives."""
    from polytraders.bots.exec.order_lifecycle_manager import reconcile_orders
    from polytraders.venues.base import OpenOrderView

    f = Feed()
    for n, (cid, status, previous, side, filled, code, _dt, _fill) in enumerate(steps):
        f.add(rec(cid, status, previous=previous, side=side, filled=str(filled)), code, n)
    p = fold(f.entries)
    views = [OpenOrderView(venue_order_id=f"0x{cid}", client_order_id=cid, token_id="111", side="BUY",
                           price=Decimal("0.5"), original_size=Decimal(10), remaining=Decimal(10 - rem),
                           order_type="GTC", created_ms=0) for cid, rem in venue]
    frozen = frozenset(suspects)
    assert reconcile_orders(p.live_states(), views, frozen) == reconcile_orders(p.all_states(), views, frozen)


def _fresh_sum(terms: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for t in terms:
        total += t
    return total


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(_step, st.sampled_from(["0.25", "0.5", "0.123", "0.9", "0.01"]),
                          st.sampled_from(["10", "7.5", "3.25", "100"]), st.sampled_from(["111", "222"])),
                max_size=50),
       st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=60),
       st.integers(min_value=1, max_value=30))
def test_kept_sums_and_reject_window_are_the_scans_digit_for_digit(
        steps: list[Any], cut: int, now: int, window: int) -> None:
    """`reserved_pusd` is kept as orders move and `reject_rate` is a binary search: each must be
    the very Decimal / counts a scan over every order and every answer gives (the wallet-funding
    trigger journals the reserved amount as text, so 1.50 and 1.5 would differ), after any
    history, and after a restore mid-way."""
    from polytraders.state.orders import OPEN_STATUSES, RESERVING_STATUSES

    f = Feed()
    for n, ((cid, status, previous, side, filled, code, dt, _fill), price, size, token) in enumerate(steps):
        f.add(rec(cid, status, previous=previous, side=side, price=price, size=size,
                  filled=str(min(Decimal(filled) / 2, Decimal(size))), token=token), code, 2 * n + dt)
    cut = min(cut, len(f.entries))
    partial = restored(fold(f.entries[:cut]))
    for e in f.entries[cut:]:
        partial.apply(e)
    for p in (fold(f.entries), partial):
        live = [s.record for s in p.all_states() if s.record.status in RESERVING_STATUSES]
        want = _fresh_sum([r.price * (r.size - r.filled) for r in live if r.side == "BUY" and r.size > r.filled])
        got = p.reserved_pusd()
        assert got == want and str(got) == str(want)
        for token in ("111", "222"):
            shares = _fresh_sum([r.size - r.filled for r in live if r.side == "SELL" and r.token_id == token
                                 and r.size > r.filled])
            assert str(p.reserved_shares(token)) == str(shares)
            assert p.open_orders_for(token) == [r for r in p.open_orders() if r.token_id == token]
            assert all(r.status in OPEN_STATUSES for r in p.open_orders_for(token))
        start = now - window
        answers = [(ts, rej) for ts, rej in p.snapshot()["answers"]]
        scan = (sum(1 for ts, rej in answers if start < ts <= now and rej),
                sum(1 for ts, _ in answers if start < ts <= now))
        assert p.reject_rate(now, window) == scan


def test_reject_rate_when_answer_times_go_back_scans_as_before() -> None:
    """Answers journaled by another process's clock can go back in time: the binary search no
    longer holds, and the rate is the scan from the newest answer back, as it always was."""
    f = Feed()
    for n, ts in enumerate([10, 20, 15, 30]):
        cid = f"o{n}"
        f.add(rec(cid, "submitted", previous="signed"), "EXEC_SUBMITTED", ts)
        f.add(rec(cid, "rejected", previous="submitted"), "EXEC_REJECTED", ts)
    p = fold(f.entries)
    # the scan walks back from the newest answer and stops at the first one at or before the start
    assert p.reject_rate(30, 16) == (3, 3)  # 30, 15, 20 are inside (14, 30]; 10 ends the walk
    assert p.reject_rate(30, 12) == (1, 1)  # 30, then 15 <= 18 ends the walk (20 is never seen)


@settings(max_examples=40, deadline=None)
@given(st.lists(_step, max_size=25))
def test_snapshot_taken_after_every_entry_equals_a_fresh_fold(steps: list[Any]) -> None:
    # the projection reuses each unchanged order's and fill's JSON between checkpoints: a reused
    # one must never be stale, and one snapshot must not share mutable parts with the next
    f = Feed()
    live = OrdersProjection()
    ts = 0
    for cid, status, previous, side, filled, code, dt, with_fill in steps:
        ts += dt
        live.apply(f.add(rec(cid, status, previous=previous, side=side, filled=str(filled)), code, ts))
        if with_fill:
            live.apply(f.add(FillRecord(trade_id=f"t{f.seq}", client_order_id=cid, market_id=MARKET,
                                        token_id="111", side=side, price=Decimal("0.5"),
                                        size=Decimal(1), liquidity="taker", ts_ms=ts), "EXEC_FILL", ts))
        before = orjson.dumps(live.snapshot())
        assert before == orjson.dumps(fold(f.entries).snapshot())
        assert orjson.dumps(live.snapshot()) == before


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(STATUSES),
                          st.sampled_from(["same", "fill", "new"]), st.sampled_from(["BUY", "SELL"]),
                          st.sampled_from(["0.25", "0.123", "0.5"]), st.sampled_from(["10", "7.5"])),
                max_size=40))
def test_reserved_read_after_every_entry_is_the_scan_when_moves_share_amounts(steps: list[Any]) -> None:
    """The OLM moves an order by copying its record (the very same Decimal objects) with a new
    status: such a move keeps the order's term, and the last read is kept until a term changes.
    Read after every entry, it must still be the scan's Decimal, digit for digit."""
    from polytraders.state.orders import RESERVING_STATUSES

    f = Feed()
    p = OrdersProjection()
    current: dict[str, OrderRecord] = {}
    for n, (cid, status, how, side, price, size) in enumerate(steps):
        prior = current.get(cid)
        if prior is None or how == "new":
            record = rec(cid, status, side=side, price=price, size=size)
        elif how == "same":  # a status move, every amount the same object
            record = prior.model_copy(update={"status": status, "previous": prior.status})
        else:  # a fill: a new `filled`, the rest shared
            filled = min(prior.size, prior.filled + Decimal("2.5"))
            record = prior.model_copy(update={"status": status, "previous": prior.status,
                                              "filled": filled})
        current[cid] = record
        p.apply(f.add(record, "EXEC_RESTING", n))
        live = [s.record for s in p.all_states() if s.record.status in RESERVING_STATUSES]
        want = _fresh_sum([r.price * (r.size - r.filled) for r in live
                           if r.side == "BUY" and r.size > r.filled])
        assert str(p.reserved_pusd()) == str(want)
    assert str(restored(p).reserved_pusd()) == str(p.reserved_pusd())


def test_an_order_state_built_through_its_slots_is_a_frozen_dataclass() -> None:
    """`OrderState.__init__` is written out (slot setters): still every field, equality, repr,
    immutability, and the JSON round trip."""
    r = rec("c-00000001", "live", previous="submitted")
    state = OrderState(r, "corr-00001", 5, 7, seq=9)
    assert (state.record, state.correlation_id, state.created_ms, state.since_ms, state.seq) == \
        (r, "corr-00001", 5, 7, 9)
    assert [f.name for f in dataclasses.fields(OrderState)] == \
        ["record", "correlation_id", "created_ms", "since_ms", "seq"]
    assert state == OrderState.from_json(orjson.loads(orjson.dumps(state.to_json())))
    assert state != OrderState(r, "corr-00001", 5, 8, 9)
    assert "since_ms=7" in repr(state)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.seq = 10  # type: ignore[misc]
