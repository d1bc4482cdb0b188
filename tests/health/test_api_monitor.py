"""gov.api_degradation_monitor and the API-degraded playbook: level rules with hysteresis and
unknown-when-stale, the ten-green-minutes restore (with a relapse at minute 9), restoring each
bot's previous mode, cancelling only unreadable markets, refusing bad thresholds."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.bots.gov.api_degradation_monitor import ApiDegradationMonitor, raw_level
from polytraders.contracts import ApiHealthSummary
from polytraders.engine.demo import DEMO_START_MS, sim_genesis
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.errors import ConfigError
from polytraders.health.sampler import HealthSampler
from polytraders.journal.sqlite import create_journal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.config import build_config
from polytraders.runtime.kinds import Mode
from polytraders.state.api_health import ApiHealthProjection
from polytraders.venues.sim import SimVenue
from polytraders.venues.sim.faults import FaultPlan

MIN = 60_000
T0 = DEMO_START_MS


def summary(at: int, *, n: int = 20, errors: int = 0, p99: int | None = 100, last: int | None = None,
            surface: str = "clob_rest") -> ApiHealthSummary:
    rate = Decimal(errors * 100) / Decimal(n) if n else Decimal(0)
    return ApiHealthSummary(surface=surface, at_ms=at, short_window_ms=60_000, long_window_ms=600_000,
                            samples_short=n, errors_short=errors, error_rate_short_pct=rate.quantize(Decimal("0.01")),
                            error_rate_long_pct=Decimal(0), p50_ms=p99, p99_ms=p99,
                            last_sample_ms=at if last is None else last, last_success_ms=at)


def config(**overrides: Any) -> Any:
    cfg, _ = build_config(ApiDegradationMonitor.bot_id, ApiDegradationMonitor.params, overrides)
    return cfg


def test_raw_levels_and_silence_is_never_ok() -> None:
    cfg = config()
    assert raw_level(summary(T0).to_json_dict(), cfg, T0) == "ok"
    assert raw_level(summary(T0, errors=1).to_json_dict(), cfg, T0) == "warning"  # 5 %
    assert raw_level(summary(T0, errors=4).to_json_dict(), cfg, T0) == "hard"  # 20 %
    assert raw_level(summary(T0, p99=1_600).to_json_dict(), cfg, T0) == "warning"
    assert raw_level(summary(T0, p99=6_000).to_json_dict(), cfg, T0) == "hard"
    assert raw_level(summary(T0, n=2).to_json_dict(), cfg, T0) == "unknown"  # too few samples
    stale = summary(T0 + 40_000, last=T0).to_json_dict()
    assert raw_level(stale, cfg, T0 + 40_000) == "unknown"  # newest sample 40 s old > stale_ms


def decide_all(summaries: list[ApiHealthSummary], **overrides: Any) -> list[str]:
    """Feed summaries through the bot as the runtime would (projection first); return level changes."""
    from polytraders.contracts.envelope import Actor, ReportEnvelope
    from polytraders.journal.base import JournalEntry
    from polytraders.runtime.context import BotContext
    from polytraders.state.kill_switch import KillSwitchProjection
    from polytraders.state.store import StateStore

    bot = ApiDegradationMonitor()
    bot.init(config(**overrides))
    proj = ApiHealthProjection()
    store = StateStore([proj])
    changes = []
    for i, s in enumerate(summaries, start=1):
        env = ReportEnvelope.wrap(s, actor=Actor(kind="system", id="t"), reason_code="GOV_API_SUMMARY", ts_ms=s.at_ms)
        proj.apply(JournalEntry(2 * i, "", "", env))
        ctx = BotContext(clock=SimClock(s.at_ms), config=bot.config, state=store, kill_switch=KillSwitchProjection(),
                         correlation_id=None, builder_code="")
        out = bot.decide(s, ctx).output
        if out is not None and hasattr(out, "level"):
            proj.apply(JournalEntry(2 * i + 1, "", "", ReportEnvelope.wrap(
                out, actor=Actor(kind="bot", id=bot.bot_id), reason_code="GOV_API_OK", ts_ms=s.at_ms)))
            changes.append(out.level)
    return changes


def test_hysteresis_one_bad_or_good_summary_changes_nothing() -> None:
    good = [summary(T0 + i * 10_000) for i in range(3)]
    one_bad = [summary(T0 + 30_000, errors=10)]
    back_good = [summary(T0 + 40_000 + i * 10_000) for i in range(2)]
    assert decide_all(good + one_bad + back_good) == ["ok"]  # the lone bad summary raised nothing
    bad = [summary(T0 + 30_000 + i * 10_000, errors=10) for i in range(3)]
    one_good = [summary(T0 + 60_000)]
    assert decide_all(good + bad + one_good) == ["ok", "hard"]  # and one good one cleared nothing
    assert decide_all(good + bad + [summary(T0 + 60_000), summary(T0 + 70_000)]) == ["ok", "hard", "ok"]
    assert decide_all(good + [summary(T0 + 30_000, n=0), summary(T0 + 40_000, n=0)]) == ["ok", "unknown"]


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"warn_error_pct": 30}, "outside"),  # past the hard limit of 25
    ({"warn_error_pct": 24, "hard_error_pct": 21}, "above hard_error_pct"),
    ({"short_window_s": 60, "summary_interval_s": 61}, "hard"),
    ({"short_window_s": 60, "probe_interval_s": 30, "summary_interval_s": 60}, None),
    ({"probe_interval_s": 30, "short_window_s": 20}, "shorter than"),
])
def test_bad_thresholds_are_refused_with_a_reason(overrides: dict[str, Any], problem: str | None) -> None:
    bot = ApiDegradationMonitor()
    if problem is None:
        bot.init(config(**overrides))
        return
    with pytest.raises(ConfigError):
        bot.init(config(**overrides))


def test_a_refused_config_is_journaled(tmp_path: Path, trusted_runtime: Any) -> None:
    rt, _ = trusted_runtime(tmp_path / "c.db", SimClock(T0))
    with pytest.raises(ConfigError, match="above hard_error_pct"):
        rt.add_bot(ApiDegradationMonitor(), {"warn_error_pct": 24, "hard_error_pct": 21})
    last = rt.journal.tail(1)[0].envelope
    assert last.reason_code == "GOV_CONFIG_REFUSED" and last.payload["detail"]["bot_id"] == ApiDegradationMonitor.bot_id


def api_system(tmp_path: Path, plan: FaultPlan, *, strategy_mode: Mode = Mode.ENFORCED,
               green_s: int = 600, **monitor: Any) -> TradingSystem:
    genesis, key = sim_genesis(3, tmp_path.name, T0)
    journal = create_journal(tmp_path / "api.db", genesis, synchronous="NORMAL")
    venue = SimVenue(3, 4, T0)
    venue.set_faults(plan)
    system = TradingSystem(journal, venue, SystemConfig(
        seed=3, n_markets=4, start_ms=T0, system_signer=key, api_monitor=True, strategy_mode=strategy_mode,
        bot_overrides={"gov.api_degradation_monitor": {"green_before_promote_s": green_s, **monitor}}))
    system.start()
    return system


def run_minutes(system: TradingSystem, start_s: int, end_s: int) -> None:
    for second in range(start_s, end_s):
        system.step(T0 + second * 1000)


def hold_events(system: TradingSystem) -> list[tuple[int, str]]:
    return [(e.envelope.ts_ms - T0, e.envelope.payload["detail"]["action"])
            for e in system.runtime.journal.read(kinds=["note"])
            if e.envelope.reason_code == "GOV_MODE_HOLD" and e.envelope.actor.id == "playbook:api_degraded"]


def outage(plan: FaultPlan, start_min: float, end_min: float) -> FaultPlan:
    s, e = int(T0 + start_min * MIN), int(T0 + end_min * MIN)
    return plan.transport_errors("submit", 503, start_ms=s, end_ms=e).transport_errors("cancel", 503, start_ms=s,
                                                                                       end_ms=e)


def test_ten_green_minutes_and_a_relapse_at_minute_nine_restarts_the_clock(tmp_path: Path) -> None:
    plan = outage(outage(FaultPlan(), 2, 4), 13, 13.5)  # recovers ~minute 4-5; relapses at minute 13 (9 in)
    system = api_system(tmp_path, plan)
    run_minutes(system, 1, 40 * 60)
    events = hold_events(system)
    assert [a for _, a in events] == ["place", "release"], events
    placed, released = events[0][0], events[1][0]
    assert 2 * MIN <= placed <= 3 * MIN
    levels = [(e.envelope.ts_ms - T0, e.envelope.payload["level"]) for e in system.runtime.journal.read(
        kinds=["gov_api_health"]) if e.envelope.payload["surface"] == "clob_rest"]
    first_ok = next(t for t, lv in levels if lv == "ok" and t > placed)
    relapse_ok = next(t for t, lv in levels if lv == "ok" and t > 13 * MIN)
    assert first_ok + 10 * MIN > 13 * MIN  # without the relapse it would have restored before it
    assert released >= relapse_ok + 10 * MIN and released < relapse_ok + 11 * MIN
    assert system.strategy.mode is Mode.ENFORCED


def test_restore_brings_back_each_bots_previous_mode_not_enforced(tmp_path: Path) -> None:
    system = api_system(tmp_path, outage(FaultPlan(), 2, 3), strategy_mode=Mode.SHADOW, green_s=60)
    run_minutes(system, 1, 3 * 60)
    assert system.strategy.mode is Mode.SHADOW  # held at advisory, but shadow is stricter still
    modes = system.runtime.state.find("modes")
    assert modes is not None and modes.holds_of("strat.maker_tight") == {"playbook:api_degraded": "advisory"}  # type: ignore[attr-defined]
    run_minutes(system, 3 * 60, 8 * 60)
    assert modes.holds_of("strat.maker_tight") == {}  # type: ignore[attr-defined]
    assert system.strategy.mode is Mode.SHADOW


def test_a_playbook_restore_never_undoes_a_kill_switch_halt(tmp_path: Path) -> None:
    from polytraders.contracts import Scope
    from polytraders.engine.kill_switch_ops import manual_trip
    from polytraders.operators.auth import Operator

    system = api_system(tmp_path, outage(FaultPlan(), 2, 3), green_s=60)
    run_minutes(system, 1, 150)
    manual_trip(system.runtime, Operator("root", "admin"), Scope(), "drill during an API outage")
    run_minutes(system, 150, 8 * 60)
    assert [a for _, a in hold_events(system)] == ["place", "release"]
    assert system.strategy.mode is Mode.OFF  # the kill switch's own hold stays


def test_cancel_touches_only_markets_whose_freshness_cannot_be_read(tmp_path: Path) -> None:
    from polytraders.health.playbook import cancel_unreadable_markets
    from polytraders.incidents.engine import IncidentContext

    stale = SimVenue(3, 4, T0).markets()[0]  # the same seed lists the same markets
    # the first market's book stops updating at 90 s while the others keep going
    # the monitor never decides here (too few samples ever): the step is driven by hand
    system = api_system(tmp_path, FaultPlan().freeze_feed(stale.condition_id, start_ms=T0 + 90_000),
                        min_samples=10**6)
    run_minutes(system, 1, 120)
    # the feed as a whole is readable; only one market's book is stale
    system.state.typed("api_health", ApiHealthProjection).level["clob_ws_market"] = "ok"
    markets = system.venue.markets()
    open_before = {o.client_order_id: o.market_id for o in system.orders.open_orders()}
    assert {m for m in open_before.values()} >= {stale.condition_id, markets[1].condition_id}
    ctx = IncidentContext("inc_t", None, None, "clob_ws_market_warning", None, system.runtime,  # type: ignore[arg-type]
                          None, system.runtime.bots["risk.kill_switch"].bot_id, {"olm": system.olm,  # type: ignore[arg-type]
                          "max_orderbook_age_ms": 5_000}, None)
    result = cancel_unreadable_markets(ctx)
    assert result.ok and result.detail["markets"] == [stale.condition_id]
    assert sorted(result.detail["cancelled"]) == sorted(c for c, m in open_before.items() if m == stale.condition_id)


def test_sampling_is_cheap_and_bounded() -> None:
    sampler = HealthSampler()
    for i in range(50_000):
        sampler.record("clob_rest", T0 + i, 3, i % 10 != 0, 200)
    f = sampler.summarise("clob_rest", T0 + 50_000, 10_000, 600_000)
    assert f.samples_short == 10_000 and f.error_rate_short_pct == Decimal("10.00")
