"""Order Lifecycle Manager against the real simulator, a temp SQLite journal and a SimClock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polytraders.bots.exec.olm_transitions import (
    IN_FLIGHT,
    OPEN,
    ORDER_TRANSITIONS,
    SETTLEMENT_TERMINAL,
    SETTLEMENT_TRANSITIONS,
    TERMINAL,
    OrderEvent,
    next_status,
)
from polytraders.bots.exec.order_lifecycle_manager import (
    ACTOR,
    INFLIGHT_TIMEOUT,
    OrderLifecycleBot,
    OrderLifecycleManager,
)
from polytraders.contracts import (
    BUILDER_CODE,
    FillRecord,
    KillSwitchEvent,
    OrderIntent,
    OrderRecord,
    PlannedOrder,
    Scope,
    SignedOrderRequest,
)
from polytraders.contracts.order_batch import order_records
from polytraders.contracts.orders import OrderStatus
from polytraders.journal.base import JournalEntry
from polytraders.journal.sqlite import SqliteJournal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime
from polytraders.state.orders import OrdersProjection
from polytraders.state.store import StateStore
from polytraders.venues.base import (
    INVALID_ORDER_MIN_TICK_SIZE,
    INVALID_ORDER_NOT_ENOUGH_BALANCE,
    OpenOrderView,
    VenueEvent,
    VenueOrder,
)
from polytraders.venues.sim import venue as sim_venue
from polytraders.venues.sim.faults import FaultPlan

T0 = 1_700_000_000_000
HALF = Decimal("0.5")


@dataclass
class H:
    path: Path
    journal: SqliteJournal
    clock: SimClock
    runtime: Runtime
    venue: Any
    olm: OrderLifecycleManager
    market_id: str
    yes: str
    no: str
    tick: Decimal
    n: int = 0

    def entries(self) -> list[JournalEntry]:
        return list(self.journal.read())

    def codes(self) -> list[str]:
        return [e.envelope.reason_code for e in self.entries()]

    def at(self, ts: int) -> None:
        """Move time to ts, deliver what the venue produced meanwhile."""
        self.clock.advance_to(ts)
        self.olm.on_venue_events(self.venue.advance(ts))

    def order(self, cid: str) -> OrderRecord:
        rec = self.olm.orders.order(cid)
        assert rec is not None
        return rec

    def make(
        self,
        side: str = "BUY",
        price: Decimal = HALF,
        size: Decimal = Decimal(10),
        order_type: str = "GTC",
        token: str | None = None,
        expires_at_ms: int | None = None,
        strategy_id: str = "strat.test",
    ) -> tuple[SignedOrderRequest, PlannedOrder, OrderIntent]:
        self.n += 1
        n = self.n
        token = token or self.yes
        cid = f"coid-{n:04d}"
        intent = OrderIntent(
            intent_id=f"intent-{n:04d}", correlation_id=f"corr-{n:04d}",
            strategy_id=strategy_id, market_id=self.market_id, token_id=token,
            outcome="YES" if token == self.yes else "NO", side=side, price=price, size=size,
            order_type=order_type, time_in_force_s=120 if order_type == "GTD" else None,
            emitted_at_ms=self.clock.now_ms(),
        )
        planned = PlannedOrder(client_order_id=cid, token_id=token, side=side, price=price,
                               size=size, order_type=order_type, expires_at_ms=expires_at_ms)
        # Amounts and wire expiration as the signer service produces them: the CLOB's 60 s GTD
        # security threshold is added to the planned expiry.
        shares, collateral = int(size * 10**6), int(size * price * 10**6)
        maker_amount, taker_amount = (collateral, shares) if side == "BUY" else (shares, collateral)
        expiration_s = -(-expires_at_ms // 1000) + 60 if expires_at_ms is not None else 0
        signed = SignedOrderRequest(
            plan_id=f"plan-{n:04d}", client_order_id=cid,
            order_hash="0x" + hashlib.sha256(cid.encode()).hexdigest(), salt=n,
            maker="0x" + "11" * 20, signer="0x" + "11" * 20, token_id=token,
            maker_amount=maker_amount, taker_amount=taker_amount, side=side, signature_type=0,
            expiration_s=expiration_s,
            timestamp_ms=self.clock.now_ms(), metadata="0x" + "00" * 32, builder=BUILDER_CODE,
            signature="0x" + "ab" * 65, order_type=order_type, chain_id=137,
            verifying_contract="0x" + "22" * 20,
        )
        return signed, planned, intent

    def submit(self, **kw: Any) -> OrderRecord:
        return self.olm.submit(*self.make(**kw))


def build(tmp_path: Path, faults: FaultPlan | None = None, venue: Any = None,
          overrides: dict[str, Any] | None = None, **venue_kw: Any) -> H:
    path = tmp_path / "journal.db"
    journal = SqliteJournal(path, synchronous="NORMAL")
    clock = SimClock(T0)
    runtime = Runtime(journal, clock, StateStore([OrdersProjection()]))
    sim = venue or sim_venue.SimVenue(7, 1, T0, faults=faults, background=False, **venue_kw)
    bot = OrderLifecycleBot()
    runtime.add_bot(bot, overrides)
    olm = OrderLifecycleManager(runtime, sim, bot)
    info = sim.markets()[0]
    return H(path, journal, clock, runtime, sim, olm, info.condition_id, info.yes_token,
             info.no_token, info.tick)


@pytest.fixture
def h(tmp_path: Path) -> H:
    return build(tmp_path)


def records_of(h: H, cid: str) -> list[JournalEntry]:
    return [e for e in h.entries()
            if e.envelope.kind == "order_record" and e.envelope.payload["client_order_id"] == cid]


# -- the tables ------------------------------------------------------------------------------


def test_terminal_states_have_no_exits_and_groups_match_the_spec() -> None:
    assert not [k for k in ORDER_TRANSITIONS if k[0] in TERMINAL]
    assert {"live", "partially_filled", "cancel_pending"} == OPEN
    assert {"created", "signed", "submitted", "cancel_pending"} == IN_FLIGHT
    assert all(not SETTLEMENT_TRANSITIONS[s] for s in SETTLEMENT_TERMINAL)
    assert next_status("cancel_pending", "cancel_rejected", filled=Decimal(0)) == "live"
    assert next_status("cancel_pending", "cancel_timeout", filled=Decimal(3)) == "partially_filled"
    assert next_status("filled", "ack") is None
    assert next_status("created", "ack") is None


_EVENTS: list[OrderEvent] = sorted({e for _, e in ORDER_TRANSITIONS})


@given(st.lists(st.sampled_from(_EVENTS), max_size=30))
def test_any_event_sequence_never_leaves_a_terminal_state(events: list[OrderEvent]) -> None:
    status: OrderStatus = "created"
    for ev in events:
        nxt = next_status(status, ev, filled=Decimal(1))
        if status in TERMINAL:
            assert nxt is None
        if nxt is not None:
            status = nxt


# -- every legal transition through the driver ------------------------------------------------


@pytest.mark.parametrize(("state", "event"), sorted(ORDER_TRANSITIONS))
def test_every_legal_transition_is_applied_and_journaled(
    tmp_path: Path, state: OrderStatus, event: OrderEvent
) -> None:
    h = build(tmp_path)
    _, planned, intent = h.make()
    rec = OrderRecord(client_order_id=planned.client_order_id, intent_id=intent.intent_id,
                      strategy_id=intent.strategy_id, market_id=intent.market_id,
                      token_id=planned.token_id, side="BUY", price=HALF, size=Decimal(10),
                      order_type="GTC", status=state, venue_order_id="0xabc")
    h.runtime.record(rec, actor=ACTOR, reason_code="EXEC_SUBMITTED",
                     correlation_id=intent.correlation_id)
    before = len(h.entries())
    assert h.olm._transition(rec.client_order_id, event, "EXEC_RESTING",
                             filled=Decimal(2) if "fill" in event else None)
    expected = next_status(state, event, filled=Decimal(2) if "fill" in event else Decimal(0))
    got = h.order(rec.client_order_id)
    assert got.status == expected
    if (expected, got.filled) != (state, Decimal(0)):
        assert len(h.entries()) == before + 1
        assert got.previous == state
    assert "EXEC_ILLEGAL_TRANSITION" not in h.codes()


@pytest.mark.parametrize(
    ("event", "kind"),
    [("ack", "ack"), ("cancel", "cancel"), ("expire", "expire"), ("reject", "reject")],
)
def test_illegal_venue_event_is_journaled_and_order_unchanged(h: H, event: str, kind: str) -> None:
    rec = h.submit(side="BUY", size=Decimal(10))
    h.olm.on_venue_events(h.venue.place_external(h.yes, "SELL", HALF, Decimal(10), T0))
    filled = h.order(rec.client_order_id)
    assert filled.status == "filled"
    seq_before = h.olm.orders.state_of(rec.client_order_id).seq  # type: ignore[union-attr]
    h.olm.on_venue_events([VenueEvent(kind=kind, venue_order_id=filled.venue_order_id or "",  # type: ignore[arg-type]
                                      client_order_id=rec.client_order_id, token_id=h.yes,
                                      ts_ms=T0, error_code="INVALID_ORDER_ERROR")])
    last = h.entries()[-1].envelope
    assert last.reason_code == "EXEC_ILLEGAL_TRANSITION"
    assert last.payload["detail"]["status"] == "filled"
    assert h.order(rec.client_order_id) == filled
    assert h.olm.orders.state_of(rec.client_order_id).seq == seq_before  # type: ignore[union-attr]


def test_cancel_of_a_filled_order_is_illegal_and_nothing_is_sent(h: H) -> None:
    rec = h.submit()
    h.olm.on_venue_events(h.venue.place_external(h.yes, "SELL", HALF, Decimal(10), T0))
    calls: list[str] = []
    real_cancel = h.venue.cancel

    def spy_cancel(vid: str, now: int) -> list[VenueEvent]:
        calls.append(vid)
        result: list[VenueEvent] = real_cancel(vid, now)
        return result

    h.venue.cancel = spy_cancel
    h.olm.cancel(rec.client_order_id)
    assert calls == []
    assert h.codes()[-1] == "EXEC_ILLEGAL_TRANSITION"
    assert h.order(rec.client_order_id).status == "filled"


# -- the happy path ---------------------------------------------------------------------------


def test_submit_journals_created_signed_submitted_then_live(h: H) -> None:
    rec = h.submit(price=HALF, size=Decimal(10))
    assert rec.status == "live"
    recs = records_of(h, rec.client_order_id)
    assert [e.envelope.payload["status"] for e in recs] == ["created", "signed", "submitted",
                                                           "live"]
    assert [e.envelope.reason_code for e in recs] == [
        "EXEC_ORDER_CREATED", "EXEC_ORDER_SIGNED", "EXEC_SUBMITTED", "EXEC_RESTING"]
    assert all(e.envelope.correlation_id == "corr-0001" for e in recs)
    assert all(e.envelope.actor.id == "exec.order_lifecycle_manager" for e in recs)
    assert len(h.venue.open_orders()) == 1
    assert h.olm.orders.reserved_pusd() == Decimal("5.0")
    assert [r.client_order_id for r in h.olm.orders.open_orders()] == [rec.client_order_id]
    assert h.olm.in_flight() == []
    assert h.olm.orders.by_intent("intent-0001") == [rec]


def test_partial_then_full_fill(h: H) -> None:
    rec = h.submit(side="BUY", price=HALF, size=Decimal(20))
    cid = rec.client_order_id
    h.olm.on_venue_events(h.venue.place_external(h.yes, "SELL", HALF, Decimal(6), T0))
    part = h.order(cid)
    assert (part.status, part.filled) == ("partially_filled", Decimal(6))
    assert h.olm.orders.reserved_pusd() == Decimal("7.0")
    h.olm.on_venue_events(h.venue.place_external(h.yes, "SELL", HALF, Decimal(14), T0))
    full = h.order(cid)
    assert (full.status, full.filled) == ("filled", Decimal(20))
    fills = h.olm.orders.fills_for(cid)
    assert [f.size for f in fills] == [Decimal(6), Decimal(14)]
    assert all(f.liquidity == "maker" and f.settlement == "MATCHED" for f in fills)
    assert h.olm.orders.reserved_pusd() == 0
    codes = h.codes()
    assert "EXEC_PARTIAL_FILL_HANDLED" in codes and codes[-1] == "EXEC_FILL"


def test_a_duplicated_fill_event_is_counted_once(h: H) -> None:
    rec = h.submit(size=Decimal(10))
    events = h.venue.place_external(h.yes, "SELL", HALF, Decimal(6), T0)
    h.olm.on_venue_events(events)
    h.olm.on_venue_events(events)
    assert h.order(rec.client_order_id).filled == Decimal(6)
    assert len(h.olm.orders.fills_for(rec.client_order_id)) == 1


def test_sell_reserves_shares(h: H) -> None:
    h.submit(side="SELL", price=Decimal("0.6"), size=Decimal(7))
    assert h.olm.orders.reserved_shares(h.yes) == Decimal(7)
    assert h.olm.orders.reserved_shares(h.no) == 0
    assert h.olm.orders.reserved_pusd() == 0


def test_cancel(h: H) -> None:
    rec = h.submit()
    h.olm.cancel(rec.client_order_id)
    assert h.order(rec.client_order_id).status == "cancelled"
    assert [e.envelope.payload["status"] for e in records_of(h, rec.client_order_id)][-2:] == [
        "cancel_pending", "cancelled"]
    assert h.codes()[-2:] == ["EXEC_CANCEL_REQUESTED", "EXEC_CANCELLED"]
    assert h.venue.open_orders() == ()


def test_cancel_refused_by_venue_restores_previous_status(tmp_path: Path) -> None:
    h = build(tmp_path, FaultPlan().transport_errors("cancel", 503, count=1))
    rec = h.submit()
    h.olm.cancel(rec.client_order_id)
    assert h.order(rec.client_order_id).status == "live"
    assert h.codes()[-1] == "EXEC_VENUE_UNAVAILABLE"
    assert len(h.venue.open_orders()) == 1


def test_cancel_all_in_scope(h: H) -> None:
    a = h.submit(token=None)
    b = h.submit(price=Decimal("0.4"))
    c = h.submit(token=h.no, price=Decimal("0.3"))
    n = h.olm.cancel_all(frozenset({h.yes}), reason="playbook test")
    assert n == 2
    assert h.order(a.client_order_id).status == "cancelled"
    assert h.order(b.client_order_id).status == "cancelled"
    assert h.order(c.client_order_id).status == "live"
    entries = h.entries()
    idx = next(i for i, e in enumerate(entries) if e.envelope.reason_code == "EXEC_CANCEL_ALL")
    assert entries[idx].envelope.payload["detail"]["orders"] == [a.client_order_id,
                                                                 b.client_order_id]
    # the venue's one answer is journaled as one envelope holding both orders' cancellations
    assert [e.envelope.kind for e in entries[idx + 1:]] == ["order_batch"]
    records = [r for e in entries[idx + 1:] for r in order_records(e)]
    assert [(r.reason_code, r.payload["client_order_id"], r.payload["previous"], r.payload["status"])
            for r in records] == [("EXEC_CANCELLED", a.client_order_id, "live", "cancelled"),
                                  ("EXEC_CANCELLED", b.client_order_id, "live", "cancelled")]
    assert [r.correlation_id for r in records] == [h.olm.orders.state_of(x.client_order_id).correlation_id  # type: ignore[union-attr]
                                                   for x in (a, b)]
    assert all(r.correlation_id for r in records)
    assert h.olm.cancel_all() == 1
    assert h.venue.open_orders() == ()


def test_gtd_expiry(h: H) -> None:
    rec = h.submit(order_type="GTD", expires_at_ms=T0 + 120_000)
    assert rec.status == "live"
    # The wire expiration is T0 + 180 s (planned expiry + the 60 s threshold); the venue retires
    # the order 60 s before that, i.e. exactly at the planned expiry, not 60 s early.
    h.at(T0 + 119_000)
    assert h.order(rec.client_order_id).status == "live"
    h.at(T0 + 121_000)
    assert h.order(rec.client_order_id).status == "expired"
    assert h.codes()[-1] == "EXEC_EXPIRED"
    assert h.olm.orders.reserved_pusd() == 0


# -- rejects and faults -----------------------------------------------------------------------


def test_business_reject_maps_to_exec_rejected(tmp_path: Path) -> None:
    h = build(tmp_path, FaultPlan().reject_submits(INVALID_ORDER_NOT_ENOUGH_BALANCE, count=1))
    rec = h.submit()
    assert rec.status == "rejected"
    assert rec.venue_error == INVALID_ORDER_NOT_ENOUGH_BALANCE
    assert h.codes()[-1] == "EXEC_REJECTED"
    assert h.olm.orders.reserved_pusd() == 0


def test_off_tick_price_is_rejected_by_the_venue(h: H) -> None:
    rec = h.submit(price=HALF + h.tick / 2)
    assert (rec.status, rec.venue_error) == ("rejected", INVALID_ORDER_MIN_TICK_SIZE)


@pytest.mark.parametrize(("status", "code"), [(429, "EXEC_VENUE_RATE_LIMITED"),
                                              (503, "EXEC_VENUE_UNAVAILABLE"),
                                              (425, "EXEC_VENUE_UNAVAILABLE"),
                                              (500, "EXEC_VENUE_UNAVAILABLE")])
def test_transport_faults_reject_without_raising(tmp_path: Path, status: int, code: str) -> None:
    h = build(tmp_path, FaultPlan().transport_errors("submit", status, count=1))
    rec = h.submit()
    assert rec.status == "rejected"
    assert rec.venue_error is not None and rec.venue_error.startswith(str(status))
    assert h.codes()[-1] == code
    assert h.venue.open_orders() == ()
    assert h.submit().status == "live"  # the fault was count-limited


def test_rolling_reject_rate(tmp_path: Path) -> None:
    h = build(tmp_path, FaultPlan().reject_submits(INVALID_ORDER_NOT_ENOUGH_BALANCE, count=2)
              .transport_errors("submit", 429, count=1, start_ms=T0 + 20_000))
    h.submit()
    h.submit()
    h.submit(price=Decimal("0.4"))
    assert h.olm.reject_rate(60_000) == (2, 3)
    h.clock.advance_to(T0 + 20_000)
    h.submit(price=Decimal("0.3"))  # 429: answered, but API degradation, not a reject of our order
    h.olm.cancel(h.olm.orders.open_orders()[0].client_order_id)  # a cancel is not an answer
    assert h.olm.reject_rate(60_000) == (2, 4)
    assert h.olm.reject_rate(10_000) == (0, 1)
    h.clock.advance_to(T0 + 90_000)
    assert h.olm.reject_rate(60_000) == (0, 0)


def test_kill_switch_trip_refuses_submission(h: H) -> None:
    trip = KillSwitchEvent(event="tripped", trip_id="trip-1", trigger="manual",
                           scope=Scope(scope="strategy", value="strat.test"),
                           observed=Decimal(1), threshold=Decimal(1), at_ms=T0)
    h.runtime.record(trip, actor=ACTOR, reason_code="RISK_KILLSWITCH_TRIPPED", durable=True)
    rec = h.submit()
    assert (rec.status, h.codes()[-1]) == ("rejected", "RISK_KILLSWITCH_ACTIVE")
    assert h.submit(strategy_id="strat.other").status == "live"
    assert len(h.venue.open_orders()) == 1
    assert h.olm.reject_rate(60_000) == (0, 1)  # our own refusal is not a venue answer


# -- stuck, orphans, reconciliation -------------------------------------------------------------


def test_stuck_order_detected_after_timeout_then_reconciled(tmp_path: Path) -> None:
    h = build(tmp_path, FaultPlan().latency(60_000))
    rec = h.submit()
    assert rec.status == "submitted"  # the ack is delayed
    assert [r.client_order_id for r in h.olm.in_flight()] == [rec.client_order_id]
    assert h.olm.orders.reserved_pusd() == Decimal("5.0")  # in flight still reserves
    h.at(T0 + 30_000)  # first tick: stuck detection runs before the periodic reconciliation
    h.olm.tick(T0 + 30_000)
    codes = h.codes()
    assert codes.count("EXEC_STUCK_ORDER") == 1
    stuck_at = codes.index("EXEC_STUCK_ORDER")
    live = records_of(h, rec.client_order_id)[-1]
    assert live.envelope.payload["status"] == "live" and live.seq > stuck_at
    h.at(T0 + 61_000)  # the late ack arrives: a repeated fact, not an illegal move
    assert h.order(rec.client_order_id).status == "live"
    assert "EXEC_ILLEGAL_TRANSITION" not in h.codes()
    h.olm.tick(T0 + 61_000)
    assert h.codes().count("EXEC_STUCK_ORDER") == 1


def test_first_reconcile_adopts_a_submitted_order_found_at_the_venue(tmp_path: Path) -> None:
    h = build(tmp_path, FaultPlan().latency(60_000))
    rec = h.submit()
    h.olm.tick(T0 + 1)
    assert h.order(rec.client_order_id).status == "live"
    assert "EXEC_RECONCILE_DIFF" in h.codes()


class LostSubmit:
    """A venue whose submit times out before reaching the exchange."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        raise TimeoutError("read timed out")


def test_submitted_order_unknown_to_the_venue_becomes_rejected_when_stuck(tmp_path: Path) -> None:
    sim = sim_venue.SimVenue(7, 1, T0, background=False)
    h = build(tmp_path, venue=LostSubmit(sim))
    rec = h.submit()
    assert rec.status == "submitted"
    assert h.codes()[-1] == "EXEC_VENUE_UNAVAILABLE"
    h.clock.advance_to(T0 + 29_999)
    h.olm.tick(T0 + 29_999)
    assert "EXEC_STUCK_ORDER" not in h.codes()
    assert h.order(rec.client_order_id).status == "submitted"
    h.clock.advance_to(T0 + 30_000)
    h.olm.tick(T0 + 30_000)
    assert h.codes().count("EXEC_STUCK_ORDER") == 1
    final = h.order(rec.client_order_id)
    assert (final.status, final.venue_error) == ("rejected", INFLIGHT_TIMEOUT)
    assert h.olm.reject_rate(60_000) == (0, 0)  # not a venue answer


def _place_stranger(h: H, venue: Any = None) -> None:
    (venue or h.venue).submit(VenueOrder(client_order_id="stranger-1", token_id=h.yes, side="BUY",
                              price=Decimal("0.2"), size=Decimal(10), order_type="GTC"),
                   h.clock.now_ms())


def test_orphan_detected_and_auto_cancelled(h: H) -> None:
    mine = h.submit()
    _place_stranger(h)
    h.olm.tick(T0)
    codes = h.codes()
    assert "EXEC_ORPHAN_ORDER" in codes
    verdict = next(e for e in h.entries() if e.envelope.reason_code == "EXEC_ORPHAN_ORDER")
    assert [o["client_order_id"] for o in verdict.envelope.payload["detail"]["orphans"]] == [
        "stranger-1"]
    assert [v.client_order_id for v in h.venue.open_orders()] == [mine.client_order_id]
    assert codes[-1] == "EXEC_CANCELLED"
    assert h.olm.orders.order("stranger-1") is None


def test_orphan_kept_when_auto_cancel_is_off(tmp_path: Path) -> None:
    h = build(tmp_path, overrides={"auto_cancel_orphans": False})
    _place_stranger(h)
    h.olm.tick(T0)
    assert "EXEC_ORPHAN_ORDER" in h.codes()
    assert len(h.venue.open_orders()) == 1


def test_reconciled_at_most_once_per_interval(h: H) -> None:
    h.submit()
    for dt in (0, 3_000, 9_999, 10_000, 15_000):
        h.clock.advance_to(T0 + dt)
        h.olm.tick(T0 + dt)
    assert h.codes().count("EXEC_RECONCILED") == 2


def test_order_missing_at_venue_is_cancelled_after_two_passes(h: H) -> None:
    rec = h.submit()
    assert rec.venue_order_id
    h.venue.cancel(rec.venue_order_id, T0)  # behind our back: the event is lost
    h.olm.tick(T0)
    assert h.order(rec.client_order_id).status == "live"
    verdict = [e for e in h.entries() if e.envelope.reason_code == "EXEC_RECONCILE_DIFF"][-1]
    assert verdict.envelope.payload["detail"]["missing_suspect"] == [rec.client_order_id]
    h.clock.advance_to(T0 + 10_000)
    h.olm.tick(T0 + 10_000)
    final = h.order(rec.client_order_id)
    assert final.status == "cancelled"
    assert h.codes()[-1] == "EXEC_RECONCILE_DIFF"


def test_shadow_mode_records_the_verdict_but_does_not_act(h: H) -> None:
    from polytraders.runtime.kinds import Mode

    h.runtime.set_mode(h.olm.bot.bot_id, Mode.SHADOW)
    _place_stranger(h)
    h.olm.tick(T0)
    assert "EXEC_ORPHAN_ORDER" in h.codes()
    assert len(h.venue.open_orders()) == 1


# -- settlement ---------------------------------------------------------------------------------


def _settlements(h: H, cid: str) -> list[tuple[str, str]]:
    return [(e.envelope.payload["settlement"], e.envelope.reason_code) for e in h.entries()
            if e.envelope.kind == "fill" and e.envelope.payload["client_order_id"] == cid]


def test_settlement_matched_mined_confirmed(h: H) -> None:
    rec = h.submit()
    h.olm.on_venue_events(h.venue.place_external(h.yes, "SELL", HALF, Decimal(10), T0))
    h.at(T0 + 2_000)
    h.at(T0 + 10_000)
    assert _settlements(h, rec.client_order_id) == [
        ("MATCHED", "EXEC_FILL"), ("MINED", "EXEC_SETTLEMENT_UPDATED"),
        ("CONFIRMED", "EXEC_SETTLEMENT_CONFIRMED")]
    (fill,) = h.olm.orders.fills_for(rec.client_order_id)
    assert fill.settlement == "CONFIRMED" and fill.size == Decimal(10)


def test_failed_settlement_is_emitted(tmp_path: Path) -> None:
    h = build(tmp_path, FaultPlan().fail_settlement(count=1))
    rec = h.submit()
    h.olm.on_venue_events(h.venue.place_external(h.yes, "SELL", HALF, Decimal(10), T0))
    h.at(T0 + 2_000)
    h.at(T0 + 10_000)
    assert _settlements(h, rec.client_order_id) == [
        ("MATCHED", "EXEC_FILL"), ("RETRYING", "EXEC_SETTLEMENT_UPDATED"),
        ("FAILED", "EXEC_SETTLEMENT_FAILED")]
    failed = h.entries()[-1].envelope.decode()
    assert isinstance(failed, FillRecord) and failed.settlement == "FAILED"


def test_illegal_settlement_step_is_not_applied(h: H) -> None:
    rec = h.submit()
    h.olm.on_venue_events(h.venue.place_external(h.yes, "SELL", HALF, Decimal(10), T0))
    (fill,) = h.olm.orders.fills_for(rec.client_order_id)
    h.olm.on_venue_events([VenueEvent(kind="trade_status", venue_order_id="x",
                                      client_order_id=rec.client_order_id, token_id=h.yes,
                                      ts_ms=T0, trade_id=fill.trade_id, trade_status="FAILED")])
    assert h.codes()[-1] == "EXEC_ILLEGAL_TRANSITION"
    assert h.olm.orders.fills_for(rec.client_order_id)[0].settlement == "MATCHED"


# -- idempotency across a crash, and write-ahead -----------------------------------------------


def _restart(h: H) -> H:
    h.journal.close()
    journal = SqliteJournal(h.path, synchronous="NORMAL")
    state = StateStore([OrdersProjection()])
    state.rebuild(journal)
    runtime = Runtime(journal, h.clock, state)
    olm = OrderLifecycleManager(runtime, h.venue, OrderLifecycleBot())
    return H(h.path, journal, h.clock, runtime, h.venue, olm, h.market_id, h.yes, h.no, h.tick,
             h.n)


def test_idempotent_resubmission_across_a_crash(h: H) -> None:
    signed, planned, intent = h.make()
    first = h.olm.submit(signed, planned, intent)
    assert first.status == "live"
    sent: list[str] = []
    real_submit = h.venue.submit

    def spy_submit(order: VenueOrder, now: int) -> list[VenueEvent]:
        sent.append(order.client_order_id)
        result: list[VenueEvent] = real_submit(order, now)
        return result

    h.venue.submit = spy_submit
    h2 = _restart(h)
    assert h2.order(planned.client_order_id) == first
    again = h2.olm.submit(signed, planned, intent)
    assert again == first
    assert sent == []
    assert len(h2.venue.open_orders()) == 1
    assert h2.codes()[-1] == "EXEC_DUPLICATE_SUPPRESSED"
    assert h2.entries()[-1].envelope.correlation_id == intent.correlation_id


class CrashAfterSend:
    """The exchange accepts the order, then our process dies before it reads the answer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        self.inner.submit(order, now_ms)
        raise SystemExit("crash")


def test_crash_between_submit_and_ack_is_resolved_by_reconciliation(tmp_path: Path) -> None:
    sim = sim_venue.SimVenue(7, 1, T0, background=False)
    h = build(tmp_path, venue=CrashAfterSend(sim))
    signed, planned, intent = h.make()
    with pytest.raises(SystemExit):
        h.olm.submit(signed, planned, intent)
    h.venue = sim
    h2 = _restart(h)
    assert h2.order(planned.client_order_id).status == "submitted"
    assert h2.olm.submit(signed, planned, intent).status == "submitted"
    assert h2.codes()[-1] == "EXEC_DUPLICATE_SUPPRESSED"
    assert len(sim.open_orders()) == 1
    h2.olm.tick(T0 + 1)
    assert h2.order(planned.client_order_id).status == "live"
    assert h2.order(planned.client_order_id).venue_order_id == signed.order_hash


def test_duplicate_reject_from_the_venue_means_already_exists(h: H) -> None:
    signed, planned, intent = h.make()
    h.venue.submit(VenueOrder(client_order_id=planned.client_order_id, token_id=h.yes,
                              side="BUY", price=HALF, size=Decimal(10), order_type="GTC",
                              order_hash=signed.order_hash), T0)
    rec = h.olm.submit(signed, planned, intent)
    assert rec.status == "live"
    assert "EXEC_REJECTED" not in h.codes()
    assert h.olm.reject_rate(60_000) == (0, 1)


class WriteAheadSpy:
    """Checks, on every side effect, that a fresh reader of the journal file already holds the
    envelope that causes it."""

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner = inner
        self.path = path
        self.checked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _last(self) -> dict[str, Any]:
        reader = SqliteJournal(self.path)
        try:
            env = reader.tail(1)[0].envelope
        finally:
            reader.close()
        return {"code": env.reason_code, "kind": env.kind, **env.payload}

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        last = self._last()
        assert (last["kind"], last["status"], last["client_order_id"]) == (
            "order_record", "submitted", order.client_order_id)
        self.checked.append("submit")
        result: list[VenueEvent] = self.inner.submit(order, now_ms)
        return result

    def cancel(self, venue_order_id: str, now_ms: int) -> list[VenueEvent]:
        last = self._last()
        if last["code"] == "EXEC_ORPHAN_ORDER":
            assert venue_order_id in [o["venue_order_id"] for o in last["detail"]["orphans"]]
        else:
            assert (last["kind"], last["status"], last["venue_order_id"]) == (
                "order_record", "cancel_pending", venue_order_id)
        self.checked.append("cancel")
        result: list[VenueEvent] = self.inner.cancel(venue_order_id, now_ms)
        return result

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        assert self._last()["code"] == "EXEC_CANCEL_ALL"
        self.checked.append("cancel_all")
        result: list[VenueEvent] = self.inner.cancel_all(token_ids, now_ms)
        return result

    def open_orders(self) -> tuple[OpenOrderView, ...]:
        result: tuple[OpenOrderView, ...] = self.inner.open_orders()
        return result


def test_side_effects_never_overtake_the_journal(tmp_path: Path) -> None:
    sim = sim_venue.SimVenue(7, 1, T0, background=False)
    spy = WriteAheadSpy(sim, tmp_path / "journal.db")
    h = build(tmp_path, venue=spy)
    a = h.submit()
    h.submit(price=Decimal("0.4"))
    h.olm.cancel(a.client_order_id)
    _place_stranger(h, sim)
    h.olm.tick(T0)
    h.olm.cancel_all(reason="test")
    assert spy.checked == ["submit", "submit", "cancel", "cancel", "cancel_all"]
    assert sim.open_orders() == ()


class CraftedAnswer:
    """The simulated venue, except that a cancel-all is answered with a given list of events."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.answer: list[VenueEvent] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        return self.answer


def _facts(h: H, after_seq: int) -> list[tuple[str, str, dict[str, Any]]]:
    """What the journal says happened after `after_seq`, each order record on its own whichever
    envelope holds it."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for e in h.entries():
        if e.seq <= after_seq:
            continue
        views = list(order_records(e))
        if views:
            out += [("order_record", v.reason_code, dict(v.payload)) for v in views]
        else:
            out.append((e.envelope.kind, e.envelope.reason_code, e.envelope.payload))
    return out


def _mixed_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, per_order: bool,
                  ) -> tuple[list[tuple[str, str, dict[str, Any]]], list[list[str]], list[OrderRecord]]:
    venue = CraftedAnswer(sim_venue.SimVenue(7, 1, T0, background=False))
    h = build(tmp_path, venue=venue)
    a, e, b, c, d = (h.submit(price=Decimal(p)) for p in ("0.40", "0.41", "0.42", "0.43", "0.44"))

    def ev(rec: OrderRecord, kind: str = "cancel", **kw: Any) -> VenueEvent:
        return VenueEvent(kind=kind, venue_order_id=rec.venue_order_id or "",  # type: ignore[arg-type]
                          client_order_id=rec.client_order_id, token_id=rec.token_id, ts_ms=T0, **kw)

    ghost = OrderRecord.model_validate({**a.model_dump(), "client_order_id": "ghost",
                                        "venue_order_id": "0x" + "ee" * 32})
    venue.answer = [
        ev(a, remaining=Decimal(10)), ev(e, remaining=Decimal(10)),  # one batch of two
        ev(a, remaining=Decimal(10)),  # a repeat: an illegal transition, journaled on its own
        ev(ghost, remaining=Decimal(10)),  # nobody's order: an orphan note
        ev(b, "fill", side="BUY", price=Decimal("0.42"), size=Decimal(2), remaining=Decimal(8), fee=Decimal(0),
           trade_id="t-b", liquidity="maker", trade_status="MATCHED"),
        ev(b, remaining=Decimal(8)),  # now partially filled: batched again
        ev(c, remaining=Decimal("NaN")),  # impossible: an anomaly, never applied
        ev(d, remaining=Decimal(10), error_code="CANCELED_MARKET_RESOLVED"),  # a venue reason: validated, batched
    ]
    with monkeypatch.context() as m:
        if per_order:  # the answer journaled as older code did: one envelope per event's outcome
            m.setattr(OrderLifecycleManager, "on_cancel_all_answer", OrderLifecycleManager.on_venue_events)
        before = h.entries()[-1].seq
        assert h.olm.cancel_all(reason="test") == 7
    batches = [[str(v.payload["client_order_id"]) for v in order_records(x)]
               for x in h.entries() if x.seq > before and x.envelope.kind == "order_batch"]
    return _facts(h, before), batches, [h.order(r.client_order_id) for r in (a, e, b, c, d)]


def test_a_mixed_cancel_all_answer_says_what_it_said_per_order(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Resting orders' cancels go into batches; a repeat, an unknown order, a fill, an impossible
    event each take the general path in the venue's order. The batched run and the per-order run
    (as older code journaled it) say the same facts, word for word, in the same order."""
    (tmp_path / "batched").mkdir()
    (tmp_path / "per_order").mkdir()
    facts, batches, orders = _mixed_answer(tmp_path / "batched", monkeypatch, per_order=False)
    old_facts, old_batches, old_orders = _mixed_answer(tmp_path / "per_order", monkeypatch, per_order=True)
    a, e, b, c, d = (o.client_order_id for o in orders)
    assert batches == [[a, e], [b], [d]] and old_batches == []
    assert [(k, code) for k, code, _ in facts] == [
        ("note", "EXEC_CANCEL_ALL"), ("order_record", "EXEC_CANCELLED"), ("order_record", "EXEC_CANCELLED"),
        ("note", "EXEC_ILLEGAL_TRANSITION"), ("note", "EXEC_CANCELLED"), ("fill", "EXEC_PARTIAL_FILL_HANDLED"),
        ("order_record", "EXEC_PARTIAL_FILL_HANDLED"), ("order_record", "EXEC_CANCELLED"),
        ("note", "EXEC_VENUE_ANOMALY"), ("order_record", "EXEC_CANCELLED")]
    assert facts == old_facts
    assert [o.to_json_dict() for o in orders] == [o.to_json_dict() for o in old_orders]
    assert [o.status for o in orders] == ["cancelled", "cancelled", "cancelled", "live", "cancelled"]
    assert (orders[4].venue_error, orders[2].filled) == ("CANCELED_MARKET_RESOLVED", Decimal(2))
