"""Our build plan as data: the spec's eight phases and our own infrastructure tasks.

The spec's status banner reads `v3 spine · Phase 1 · Shared contracts · 9 demo-wired · ... ·
109 total · 15/33 infra tasks`; its 33 tasks were never published, so this list is ours. Each
task names the one test that is its evidence, as `path::function`, and is done when that test
exists in the test tree (the file is there and defines the function); a test in the suite
asserts the evidence of every task counted done. The current phase is the first phase with a
task not done; tasks of the scale path count in N/M but gate no phase.

Where the package runs without its test tree (an installed wheel), nothing can be checked and
every task reads `unknown`, never done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

PHASES: Final[dict[int, str]] = {
    1: "Shared contracts", 2: "Data normalisation", 3: "Reporting & event store", 4: "Core risk",
    5: "Execution rails", 6: "One strategy", 7: "Replay + governance", 8: "More strategies",
}
SCALE: Final = 0  # the scale path (DESIGN.md section 8): counted, but gates no phase


@dataclass(frozen=True, slots=True)
class InfraTask:
    id: str
    title: str
    phase: int
    evidence: str  # "tests/<path>.py::<test function>"

    @property
    def test_path(self) -> str:
        return self.evidence.partition("::")[0]

    @property
    def test_name(self) -> str:
        return self.evidence.partition("::")[2]


T = InfraTask
INFRA_TASKS: Final[tuple[InfraTask, ...]] = (
    T("contracts", "Frozen typed wire objects and JSON Schema export", 1,
      "tests/spine/test_contracts.py::test_order_intent_round_trips_through_json"),
    T("reason_codes", "One reason-code registry, family-prefixed codes enforced", 1,
      "tests/spine/test_reason_codes.py::test_every_code_in_the_source_is_registered"),
    T("sim_venue", "Deterministic CLOB V2-like simulator with fault injection", 2,
      "tests/venues/sim/test_sim_determinism.py::test_same_seed_same_calls_identical_events_and_hashes"),
    T("market_state", "Market and order-book projections (freshness, marks, clusters)", 2,
      "tests/state/test_markets_projection.py::test_latest_snapshot_book_and_derived_reads"),
    T("journal", "Append-only hash-chained journal (SQLite)", 3,
      "tests/spine/test_journal.py::test_entries_chain_and_read_back"),
    T("journal_trust", "Signed entries, digests and anchors; verify names the first bad seq", 3,
      "tests/trust/test_forgery.py::test_a_forged_reset_leaves_the_trip_active"),
    T("checkpoints", "Checkpoints a restart rebuilds from", 3,
      "tests/state/test_accounting_checkpoint.py::test_checkpoint_restore_equals_full_fold"),
    T("accounting", "Accounting with explicit transfers (the equity identity)", 3,
      "tests/state/test_transfers.py::test_a_withdrawal_moves_equity_but_not_drawdown_or_pnl"),
    T("runtime", "Bot runtime: context, modes, authority, one envelope per decision", 4,
      "tests/spine/test_runtime.py::test_every_decide_yields_exactly_one_envelope"),
    T("kill_switch", "Kill switch with automatic triggers and a two-person reset", 4,
      "tests/engine/test_kill_switch.py::test_every_refusal_path_of_the_two_person_reset"),
    T("cross_process", "Every process obeys a trip another process journaled", 4,
      "tests/engine/test_cross_process.py::test_a_trip_from_another_process_is_obeyed_with_no_approval_after_it"),
    T("halt_file", "Halt file when the journal cannot be written", 4,
      "tests/engine/test_full_disk.py::test_a_trip_on_a_full_disk_halts_the_running_system"),
    T("signing", "EIP-712 V2 order signing", 5,
      "tests/signing/test_signing_order.py::test_build_order_fields"),
    T("order_lifecycle", "Order Lifecycle Manager state machine", 5,
      "tests/bots/exec/test_olm.py::test_any_event_sequence_never_leaves_a_terminal_state"),
    T("security_checks", "Security checks before signing", 5,
      "tests/bots/sec/test_sec_guards.py::test_correct_request_passes_both"),
    T("local_exchange", "Local Polymarket-compatible exchange (official client end to end)", 5,
      "tests/exchange/test_client_flow.py::test_official_client_end_to_end"),
    T("venue_adapter", "Real CLOB V2 venue adapter (py-clob-client-v2)", 5,
      "tests/venues/polymarket/test_adapter_contract.py::test_adapter_passes_the_venue_contract_on_the_local_exchange"),
    T("chain_reader", "Chain reader: pUSD and outcome balances at a pinned block", 5,
      "tests/chain/test_chain_reader.py::test_balances_are_read_at_one_pinned_block"),
    T("one_strategy", "One strategy: maker_tight", 6,
      "tests/bots/strat/test_maker_tight.py::test_quotes_both_sides_around_mid"),
    T("demo_scenarios", "Demo scenarios end to end (trip, playbook, replay, reset drill)", 6,
      "tests/engine/test_scenarios.py::test_kill_switch_scenario_end_to_end"),
    T("live_runtime", "Live runtime `polytraders run` on the wall clock", 6,
      "tests/engine/test_live_run.py::test_run_trades_against_the_local_exchange_and_obeys_a_trip"),
    T("replay", "Replay: honest windows, checked what-if, both runs reported", 7,
      "tests/replay/test_replay_cli.py::test_a_what_if_reports_both_runs_and_its_chart_differs_from_the_baseline"),
    T("incidents", "Incident engine: playbooks as data, steps close on evidence", 7,
      "tests/incidents/test_incident_engine.py::test_checkable_steps_refuse_a_note_and_close_on_evidence"),
    T("alert_tracker", "Alert confirm window and flap detection", 7,
      "tests/incidents/test_alerts.py::test_confirm_window_boundaries"),
    T("notifiers", "Notifiers: file channel, Slack, PagerDuty Events v2", 7,
      "tests/incidents/test_notifiers.py::test_pagerduty_trigger_payload_is_exact"),
    T("lifecycle", "Bot lifecycle stages and promotion gates", 7,
      "tests/registry/test_lifecycle.py::test_stages_and_specs_are_ordered_data"),
    T("monitors", "API degradation monitor (a stale monitor reports UNKNOWN)", 7,
      "tests/bots/gov/test_api_degradation_monitor.py::test_a_stale_monitor_reports_unknown"),
    T("reconciler", "On-chain reconciler (mismatch halts trading)", 7,
      "tests/bots/gov/test_reconciler.py::test_a_mismatch_trips_the_kill_switch"),
    T("config_drift", "Config drift detector (revert or time-bound override)", 7,
      "tests/bots/gov/test_config_drift_detector.py::test_an_unauthorised_change_is_reverted"),
    T("console", "Operator console", 7,
      "tests/console/test_console.py::test_console_shows_the_kill_switch_and_open_incidents"),
    T("second_strategy", "A second strategy family", 8,
      "tests/bots/strat/test_momentum.py::test_momentum_proposes_only_inside_its_template"),
    T("postgres_journal", "PostgreSQL journal backend", SCALE,
      "tests/journal/test_postgres_journal.py::test_the_journal_contract_holds_on_postgres"),
    T("nats_bus", "NATS JetStream bus", SCALE,
      "tests/bus/test_nats_bus.py::test_the_bus_contract_holds_on_nats"),
)

Status = Literal["done", "not done", "unknown"]


def default_tests_root() -> Path | None:
    """The checkout's `tests/` beside `src/`, when the package runs from a checkout."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "tests").is_dir() and (parent / "src" / "polytraders").is_dir():
            return parent / "tests"
    return None


def task_status(task: InfraTask, tests_root: Path | None) -> Status:
    if tests_root is None:
        return "unknown"
    path = tests_root.parent / task.test_path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "not done"
    found = re.search(rf"^\s*(async\s+)?def {re.escape(task.test_name)}\(", text, re.MULTILINE)
    return "done" if found else "not done"


@dataclass(frozen=True, slots=True)
class PlanStatus:
    statuses: tuple[tuple[InfraTask, Status], ...]

    @property
    def done(self) -> int:
        return sum(s == "done" for _, s in self.statuses)

    @property
    def total(self) -> int:
        return len(self.statuses)

    @property
    def known(self) -> bool:
        return all(s != "unknown" for _, s in self.statuses)

    @property
    def phase(self) -> int | None:
        """The first phase with a task not done (None when every phase is done or unknown)."""
        if not self.known:
            return None
        open_phases = [t.phase for t, s in self.statuses if s != "done" and t.phase != SCALE]
        return min(open_phases) if open_phases else None

    def infra_text(self) -> str:
        return f"{self.done}/{self.total} infra tasks" if self.known else f"?/{self.total} infra tasks"

    def phase_text(self) -> str:
        phase = self.phase
        if phase is None:
            return "Phase ? · evidence unavailable" if not self.known else "all phases done"
        return f"Phase {phase} · {PHASES[phase]}"


def plan_status(tests_root: Path | None = None, *, find: bool = True) -> PlanStatus:
    root = tests_root if tests_root is not None or not find else default_tests_root()
    return PlanStatus(tuple((t, task_status(t, root)) for t in INFRA_TASKS))
