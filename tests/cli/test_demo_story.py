"""`demo`'s human output tells the whole story: the trip, the reset drill with its refusals, the
incidents it opened, and commands that work as printed (absolute paths, the crew's keys)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]


def test_the_human_story_says_how_to_act_and_the_commands_work(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("POLYTRADERS_DB", None)
    proc = subprocess.run([*CLI, "demo", "--scenario", "drawdown", "--minutes", "31", "--markets", "6",
                           "--seed", "3", "--db", "run/j.db"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr and "GOV_PAGING_SYSTEM_UNAVAILABLE: no pager" not in proc.stderr
    money = re.search(r"Realised PnL (\S+) pUSD, unrealised (\S+) pUSD, fees (\S+) pUSD, equity (\S+) pUSD", out)
    assert money and all(re.fullmatch(r"-?[\d,]+\.\d\d", v) for v in money.groups()), "money to 2 decimals"
    # the reset drill, refusals included
    assert "Reset refused: the trigger condition is not clear" in out
    assert "approval by alice refused" in out and "approved by bob" in out
    trip = re.search(r"(ks_\d+_drawdown_intraday): drawdown_intraday tripped 20\d\d-\d\d-\d\dT", out)
    assert trip, out
    # the incidents it opened, and how to act on them
    incident = re.search(r"polytraders incidents show (inc_\d+_[0-9a-f]{6})", out)
    assert incident, out
    db = tmp_path / "run" / "j.db"
    assert f"export POLYTRADERS_DB={db}" in out
    key = re.search(r"export POLYTRADERS_KEY_FILE=(\S+)", out)
    assert key and Path(key.group(1)).is_file() and Path(key.group(1)).is_absolute()
    assert f"{db}.incidents" in out and (Path(f"{db}.incidents") / "channel.jsonl").is_file()
    # every printed command runs as printed, from another directory
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    act = {**env, "POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": key.group(1)}
    commands = [line.strip() for line in out.splitlines() if line.strip().startswith("polytraders incidents")]
    assert [c.split()[2] for c in commands] == ["show", "rca", "resolve"]
    for command in commands:
        ran = subprocess.run([*CLI, *shlex.split(command)[1:]], cwd=elsewhere, env=act, capture_output=True,
                             text=True, timeout=120)
        assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
