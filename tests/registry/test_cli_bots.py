"""`polytraders bots|board` through the real CLI app (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import operator_key
from typer.testing import CliRunner

from polytraders.cli.main import app
from polytraders.journal.sqlite import SqliteJournal
from polytraders.operators.keys import write_key_file
from polytraders.registry.catalogue import load_catalogue

from .helpers import shadow_run

KS = "risk.kill_switch"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_ambient_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POLYTRADERS_KEY_FILE", raising=False)
    monkeypatch.delenv("POLYTRADERS_KEY", raising=False)
    monkeypatch.setenv("POLYTRADERS_DB", str(tmp_path / "ambient-unused.db"))


def _db(journal: SqliteJournal) -> str:
    journal.flush()
    return str(journal.path)


def _admin(journal: SqliteJournal) -> dict[str, str]:
    """The environment that makes the genesis admin `root` act (its key file, 0600)."""
    path = journal.path.parent / "root.key"
    if not path.exists():
        write_key_file(path, "root", operator_key("root").signer, "simulation")
    return {"POLYTRADERS_KEY_FILE": str(path)}


def test_board_json(journal: SqliteJournal, fake_impls: object) -> None:
    shadow_run(journal, KS, hours=1)
    result = runner.invoke(app, ["board", "--json", "--db", _db(journal)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    total = len(load_catalogue())
    assert data["total"] == total
    assert data["stages"] == {"pending": total - 1, "demo_wired": 1, "shadow_ready": 0,
                              "runtime_live": 0, "production_live": 0}
    row = next(b for b in data["bots"] if b["id"] == KS)
    assert row["stage"] == "demo_wired" and row["layer"] == "risk"


def test_board_text_header_and_missing_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "none.db"
    named = runner.invoke(app, ["board", "--db", str(missing)])
    assert named.exit_code == 2 and "No journal at" in named.output, "a journal named by --db must exist"
    monkeypatch.delenv("POLYTRADERS_DB", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./polytraders.db: the catalogue from code evidence, said out loud
    result = runner.invoke(app, ["board"])
    assert result.exit_code == 0, result.output
    assert "no journal at" in result.output
    total = len(load_catalogue())
    first = result.stdout.splitlines()[0]
    assert first.startswith("v3 spine · Phase ")
    assert (f" · 0 demo-wired · 0 shadow-ready · 0 runtime-live · 0 production-live · "
            f"{total} pending · {109 - total} uncatalogued · 109 total · ") in first
    assert first.endswith(" infra tasks")
    assert result.stdout.count("(uncatalogued slot)") == 109 - total
    assert "governance" in result.stdout
    assert not missing.exists() and not (tmp_path / "polytraders.db").exists()  # a read never creates one


def test_bots_list_json_with_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYTRADERS_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["bots", "--layer", "risk", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and {r["layer"] for r in rows} == {"risk"}
    assert "risk.wallet_funding_guard" in {r["id"] for r in rows}
    assert set(rows[0]) >= {"id", "number", "name", "layer", "class", "authority",
                            "spec_status", "stage", "readiness"}
    bad = runner.invoke(app, ["bots", "--layer", "nope"])
    assert bad.exit_code == 2
    assert "Unknown layer" in bad.stderr


def test_show_accepts_alias(journal: SqliteJournal) -> None:
    db = _db(journal)
    result = runner.invoke(app, ["bots", "show", "sec.wallet_funding_guard", "--db", db])
    assert result.exit_code == 0, result.output
    assert "risk.wallet_funding_guard" in result.stdout
    assert "implementation" in result.stdout and "shadow_24h" in result.stdout
    as_json = runner.invoke(app, ["bots", "show", "risk.killswitch", "--json", "--db", db])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["id"] == KS
    assert set(data["gates"]) == {"demo_wired", "shadow_ready", "runtime_live",
                                  "production_live"}
    assert data["readiness"]["docs"]["max"] == 27
    assert len(data["readiness"]["impl"]["items"]) == 15


def test_show_unknown_bot_is_usage_error() -> None:
    result = runner.invoke(app, ["bots", "show", "risk.kil_switch"])
    assert result.exit_code == 2
    assert "Unknown bot id" in result.stderr and "risk.kill_switch" in result.stderr


def test_promote_refused_names_gate(journal: SqliteJournal, fake_impls: object) -> None:
    env = _admin(journal)
    shadow_run(journal, KS, hours=3)
    result = runner.invoke(app, ["bots", "promote", KS, "--to", "shadow_ready",
                                 "--db", _db(journal)], env=env)
    assert result.exit_code == 1
    assert "shadow_24h" in result.stderr
    last = journal.tail(1)[0].envelope
    assert last.reason_code == "GOV_PROMOTION_REFUSED"
    assert last.actor.label() == "operator:root"
    assert last.signature is not None and last.signature.by == operator_key("root").public_hex


def test_promote_without_a_key_is_refused_and_writes_nothing(
    journal: SqliteJournal, fake_impls: object,
) -> None:
    _admin(journal)
    shadow_run(journal, KS, hours=25)
    head = journal.head()[0]
    result = runner.invoke(app, ["bots", "promote", KS, "--to", "shadow-ready",
                                 "--db", _db(journal)])
    assert result.exit_code == 1
    assert "No operator key" in result.stderr
    assert list(journal.read(from_seq=head + 1)) == []


def test_promote_success_and_bad_stage(journal: SqliteJournal, fake_impls: object) -> None:
    env = _admin(journal)
    shadow_run(journal, KS, hours=25)
    db = _db(journal)
    bad = runner.invoke(app, ["bots", "promote", KS, "--to", "live", "--db", db], env=env)
    assert bad.exit_code == 2
    assert "Unknown stage" in bad.stderr
    ok = runner.invoke(app, ["bots", "promote", "risk.killswitch", "--to", "shadow_ready",
                             "--db", db, "--json"], env=env)
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert (data["bot_id"], data["from_stage"], data["to_stage"]) == (
        KS, "demo_wired", "shadow_ready")
    board = json.loads(runner.invoke(app, ["board", "--json", "--db", db]).stdout)
    assert board["stages"]["shadow_ready"] == 1
    again = runner.invoke(app, ["bots", "promote", KS, "--to", "runtime_live", "--db", db], env=env)
    assert again.exit_code == 1
    assert "real_venue_adapter" in again.stderr


def test_group_level_db_reaches_subcommands(journal: SqliteJournal, fake_impls: object) -> None:
    shadow_run(journal, KS, hours=1)
    result = runner.invoke(app, ["bots", "--db", _db(journal), "show", KS, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stage"] == "demo_wired"
