"""Human output an on-call engineer reads: `--version`, and `killswitch status` as tables with
ISO 8601 UTC times and how long ago, never raw epoch milliseconds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from factories import make_trusted_runtime
from typer.testing import CliRunner

from polytraders import __version__
from polytraders.cli.main import app
from polytraders.cli.timefmt import iso_utc, relative, when
from polytraders.contracts import Scope
from polytraders.engine.kill_switch_ops import kill_switch_config, manual_trip, request_reset
from polytraders.runtime.clock import SimClock

T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"polytraders {__version__}"


def test_times_read_as_iso_utc_with_how_long_ago() -> None:
    assert iso_utc(T0) == "2026-01-05T00:00:00Z"
    assert relative(T0, T0 + 180_000) == "3 min ago"
    assert relative(T0 + 7_200_000, T0) == "in 2 h"
    assert relative(T0, T0 + 2_000) == "just now"
    assert when(T0, T0 + 90_000_000) == "2026-01-05T00:00:00Z (1 d ago)"
    assert when(None) == "-"


def test_killswitch_status_is_a_table_with_iso_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from polytraders.cli import common

    monkeypatch.setattr(common.console, "width", 200)  # one row per line, so cells can be read back
    clock = SimClock(T0)
    rt, ops = make_trusted_runtime(tmp_path / "ks.db", clock)
    clock.advance(60_000)
    trip_id = manual_trip(rt, ops["carol"], Scope(), "drill")
    clock.advance(30_000)
    request_id = request_reset(rt, ops["alice"], trip_id, kill_switch_config(rt.journal))
    rt.note("GOV_RUN_STOPPED", durable=True)
    rt.write_digest(final=True)
    rt.journal.close()
    result = CliRunner().invoke(app, ["killswitch", "status", "--db", str(tmp_path / "ks.db")])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "kill switch TRIPPED" in text and "tripped at (UTC)" in text
    assert trip_id in text and "2026-01-05T00:01:00Z" in text and "ago)" in text
    assert "open reset requests" in text and request_id in text and "expires (UTC)" in text
    assert not re.search(r"\b1[0-9]{12}\b", text), "no raw epoch milliseconds in human output"


def test_ids_a_person_copies_are_never_folded_or_cut_on_a_narrow_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from polytraders.cli import common

    monkeypatch.setattr(common.console, "width", 60)
    clock = SimClock(T0)
    rt, ops = make_trusted_runtime(tmp_path / "ks.db", clock)
    trip_id = manual_trip(rt, ops["carol"], Scope(), "drill")
    request_id = request_reset(rt, ops["alice"], trip_id, kill_switch_config(rt.journal))
    rt.note("GOV_RUN_STOPPED", durable=True)
    rt.write_digest(final=True)
    rt.journal.close()
    text = CliRunner().invoke(app, ["killswitch", "status", "--db", str(tmp_path / "ks.db")]).output
    lines = text.splitlines()
    assert any(trip_id in line for line in lines), text  # whole, on one line
    assert any(request_id in line for line in lines), text
    assert "…" not in text
