"""The as-of-trigger picture is read when the trip is folded and written out later: what folds
after the trip (a reset that uses a request, cancels, a new trip) must not leak into it."""

from __future__ import annotations

from pathlib import Path

from factories import make_trusted_runtime

from polytraders.contracts import Scope
from polytraders.engine.kill_switch_ops import approve_reset, kill_switch_config, manual_trip, request_reset
from polytraders.incidents.snapshot import capture_as_of, capture_as_of_now, hold_as_of_now
from polytraders.runtime.clock import SimClock


def test_a_held_picture_is_the_state_at_the_trip_not_when_it_is_written(tmp_path: Path) -> None:
    rt, ops = make_trusted_runtime(tmp_path / "j.db", SimClock(1_700_000_000_000))
    config = kill_switch_config(rt.journal)
    first = manual_trip(rt, ops["alice"], Scope(), "first")
    request_id = request_reset(rt, ops["alice"], first, config)  # open, not yet used
    second = manual_trip(rt, ops["carol"], Scope(), "second")
    trip_seq = rt.state.last_seq
    held = hold_as_of_now(rt)
    taken_then = capture_as_of_now(rt)
    # later folds: the open request is used, the first trip reset, a third trip made
    approve_reset(rt, ops["bob"], request_id, config)
    third = manual_trip(rt, ops["alice"], Scope(), "third")
    assert rt.kill_switch.requests[request_id]["used"] and first not in rt.kill_switch.active
    picture = held.picture()
    assert picture == taken_then
    ks = picture["kill_switch"]
    assert picture["seq"] == trip_seq and sorted(ks["active"]) == sorted([first, second])
    assert ks["requests"][request_id]["used"] is False and third not in ks["active"]
    assert ks["history_total"] == 2
    # the parts the journal rebuilds when no listener saw the trip are the same
    rebuilt = capture_as_of(rt.journal, trip_seq)
    for part in ("seq", "positions", "open_orders", "in_flight_orders"):
        assert rebuilt[part] == picture[part], part
    assert held.picture() is picture  # written out once


def test_held_positions_are_the_records_as_of_the_hold_not_when_written(tmp_path: Path) -> None:
    from polytraders.engine.demo import DEMO_START_MS, sim_genesis
    from polytraders.engine.system import SystemConfig, TradingSystem
    from polytraders.journal.sqlite import create_journal
    from polytraders.venues.sim import SimVenue

    genesis, key = sim_genesis(7, "held", DEMO_START_MS)
    system = TradingSystem(create_journal(tmp_path / "j.db", genesis, synchronous="NORMAL"),
                           SimVenue(7, 4, DEMO_START_MS),
                           SystemConfig(seed=7, n_markets=4, start_ms=DEMO_START_MS, system_signer=key))
    system.start()
    second = 0
    while not any(p.size for p in system.portfolio.positions()):  # trade until something is held
        second += 1
        assert second < 600, "no fill in ten simulated minutes"
        system.step(DEMO_START_MS + second * 1000)
    held = hold_as_of_now(system.runtime)
    then = [p.to_json_dict() for p in system.portfolio.positions()]
    marks_then = [p["mark_price"] for p in then]
    for s in range(second + 1, second + 121):  # books move, orders fill: marks and lots change
        system.step(DEMO_START_MS + s * 1000)
    assert [p.to_json_dict() for p in system.portfolio.positions()] != then, "the state moved on"
    assert held.picture()["positions"] == then and [p["mark_price"] for p in then] == marks_then
    system.stop()
