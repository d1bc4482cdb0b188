"""Hostile venue events through the real OLM (simulator, SQLite journal): never raised, never
applied, always journaled as EXEC_VENUE_ANOMALY naming the order, field, value and limit."""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polytraders.bots.exec.order_lifecycle_manager import OrderLifecycleBot, OrderLifecycleManager
from polytraders.contracts import BUILDER_CODE, MarketSnapshot, OrderIntent, PlannedOrder, SignedOrderRequest
from polytraders.contracts.envelope import Actor
from polytraders.journal.base import JournalEntry
from polytraders.journal.sqlite import SqliteJournal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime
from polytraders.state.markets import MarketsProjection
from polytraders.state.orders import OrdersProjection
from polytraders.state.portfolio import PortfolioProjection
from polytraders.state.store import StateStore
from polytraders.venues.base import VenueEvent
from polytraders.venues.sim.venue import SimVenue

T0 = 1_700_000_000_000
FEED = Actor(kind="system", id="feed.test")


@dataclass
class Rig:
    journal: SqliteJournal
    runtime: Runtime
    olm: OrderLifecycleManager
    portfolio: PortfolioProjection
    market_id: str
    yes: str
    cid: str
    venue_order_id: str

    def entries(self) -> list[JournalEntry]:
        return list(self.journal.read())

    def anomalies(self) -> list[dict[str, Any]]:
        return [e.envelope.payload["detail"] for e in self.entries()
                if e.envelope.reason_code == "EXEC_VENUE_ANOMALY"]

    def fills(self) -> list[JournalEntry]:
        return [e for e in self.entries() if e.envelope.kind == "fill"]

    def resting_fill(self, **changes: Any) -> VenueEvent:
        """A sane fill of 4 of the resting order's 10 shares; tests spoil one field."""
        base = VenueEvent(kind="fill", venue_order_id=self.venue_order_id, client_order_id=self.cid,
                          token_id=self.yes, ts_ms=T0 + 1, side="BUY", price=Decimal("0.4"),
                          size=Decimal(4), remaining=Decimal(6), fee=Decimal(0), trade_id="t-ok",
                          liquidity="maker", trade_status="MATCHED")
        return dataclasses.replace(base, **changes)


@contextmanager
def rig() -> Iterator[Rig]:
    """An OLM owning one resting BUY of 10 @ 0.40 on a quiet simulated market."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = SqliteJournal(Path(tmp) / "j.db", synchronous="OFF")
        markets = MarketsProjection()
        portfolio = PortfolioProjection(markets)
        runtime = Runtime(journal, SimClock(T0), StateStore([markets, OrdersProjection(), portfolio]))
        venue = SimVenue(7, 1, T0, background=False)
        olm = OrderLifecycleManager(runtime, venue, OrderLifecycleBot())
        info = venue.markets()[0]
        runtime.record(MarketSnapshot(market_id=info.condition_id, question="q?", yes_token=info.yes_token,
                                      no_token=info.no_token, tick=info.tick, min_size=info.min_size,
                                      observed_at_ms=T0), actor=FEED, reason_code="GOV_MARKET_DATA")
        cid = "coid-0001"
        order_hash = "0x" + hashlib.sha256(cid.encode()).hexdigest()
        intent = OrderIntent(intent_id="intent-0001", correlation_id="corr-0001", strategy_id="strat.test",
                             market_id=info.condition_id, token_id=info.yes_token, outcome="YES", side="BUY",
                             price=Decimal("0.4"), size=Decimal(10), emitted_at_ms=T0)
        planned = PlannedOrder(client_order_id=cid, token_id=info.yes_token, side="BUY", price=Decimal("0.4"),
                               size=Decimal(10), order_type="GTC")
        signed = SignedOrderRequest(
            plan_id="plan-0001", client_order_id=cid, order_hash=order_hash, salt=1,
            maker="0x" + "11" * 20, signer="0x" + "11" * 20, token_id=info.yes_token, maker_amount=1,
            taker_amount=1, side="BUY", signature_type=0, timestamp_ms=T0, metadata="0x" + "00" * 32,
            builder=BUILDER_CODE, signature="0x" + "ab" * 65, order_type="GTC", chain_id=137,
            verifying_contract="0x" + "22" * 20)
        record = olm.submit(signed, planned, intent)
        assert record.status == "live", record  # 0.40 rests below the simulated book
        assert record.venue_order_id is not None
        try:
            yield Rig(journal, runtime, olm, portfolio, info.condition_id, info.yes_token, cid,
                      record.venue_order_id)
        finally:
            journal.close()


# -- hostile values ---------------------------------------------------------------------------

_NON_FINITE = st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")])
_HUGE = st.sampled_from([Decimal("1E+30"), Decimal("1E+999999"), Decimal("10.0000001"), Decimal(11)])
_WRONG_TYPE = st.sampled_from([0.5, float("nan"), "4", True, [4]])
_BAD_SIZE = st.one_of(_NON_FINITE, _HUGE, _WRONG_TYPE, st.decimals(max_value=0, allow_nan=False))
_BAD_PRICE = st.one_of(_NON_FINITE, _WRONG_TYPE, st.decimals(max_value=0, allow_nan=False),
                       st.decimals(min_value=1, allow_nan=False, allow_infinity=True))
_BAD_FEE = st.one_of(_NON_FINITE, _WRONG_TYPE, st.decimals(max_value=Decimal("-0.00001"), allow_nan=False))
_BAD_IDS = st.fixed_dictionaries({"client_order_id": st.sampled_from(["", "nobody", "coid-9999"]),
                                  "venue_order_id": st.sampled_from(["", "0xdead", "unknown"])})


@st.composite
def hostile_fill_changes(draw: st.DrawFn) -> dict[str, Any]:
    """Changes that make the rig's sane fill impossible, one way or several at once."""
    kinds = draw(st.sets(st.sampled_from(["size", "price", "fee", "ids", "overfill", "remaining"]), min_size=1))
    changes: dict[str, Any] = {"trade_id": draw(st.text(min_size=1, max_size=12))}
    if "size" in kinds:
        changes["size"] = draw(_BAD_SIZE)
    if "price" in kinds:
        changes["price"] = draw(_BAD_PRICE)
    if "fee" in kinds:
        changes["fee"] = draw(_BAD_FEE)
    if "ids" in kinds:
        changes.update(draw(_BAD_IDS))
    if "overfill" in kinds:
        changes["size"] = draw(st.decimals(min_value=Decimal("10.0001"), max_value=Decimal("1E+12"), places=4))
    if "remaining" in kinds:
        changes["remaining"] = draw(st.one_of(_NON_FINITE, st.decimals(max_value=Decimal("-0.0001"), places=4),
                                              st.decimals(min_value=Decimal("10.0001"), places=4,
                                                          allow_nan=False, allow_infinity=False)))
    return changes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_fill_changes(), min_size=1, max_size=4), st.sampled_from(["fill", "trade_status"]))
def test_hostile_fills_never_raise_and_never_change_positions_or_orders(
    batch: list[dict[str, Any]], kind: str
) -> None:
    with rig() as r:
        before = r.olm.orders.order(r.cid)
        cash, held = r.portfolio.cash_pusd(), r.portfolio.position_size(r.yes)
        r.olm.on_venue_events([r.resting_fill(kind=kind, **changes) for changes in batch])
        assert r.fills() == []
        assert r.portfolio.position_size(r.yes) == held and r.portfolio.cash_pusd() == cash
        assert r.olm.orders.order(r.cid) == before
        found = r.anomalies()
        assert len(found) == len(batch)
        for detail in found:
            assert detail["market_id"] == r.market_id  # placed by its order, or by its token
            assert detail["field"] and detail["limit"] and detail["rule"]


_ANY_NUMBER = st.one_of(st.none(), st.decimals(), _WRONG_TYPE, st.integers(), _HUGE)
_ANY_TEXT = st.one_of(st.text(max_size=8), st.none(), st.integers())
_SPOILERS: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.sampled_from(["other", "", None]),
    "venue_order_id": _ANY_TEXT,
    "client_order_id": _ANY_TEXT,
    "token_id": _ANY_TEXT,
    "ts_ms": st.one_of(st.integers(max_value=-1), st.none(), st.just(1.5)),
    "side": st.sampled_from(["SELL", "HOLD", 1]),
    "price": _ANY_NUMBER,
    "size": _ANY_NUMBER,
    "remaining": _ANY_NUMBER,
    "fee": _ANY_NUMBER,
    "trade_id": _ANY_TEXT,
    "liquidity": st.sampled_from(["both", 0]),
    "trade_status": st.sampled_from(["NOPE", 3]),
    "error_code": _ANY_TEXT,
}


@st.composite
def any_event(draw: st.DrawFn, cid: str, venue_id: str, token: str) -> Any:
    """A plausible event about our order (any kind, sizes that can add up past the order),
    with any subset of its fields, often none, replaced by something no venue should send."""
    sane = VenueEvent(
        kind=draw(st.sampled_from(["ack", "fill", "fill", "fill", "cancel", "expire", "reject", "trade_status"])),
        venue_order_id=venue_id, client_order_id=cid, token_id=token, ts_ms=T0 + 5, side="BUY",
        price=draw(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.4"), places=4)),
        size=draw(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10), places=4)),
        remaining=draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=10, places=2))),
        fee=draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal("0.01"), places=5))),
        trade_id=draw(st.sampled_from(["t1", "t2", "t3", "t4"])), liquidity="maker",
        trade_status=draw(st.sampled_from(["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"])),
    )
    spoiled = draw(st.sets(st.sampled_from(sorted(_SPOILERS)), max_size=3))
    return dataclasses.replace(sane, **{name: draw(_SPOILERS[name]) for name in spoiled})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_arbitrary_events_never_raise_and_positions_never_exceed_the_order(data: st.DataObject) -> None:
    with rig() as r:
        events = data.draw(st.lists(any_event(r.cid, r.venue_order_id, r.yes), max_size=8))
        r.olm.on_venue_events(events)
        # Whatever was applied is a possible history: never more shares than ordered, at a price
        # no worse than the limit, with a non-negative fee.
        fills = [e.envelope.payload for e in r.fills()]
        latest = {f["trade_id"]: f for f in fills}  # a settlement update re-journals its trade
        assert sum(Decimal(f["size"]) for f in latest.values() if f["settlement"] != "FAILED") <= 10
        assert all(Decimal(f["price"]) <= Decimal("0.4") and Decimal(f["fee_pusd"]) >= 0 for f in fills)
        assert Decimal(0) <= r.portfolio.position_size(r.yes) <= 10
        rec = r.olm.orders.order(r.cid)
        assert rec is not None and Decimal(0) <= rec.filled <= rec.size


def test_an_overfill_is_journaled_with_order_field_value_and_limit() -> None:
    with rig() as r:
        r.olm.on_venue_events([r.resting_fill(size=Decimal("1E+30"))])
        [detail] = r.anomalies()
        assert detail["client_order_id"] == r.cid
        assert (detail["event"], detail["field"], detail["rule"]) == ("fill", "size", "fill_size")
        assert (detail["observed"], detail["limit"]) == ("1E+30", "<= 10 (open on the order)")
        assert r.fills() == []


def test_a_sane_fill_still_applies_and_then_bounds_the_next_one() -> None:
    with rig() as r:
        r.olm.on_venue_events([r.resting_fill()])  # 4 of 10
        assert r.portfolio.position_size(r.yes) == 4
        r.olm.on_venue_events([r.resting_fill(trade_id="t-2", size=Decimal(7), remaining=Decimal(0))])
        [detail] = r.anomalies()
        assert (detail["observed"], detail["limit"]) == ("7", "<= 6 (open on the order)")
        assert r.portfolio.position_size(r.yes) == 4
        r.olm.on_venue_events([r.resting_fill(trade_id="t-3", size=Decimal(6), remaining=Decimal(0))])
        assert r.portfolio.position_size(r.yes) == 10
        assert r.olm.orders.order(r.cid).status == "filled"  # type: ignore[union-attr]


def test_a_repeated_trade_is_still_a_harmless_repeat_not_an_anomaly() -> None:
    with rig() as r:
        r.olm.on_venue_events([r.resting_fill(size=Decimal(10), remaining=Decimal(0))] * 2)
        assert r.anomalies() == []
        assert r.portfolio.position_size(r.yes) == 10


def test_a_fill_for_an_order_we_do_not_own_names_its_market_by_token() -> None:
    with rig() as r:
        r.olm.on_venue_events([r.resting_fill(client_order_id="stranger", venue_order_id="0xfeed")])
        [detail] = r.anomalies()
        assert (detail["field"], detail["rule"], detail["market_id"]) == ("order", "unknown_order", r.market_id)
        r.olm.on_venue_events([r.resting_fill(client_order_id="stranger", venue_order_id="0xfeed",
                                              token_id="424242")])
        assert r.anomalies()[-1]["market_id"] == ""  # no market: the kill switch trips globally
        assert r.fills() == []


def test_an_event_that_breaks_the_olm_itself_is_an_anomaly_not_a_crash() -> None:
    with rig() as r:
        # An unhashable id fails the order lookup before any check runs: the guard catches it.
        r.olm.on_venue_events([r.resting_fill(client_order_id=["co"]), r.resting_fill()])  # type: ignore[arg-type]
        [detail] = r.anomalies()
        assert (detail["field"], detail["rule"], detail["observed"]) == ("event", "unhandled", "TypeError")
        assert r.portfolio.position_size(r.yes) == 4  # the next, sane event was still applied


def test_a_repeated_fill_without_a_trade_id_is_a_repeat_too() -> None:
    with rig() as r:
        r.olm.on_venue_events([r.resting_fill(trade_id=None, size=Decimal(10), remaining=Decimal(0))] * 2)
        assert r.anomalies() == []
        assert r.portfolio.position_size(r.yes) == 10


def test_an_id_past_the_int_digit_limit_is_journaled_not_raised() -> None:
    with rig() as r:
        # repr() of this int raises ValueError; neither the check nor the journal note may.
        r.olm.on_venue_events([r.resting_fill(client_order_id=10**5000)])  # type: ignore[arg-type]
        r.olm.on_venue_events([r.resting_fill(client_order_id=["co"], trade_id=10**5000)])  # type: ignore[arg-type]
        assert [d["observed"] for d in r.anomalies()] == ["<unprintable int>", "TypeError"]
        assert r.fills() == []
