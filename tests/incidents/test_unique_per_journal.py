"""Two journals in one folder (and in one configured snapshots directory) never share an incident
id, a snapshot file or a channel file, and `snapshot show` refuses another journal's file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]


def sh(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def ok(env: dict[str, str], cwd: Path, *args: str) -> Any:
    proc = sh(env, cwd, *args, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def two(tmp_path: Path) -> dict[str, dict[str, str]]:
    envs = {}
    for name in ("a", "b"):
        db = tmp_path / f"{name}.db"
        subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                       capture_output=True)
        envs[name] = {**os.environ, "POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"}
    return envs


def test_incidents_snapshots_and_channels_are_per_journal(two: dict[str, dict[str, str]], tmp_path: Path) -> None:
    a, b = two["a"], two["b"]
    trip_a = ok(a, tmp_path, "killswitch", "trip", "--scope", "global", "--reason", "drill")
    trip_b = ok(b, tmp_path, "killswitch", "trip", "--scope", "global", "--reason", "drill")
    assert trip_a["trip_id"] == trip_b["trip_id"]  # the same seq in both journals...
    inc_a, inc_b = trip_a["incident_id"], trip_b["incident_id"]
    assert inc_a != inc_b  # ...but never the same incident id
    files_a = sorted(p.name for p in (tmp_path / "a.db.incidents").iterdir())
    files_b = sorted(p.name for p in (tmp_path / "b.db.incidents").iterdir())
    assert files_a == ["channel.jsonl", f"{inc_a}.json"] and files_b == ["channel.jsonl", f"{inc_b}.json"]
    assert not (tmp_path / "incidents").exists()
    for name, inc in (("a", inc_a), ("b", inc_b)):
        lines = (tmp_path / f"{name}.db.incidents" / "channel.jsonl").read_text().splitlines()
        assert {json.loads(line)["incident_id"] for line in lines} == {inc}

    assert ok(a, tmp_path, "snapshot", "show", inc_a)["matches_journal"] is True
    other = sh(a, tmp_path, "snapshot", "show", inc_b)
    assert other.returncode == 1 and "never captured a snapshot named" in other.stdout + other.stderr
    # b's file put where a's snapshot lives: named by a's journal, but not a's file
    shutil.copy(tmp_path / "b.db.incidents" / f"{inc_b}.json", tmp_path / "a.db.incidents" / f"{inc_a}.json")
    swapped = sh(a, tmp_path, "snapshot", "show", inc_a)
    assert swapped.returncode == 1 and "is a snapshot of journal" in swapped.stdout + swapped.stderr


def test_a_shared_snapshots_dir_keeps_the_journals_apart(two: dict[str, dict[str, str]], tmp_path: Path) -> None:
    config = tmp_path / "incidents.toml"
    config.write_text('[oncall]\nrisk = ["ann"]\n[incidents]\nsnapshots_dir = "shared"\n', encoding="utf-8")
    saved = {}
    for name, env in two.items():
        env["POLYTRADERS_INCIDENTS_CONFIG"] = str(config)
        saved[name] = ok(env, tmp_path, "snapshot", "--save")["stored"]
    assert saved["a"]["snapshot"] != saved["b"]["snapshot"]
    assert len(list((tmp_path / "shared").iterdir())) == 2
    foreign = sh(two["a"], tmp_path, "snapshot", "show", saved["b"]["snapshot"])
    assert foreign.returncode == 1, foreign.stdout
    own = ok(two["a"], tmp_path, "snapshot", "show", saved["a"]["snapshot"])
    assert own["matches_journal"] is True and own["snapshot"]["journal_id"]
