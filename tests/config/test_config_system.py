"""The approved-config repository and the detector in one process on a simulated clock: git is
real, and attackers write what the CLI would not (a commit nobody approved, a hand edit of the
checked-out file, a self-signed approval)."""

from __future__ import annotations

import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.config.catalog import check_change, parse_value
from polytraders.config.ops import approve, live_set, request_override
from polytraders.config.projection import ConfigProjection
from polytraders.config.repo import ApprovedRepo, RepoError
from polytraders.contracts import Note
from polytraders.engine.demo import sim_genesis
from polytraders.engine.scenarios import _as, add_crew
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.errors import BadInputError, ConfigError, RefusedError
from polytraders.journal.sqlite import create_journal
from polytraders.runtime.config import Param
from polytraders.runtime.decisions import decision_steps
from polytraders.venues.sim import SimVenue

T0 = 1_767_571_200_000
BOT, FIELD = "risk.drawdown_guard", "max_intraday_drawdown_pct"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "mallory", "GIT_AUTHOR_EMAIL": "m@x", "GIT_COMMITTER_NAME": "mallory",
           "GIT_COMMITTER_EMAIL": "m@x"}


def system_at(tmp_path: Path, name: str = "cfg") -> TradingSystem:
    genesis, key = sim_genesis(3, name, T0)
    journal = create_journal(tmp_path / f"{name}.db", genesis, synchronous="NORMAL")
    system = TradingSystem(journal, SimVenue(3, 2, T0), SystemConfig(
        seed=3, n_markets=2, start_ms=T0, system_signer=key, approved_config=tmp_path / "repo",
        approved_config_create=True))
    system.start()
    return system


def codes(system: TradingSystem) -> list[str]:
    system.runtime.journal.flush()
    return [e.envelope.reason_code for e in system.runtime.journal.read()]


def run(system: TradingSystem, seconds: int) -> None:
    now = system.clock.now_ms()
    for s in range(1, seconds + 1):
        system.step(now + s * 1000)


def proj(system: TradingSystem) -> ConfigProjection:
    return system.runtime.state.typed("config", ConfigProjection)


def test_a_commit_nobody_approved_is_unknown_never_a_match_and_nothing_is_reverted(tmp_path: Path) -> None:
    system = system_at(tmp_path)
    run(system, 2)
    assert "GOV_CONFIG_IN_SYNC" in codes(system)
    repo = tmp_path / "repo"
    target = repo / "bots" / f"{BOT}.toml"
    # a hand edit of the checked-out file is not an approved change: nothing happens
    target.write_text(target.read_text().replace(f'{FIELD} = "4"', f'{FIELD} = "9"'))
    run(system, 301)
    assert "GOV_CONFIG_DRIFT_UNKNOWN" not in codes(system) and proj(system).source_error is None
    # committing it to the approved branch behind the journal's back: unknown, never a match
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "sneaky"], check=True, env=GIT_ENV)
    run(system, 301)
    got = codes(system)
    assert got.count("GOV_CONFIG_SOURCE_INVALID") == 1 and "GOV_CONFIG_DRIFT_UNKNOWN" in got
    assert proj(system).source_error is not None and "no journaled approval" in proj(system).source_error
    assert "GOV_CONFIG_REVERTED" not in got and "GOV_CONFIG_IN_SYNC" not in got[got.index("GOV_CONFIG_SOURCE_INVALID"):]
    drawdown = next(b for b in system.guardrails if b.bot_id == BOT)
    assert drawdown.config.num(FIELD) == Decimal(4)  # the unapproved value never reached the bot
    system.stop()
    # and a restart refuses to trust that head at all
    system.runtime.journal.close()
    genesis, key = sim_genesis(3, "cfg", T0)
    from polytraders.journal.sqlite import SqliteJournal

    with pytest.raises(ConfigError, match="no journaled approval"):
        TradingSystem(SqliteJournal(tmp_path / "cfg.db"), SimVenue(3, 2, T0), SystemConfig(
            seed=3, n_markets=2, start_ms=T0 + 700_000, system_signer=key, approved_config=repo))


def test_a_self_signed_override_approval_changes_nothing(tmp_path: Path) -> None:
    system = system_at(tmp_path)
    run(system, 60)
    add_crew(system)
    rt = system.runtime
    alice = _as(system, "alice", "config.override")
    repo = ApprovedRepo(tmp_path / "repo")
    ovr, _ = request_override(rt, alice, repo, BOT, FIELD, "6", ttl="10m", reason="test")
    # the CLI would refuse; an attacker signs the approval entry as alice herself
    rt.record(Note(detail={"override_id": ovr}), actor=alice.actor, reason_code="GOV_CONFIG_OVERRIDE_APPROVED",
              durable=True, signer=alice.signer)
    assert proj(system).overrides[ovr]["status"] == "requested"
    assert any("a second, different person" in p["reason"] for p in rt.state.trust.problems)
    run(system, 2)
    assert next(b for b in system.guardrails if b.bot_id == BOT).config.num(FIELD) == Decimal(4)
    with pytest.raises(RefusedError, match="second, different person"):
        approve(rt, alice, repo, ovr)
    approve(rt, _as(system, "bob", "config.approve"), repo, ovr)
    run(system, 2)
    assert next(b for b in system.guardrails if b.bot_id == BOT).config.num(FIELD) == Decimal(6)
    assert next(b for b in system.guardrails if b.bot_id == BOT).config.config_version.endswith(
        f"+{proj(system).changed_by[BOT][FIELD]['seq']}")


def test_live_edit_is_detected_within_the_step_and_reverted(tmp_path: Path) -> None:
    system = system_at(tmp_path)
    run(system, 60)
    add_crew(system)
    live_set(system.runtime, _as(system, "bob", "config.set"), BOT, FIELD, "7")
    assert next(b for b in system.guardrails if b.bot_id == BOT).config.num(FIELD) == Decimal(7)
    run(system, 1)  # the edit is detected and reverted in the next step; the resolution follows a step later
    assert next(b for b in system.guardrails if b.bot_id == BOT).config.num(FIELD) == Decimal(4)
    run(system, 1)
    got = codes(system)
    tail = got[got.index("GOV_CONFIG_SET"):]
    assert tail.index("GOV_CONFIG_DRIFT") < tail.index("GOV_CONFIG_REVERTED") < tail.index("GOV_CONFIG_DRIFT_RESOLVED")
    assert next(b for b in system.guardrails if b.bot_id == BOT).config.num(FIELD) == Decimal(4)


def test_the_repository_never_takes_over_a_folder_and_proposals_leave_approved_alone(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(RepoError, match="not an empty folder"):
        ApprovedRepo(folder).init({"bots/x.toml": "a = 1\n"}, who="a", when_ms=T0, message="m")
    assert (folder / "notes.txt").read_text() == "mine" and not (folder / ".git").exists()
    repo = ApprovedRepo(tmp_path / "r")
    first = repo.init({"bots/risk.kill_switch.toml": "drawdown_intraday_pct = 5\n"}, who="a", when_ms=T0, message="m")
    again = ApprovedRepo(tmp_path / "r2")
    assert again.init({"bots/risk.kill_switch.toml": "drawdown_intraday_pct = 5\n"}, who="a", when_ms=T0,
                      message="m") == first  # dates from the caller's clock: the same commit id
    branch = repo.propose("proposal/cr_1", {"bots/risk.kill_switch.toml": "drawdown_intraday_pct = 6\n"}, who="b",
                          when_ms=T0 + 1, message="p")
    assert repo.head() == first and (tmp_path / "r" / "bots" / "risk.kill_switch.toml").read_text().endswith("5\n")
    with pytest.raises(RepoError):  # a branch of that name is never moved
        repo.propose("proposal/cr_1", {"bots/risk.kill_switch.toml": "drawdown_intraday_pct = 7\n"}, who="b",
                     when_ms=T0 + 2, message="p")
    assert repo.read("proposal/cr_1").commit == branch
    merged = repo.merge("proposal/cr_1", who="c", when_ms=T0 + 3, message="approve")
    assert repo.read().files["risk.kill_switch"] == {"drawdown_intraday_pct": 6} and merged != branch
    with pytest.raises(RepoError, match="does not exist"):
        ApprovedRepo(tmp_path / "nowhere").head()


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(["max_intraday_drawdown_pct", "max_gross_exposure_pusd", "drawdown_warning_share_pct"]),
       raw=st.one_of(st.text(max_size=30), st.decimals(allow_nan=True, allow_infinity=True).map(str),
                     st.integers(-10**9, 10**9).map(str)))
def test_any_value_is_refused_cleanly_or_inside_the_hard_limit(field: str, raw: str) -> None:
    from polytraders.bots.risk.drawdown_guard import DrawdownGuard

    spec = next(p for p in DrawdownGuard.params if p.name == field)
    assert isinstance(spec, Param)
    try:
        value = check_change(BOT, {}, {field: parse_value(BOT, field, raw)})[field]
    except BadInputError as exc:
        assert exc.code in ("GOV_CONFIG_HARD_LIMIT", "GOV_CONFIG_INVALID_VALUE") and field in exc.message
        return
    assert spec.breach(Decimal(value)) != "hard" and Decimal(value) >= 0


def test_replay_follows_the_config_the_recording_ran_under(tmp_path: Path) -> None:
    from polytraders.replay.engine import replay

    system = system_at(tmp_path)
    run(system, 60)
    add_crew(system)
    rt, repo = system.runtime, ApprovedRepo(tmp_path / "repo")
    ovr, _ = request_override(rt, _as(system, "alice", "config.override"), repo, BOT, "max_market_exposure_pusd", "1",
                              ttl="30m", reason="freeze new exposure")
    approve(rt, _as(system, "bob", "config.approve"), repo, ovr)
    run(system, 180)
    rt.journal.flush()
    rejected = [s for e in rt.journal.read(kinds=["decision_record"]) for s in decision_steps(e)
                if s.kind == "risk_vote" and s.payload["reason_code"] == "RISK_MARKET_LIMIT"]
    assert rejected, "the override should have made the guard reject"
    report = replay(rt.journal)
    assert report.votes_compared > 0 and report.verdict == "GOV_REPLAY_MATCH", report.to_json()["first_divergence"]


def test_no_override_while_the_kill_switch_is_tripped(tmp_path: Path) -> None:
    from polytraders.engine.kill_switch_ops import manual_trip, parse_scope

    system = system_at(tmp_path)
    run(system, 60)
    add_crew(system)
    rt, repo = system.runtime, ApprovedRepo(tmp_path / "repo")
    manual_trip(rt, _as(system, "alice", "killswitch.trip"), parse_scope("global"), "drill")
    with pytest.raises(RefusedError, match="kill switch is tripped"):
        request_override(rt, _as(system, "alice", "config.override"), repo, "risk.kill_switch",
                         "drawdown_intraday_pct", "15", ttl="30m", reason="let the reset through")
    rt.journal.flush()
    assert [e.envelope.reason_code for e in rt.journal.tail(1)] == ["GOV_CONFIG_COMMAND_REFUSED"]
