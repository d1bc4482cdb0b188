"""Change requests on a recorded run (the config-drift demo): what-if evidence that changes a
decision and evidence that does not, the separation rule on approval, `config check` naming a
bad field, and the demo scenario's story and determinism. CLI commands run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import journal_rows as rows

from polytraders.engine.demo import DemoArgs, config_repo_path, run_demo

CLI = [sys.executable, "-m", "polytraders.cli.main"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    db = tmp_path_factory.mktemp("cd") / "demo.db"
    summary = run_demo(DemoArgs(minutes=12, markets=3, seed=5, db=db, scenario="config-drift"))
    return db, summary


def cli(db: Path, who: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POLYTRADERS_DB": str(db), "PYTHONPATH": SRC}
    if who is not None:
        env["POLYTRADERS_KEY_FILE"] = f"{db}.keys/{who}.key"
    return subprocess.run([*CLI, "config", *args], env=env, capture_output=True, text=True, timeout=120,
                          cwd=db.parent)


def test_the_scenario_tells_the_revert_and_the_expiry(recorded: tuple[Path, dict[str, object]]) -> None:
    db, out = recorded
    story = "\n".join(out["story"])  # type: ignore[arg-type]
    assert "GOV_CONFIG_REVERTED: reverted risk.drawdown_guard.max_intraday_drawdown_pct from 8 to approved 4" in story
    assert "changed by operator:alice without approval" in story
    assert "approval of ovr_" in story and "by alice refused" in story
    assert "GOV_CONFIG_OVERRIDE_EXPIRED" in story and "approved value 4 restored" in story
    triggers = [e["payload"]["trigger"] for _, c, e in rows(db) if c == "GOV_INCIDENT_DECLARED"]
    assert triggers == ["unauthorised", "override"]
    commit = next(e["payload"]["detail"]["commit"] for _, c, e in rows(db) if c == "GOV_CONFIG_APPROVED_VERSION")
    head = subprocess.run(["git", "-C", str(config_repo_path(db)), "rev-parse", "approved"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert head == commit


def test_whatif_evidence_for_a_change_that_alters_decisions_and_one_that_does_not(
        recorded: tuple[Path, dict[str, object]]) -> None:
    db, _ = recorded
    repo = str(config_repo_path(db))
    changing = cli(db, "alice", "propose", "risk.drawdown_guard", "max_market_exposure_pusd=1", "--reason",
                   "tiny exposure", "--repo", repo, "--json")
    assert changing.returncode == 0, changing.stderr
    evidence = json.loads(changing.stdout)["whatif"]
    assert evidence["verdict"] == "GOV_REPLAY_REGRESSION" and evidence["divergence_count"] >= 1
    first = evidence["divergences"][0]
    assert first["what"].startswith("vote of risk.drawdown_guard")
    assert first["recorded"]["decision"] == "APPROVE" and first["would_be"]["decision"] == "REJECT"

    harmless = cli(db, "alice", "propose", "risk.kill_switch", "reset_request_ttl_s=1200", "--reason", "slower",
                   "--repo", repo, "--json")
    assert harmless.returncode == 0, harmless.stderr
    quiet = json.loads(harmless.stdout)["whatif"]
    assert quiet["verdict"] == "GOV_REPLAY_MATCH" and quiet["divergences"] == [] and quiet["inputs"] > 100

    listed = cli(db, None, "approvals")
    assert "GOV_REPLAY_REGRESSION" in listed.stdout and "GOV_REPLAY_MATCH" in listed.stdout
    assert "would have differed" in listed.stdout


def test_approval_by_the_proposer_or_someone_they_registered_is_refused_and_journaled(
        recorded: tuple[Path, dict[str, object]]) -> None:
    db, _ = recorded
    repo = str(config_repo_path(db))
    made = cli(db, "root", "propose", "risk.stale_book_guard", "max_orderbook_age_ms=4000", "--reason", "wider",
               "--repo", repo, "--json")
    assert made.returncode == 0, made.stderr
    req = json.loads(made.stdout)["request_id"]
    for who, why in (("root", "second, different person"), ("alice", "registered by root")):
        refused = cli(db, who, "approve", req, "--repo", repo)
        assert refused.returncode == 1 and why in refused.stderr and "GOV_AUTH_REFUSED" in refused.stderr, \
            refused.stderr
    causes = [e["payload"]["detail"]["summary"] for _, c, e in rows(db) if c == "GOV_CONFIG_COMMAND_REFUSED"]
    assert any("registered by root" in c for c in causes)
    ok = cli(db, "ops", "approve", req, "--repo", repo, "--json")
    assert ok.returncode == 0, ok.stderr
    merged = json.loads(ok.stdout)["merge_commit"]
    shown = subprocess.run(["git", "-C", repo, "show", "approved:bots/risk.stale_book_guard.toml"],
                           capture_output=True, text=True, check=True).stdout
    assert 'max_orderbook_age_ms = "4000"' in shown
    log = subprocess.run(["git", "-C", repo, "log", "-1", "--format=%an %s", merged], capture_output=True, text=True,
                         check=True).stdout
    assert log.startswith("ops Approve " + req)
    again = cli(db, "ops", "approve", req, "--repo", repo)
    assert again.returncode == 1 and "merged" in again.stderr


def test_config_check_names_a_bad_field(tmp_path: Path, recorded: tuple[Path, dict[str, object]]) -> None:
    db, _ = recorded
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "approved", str(config_repo_path(db)), str(clone)], check=True)
    target = clone / "bots" / "risk.kill_switch.toml"
    target.write_text(target.read_text().replace('drawdown_intraday_pct = "5"', 'drawdown_intraday_pct = "40"') +
                      "no_such_knob = 1\n")
    env = {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
    subprocess.run(["git", "-C", str(clone), "commit", "-qam", "bad"], check=True, env={**os.environ, **env})
    checked = cli(db, None, "check", "--repo", str(clone), "--json")
    assert checked.returncode == 1
    problems = json.loads(checked.stdout)["problems"]
    assert len(problems) == 1 and "no_such_knob" in problems[0] and "risk.kill_switch" in problems[0]
    target.write_text("drawdown_intraday_pct = 0.5\n")  # a float: never exact
    subprocess.run(["git", "-C", str(clone), "commit", "-qam", "float"], check=True, env={**os.environ, **env})
    checked = cli(db, None, "check", "--repo", str(clone))
    assert checked.returncode == 1 and "drawdown_intraday_pct" in checked.stdout and "float" in checked.stdout
    target.write_text("drawdown_intraday_pct = [\n")
    subprocess.run(["git", "-C", str(clone), "commit", "-qam", "broken"], check=True, env={**os.environ, **env})
    checked = cli(db, None, "check", "--repo", str(clone))
    assert checked.returncode == 1 and "not valid TOML" in checked.stdout
    good = cli(db, None, "check", "--repo", str(config_repo_path(db)))
    assert good.returncode == 0 and "OK" in good.stdout


@pytest.mark.slow
def test_the_config_drift_demo_is_deterministic(tmp_path: Path) -> None:
    hashes = []
    for folder in ("a", "bb"):
        (tmp_path / folder).mkdir()
        proc = subprocess.run([*CLI, "demo", "--minutes", "12", "--markets", "3", "--seed", "4", "--db", "demo.db",
                               "--scenario", "config-drift", "--json"], cwd=tmp_path / folder, capture_output=True,
                              text=True, timeout=300, env={**os.environ, "PYTHONPATH": SRC})
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        counts = out["reason_codes"]
        assert counts["GOV_CONFIG_REVERTED"] == 1 and counts["GOV_CONFIG_OVERRIDE_EXPIRED"] == 1
        hashes.append(out["journal"]["head_hash"])
    assert hashes[0] == hashes[1]
