"""`polytraders incidents ...` and `polytraders snapshot` through typer's CliRunner, with signed keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from factories import operator_key
from helpers_incidents import make_runner, make_runtime, reset, trip
from typer.testing import CliRunner

from polytraders.cli import incidents as incidents_cli
from polytraders.journal.sqlite import SqliteJournal
from polytraders.operators.keys import write_key_file


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "incidents.toml"
    cfg.write_text('[oncall]\nrisk = ["alice"]\n[notifiers]\nchannel_path = "chan.jsonl"\n'
                   '[incidents]\nsnapshots_dir = "snaps"\n', encoding="utf-8")
    monkeypatch.setenv("POLYTRADERS_INCIDENTS_CONFIG", str(cfg))
    monkeypatch.delenv("POLYTRADERS_KEY_FILE", raising=False)
    monkeypatch.delenv("POLYTRADERS_KEY", raising=False)
    rt, _ = make_runtime(tmp_path, "j.db")  # alice is an operator, val readonly
    ops = str(write_key_file(tmp_path / "alice.key", "alice", operator_key("alice").signer, "simulation"))
    viewer = str(write_key_file(tmp_path / "val.key", "val", operator_key("val").signer, "simulation"))
    runner = make_runner(rt, tmp_path)
    inc = runner.handle_trip(trip(rt))
    assert inc is not None
    rt.journal.close()
    return {"db": str(tmp_path / "j.db"), "ops": ops, "viewer": viewer, "inc": inc,
            "tmp": str(tmp_path)}


def _app() -> typer.Typer:
    app = typer.Typer()
    incidents_cli.register(app)
    return app


def _run(*args: str) -> tuple[int, str]:
    """Run a command; `--token FILE` here means: act with that key file (never on argv for real)."""
    argv = list(args)
    env = {}
    if "--token" in argv:
        i = argv.index("--token")
        env["POLYTRADERS_KEY_FILE"] = argv[i + 1]
        del argv[i:i + 2]
    result = CliRunner().invoke(_app(), argv, env=env)
    return result.exit_code, result.output


def _codes(db: str) -> list[str]:
    j = SqliteJournal(db)
    try:
        return [e.envelope.reason_code for e in j.read()]
    finally:
        j.close()


def test_ack_step_resolve_rca_flow(setup: dict[str, str]) -> None:
    db, inc, tok = setup["db"], setup["inc"], setup["ops"]
    code, out = _run("incidents", "list", "--db", db, "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["incident_id"] == inc and rows[0]["status"] == "open"

    before = _codes(db)
    code, out = _run("incidents", "ack", inc, "--db", db)
    assert code == 1 and "No operator key" in out
    assert _codes(db) == before  # a command that cannot authenticate writes nothing
    code, out = _run("incidents", "ack", inc, "--db", db, "--token", setup["viewer"])
    assert code == 1 and "role 'readonly'" in out

    code, out = _run("incidents", "ack", inc, "--db", db, "--token", tok)
    assert code == 0, out
    assert _codes(db)[-1] == "GOV_INCIDENT_ACKNOWLEDGED"

    code, out = _run("incidents", "resolve", inc, "--db", db, "--token", tok)
    assert code == 1 and "trip-1" in out and "still active" in out
    assert _codes(db)[-1] == "GOV_INCIDENT_ACTION_REFUSED"

    code, out = _run("incidents", "step", inc, "reset_kill_switch", "--db", db, "--token", tok)
    assert code == 2  # --done and --note are required
    # a note cannot close a step the system can check: the trip is still active
    code, out = _run("incidents", "step", inc, "reset_kill_switch", "--done", "--note",
                     "two-person reset done", "--db", db, "--token", tok)
    assert code == 1 and "trip-1 is still active" in out, out
    assert _codes(db)[-1] == "GOV_INCIDENT_ACTION_REFUSED"
    # nor can it close the RCA step before an RCA exists
    code, out = _run("incidents", "step", inc, "investigate_root_cause", "--done", "--note",
                     "looked into it", "--db", db, "--token", tok)
    assert code == 1 and "closes when the RCA is recorded" in out, out
    for step in ("confirm_nothing_in_flight", "publish_positions_snapshot"):
        code, out = _run("incidents", "step", inc, step, "--done", "--note", "checked by hand",
                         "--db", db, "--token", tok)
        assert code == 0, out
    code, out = _run("incidents", "show", inc, "--db", db, "--json")
    assert json.loads(out)["steps"]["reset_kill_switch"]["status"] == "pending"

    rt, _ = make_runtime(Path(setup["tmp"]), "j.db")  # the kill-switch reset, out of band
    reset(rt)
    rt.journal.close()
    # the journaled reset is the evidence that closes the step
    code, out = _run("incidents", "show", inc, "--db", db, "--json")
    reset_step = json.loads(out)["steps"]["reset_kill_switch"]
    assert reset_step["status"] == "done" and "reset journaled at seq" in reset_step["result"]

    code, out = _run("incidents", "resolve", inc, "--db", db, "--token", tok, "--json")
    assert code == 0, out
    assert json.loads(out)["ok"] is True
    code, out = _run("incidents", "list", "--db", db, "--json")
    assert json.loads(out)[0]["outstanding"] == []  # a resolved incident shows nothing outstanding
    code, out = _run("incidents", "rca", inc, "--text", "drawdown limit hit by a real loss",
                     "--db", db, "--token", tok)
    assert code == 0, out

    code, out = _run("incidents", "show", inc, "--db", db, "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["status"] == "resolved"
    assert shown["acknowledged_by"] == "operator:alice"
    assert shown["rca"]["text"] == "drawdown limit hit by a real loss"
    assert shown["steps"]["investigate_root_cause"]["status"] == "done"  # closed by the RCA
    assert shown["snapshot"]["file_matches_journal"] is True
    channel = (Path(setup["tmp"]) / "chan.jsonl").read_text(encoding="utf-8")
    assert "resolved by alice" in channel


def test_unknown_incident_refused_and_journaled(setup: dict[str, str]) -> None:
    code, out = _run("incidents", "ack", "inc_999", "--db", setup["db"], "--token", setup["ops"])
    assert code == 1 and "no incident 'inc_999'" in out
    assert _codes(setup["db"])[-1] == "GOV_INCIDENT_ACTION_REFUSED"


def test_snapshot_now_and_show(setup: dict[str, str]) -> None:
    db, inc = setup["db"], setup["inc"]
    code, out = _run("snapshot", "--db", db, "--json")
    assert code == 0, out
    snap = json.loads(out)
    assert snap["block"]["error"] == "no chain reader configured"
    assert "trip-1" in snap["kill_switch"]["active"]
    assert len(snap["last_envelopes"]) <= 100
    code, out = _run("snapshot", "--db", db, "--save", "--json", "--token", setup["ops"])
    assert code == 0, out
    stored = json.loads(out)["stored"]
    assert Path(stored["path"]).exists()
    assert _codes(db)[-1] == "GOV_STATE_CAPTURED"
    code, out = _run("snapshot", "show", inc, "--db", db, "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["matches_journal"] is True
    assert shown["snapshot"]["kill_switch"]["active"]
    code, out = _run("snapshot", "show", "nope", "--db", db)
    assert code == 1
