"""Operator identities and auth refusals (all journaled, tokens never stored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from polytraders.cli.main import app
from polytraders.errors import BadInputError, RefusedError
from polytraders.journal import SqliteJournal
from polytraders.operators.auth import add_operator, authenticate


def refusals(j: SqliteJournal) -> list[str]:
    return [e.envelope.payload["detail"]["reason"] for e in j.read()
            if e.envelope.reason_code == "GOV_AUTH_REFUSED"]


def test_bootstrap_then_roles(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "o.db")
    with pytest.raises(BadInputError, match="first operator"):
        add_operator(j, "eve", "operator", None)
    admin, admin_token = add_operator(j, "alice", "admin", None)
    approver, approver_token = add_operator(j, "bob", "approver", admin_token)
    assert authenticate(j, approver_token, "killswitch.approve_reset").name == "bob"
    with pytest.raises(RefusedError, match="role 'approver'"):
        authenticate(j, approver_token, "operators.add")
    with pytest.raises(RefusedError, match="no operator token"):
        authenticate(j, "", "killswitch.trip")
    with pytest.raises(RefusedError, match="not recognised"):
        authenticate(j, "pt_wrong", "killswitch.trip")
    assert refusals(j) == ["role_not_permitted", "missing_token", "unknown_token"]
    # only a digest is journaled, never the token
    raw = (tmp_path / "o.db").read_bytes()
    j.close()
    for tok in (admin_token, approver_token):
        assert tok.encode() not in raw


def test_cli_refuses_wrong_token_with_exit_1(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    runner = CliRunner()
    first = runner.invoke(app, ["operators", "add", "alice", "--role", "admin", "--db", db, "--json"])
    assert first.exit_code == 0, first.output
    bad = runner.invoke(app, ["operators", "add", "bob", "--role", "approver", "--db", db],
                        env={"POLYTRADERS_TOKEN": "pt_nope"})
    assert bad.exit_code == 1
    assert "not recognised" in bad.output and "Traceback" not in bad.output
    bad_role = runner.invoke(app, ["operators", "add", "bob", "--role", "boss", "--db", db])
    assert bad_role.exit_code == 2 and "Unknown role" in bad_role.output
    with SqliteJournal(db) as j:
        assert refusals(j) == ["unknown_token"]
