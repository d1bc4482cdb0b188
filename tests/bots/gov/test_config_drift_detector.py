"""gov.config_drift_detector's decisions on a real journal: each drift named once with bot,
field, both values and who changed it; resolved when it closes; unknown (never a match) when the
approved source is unusable; an unauthorised change reverted by the playbook."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from factories import make_trusted_runtime

from polytraders.bots.gov.config_drift_detector import ConfigDriftDetector, DriftCheck
from polytraders.config.catalog import defaults
from polytraders.contracts import Note
from polytraders.contracts.envelope import Actor
from polytraders.runtime.clock import SimClock

T0 = 1_767_571_200_000
BOT, FIELD = "risk.kill_switch", "drawdown_intraday_pct"


def setup(tmp_path: Path) -> tuple[Any, ConfigDriftDetector]:
    rt, _ = make_trusted_runtime(tmp_path / "d.db", SimClock(T0))
    detector = ConfigDriftDetector()
    rt.add_bot(detector)
    approved = {BOT: defaults(BOT)}
    rt.note("GOV_CONFIG_APPROVED_VERSION", commit="c" * 40, content_hash="h" * 64, values=approved)
    rt.note("GOV_CONFIG_LOADED", bot_id=BOT, config_version="cccccccccccc", values=defaults(BOT))
    return rt, detector


def check(rt: Any, detector: ConfigDriftDetector) -> tuple[str, dict[str, Any]]:
    out = rt.decide(detector, DriftCheck("interval"))
    return out.entry.envelope.reason_code, out.entry.envelope.payload["detail"]


def edit(rt: Any, who: str, value: str) -> None:
    rt.record(Note(detail={"bot_id": BOT, "field": FIELD, "value": value}), actor=Actor(kind="operator", id=who),
              reason_code="GOV_CONFIG_SET", durable=True)


def test_a_drift_is_named_once_then_resolved(tmp_path: Path) -> None:
    rt, detector = setup(tmp_path)
    assert check(rt, detector)[0] == "GOV_CONFIG_IN_SYNC"
    edit(rt, "carol", "9")
    code, d = check(rt, detector)
    assert code == "GOV_CONFIG_DRIFT" and d["unauthorised"] == 1
    [drift] = d["drifts"]
    assert (drift["bot_id"], drift["field"], drift["approved"], drift["running"], drift["changed_by"]) == \
        (BOT, FIELD, "5", "9", "operator:carol")
    assert f"{BOT}.{FIELD}: approved 5, running 9" in d["summary"]
    assert check(rt, detector)[0] == "GOV_CONFIG_DRIFT_ONGOING"
    edit(rt, "carol", "10")  # a new running value is a new drift
    assert check(rt, detector)[0] == "GOV_CONFIG_DRIFT"
    edit(rt, "carol", "5")
    code, d = check(rt, detector)
    assert code == "GOV_CONFIG_DRIFT_RESOLVED" and d["closed"][0]["field"] == FIELD
    assert check(rt, detector)[0] == "GOV_CONFIG_IN_SYNC"


def test_an_unusable_source_is_unknown_never_a_match(tmp_path: Path) -> None:
    rt, detector = setup(tmp_path)
    rt.note("GOV_CONFIG_SOURCE_INVALID", error="git rev-parse failed: not a git repository")
    code, d = check(rt, detector)
    assert code == "GOV_CONFIG_DRIFT_UNKNOWN" and "not a git repository" in d["error"]
    assert "not a match" in d["summary"]


def test_an_unauthorised_change_is_reverted(tmp_path: Path) -> None:
    from polytraders.config.ops import live_set
    from polytraders.engine.demo import sim_genesis
    from polytraders.engine.scenarios import _as, add_crew
    from polytraders.engine.system import SystemConfig, TradingSystem
    from polytraders.journal.sqlite import create_journal
    from polytraders.venues.sim import SimVenue

    genesis, key = sim_genesis(2, "rev", T0)
    system = TradingSystem(create_journal(tmp_path / "rev.db", genesis, synchronous="NORMAL"), SimVenue(2, 2, T0),
                           SystemConfig(seed=2, n_markets=2, start_ms=T0, system_signer=key,
                                        approved_config=tmp_path / "repo", approved_config_create=True))
    system.start()
    system.step(T0 + 60_000)
    add_crew(system)
    live_set(system.runtime, _as(system, "alice", "config.set"), BOT, FIELD, "12")
    assert system.kill_switch.config.integer(FIELD) == 12
    system.step(T0 + 61_000)
    assert system.kill_switch.config.integer(FIELD) == 5
    system.runtime.journal.flush()
    reverted = [e.envelope for e in system.runtime.journal.read() if e.envelope.reason_code == "GOV_CONFIG_REVERTED"]
    assert len(reverted) == 1 and reverted[0].actor.id == "playbook:config_drift"
    d = reverted[0].payload["detail"]
    assert (d["field"], d["was"], d["value"], d["changed_by"]) == (FIELD, "12", "5", "operator:alice")
    assert Decimal(system.kill_switch.config.num(FIELD)) == Decimal(5)
