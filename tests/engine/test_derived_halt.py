"""The kill switch's halt of Trade-authority bots follows from the active trips: placed by the trip
as it is folded (in this process or another), released by the reset, never journaled as a hold;
other sources' holds stay their own; journals from before, with kill-switch hold notes, still fold
and release as they did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import make_trusted_runtime, operator_key, reopen_runtime, signed_reset

from polytraders.contracts import Scope
from polytraders.engine.kill_switch_ops import manual_trip
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.clock import SimClock
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer, Mode
from polytraders.runtime.runner import Runtime
from polytraders.state.modes import KILL_SWITCH_SOURCE, ModesProjection, with_kill_switch_holds

T0 = 1_767_225_600_000


class Trader(Bot[Any, Any]):
    bot_id = "strat.test_trader"
    layer = Layer.STRATEGY
    bot_class = "Strategy"
    authority = frozenset({Authority.TRADE})
    reason_codes = ("STRAT_EDGE_DETECTED",)

    def decide(self, input: Any, ctx: BotContext) -> Decision[Any]:
        return Decision(None, "STRAT_EDGE_DETECTED")


class OtherTrader(Trader):
    bot_id = "strat.other_trader"


class Watcher(Trader):
    bot_id = "gov.test_watcher"
    layer = Layer.GOVERNANCE
    bot_class = "Governance Service"
    authority = frozenset({Authority.OBSERVE})


def system(tmp_path: Path) -> tuple[Runtime, dict[str, Any]]:
    rt, ops = make_trusted_runtime(tmp_path / "j.db", SimClock(T0))
    for cls in (Trader, OtherTrader, Watcher):
        rt.add_bot(cls())
    return rt, ops


def modes_of(rt: Runtime) -> dict[str, str]:
    return {b: bot.mode.value for b, bot in sorted(rt.bots.items())}


def hold_notes(rt: Runtime) -> list[Any]:
    rt.journal.flush()
    return [e for e in rt.journal.read(kinds=["note"]) if e.envelope.reason_code == "GOV_MODE_HOLD"]


@pytest.mark.parametrize(("scope", "halted"), [
    (Scope(scope="global", value="*"), {"strat.test_trader", "strat.other_trader"}),
    (Scope(scope="strategy", value="strat.test_trader"), {"strat.test_trader"}),
    (Scope(scope="bot", value="strat.other_trader"), {"strat.other_trader"}),
    (Scope(scope="family", value="strat"), {"strat.test_trader", "strat.other_trader"}),
    (Scope(scope="family", value="gov"), set()),  # covers the watcher, which has no Trade authority
    (Scope(scope="cluster", value="strat.test_trader"), set()),  # rejects its own intents only
    (Scope(scope="market", value="0x" + "a" * 64), set()),
])
def test_a_trip_halts_the_trade_bots_it_covers_and_its_reset_restores_them(
        tmp_path: Path, scope: Scope, halted: set[str]) -> None:
    rt, ops = system(tmp_path)
    trip_id = manual_trip(rt, ops["root"], scope, "drill")
    assert {b for b, m in modes_of(rt).items() if m == "off"} == halted  # at the trip's own fold
    assert rt.halted_by_kill_switch() == sorted(halted)
    signed_reset(rt, trip_id, "manual")
    assert set(modes_of(rt).values()) == {"enforced"}
    assert rt.halted_by_kill_switch() == []
    assert hold_notes(rt) == [], "neither the halt nor its release is journaled as a hold"


def test_a_trip_from_another_process_halts_at_its_fold(tmp_path: Path) -> None:
    from polytraders.operators.auth import Operator

    rt, _ = system(tmp_path)
    rt.journal.flush()
    other = reopen_runtime(tmp_path / "j.db", SimClock(T0 + 1_000))
    other.state.rebuild(other.journal)
    trip_id = manual_trip(other, Operator("root", "admin", operator_key("root").signer),
                          Scope(scope="strategy", value="strat.other_trader"), "drill from another process")
    assert rt.bots["strat.other_trader"].mode is Mode.ENFORCED  # not folded yet
    assert rt.sync() >= 1
    assert modes_of(rt) == {"gov.test_watcher": "enforced", "strat.other_trader": "off",
                            "strat.test_trader": "enforced"}
    assert [t for t in rt.kill_switch.active] == [trip_id]
    assert hold_notes(rt) == []


def test_other_holds_stay_their_own(tmp_path: Path) -> None:
    rt, ops = system(tmp_path)
    rt.place_hold("strat.test_trader", "playbook:api_degraded", Mode.ADVISORY)
    assert rt.bots["strat.test_trader"].mode is Mode.ADVISORY
    trip_id = manual_trip(rt, ops["root"], Scope(scope="global", value="*"), "drill")
    assert rt.bots["strat.test_trader"].mode is Mode.OFF
    # the playbook restores during the trip: the kill switch's halt stays
    rt.release_hold("strat.test_trader", "playbook:api_degraded")
    assert rt.bots["strat.test_trader"].mode is Mode.OFF
    rt.place_hold("strat.test_trader", "playbook:api_degraded", Mode.ADVISORY)
    # a base-mode change during the trip does not lift it either
    rt.set_mode("strat.test_trader", Mode.ENFORCED)
    assert rt.bots["strat.test_trader"].mode is Mode.OFF
    signed_reset(rt, trip_id, "manual")
    assert rt.bots["strat.test_trader"].mode is Mode.ADVISORY, "the reset never undoes the playbook's demotion"


def test_an_in_memory_halt_is_obeyed_before_any_trip_is_journaled(tmp_path: Path) -> None:
    rt, _ = system(tmp_path)
    rt.kill_switch.external_halt = "halt file /x.halt"
    rt.apply_trade_modes()
    assert modes_of(rt) == {"gov.test_watcher": "enforced", "strat.other_trader": "off", "strat.test_trader": "off"}
    rt.set_mode("strat.test_trader", Mode.ENFORCED)  # a mode change folded meanwhile keeps the halt
    assert rt.bots["strat.test_trader"].mode is Mode.OFF


def test_a_journal_with_kill_switch_hold_notes_folds_as_before_and_the_hold_is_released_on_reset(
        tmp_path: Path) -> None:
    from polytraders.bots.risk.kill_switch import KillSwitch
    from polytraders.engine.protect import Guardian

    rt, ops = system(tmp_path)
    trip_id = manual_trip(rt, ops["root"], Scope(scope="global", value="*"), "drill")
    # what the guardian journaled before the halt was derived: one hold per Trade bot
    for bot_id in ("strat.test_trader", "strat.other_trader"):
        rt.place_hold(bot_id, KILL_SWITCH_SOURCE, Mode.OFF, reason=f"halted by kill switch {trip_id}")
    rt.journal.flush()
    reader = reopen_runtime(tmp_path / "j.db", SimClock(T0))
    reader.state.rebuild(reader.journal)
    modes = reader.state.typed("modes", ModesProjection)
    assert modes.holds_of("strat.test_trader") == {KILL_SWITCH_SOURCE: "off"}
    assert modes.effective("strat.test_trader") == "off"
    # a picture adds the derived hold on top: the same one, shown once
    picture = with_kill_switch_holds(modes.snapshot(), ["strat.test_trader"])
    assert picture["holds"]["strat.test_trader"] == {KILL_SWITCH_SOURCE: "off"}
    guardian = Guardian(rt, KillSwitch(), olm=None)
    signed_reset(rt, trip_id, "manual")
    assert rt.bots["strat.test_trader"].mode is Mode.OFF, "the old hold still holds until released"
    guardian._restore()
    assert set(modes_of(rt).values()) == {"enforced"}
    details = [e.envelope.payload["detail"] for e in hold_notes(rt)]
    releases = [d for d in details if d["action"] == "release"]
    assert sorted(d["bot_id"] for d in releases) == ["strat.other_trader", "strat.test_trader"]
    assert {d["source"] for d in releases} == {KILL_SWITCH_SOURCE}


def test_the_health_cli_knows_the_trade_bots_as_the_bot_classes_do() -> None:
    from polytraders.cli.health import trade_bot_ids
    from polytraders.config.catalog import system_bots

    trade = trade_bot_ids()
    assert "strat.maker_tight" in trade
    for bot_id, cls in system_bots().items():
        assert (bot_id in trade) == (Authority.TRADE in cls.authority), bot_id
