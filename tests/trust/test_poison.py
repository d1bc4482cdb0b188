"""Poison: envelopes that validate but that no projection can make sense of, written as the
running system writes (through a Runtime that holds the session on a trusted journal).

No reader may crash on them: each exits 0 or 1 without a traceback, and `journal verify` names
every payload a projection had to skip. The running system keeps stepping too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from factories import make_trusted_runtime
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from trust_tools import T0, cli, copy_journal

from polytraders.contracts import FillRecord, Incident, Note, OrderRecord
from polytraders.contracts.envelope import Actor
from polytraders.engine.demo import DEMO_START_MS, STEP_MS, sim_genesis
from polytraders.engine.kill_switch_ops import halt_path
from polytraders.engine.system import WALLET, SystemConfig, TradingSystem
from polytraders.journal.sqlite import create_journal
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import SYSTEM, Runtime
from polytraders.venues.sim import SimVenue

M1 = "0x" + "ab" * 32
TOKEN = "7" * 20
OLM = Actor(kind="bot", id="exec.order_lifecycle_manager")


def _wallet_without_pusd(rt: Runtime) -> int:
    return rt.note("GOV_WALLET_BALANCE", actor=WALLET, source="sim").seq


def _wallet_pusd(value: Any) -> Callable[[Runtime], int]:
    def write(rt: Runtime) -> int:
        return rt.note("GOV_WALLET_BALANCE", actor=WALLET, pusd=value, source="sim").seq
    return write


def _absurd_fill(rt: Runtime) -> int:
    """A fill of 1e30 shares at 0.9999 with a 1e30 fee, for an order nobody placed."""
    fill = FillRecord(trade_id="t" * 200, client_order_id="nobody's order", market_id=M1, token_id=TOKEN,
                      side="SELL", price=Decimal("0.9999"), size=Decimal("1e30"), fee_pusd=Decimal("1e30"),
                      liquidity="taker", settlement="MATCHED", ts_ms=T0)
    return rt.record(fill, actor=OLM, reason_code="EXEC_FILL").seq


def _unknown_order_record(rt: Runtime) -> int:
    """An order record for an order never created, filled far past its size, with no previous."""
    rec = OrderRecord(client_order_id="ghost", intent_id="none", strategy_id="strat.nobody", market_id=M1,
                      token_id=TOKEN, side="BUY", price=Decimal("0.5"), size=Decimal("1"),
                      filled=Decimal("1e30"), order_type="GTC", status="filled")
    return rt.record(rec, actor=OLM, reason_code="EXEC_RESTING").seq


def _mode_without_bot(rt: Runtime) -> int:
    return rt.note("GOV_MODE_CHANGED", mode="warp-speed").seq


def _anomaly_without_fields(rt: Runtime) -> int:
    return rt.note("EXEC_VENUE_ANOMALY", weird=[1, 2, 3]).seq


def _incident_with_string_steps(rt: Runtime) -> int:
    inc = Incident(incident_id="inc_poison", priority="P0", trigger="manual", status="open", commander="nobody",
                   title="poison", detail={"steps": "not a list", "step": {"a": 1}})
    return rt.record(inc, actor=Actor(kind="bot", id="gov.incident_commander"),
                     reason_code="GOV_INCIDENT_DECLARED").seq


def _incident_step_for_nothing(rt: Runtime) -> int:
    return rt.note("GOV_INCIDENT_STEP", incident_id=["not", "a", "string"], step={"x": 1}).seq


POISONS: dict[str, Callable[[Runtime], int]] = {
    "wallet-without-pusd": _wallet_without_pusd,
    "wallet-pusd-nan": _wallet_pusd("NaN"),
    "wallet-pusd-infinity": _wallet_pusd("-Infinity"),
    "wallet-pusd-text": _wallet_pusd("lots"),
    "wallet-pusd-object": _wallet_pusd({"amount": 5}),
    "wallet-pusd-huge-exponent": _wallet_pusd("1e999999999"),
    "absurd-fill": _absurd_fill,
    "unknown-order-record": _unknown_order_record,
    "mode-without-bot": _mode_without_bot,
    "anomaly-without-fields": _anomaly_without_fields,
    "incident-with-string-steps": _incident_with_string_steps,
    "incident-step-for-nothing": _incident_step_for_nothing,
}

READERS: dict[str, list[str]] = {
    "killswitch status": ["killswitch", "status"],
    "killswitch status --json": ["killswitch", "status", "--json"],
    "positions": ["positions"],
    "positions --json": ["positions", "--json"],
    "orders": ["orders"],
    "orders --json": ["orders", "--json"],
    "snapshot": ["snapshot"],
    "snapshot --json": ["snapshot", "--json"],
    "incidents list": ["incidents", "list"],
    "journal verify": ["journal", "verify"],
    "journal tail": ["journal", "tail", "-n", "50"],
    "killswitch history": ["killswitch", "history"],
    "operators list": ["operators", "list"],
    "board": ["board"],
}


def build(path: Path, poisons: list[Callable[[Runtime], int]]) -> list[int]:
    """A trusted journal where the running system wrote `poisons` (plus a little ordinary life
    around them) and then shut down cleanly with a final digest."""
    clock = SimClock(T0)
    rt, _ = make_trusted_runtime(path, clock)
    rt.note("GOV_WALLET_BALANCE", actor=WALLET, pusd="1000", source="sim")
    seqs = []
    for poison in poisons:
        clock.advance(1_000)
        seqs.append(poison(rt))
    clock.advance(1_000)
    rt.note("GOV_WALLET_BALANCE", actor=WALLET, pusd="900", source="sim")
    rt.note("GOV_RUN_STOPPED", durable=True)
    rt.record(rt.state.checkpoint_contract(), actor=SYSTEM, reason_code="GOV_CHECKPOINT", durable=True)
    rt.write_digest(final=True)
    rt.journal.close()
    return seqs


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("poison") / "poisoned.db"
    seqs = build(path, list(POISONS.values()))
    return path, dict(zip(POISONS, seqs, strict=True))


def no_crash(args: list[str]) -> Any:
    ran = cli(args)
    assert ran.code in (0, 1), ran.text[-800:]
    assert "Traceback" not in ran.text, ran.text[-800:]
    return ran


WALLET_OVERFLOW_BUG = (
    "BUG: 'polytraders positions' crashes with a decimal.Overflow traceback after the wallet reads "
    "pusd='NaN' then pusd='1e999999999' and any fill: PortfolioProjection takes a non-finite read "
    "(NaN) as cash, so the next out-of-range read is not caught in the fold (NaN arithmetic does "
    "not overflow) and becomes cash; the reader's equity sum (portfolio.py _aggregates, "
    "'equity += value') then overflows outside the fold's skip guard")


@pytest.mark.parametrize("reader", list(READERS))
def test_no_reader_crashes_on_a_journal_full_of_poison(poisoned: tuple[Path, dict[str, int]], tmp_path: Path,
                                                       reader: str) -> None:
    db = copy_journal(poisoned[0], tmp_path / "p.db")
    ran = no_crash([*READERS[reader], "--db", str(db)])
    if reader.endswith("--json"):
        json.loads(ran.out)


def test_verify_is_intact_and_lists_every_skipped_payload(poisoned: tuple[Path, dict[str, int]],
                                                          tmp_path: Path) -> None:
    db = copy_journal(poisoned[0], tmp_path / "p.db")
    ran = no_crash(["journal", "verify", "--db", str(db), "--json"])
    report = json.loads(ran.out)
    assert ran.code == 0 and report["ok"], "poison written by the system is not tampering"
    assert report["refused_entries"] == []
    skipped = {s["seq"] for s in report["skipped_payloads"]}
    for name in ("wallet-without-pusd", "wallet-pusd-text", "wallet-pusd-object", "incident-with-string-steps"):
        assert poisoned[1][name] in skipped, (name, report["skipped_payloads"])
    assert all(s["reason_code"] == "GOV_PAYLOAD_SKIPPED" for s in report["skipped_payloads"])
    text = cli(["journal", "verify", "--db", str(db)])
    assert f"skipped payload at seq {poisoned[1]['wallet-without-pusd']}" in text.out


def test_verify_lists_a_mode_change_the_modes_projection_skipped(poisoned: tuple[Path, dict[str, int]],
                                                                  tmp_path: Path) -> None:
    db = copy_journal(poisoned[0], tmp_path / "p.db")
    report = json.loads(no_crash(["journal", "verify", "--db", str(db), "--json"]).out)
    assert poisoned[1]["mode-without-bot"] in {s["seq"] for s in report["skipped_payloads"]}


def test_a_full_fold_skips_the_mode_change_in_the_modes_projection(poisoned: tuple[Path, dict[str, int]]) -> None:
    """The control for the verify bug: a fold with every projection (what a process does) skips
    and reports it, and does not raise."""
    from polytraders.journal.sqlite import open_journal
    from polytraders.runtime.clock import WallClock
    from polytraders.state.standard import build_state

    with open_journal(poisoned[0], readonly=True) as j:
        rt = Runtime(j, WallClock(), build_state())
        rt.state.rebuild(j, use_checkpoint=False)
    skipped = {(s["seq"], s["projection"]) for s in rt.state.skipped}
    assert (poisoned[1]["mode-without-bot"], "modes") in skipped


def _small_fill(rt: Runtime) -> int:
    fill = FillRecord(trade_id="t1", client_order_id="c1", market_id=M1, token_id=TOKEN, side="BUY",
                      price=Decimal("0.5"), size=Decimal("10"), liquidity="maker", ts_ms=T0)
    return rt.record(fill, actor=OLM, reason_code="EXEC_FILL").seq


def test_positions_survive_a_nan_then_out_of_range_wallet_read(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    build(db, [_wallet_pusd("NaN"), _wallet_pusd("1e999999999"), _small_fill])
    no_crash(["positions", "--db", str(db)])


@pytest.mark.parametrize("name", list(POISONS))
def test_each_poison_alone_crashes_no_reader(tmp_path: Path, name: str) -> None:
    """One poison at a time, so a crash names its cause."""
    db = tmp_path / "one.db"
    build(db, [POISONS[name]])
    for reader in ("killswitch status", "positions", "orders", "snapshot", "incidents list", "journal verify"):
        no_crash([*READERS[reader], "--db", str(db)])


def test_a_skipped_wallet_read_does_not_move_the_cash(tmp_path: Path) -> None:
    """The reads around the poison still count: the last good read is the cash."""
    db = tmp_path / "w.db"
    build(db, [_wallet_without_pusd, _wallet_pusd("lots")])
    ran = no_crash(["positions", "--json", "--db", str(db)])
    assert "900" in ran.out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detail=st.dictionaries(st.sampled_from(["pusd", "source", "incident_id", "step", "bot_id", "mode",
                                               "client_order_id", "event", "summary"]),
                              st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
                                           | st.text(max_size=20) | st.floats(allow_nan=False, allow_infinity=False),
                                           lambda c: st.lists(c, max_size=3)
                                           | st.dictionaries(st.text(max_size=5), c, max_size=3),
                                           max_leaves=6), max_size=5),
       code=st.sampled_from(["GOV_WALLET_BALANCE", "GOV_MODE_CHANGED", "GOV_INCIDENT_STEP", "GOV_INCIDENT_RESOLVED",
                             "GOV_RCA_RECORDED", "EXEC_VENUE_ANOMALY"]))
@example(detail={"pusd": None, "bot_id": None, "mode": None}, code="GOV_MODE_CHANGED")  # made checkpoints unwritable
def test_any_note_detail_is_folded_without_raising(tmp_path_factory: pytest.TempPathFactory,
                                                   detail: dict[str, Any], code: str) -> None:
    """A fresh fold (what every reader does first) never raises on a note's detail."""
    from polytraders.journal.sqlite import open_journal
    from polytraders.runtime.clock import WallClock
    from polytraders.state.standard import build_state

    db = tmp_path_factory.mktemp("fuzz") / "f.db"
    build(db, [lambda rt: rt.record(Note(detail=detail), actor=WALLET if code == "GOV_WALLET_BALANCE" else SYSTEM,
                                    reason_code=code).seq])
    with open_journal(db, readonly=True) as j:
        rt = Runtime(j, WallClock(), build_state())
        rt.state.rebuild(j)
        rt.state.snapshot()


# -- the running system --------------------------------------------------------------------------

def test_the_running_system_keeps_stepping_after_poison(tmp_path: Path) -> None:
    path = tmp_path / "sys.db"
    genesis, system_key = sim_genesis(11, "calm", DEMO_START_MS)
    journal = create_journal(path, genesis, synchronous="NORMAL")
    system = TradingSystem(journal, SimVenue(11, 3, DEMO_START_MS), SystemConfig(
        seed=11, n_markets=3, start_ms=DEMO_START_MS, system_signer=system_key, halt_path=halt_path(path)))
    system.start()
    now = DEMO_START_MS
    for _ in range(20):
        now += STEP_MS
        system.step(now)
    seqs = [poison(system.runtime) for poison in POISONS.values()]
    for _ in range(30):
        now += STEP_MS
        system.step(now)
    system.stop()
    journal.close()
    skipped = {s["seq"] for s in system.state.skipped}
    assert poisoned_seq_in(seqs, skipped)
    ran = no_crash(["journal", "verify", "--db", str(path), "--json"])
    assert json.loads(ran.out)["ok"] is True
    for reader in ("killswitch status", "orders", "snapshot", "incidents list"):  # positions: see the bug above
        no_crash([*READERS[reader], "--db", str(path)])


def poisoned_seq_in(seqs: list[int], skipped: set[int]) -> bool:
    return seqs[0] in skipped  # the wallet read without pusd
