"""The plan status board's infrastructure tasks: data, each with a test as its evidence; done
exactly when that test exists; the phase is the first with a task not done."""

from __future__ import annotations

import re
from pathlib import Path

from polytraders.registry.catalogue import SPEC_TOTAL, load_catalogue
from polytraders.registry.plan import INFRA_TASKS, PHASES, SCALE, InfraTask, plan_status, task_status

TESTS = Path(__file__).resolve().parents[1]

# What the suite holds today. A task leaves this list only if its evidence test is deleted or
# renamed, which must then be a deliberate change here too; a task joins it when its test lands.
DONE_TODAY = {
    "contracts", "reason_codes", "sim_venue", "market_state", "journal", "journal_trust", "checkpoints",
    "accounting", "runtime", "kill_switch", "cross_process", "halt_file", "signing", "order_lifecycle",
    "security_checks", "local_exchange", "one_strategy", "demo_scenarios", "replay", "incidents",
    "alert_tracker", "notifiers", "lifecycle", "config_drift",
}


def test_tasks_are_well_formed_data() -> None:
    ids = [t.id for t in INFRA_TASKS]
    assert len(ids) == len(set(ids))
    for t in INFRA_TASKS:
        assert t.phase in PHASES or t.phase == SCALE
        assert re.fullmatch(r"tests/[a-z0-9_/]+\.py::test_[a-z0-9_]+", t.evidence), t.evidence
    # the named infrastructure the issue lists is on the plan
    for needed in ("journal", "runtime", "venue_adapter", "local_exchange", "chain_reader", "monitors",
                   "console", "postgres_journal", "nats_bus"):
        assert needed in ids


def test_every_listed_evidence_test_of_a_done_task_exists_in_the_suite() -> None:
    for t in INFRA_TASKS:
        path = TESTS.parent / t.test_path
        defines = path.exists() and f"def {t.test_name}(" in path.read_text(encoding="utf-8")
        assert defines == (t.id in DONE_TODAY), (t.id, t.evidence)
    status = plan_status(TESTS)
    assert {t.id for t, s in status.statuses if s == "done"} == DONE_TODAY
    assert status.done == len(DONE_TODAY) and status.total == len(INFRA_TASKS)


def test_done_means_the_named_test_exists(tmp_path: Path) -> None:
    task = InfraTask("x", "x", 1, "tests/area/test_x.py::test_it_works")
    root = tmp_path / "tests"
    assert task_status(task, root) == "not done"
    (root / "area").mkdir(parents=True)
    (root / "area" / "test_x.py").write_text("def test_something_else() -> None: ...\n", encoding="utf-8")
    assert task_status(task, root) == "not done"  # the file alone is not the evidence
    (root / "area" / "test_x.py").write_text("def test_it_works() -> None: ...\n", encoding="utf-8")
    assert task_status(task, root) == "done"
    assert task_status(task, None) == "unknown"  # no test tree: never counted done


def test_phase_is_the_first_with_a_task_not_done_and_unknown_without_tests() -> None:
    status = plan_status(TESTS)
    open_phases = {t.phase for t in INFRA_TASKS if t.id not in DONE_TODAY and t.phase != SCALE}
    assert status.phase == min(open_phases)
    assert status.phase_text() == f"Phase {min(open_phases)} · {PHASES[min(open_phases)]}"
    blind = plan_status(None, find=False)
    assert blind.phase is None and blind.infra_text() == f"?/{len(INFRA_TASKS)} infra tasks"


def test_spec_total_is_catalogued_plus_uncatalogued() -> None:
    from polytraders.registry.board import uncatalogued_slots

    assert SPEC_TOTAL == 109
    assert len(load_catalogue()) + sum(uncatalogued_slots().values()) == SPEC_TOTAL
