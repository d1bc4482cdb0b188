"""Readiness scores and the plan status board, derived from evidence."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from polytraders.journal.sqlite import SqliteJournal
from polytraders.operators.auth import Operator
from polytraders.registry import lifecycle
from polytraders.registry.board import board_from, board_json, build_board, header_line
from polytraders.registry.catalogue import LAYER_ORDER, load_catalogue
from polytraders.registry.lifecycle import (
    STAGES,
    JournalEvidence,
    derive_stage,
    evidence_for,
    gather,
    promote,
)
from polytraders.registry.readiness import (
    DOC_SECTIONS,
    FIXTURE_CASES,
    docstring_headings,
    score_readiness,
)
from polytraders.runtime.bot import Bot
from polytraders.runtime.clock import SimClock

from .helpers import T0, emit, shadow_run

KS = "risk.kill_switch"

_MODULE = '''\
"""risk.kill_switch (test double) -- a module written to exercise the Docs and Impl scores.

Purpose: prove the scoring reads real headings.
Parameters (default / warning / hard):
- limit 5 / 8 / 15
Reason codes: RISK_KILLSWITCH_ARMED, RISK_KILLSWITCH_ACTIVE
# Runbook
Wire examples
-------------
    indented lines such as Alerts: are not headings
"""

from __future__ import annotations

from typing import Any, ClassVar

from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import Param
from polytraders.runtime.kinds import Authority, Layer, Mode


class DocumentedKillSwitch(Bot[Any, Any]):
    bot_id = "risk.kill_switch"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.REJECT})
    params = (Param("limit", 5, 8, 15),)
    reason_codes = ("RISK_KILLSWITCH_ARMED", "RISK_KILLSWITCH_ACTIVE")
    SEARCH_SPACE: ClassVar[dict[str, Any]] = {"limit": (1, 15)}
    supported_modes = frozenset(MODES)

    def decide(self, input: Any, ctx: Any) -> Decision[Any]:
        return Decision(None, "EXTRA")
'''


def _write_module(tmp_path: Path, name: str, *, modes: str = "Mode", extra_code: str =
                  "RISK_KILLSWITCH_ARMED") -> type[Bot[Any, Any]]:
    folder = tmp_path / "fakemods"
    folder.mkdir(exist_ok=True)
    source = _MODULE.replace("MODES", modes).replace('"EXTRA"', f'"{extra_code}"')
    (folder / f"{name}.py").write_text(source)
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))
    cls = module.DocumentedKillSwitch
    assert isinstance(cls, type) and issubclass(cls, Bot)
    return cls


@pytest.fixture
def documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Bot[Any, Any]]]:
    name = f"fake_ks_{abs(hash(tmp_path)) % 10**8}"
    cls = _write_module(tmp_path, name)
    monkeypatch.setattr(lifecycle, "implementation_of", lambda b: cls if b == KS else None)
    yield cls
    sys.modules.pop(name, None)


def _fixture_pack(root: Path, bot_id: str, cases: tuple[str, ...] = FIXTURE_CASES) -> None:
    folder = root / bot_id
    folder.mkdir(parents=True)
    for case in cases:
        (folder / f"{case}.json").write_bytes(orjson.dumps({"case": case}))


def _passed(items: Any) -> set[str]:
    return {i.id for i in items if i.passed}


def test_doc_sections_are_27_with_unnamed_listed() -> None:
    assert len(DOC_SECTIONS) == 27
    named = [s for s in DOC_SECTIONS if s.phrases]
    assert len(named) == 20
    assert [s.title for s in DOC_SECTIONS[:3]] == ["Bot Identity", "Operational Profile",
                                                  "Purpose"]
    assert all(s.title.startswith("Unnamed") for s in DOC_SECTIONS if not s.phrases)


def test_docstring_headings() -> None:
    doc = textwrap.dedent("""\
        Summary: the first line is the summary, never a heading.

        Purpose: one.
        **Reason codes**: A, B
        2. Why this bot matters:
        # Runbook
        Test matrix
        ===========
          Alerts: indented, so not a heading
        - Metrics: a list item, not a heading
        """)
    assert docstring_headings(doc) == (
        "purpose", "reason codes", "why this bot matters", "runbook", "test matrix")


def test_empty_evidence_scores_zero_and_explains_every_item(fake_impls: object) -> None:
    facts = JournalEvidence()
    for entry in load_catalogue():
        if entry.id in fake_impls:  # type: ignore[operator]
            continue
        ev = evidence_for(entry.id, facts)
        readiness = score_readiness(ev, derive_stage(ev), fixtures_root=Path("/nonexistent"))
        for score in readiness.scores:
            assert score.value == 0, (entry.id, score.name)
            assert len(score.items) == score.maximum
            assert all(i.detail for i in score.items)
        assert readiness.label() == "Docs 0/27 · Impl 0/15 · Backtest 0/4 · Runtime 0/8"


def test_readiness_from_real_evidence(
    documented: type[Bot[Any, Any]], journal: SqliteJournal, tmp_path: Path,
) -> None:
    root = tmp_path / "fixtures"
    _fixture_pack(root, KS)
    shadow_run(journal, KS, hours=25)
    ev = evidence_for(KS, gather(journal))
    r = score_readiness(ev, derive_stage(ev), fixtures_root=root)

    assert _passed(r.docs.items) == {"section_3", "section_7", "section_9", "section_10",
                                     "section_19"}
    assert r.docs.value == 5
    assert sum(i.status == "not_checkable" for i in r.docs.items) == 7

    assert r.impl.value == 13
    assert {i.id for i in r.impl.items if i.status == "not_checkable"} == {
        "mock_clob_v2", "green_ci"}

    assert _passed(r.backtest.items) == {"synthetic_fixture", "envelope_timeline",
                                         "search_space"}
    assert _passed(r.runtime.items) == {"clean_shadow", "error_rate"}
    assert r.short() == "5/27 13/15 3/4 2/8"


def test_impl_checks_fail_for_real_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, journal: SqliteJournal,
) -> None:
    name = f"fake_ks_bad_{abs(hash(tmp_path)) % 10**8}"
    cls = _write_module(tmp_path, name, modes="{Mode.OFF, Mode.SHADOW, Mode.ENFORCED}",
                        extra_code="RISK_NOT_A_REGISTERED_CODE")
    monkeypatch.setattr(lifecycle, "implementation_of", lambda b: cls if b == KS else None)
    root = tmp_path / "fixtures"
    _fixture_pack(root, KS, cases=("normal", "warning", "hard"))
    emit(journal, KS, T0, code="GOV_BOT_ERROR")
    journal.flush()
    ev = evidence_for(KS, gather(journal))
    r = score_readiness(ev, derive_stage(ev), fixtures_root=root)
    failed = {i.id: i.detail for i in r.impl.items if i.status == "failed"}
    assert set(failed) == {"source_registered", "quarantine", "fixture_pack", "emitted_declared"}
    assert "RISK_NOT_A_REGISTERED_CODE" in failed["source_registered"]
    assert "failure.json missing" in failed["fixture_pack"]
    assert "GOV_BOT_ERROR" in failed["emitted_declared"]
    error_rate = next(i for i in r.runtime.items if i.id == "error_rate")
    assert not error_rate.passed and "1 GOV_BOT_ERROR in 1" in error_rate.detail
    sys.modules.pop(name, None)


# -- board ------------------------------------------------------------------------------------


HEADER = re.compile(
    r"^v3 spine · Phase (\d) · [A-Za-z &+-]+ · (\d+) demo-wired · (\d+) shadow-ready · (\d+) runtime-live · "
    r"(\d+) production-live · (\d+) pending · (\d+) uncatalogued · (\d+) total · (\d+)/(\d+) infra tasks$"
)


def test_empty_board_is_all_pending() -> None:
    board = board_from(JournalEvidence())
    total = len(load_catalogue())
    match = HEADER.match(header_line(board))
    assert match is not None, header_line(board)
    assert match.groups()[1:8] == ("0", "0", "0", "0", str(total), str(109 - total), "109")
    assert tuple(board.by_layer()) == LAYER_ORDER


def test_board_counts_and_json_shape(journal: SqliteJournal, fake_impls: object) -> None:
    shadow_run(journal, KS, hours=2)
    shadow_run(journal, "exec.smart_router", hours=24, start=T0 + 10)
    promote(journal, "exec.smart_router", "shadow_ready", Operator("alice", "admin"),
            clock=SimClock(T0))
    board = build_board(journal)
    total = len(load_catalogue())
    match = HEADER.match(header_line(board))
    assert match is not None
    assert match.groups()[1:8] == ("1", "1", "0", "0", str(total - 2), str(109 - total), "109")

    data = board_json(board)
    assert set(data) == {"header", "stages", "total", "spec_total", "uncatalogued", "infra", "bots"}
    assert data["total"] + data["uncatalogued"]["total"] == data["spec_total"] == 109
    assert data["uncatalogued"]["by_layer"] == {"strategy": 4, "execution": 4, "governance": 2}
    assert list(data["stages"]) == list(STAGES)
    assert data["stages"] == {"pending": total - 2, "demo_wired": 1, "shadow_ready": 1,
                              "runtime_live": 0, "production_live": 0}
    assert data["total"] == total == sum(data["stages"].values()) == len(data["bots"])
    by_id = {b["id"]: b for b in data["bots"]}
    assert by_id[KS]["stage"] == "demo_wired"
    assert by_id["exec.smart_router"]["stage"] == "shadow_ready"
    for row in data["bots"]:
        assert set(row) == {"id", "layer", "stage", "readiness"}
        assert set(row["readiness"]) == {"docs", "impl", "backtest", "runtime"}
        assert row["layer"] in LAYER_ORDER
    orjson.dumps(data)  # JSON-serialisable as is

    risk_only = build_board(journal, layers=("risk",))
    assert {s.entry.layer for s in risk_only.bots} == {"risk"}
    assert risk_only.counts["demo_wired"] == 1 and risk_only.counts["shadow_ready"] == 0
