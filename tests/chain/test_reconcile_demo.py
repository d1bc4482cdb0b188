"""`polytraders demo --scenario reconcile-mismatch`: with anvil, and with the in-memory twin when
anvil is not wanted or not there; the same story either way, and the same journal run to run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from polytraders.engine.demo import DemoArgs, run_demo


def _run(tmp_path: Path, name: str, use_anvil: bool) -> dict[str, Any]:
    """Each run in its own folder with the same relative paths (snapshot paths are journaled)."""
    folder = tmp_path / name
    folder.mkdir()
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return run_demo(DemoArgs(minutes=12, markets=3, db=Path("journal.db"), scenario="reconcile-mismatch",
                                 use_anvil=use_anvil))
    finally:
        os.chdir(cwd)


def _check_story(s: dict[str, Any]) -> None:
    story = "\n".join(s["story"])
    assert "behind the system's back" in story
    assert "tripped (reconcile_mismatch, scope global); Trade bots now: strat.maker_tight (off)" in story
    assert "divergence: pusd internal" in story and "last-applied journal seq" in story
    assert "has no by-hand reconciliation" in story  # the reset refused while unreconciled
    assert "approval by alice refused" in story and "approved by bob" in story
    assert "no reconcile has matched since the approval" in story
    assert story.rstrip().endswith("reset of ks_" + s["kill_switch"]["trips"][0]["trip_id"][3:] + " approved by bob")
    [trip] = s["kill_switch"]["trips"]
    assert trip["trigger"] == "reconcile_mismatch" and s["kill_switch"]["state"] == "armed"
    assert len(s["kill_switch"]["resets"]) == 1
    [inc] = s["incidents"]
    steps = {st["id"]: st for st in inc["steps"]}
    assert steps["confirm_trade_halted"]["status"] == "done" and steps["capture_divergence"]["status"] == "done"
    rec = s["reconcile"]
    assert not rec["mismatched"] and [h["event"] for h in rec["history"]] == ["mismatch", "cleared"]
    assert rec["adjustments"][0]["approved_by"] == "bob" and rec["adjustments"][0]["requester"] == "alice"
    assert not s["chain"]["settlement_failures"]


def test_demo_with_the_in_memory_twin_says_so_and_is_deterministic(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", use_anvil=False)
    b = _run(tmp_path, "b", use_anvil=False)
    assert a["chain"]["kind"] == "memory" and "in-memory chain twin" in a["chain"]["note"]
    _check_story(a)
    assert a["journal"]["head_hash"] == b["journal"]["head_hash"]


@pytest.mark.slow
def test_demo_on_anvil_is_deterministic(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", use_anvil=True)
    if a["chain"]["kind"] != "anvil":
        pytest.skip(a["chain"]["note"])
    assert "anvil at http://127.0.0.1:" in a["chain"]["note"]
    _check_story(a)
    b = _run(tmp_path, "b", use_anvil=True)
    assert a["journal"]["head_hash"] == b["journal"]["head_hash"]


def test_demo_without_anvil_installed_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYTRADERS_ANVIL", str(tmp_path / "no-such-anvil"))
    s = _run(tmp_path, "c", use_anvil=True)
    assert s["chain"]["kind"] == "memory"
    assert "anvil is not available" in s["chain"]["note"] and "in-memory chain twin" in s["chain"]["note"]
