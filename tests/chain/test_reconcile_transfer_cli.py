"""`polytraders reconcile transfer`: a signed deposit or withdrawal the ledger counts; hostile
arguments refused in one paragraph (exit 2); refused while a mismatch is open."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from factories import make_trusted_runtime, operator_key
from typer.testing import CliRunner

from polytraders.cli.main import app
from polytraders.operators.keys import write_key_file
from polytraders.runtime.clock import SimClock
from polytraders.state.reconcile import ReconcileProjection
from polytraders.state.standard import build_state

T0 = 1_767_571_200_000


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "j.db"
    rt, _ = make_trusted_runtime(db, SimClock(T0))
    rt.write_digest(final=True)
    rt.journal.close()
    key = str(write_key_file(tmp_path / "carol.key", "carol", operator_key("carol").signer, "simulation"))
    return db, {"POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": key}


def _ledger(db: Path) -> ReconcileProjection:
    from polytraders.journal.sqlite import open_journal

    j = open_journal(db)
    try:
        state = build_state()
        state.rebuild(j)
        return state.typed("reconcile", ReconcileProjection)
    finally:
        j.close()


def test_a_deposit_and_a_withdrawal_are_counted_and_signed(tmp_path: Path) -> None:
    db, env = _setup(tmp_path)
    out = CliRunner().invoke(app, ["reconcile", "transfer", "deposit", "1000", "--reference", "opening balance",
                                   "--json"], env=env)
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(app, ["reconcile", "transfer", "withdrawal", "250.5", "--reference", "to cold storage",
                                   "--tx", "0x" + "ab" * 32], env=env)
    assert out.exit_code == 0, out.output
    assert _ledger(db).confirmed["pusd"] == Decimal("749.5")


@pytest.mark.parametrize("argv", [
    ["sideways", "10", "--reference", "x"],
    ["deposit", "-5", "--reference", "x"],
    ["deposit", "0", "--reference", "x"],
    ["deposit", "1.0000001", "--reference", "x"],
    ["deposit", "NaN", "--reference", "x"],
    ["deposit", "10", "--reference", " "],
    ["deposit", "10", "--reference", "x" * 201],
    ["deposit", "10", "--reference", "x", "--tx", "0x12; rm -rf /"],
    ["deposit", "10", "--reference", "x", "--item", "../../etc"],
])
def test_hostile_arguments_are_refused_without_a_trace(tmp_path: Path, argv: list[str]) -> None:
    db, env = _setup(tmp_path)
    out = CliRunner().invoke(app, ["reconcile", "transfer", *argv], env=env)
    assert out.exit_code == 2, out.output
    assert "Error" in out.output and "Traceback" not in out.output  # ours, or click's usage error for "-5"
    assert _ledger(db).confirmed.get("pusd", Decimal(0)) == 0
