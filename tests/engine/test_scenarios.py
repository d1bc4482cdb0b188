"""End to end: each kill-switch scenario trips for every trigger it declares (each trip checked,
not only the first), runs the playbook in order, replays to MATCH and drills the two-person reset;
the accounting identity holds at every step of every scenario; the demo is reproducible."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.engine.scenarios import SCENARIOS, register
from polytraders.engine.system import TradingSystem
from polytraders.journal import SqliteJournal

UNIVERSAL = ("confirm", "capture_state", "open_incident_and_assign_commander")
# Decimal products and sums run at the process's 28-digit precision, so two exact paths to the
# same equity can differ in the 24th decimal; anything at a millionth of a pUSD is a real error.
IDENTITY_TOLERANCE = Decimal("1e-12")


class IdentityCheck:
    """Test hook: equity = initial + deposits − withdrawals + adjustments + realised + unrealised,
    checked after every simulated second."""

    def __init__(self) -> None:
        self.steps = 0
        self.failures: list[tuple[int, dict[str, Decimal]]] = []
        self.seen_transfer = False

    def __call__(self, system: TradingSystem) -> None:
        books = system.portfolio.accounting()
        if books is None:
            return
        self.steps += 1
        rhs = (books["initial"] + books["deposits"] - books["withdrawals"] + books["adjustments"]
               + books["realised"] + books["unrealised"])
        if abs(books["equity"] - rhs) > IDENTITY_TOLERANCE:
            self.failures.append((system.clock.now_ms(), books))
        self.seen_transfer |= books["deposits"] > 0 or books["withdrawals"] > 0


def run(tmp_path: Path, scenario: str, minutes: int, seed: int = 11,
        check: IdentityCheck | None = None) -> dict[str, Any]:
    return run_demo(DemoArgs(minutes=minutes, markets=8, seed=seed, db=tmp_path / "j.db",
                             scenario=scenario), after_step=check)


def check_trips(tmp_path: Path, out: dict[str, Any], expected: tuple[str, ...]) -> None:
    """Every trip (not just the first) opened its own incident, ran the playbook in order and
    replayed to MATCH; the distinct triggers, in order, are the ones the scenario declares."""
    trips = out["kill_switch"]["trips"]
    triggers = list(dict.fromkeys(t["trigger"] for t in trips))
    assert triggers == list(expected), trips
    by_trip = {i["trip_id"]: i for i in out["incidents"]}
    for trip in trips:
        incident = by_trip.get(trip["trip_id"])
        assert incident is not None, (trip, out["incidents"])
        steps = incident["steps"]
        ids = [s["id"] for s in steps]
        assert tuple(ids[:3]) == UNIVERSAL
        seqs = [s["seq"] for s in steps if s["seq"] is not None]
        assert seqs == sorted(seqs), "steps must run in playbook order"
        remedy_seqs = [s["seq"] for s in steps[3:] if s["kind"] == "auto" and s["seq"]]
        assert max(s["seq"] for s in steps[:3]) < min(remedy_seqs)
        assert incident["replay_verdict"] == "GOV_REPLAY_MATCH", incident
        snapshot = next(s for s in steps if s["id"] == "publish_positions_snapshot")
        assert (snapshot["status"] == "done") == trip["trigger"].startswith("drawdown")
        reset_step = next(s for s in steps if s["id"] == "reset_kill_switch")
        was_reset = trip["trip_id"] in {r["trip_id"] for r in out["kill_switch"]["resets"]}
        # the reset step closes on the journaled reset, and only then
        assert (reset_step["status"] == "done") == was_reset, (trip, reset_step)
    with SqliteJournal(tmp_path / "j.db") as j:
        assert j.verify().ok


@pytest.mark.parametrize("scenario", ["drawdown", "reject-spike", "feed-loss", "wallet-short"])
def test_kill_switch_scenario_end_to_end(tmp_path: Path, scenario: str) -> None:
    spec = SCENARIOS[scenario]
    check = IdentityCheck()
    out = run(tmp_path, scenario, spec.min_minutes, check=check)
    assert check.steps >= spec.min_minutes * 60 - 5 and not check.failures, check.failures[:3]
    check_trips(tmp_path, out, spec.expected_trips)
    story = "\n".join(out["story"])
    assert "refused: Reset refused: the trigger condition is not clear" in story
    assert "alice made the request; a second, different person must approve it" in story
    assert "approved by bob" in story
    # every trip was reset by the drill, and only after refusals
    assert {r["trip_id"] for r in out["kill_switch"]["resets"]} == {t["trip_id"] for t in out["kill_switch"]["trips"]}
    assert out["kill_switch"]["active"] == []
    with SqliteJournal(tmp_path / "j.db") as j:
        codes = [e.envelope.reason_code for e in j.read()
                 if e.envelope.reason_code.startswith("RISK_KILLSWITCH_RESET")]
    assert codes.index("RISK_KILLSWITCH_RESET_REFUSED") < codes.index("RISK_KILLSWITCH_RESET")


def test_calm_keeps_the_accounting_identity_and_trips_nothing(tmp_path: Path) -> None:
    check = IdentityCheck()
    out = run(tmp_path, "calm", 8, check=check)
    assert check.steps >= 8 * 60 - 5 and not check.failures, check.failures[:3]
    assert out["kill_switch"]["trips"] == [] and SCENARIOS["calm"].expected_trips == ()
    assert out["fills"] > 0


def test_a_withdrawal_is_a_transfer_not_a_drawdown(tmp_path: Path) -> None:
    check = IdentityCheck()
    out = run(tmp_path, "wallet-short", SCENARIOS["wallet-short"].min_minutes, check=check)
    assert check.seen_transfer and not check.failures
    assert [t["trigger"] for t in out["kill_switch"]["trips"]] == ["wallet_funding"]
    moved = out["transfers"]
    assert Decimal(moved["withdrawals"]) > 9_000 and moved["deposits"] == moved["withdrawals"]
    assert Decimal(moved["adjustments"]) == 0  # every read agreed with the books
    # final equity is the start plus PnL, not inflated by the round trip of the money
    pnl = Decimal(out["pnl"]["realised_pusd"]) + Decimal(out["pnl"]["unrealised_pusd"])
    assert abs(Decimal(out["pnl"]["equity_pusd"]) - (Decimal(moved["initial"]) + pnl)) < Decimal("0.00001")
    assert Decimal(out["drawdown"]["intraday_pct"]) < 5
    with SqliteJournal(tmp_path / "j.db") as j:
        kinds = [(e.envelope.reason_code, e.envelope.payload["direction"]) for e in j.read(kinds=["transfer"])]
    assert kinds == [("GOV_WALLET_WITHDRAWAL", "withdrawal"), ("GOV_WALLET_DEPOSIT", "deposit")]


def test_drawdown_without_the_raised_weekly_limit_trips_twice(tmp_path: Path) -> None:
    """Why the drawdown scenario raises its weekly limit (its story says so): at the default 10 %
    the same drop also trips drawdown_weekly, whose reset stays refused all week."""
    assert SCENARIOS["drawdown"].bot_overrides["risk.kill_switch"]["drawdown_weekly_pct"] == 25
    assert "25%" in SCENARIOS["drawdown"].description
    register(dataclasses.replace(SCENARIOS["drawdown"], name="drawdown-default-weekly", bot_overrides={},
                                 expected_trips=("drawdown_intraday", "drawdown_weekly")))
    try:
        out = run(tmp_path, "drawdown-default-weekly", 31, seed=1)
    finally:
        del SCENARIOS["drawdown-default-weekly"]
    check_trips(tmp_path, out, ("drawdown_intraday", "drawdown_weekly"))
    weekly = next(t for t in out["kill_switch"]["trips"] if t["trigger"] == "drawdown_weekly")
    assert out["kill_switch"]["active"] == [weekly["trip_id"]]
    assert f"reset of {weekly['trip_id']} refused" in "\n".join(out["story"])


def _demo_hash(workdir: Path, scenario: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(len(str(workdir)))}  # different hash seeds
    proc = subprocess.run(
        [sys.executable, "-m", "polytraders.cli.main", "demo", "--minutes", "26", "--markets", "6",
         "--seed", "3", "--db", "demo.db", "--scenario", scenario, "--json"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=True)
    return str(json.loads(proc.stdout)["journal"]["head_hash"])


def test_same_seed_gives_the_same_head_hash_in_separate_processes(tmp_path: Path) -> None:
    # wallet-short: the scripted transfers are part of what must be deterministic
    (tmp_path / "a").mkdir()
    (tmp_path / "bb").mkdir()
    first = _demo_hash(tmp_path / "a", "wallet-short")
    assert len(first) == 64
    assert first == _demo_hash(tmp_path / "bb", "wallet-short")


def test_a_different_seed_gives_a_different_journal(tmp_path: Path) -> None:
    one = run_demo(DemoArgs(minutes=3, markets=4, seed=1, db=tmp_path / "1.db"))
    two = run_demo(DemoArgs(minutes=3, markets=4, seed=2, db=tmp_path / "2.db"))
    assert one["journal"]["head_hash"] != two["journal"]["head_hash"]
    assert one["orders"]["total"] > 0 and one["fills"] > 0 and two["fills"] > 0
