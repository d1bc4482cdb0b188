"""exec.smart_router: type map, tick snapping, constraints, bad inputs, ids, slicing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.bots.exec.smart_router import (
    ORDER_TYPE_MAP,
    RouteRequest,
    SmartRouter,
    client_order_id,
    plan_id_for,
    snap_price,
)
from polytraders.contracts import (
    BookLevel,
    ExecutionPlan,
    MarketSnapshot,
    OrderBookSnapshot,
    OrderIntent,
    RiskConstraints,
)
from polytraders.journal import SqliteJournal
from polytraders.runtime.bot import Decision
from polytraders.runtime.clock import SimClock
from polytraders.runtime.config import build_config
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Mode
from polytraders.runtime.runner import Runtime
from polytraders.signing.amounts import limit_order_amounts, marketable_amounts_error
from polytraders.state.kill_switch import KillSwitchProjection
from polytraders.state.store import StateStore

NOW = 1_767_225_600_000
MID = "0x" + "ab" * 32
YES, NO = "1001", "1002"
D = Decimal


def market(**kw: Any) -> MarketSnapshot:
    base: dict[str, Any] = dict(market_id=MID, question="Q?", yes_token=YES, no_token=NO,
                                tick=D("0.01"), min_size=D(5), observed_at_ms=NOW)
    return MarketSnapshot(**{**base, **kw})


def book(bids: tuple[str, ...] = ("0.48",), asks: tuple[str, ...] = ("0.52",),
         tick: str = "0.01", token: str = YES) -> OrderBookSnapshot:
    return OrderBookSnapshot(
        market_id=MID, token_id=token, ts_ms=NOW, tick=D(tick),
        bids=tuple(BookLevel(price=D(p), size=D(100)) for p in bids),
        asks=tuple(BookLevel(price=D(p), size=D(100)) for p in asks),
        book_hash="h" * 16)


def intent(**kw: Any) -> OrderIntent:
    base: dict[str, Any] = dict(intent_id="oi_test000001", correlation_id="oc_test000001",
                                strategy_id="strat.test", market_id=MID, token_id=YES,
                                outcome="YES", side="BUY", order_type="GTC", price=D("0.50"),
                                size=D(10), emitted_at_ms=NOW)
    return OrderIntent(**{**base, **kw})


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime(SqliteJournal(tmp_path / "j.db"), SimClock(NOW))


@pytest.fixture
def router(runtime: Runtime) -> SmartRouter:
    bot = SmartRouter()
    runtime.add_bot(bot)
    return bot


def route(runtime: Runtime, bot: SmartRouter, i: OrderIntent,
          constraints: tuple[RiskConstraints, ...] = (), m: MarketSnapshot | None = None,
          b: OrderBookSnapshot | None = None, use_book: bool = True) -> Decision[ExecutionPlan]:
    req = RouteRequest(i, constraints, m if m is not None else market(),
                       (b if b is not None else book()) if use_book else None)
    return bot.decide(req, runtime.context(bot, i.correlation_id))


def _bare_context(bot: SmartRouter) -> BotContext:
    return BotContext(clock=SimClock(NOW), config=bot.config, state=StateStore(),
                      kill_switch=KillSwitchProjection(), correlation_id=None,
                      builder_code="0x" + "00" * 32)


def plan_of(d: Decision[ExecutionPlan]) -> ExecutionPlan:
    assert d.output is not None, d
    return d.output


# -- order types ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("intent_type", "venue_type", "post_only"), [
    ("LIMIT", "GTC", False), ("GTC", "GTC", False), ("FOK", "FOK", False),
    ("IOC", "FAK", False), ("MARKET", "FAK", False), ("POST_ONLY", "GTC", True),
])
def test_order_type_mapping(runtime: Runtime, router: SmartRouter, intent_type: str,
                            venue_type: str, post_only: bool) -> None:
    d = route(runtime, router, intent(order_type=intent_type))
    step = plan_of(d).steps[0]
    assert (step.order_type, step.post_only) == (venue_type, post_only)
    assert step.expires_at_ms is None
    assert d.reason_code == "EXEC_PLAN_CREATED"


def test_order_type_map_covers_every_intent_type() -> None:
    assert set(ORDER_TYPE_MAP) == {"LIMIT", "MARKET", "POST_ONLY", "GTC", "GTD", "FOK", "IOC"}


def test_gtd_expiry_is_now_plus_tif(runtime: Runtime, router: SmartRouter) -> None:
    p = plan_of(route(runtime, router, intent(order_type="GTD", time_in_force_s=120)))
    assert p.steps[0].order_type == "GTD"
    assert p.steps[0].expires_at_ms == NOW + 120_000 == p.expires_at_ms


def test_gtd_expiry_never_outlives_the_intent(runtime: Runtime, router: SmartRouter) -> None:
    i = intent(order_type="GTD", time_in_force_s=120, expires_at_ms=NOW + 30_000)
    assert plan_of(route(runtime, router, i)).steps[0].expires_at_ms == NOW + 30_000


# -- tick snapping -------------------------------------------------------------------------------

def test_buy_snaps_down_sell_snaps_up(runtime: Runtime, router: SmartRouter) -> None:
    buy = plan_of(route(runtime, router, intent(side="BUY", price=D("0.4567"))))
    sell = plan_of(route(runtime, router, intent(side="SELL", price=D("0.4512"))))
    assert buy.steps[0].price == D("0.45")
    assert sell.steps[0].price == D("0.46")
    assert "tick_snap" in buy.constraints_applied


@given(price=st.integers(min_value=1, max_value=9999).map(lambda n: D(n) / 10000),
       tick=st.sampled_from([D("0.1"), D("0.01"), D("0.001"), D("0.0001")]),
       side=st.sampled_from(["BUY", "SELL"]))
def test_snap_is_on_tick_and_never_worse(price: Decimal, tick: Decimal, side: str) -> None:
    snapped = snap_price(price, tick, side)
    assert snapped % tick == 0
    assert abs(snapped - price) < tick
    assert (snapped <= price) if side == "BUY" else (snapped >= price)


# -- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "field"), [
    ({"price": D("0.005"), "side": "BUY"}, "price"),  # snaps to 0.00
    ({"price": D("0.995"), "side": "SELL"}, "price"),  # snaps to 1.00
])
def test_price_outside_tick_range(runtime: Runtime, router: SmartRouter, kw: dict[str, Any],
                                  field: str) -> None:
    d = route(runtime, router, intent(**kw), use_book=False)
    assert (d.output, d.reason_code, d.detail["field"]) == (None, "EXEC_BAD_PRICE", field)


def test_size_below_market_minimum(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(size=D("4.99")))
    assert (d.output, d.reason_code, d.detail["field"]) == (None, "EXEC_BAD_SIZE", "size")


def test_size_rounding_to_zero(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(size=D("0.001")), m=market(min_size=D("0.001")))
    assert d.reason_code == "EXEC_BAD_SIZE"


@pytest.mark.parametrize(("req_kw", "field"), [
    ({"m": None}, "market"),
    ({"m": market(market_id="0x" + "cd" * 32)}, "market_id"),
    ({"m": market(status="halted")}, "market.status"),
    ({"b": book(token=NO)}, "book"),
    ({"b": book(tick="0.001")}, "book.tick"),
])
def test_unknown_or_mismatched_market(runtime: Runtime, router: SmartRouter,
                                      req_kw: dict[str, Any], field: str) -> None:
    i = intent()
    m = req_kw.get("m", market()) if "m" in req_kw else market()
    req = RouteRequest(i, (), m, req_kw.get("b", book()))
    d = router.decide(req, runtime.context(router, None))
    assert (d.output, d.reason_code, d.detail["field"]) == (None, "EXEC_BAD_INTENT", field)


def test_token_not_matching_outcome(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(token_id=NO))  # outcome YES but the NO token
    assert (d.reason_code, d.detail["field"]) == ("EXEC_BAD_INTENT", "token_id")


def test_expired_intent(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(expires_at_ms=NOW))
    assert (d.reason_code, d.detail["field"]) == ("EXEC_BAD_INTENT", "expires_at_ms")


def test_marketable_without_book_fails_closed(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(order_type="FOK"), use_book=False)
    assert (d.reason_code, d.detail["field"]) == ("EXEC_BAD_INTENT", "book")


# -- reshape constraints -------------------------------------------------------------------------

def test_max_size_takes_the_smallest_cap(runtime: Runtime, router: SmartRouter) -> None:
    cs = (RiskConstraints(max_size=D(8)), RiskConstraints(max_size=D(6)))
    d = route(runtime, router, intent(size=D(10)), cs)
    assert plan_of(d).steps[0].size == D(6)
    assert d.reason_code == "EXEC_PLAN_RESHAPED"
    assert "max_size" in plan_of(d).constraints_applied


def test_max_size_never_raises(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(size=D(10)), (RiskConstraints(max_size=D(50)),))
    assert plan_of(d).steps[0].size == D(10)
    assert d.reason_code == "EXEC_PLAN_CREATED"


def test_max_size_below_minimum_is_bad_size(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(size=D(10)), (RiskConstraints(max_size=D(2)),))
    assert d.reason_code == "EXEC_BAD_SIZE"


def test_max_price_clamps_buy(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(price=D("0.50")), (RiskConstraints(max_price=D("0.455")),))
    assert plan_of(d).steps[0].price == D("0.45")
    assert d.reason_code == "EXEC_PLAN_RESHAPED"


def test_min_price_clamps_sell(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(side="SELL", price=D("0.50")),
              (RiskConstraints(min_price=D("0.555")),))
    assert plan_of(d).steps[0].price == D("0.56")
    assert "min_price" in plan_of(d).constraints_applied


def test_contradictory_price_bounds(runtime: Runtime, router: SmartRouter) -> None:
    cs = (RiskConstraints(max_price=D("0.40")), RiskConstraints(min_price=D("0.45")))
    assert route(runtime, router, intent(), cs).reason_code == "EXEC_BAD_PRICE"


def test_bounds_with_no_tick_between(runtime: Runtime, router: SmartRouter) -> None:
    cs = (RiskConstraints(max_price=D("0.455"), min_price=D("0.451")),)
    assert route(runtime, router, intent(), cs).reason_code == "EXEC_BAD_PRICE"


def test_passive_only_makes_post_only_and_never_crosses(runtime: Runtime,
                                                        router: SmartRouter) -> None:
    d = route(runtime, router, intent(order_type="IOC", price=D("0.60")),
              (RiskConstraints(passive_only=True),))
    step = plan_of(d).steps[0]
    assert (step.order_type, step.post_only) == ("GTC", True)
    assert step.price == D("0.51")  # best ask 0.52 minus one tick
    assert d.reason_code == "EXEC_PLAN_RESHAPED"
    sell = plan_of(route(runtime, router, intent(side="SELL", price=D("0.40")),
                         (RiskConstraints(passive_only=True),))).steps[0]
    assert sell.price == D("0.49")


def test_passive_only_keeps_gtd(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(order_type="GTD", time_in_force_s=60),
              (RiskConstraints(passive_only=True),))
    step = plan_of(d).steps[0]
    assert (step.order_type, step.post_only, step.expires_at_ms) == ("GTD", True, NOW + 60_000)


def test_close_only_and_reduce_only_never_buy(runtime: Runtime, router: SmartRouter) -> None:
    d = route(runtime, router, intent(side="BUY"), (RiskConstraints(close_only=True),))
    assert (d.reason_code, d.detail["field"]) == ("EXEC_BAD_INTENT", "side")
    assert route(runtime, router, intent(reduce_only=True)).reason_code == "EXEC_BAD_INTENT"
    sell = route(runtime, router, intent(side="SELL"), (RiskConstraints(close_only=True),))
    assert plan_of(sell).steps[0].side == "SELL"
    assert "close_only" in plan_of(sell).constraints_applied


def test_marketable_price_capped_by_slippage(runtime: Runtime, router: SmartRouter) -> None:
    # 50 bps over an ask of 0.52 is 0.5226 -> 0.52 on a 0.01 tick: the BUY may not pay 0.60.
    d = route(runtime, router, intent(order_type="FOK", price=D("0.60")))
    assert plan_of(d).steps[0].price == D("0.52")
    assert "slippage_cap" in plan_of(d).constraints_applied
    fine = route(runtime, router, intent(order_type="FOK", price=D("0.60")),
                 m=market(tick=D("0.001")), b=book(tick="0.001"))
    assert plan_of(fine).steps[0].price == D("0.522")
    assert plan_of(fine).estimated_slippage_bps == 39  # 0.002 / 0.52 = 38.46 bps, rounded up


def test_marketable_children_obey_the_clob_amount_precision(runtime: Runtime, router: SmartRouter) -> None:
    # 10.37 shares x 0.52 = 5.3924 pUSD: a FAK BUY's maker amount may carry only 2 decimals;
    # the largest size below that works is 10.25 (5.33 pUSD).
    d = route(runtime, router, intent(order_type="IOC", price=D("0.52"), size=D("10.37")))
    step = plan_of(d).steps[0]
    assert (step.size, step.price) == (D("10.25"), D("0.52"))
    assert "marketable_precision" in plan_of(d).constraints_applied
    maker, taker = limit_order_amounts("BUY", step.price, step.size, D("0.01"))
    assert marketable_amounts_error("BUY", maker, taker) is None
    resting = route(runtime, router, intent(order_type="LIMIT", price=D("0.50"), size=D("10.37")))
    assert plan_of(resting).steps[0].size == D("10.37"), "resting orders keep their size"


@given(side=st.sampled_from(["BUY", "SELL"]),
       otype=st.sampled_from(sorted(ORDER_TYPE_MAP)),
       price=st.integers(min_value=2, max_value=98).map(lambda n: D(n) / 100),
       size=st.integers(min_value=500, max_value=100_000).map(lambda n: D(n) / 100),
       cap=st.none() | st.integers(min_value=1, max_value=2000).map(D),
       passive=st.booleans())
@settings(max_examples=150, deadline=None)
def test_never_flips_side_or_raises_size(side: str, otype: str, price: Decimal, size: Decimal,
                                         cap: Decimal | None, passive: bool) -> None:
    bot = SmartRouter()
    bot.init(build_config(bot.bot_id, bot.params, {"max_child_size": 100})[0])
    i = intent(side=side, order_type=otype, price=price, size=size,
               time_in_force_s=60 if otype == "GTD" else None)
    cs = (RiskConstraints(max_size=cap, passive_only=passive),)
    d = bot.decide(RouteRequest(i, cs, market(), book(bids=("0.30",), asks=("0.70",))),
                   _bare_context(bot))
    if d.output is None:
        assert d.reason_code.startswith("EXEC_BAD_")
        return
    total = sum((s.size for s in d.output.steps), D(0))
    assert all(s.side == side for s in d.output.steps)
    assert total <= size and (cap is None or total <= cap)
    assert all(s.price % D("0.01") == 0 for s in d.output.steps)
    # the plan is built without a validation pass; it must still be a valid plan, field for field
    assert ExecutionPlan.model_validate(d.output.model_dump()).to_json_dict() == d.output.to_json_dict()


# -- ids and slicing -----------------------------------------------------------------------------

def test_ids_are_deterministic(runtime: Runtime, router: SmartRouter) -> None:
    a = plan_of(route(runtime, router, intent()))
    b = plan_of(route(runtime, router, intent()))
    assert a == b
    assert a.plan_id == plan_id_for("oi_test000001") and a.plan_id.startswith("pl_")
    assert a.steps[0].client_order_id == client_order_id("oi_test000001", 0)
    assert len(a.steps[0].client_order_id) == 27 and a.steps[0].client_order_id.startswith("co_")
    other = plan_of(route(runtime, router, intent(intent_id="oi_test000002")))
    assert other.plan_id != a.plan_id
    assert other.steps[0].client_order_id != a.steps[0].client_order_id


def test_slicing_sums_to_size(tmp_path: Path) -> None:
    rt = Runtime(SqliteJournal(tmp_path / "j.db"), SimClock(NOW))
    bot = SmartRouter()
    rt.add_bot(bot, {"max_child_size": 30})
    d = bot.decide(RouteRequest(intent(size=D("100.01")), (), market(), book()),
                   rt.context(bot, None))
    p = plan_of(d)
    assert [s.size for s in p.steps] == [D("25"), D("25"), D("25"), D("25.01")]
    assert len({s.client_order_id for s in p.steps}) == 4
    assert "sliced" in p.constraints_applied
    fok = plan_of(bot.decide(RouteRequest(intent(size=D(100), order_type="FOK"), (), market(),
                                          book()), rt.context(bot, None)))
    assert len(fok.steps) == 1  # a FOK is never sliced


@given(size=st.integers(min_value=500, max_value=10_000_000).map(lambda n: D(n) / 100),
       child=st.integers(min_value=1, max_value=5000).map(D))
@settings(max_examples=200, deadline=None)
def test_slices_sum_exactly_and_respect_minimum(size: Decimal, child: Decimal) -> None:
    bot = SmartRouter()
    bot._max_child, bot._max_children = child, 10  # noqa: SLF001 - property test of the helper
    parts = bot._slices(size, D(5))  # noqa: SLF001
    assert sum(parts, D(0)) == size
    assert all(p >= D(5) for p in parts) and len(parts) <= 10
    assert all(p == p.quantize(D("0.01")) for p in parts)


# -- through the runtime -------------------------------------------------------------------------

def test_one_envelope_per_decide_and_advisory(runtime: Runtime, router: SmartRouter) -> None:
    before = runtime.journal.head()[0]
    out = runtime.decide(router, RouteRequest(intent(), (), market(), book()),
                         correlation_id="oc_test000001")
    assert runtime.journal.head()[0] == before + 1
    assert out.entry is not None and out.entry.envelope.kind == "execution_plan"
    assert out.entry.envelope.correlation_id == "oc_test000001"
    assert out.effective is not None
    bad = runtime.decide(router, RouteRequest(intent(), (), None, None))
    assert runtime.journal.head()[0] == before + 2
    assert bad.entry is not None and bad.entry.envelope.reason_code == "EXEC_BAD_INTENT"
    assert bad.entry.envelope.payload["detail"]["field"] == "market"
    runtime.set_mode(router.bot_id, Mode.ADVISORY)
    n = runtime.journal.head()[0]
    adv = runtime.decide(router, RouteRequest(intent(), (), market(), book()))
    assert runtime.journal.head()[0] == n + 1
    assert adv.effective is None and adv.decision is not None and adv.decision.output is not None

