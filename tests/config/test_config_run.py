"""The config drift detector and its playbook under `polytraders run`, with real processes: the
running system on a live journal, operators' CLI commands in other processes, a real git
repository of approved config.

One run walks the whole story: an unauthorised live edit is named and reverted; an override
approved by a second operator holds and then expires, restoring the approved value; a change
request is a real branch and commit, and its approval merges it and the system deploys it; an
unreadable repository makes the detector report unknown (never a match)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import journal_rows as rows

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]
BOT, FIELD = "risk.drawdown_guard", "max_intraday_drawdown_pct"


def cli(env: dict[str, str], cwd: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    if key is not None:
        env = {**env, "POLYTRADERS_KEY_FILE": f"{env['POLYTRADERS_DB']}.keys/{key}.key"}
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def wait_row(db: Path, proc: subprocess.Popen[str], match: Callable[[int, str, dict[str, Any]], bool],
             what: str, timeout: float = 60) -> tuple[int, str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        hits = [r for r in rows(db) if match(*r)]
        if hits:
            return hits[0]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{what} never appeared"
        time.sleep(0.05)


def detail(env: dict[str, Any]) -> dict[str, Any]:
    return env["payload"]["detail"]  # type: ignore[no-any-return]


@pytest.fixture
def live(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "live.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True)
    (tmp_path / "polytraders.toml").write_text(
        '[venue]\nkind = "sim"\n[run]\nstep_ms = 100\nsim_markets = 3\n'
        '[approved_config]\npath = "approved-config"\n'
        '[bots."gov.config_drift_detector"]\ncheck_interval_s = 1\n'
        '[oncall]\nrisk = ["ann"]\ngovernance = ["ben"]\n', encoding="utf-8")
    return {**os.environ, "POLYTRADERS_DB": str(db)}


def test_drift_revert_override_expiry_approval_and_unknown_under_run(live: dict[str, str], tmp_path: Path) -> None:
    db = Path(live["POLYTRADERS_DB"])
    repo = tmp_path / "approved-config"
    made = cli(live, tmp_path, "config", "init", "--json", key="ann")
    assert made.returncode == 0, made.stderr
    first_commit = json.loads(made.stdout)["commit"]
    assert (repo / "bots" / f"{BOT}.toml").exists()
    # the settings' [bots] table became the approved value: no drift at start
    assert 'check_interval_s = "1"' in (repo / "bots" / "gov.config_drift_detector.toml").read_text()

    env = {**live, "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"}
    proc = subprocess.Popen([*CLI, "run", "--json", "--duration", "120"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        start = wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_IN_SYNC", "the startup check")[0]
        versions = [detail(e) for _, c, e in rows(db) if c == "GOV_CONFIG_APPROVED_VERSION"]
        assert versions[0]["commit"] == first_commit and len(versions[0]["content_hash"]) == 64

        # 1. an unauthorised live edit: named (bot, field, values, who), then reverted
        edit = cli(live, tmp_path, "config", "set", BOT, FIELD, "8", "--reason", "quiet markets", "--json", key="ann")
        assert edit.returncode == 0, edit.stderr
        _, _, drift = wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_DRIFT" and s > start, "the drift report")
        named = detail(drift)["drifts"]
        assert [(d["bot_id"], d["field"], d["approved"], d["running"], d["changed_by"], d["authorised"])
                for d in named] == [(BOT, FIELD, "4", "8", "operator:ann", False)]
        _, _, reverted = wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_REVERTED", "the revert")
        assert detail(reverted)["value"] == "4" and detail(reverted)["changed_by"] == "operator:ann"
        wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_DRIFT_RESOLVED", "the resolution")
        shown = cli(live, tmp_path, "config", "show", BOT, "--json")
        field = next(f for f in json.loads(shown.stdout)["fields"] if f["field"] == FIELD)
        assert field["running"] == field["approved"] == "4"

        # 2. bad input is refused with its reason code, and journaled
        for args, code in ((("set", BOT, "no_such_field", "1"), "GOV_CONFIG_UNKNOWN_FIELD"),
                           (("set", BOT, FIELD, "50"), "GOV_CONFIG_HARD_LIMIT"),
                           (("override", BOT, FIELD, "6", "--ttl", "30m"), "GOV_CONFIG_INVALID_VALUE"),
                           (("override", BOT, FIELD, "6", "--ttl", "30d", "--reason", "x"), "GOV_CONFIG_HARD_LIMIT")):
            bad = cli(live, tmp_path, "config", *args, key="ann")
            assert bad.returncode in (1, 2) and code in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
        refusals = [detail(e)["cause"] for _, c, e in rows(db) if c == "GOV_CONFIG_COMMAND_REFUSED"]
        assert refusals[-4:] == ["GOV_CONFIG_UNKNOWN_FIELD", "GOV_CONFIG_HARD_LIMIT", "GOV_CONFIG_INVALID_VALUE",
                                 "GOV_CONFIG_HARD_LIMIT"]

        # 3. an override: refused for the requester, approved by a second admin, holds, expires
        asked = cli(live, tmp_path, "config", "override", BOT, FIELD, "6", "--ttl", "8s", "--reason", "volatile hour",
                    "--json", key="ann")
        assert asked.returncode == 0, asked.stderr
        ovr = json.loads(asked.stdout)["override_id"]
        self_ok = cli(live, tmp_path, "config", "approve", ovr, key="ann")
        assert self_ok.returncode == 1 and "second, different person" in self_ok.stderr
        ok = cli(live, tmp_path, "config", "approve", ovr, "--json", key="ben")
        assert ok.returncode == 0, ok.stderr
        _, _, held = wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_DRIFT" and any(
            d["authorised"] for d in detail(e)["drifts"]), "the covered drift")
        assert detail(held)["drifts"][0]["override_id"] == ovr and detail(held)["drifts"][0]["running"] == "6"
        expired_seq, _, expired = wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_OVERRIDE_EXPIRED", "the expiry")
        assert detail(expired)["restored"] == "4"
        wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_DRIFT_RESOLVED" and s > expired_seq, "resolved")
        assert not any(c == "GOV_CONFIG_REVERTED" and detail(e).get("field") == FIELD and detail(e)["was"] == "6"
                       for _, c, e in rows(db)), "an approved override must never be reverted"

        # 4. a change request is a real git branch and commit; approval merges it and run deploys it
        proposed = cli(live, tmp_path, "config", "propose", BOT, f"{FIELD}=3", "--reason", "tighter", "--json",
                       key="ann")
        assert proposed.returncode == 0, proposed.stderr
        req = json.loads(proposed.stdout)
        branch_commit = subprocess.run(["git", "-C", str(repo), "rev-parse", req["branch"]], capture_output=True,
                                       text=True, check=True).stdout.strip()
        assert branch_commit == req["commit"]
        in_branch = subprocess.run(["git", "-C", str(repo), "show", f"{req['branch']}:bots/{BOT}.toml"],
                                   capture_output=True, text=True, check=True).stdout
        assert f'{FIELD} = "3"' in in_branch
        listed = cli(live, tmp_path, "config", "approvals", "--json")
        assert [r["request_id"] for r in json.loads(listed.stdout)["requests"]] == [req["request_id"]]
        merged = cli(live, tmp_path, "config", "approve", req["request_id"], "--json", key="ben")
        assert merged.returncode == 0, merged.stderr
        merge_commit = json.loads(merged.stdout)["merge_commit"]
        parents = subprocess.run(["git", "-C", str(repo), "rev-list", "--parents", "-n", "1", "approved"],
                                 capture_output=True, text=True, check=True).stdout.split()
        assert parents == [merge_commit, first_commit, req["commit"]]
        _, _, deployed = wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_APPROVED_VERSION"
                                  and detail(e)["commit"] == merge_commit, "the deploy")
        assert detail(deployed)["values"][BOT][FIELD] == "3"
        wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_LOADED" and detail(e).get("deploy") == merge_commit,
                 "the bot reloaded on the new version")
        diff = cli(live, tmp_path, "config", "diff", "--json")
        assert diff.returncode == 0 and json.loads(diff.stdout)["approved_commit"] == merge_commit, diff.stdout

        # 5. an unreadable repository: unknown, never a match
        hidden = tmp_path / "approved-config.moved"
        repo.rename(hidden)
        _, _, unknown = wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_DRIFT_UNKNOWN", "unknown")
        assert "does not exist" in detail(unknown)["error"]
        hidden.rename(repo)
        last_unknown = max(s for s, c, _ in rows(db) if c == "GOV_CONFIG_DRIFT_UNKNOWN")
        wait_row(db, proc, lambda s, c, e: c == "GOV_CONFIG_IN_SYNC" and s > last_unknown, "back in sync")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    incidents = [e for _, c, e in rows(db) if c == "GOV_INCIDENT_DECLARED"]
    assert [e["payload"]["trigger"] for e in incidents] == ["unauthorised", "override"]
    verify = cli(live, tmp_path, "journal", "verify", "--json")
    assert verify.returncode == 0, verify.stdout
