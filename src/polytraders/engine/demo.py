"""`polytraders demo`: a governed trading session over simulated time, start to finish."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytraders.chain.env import ChainEnv
from polytraders.contracts import Genesis, OperatorKey
from polytraders.engine.gc_policy import GcPolicy
from polytraders.engine.kill_switch_ops import halt_path
from polytraders.engine.scenarios import GENESIS_ADMINS, get_scenario, sim_key, write_crew_keys
from polytraders.engine.system import SystemConfig, TradingSystem
from polytraders.errors import BadInputError, RefusedError
from polytraders.incidents.config import incidents_dir
from polytraders.journal.base import JournalEntry
from polytraders.journal.digests import anchors_dir
from polytraders.journal.signatures import Signer
from polytraders.journal.sqlite import SqliteJournal, create_journal, in_use, open_journal
from polytraders.state.modes import KILL_SWITCH_SOURCE
from polytraders.venues.sim import SimVenue

DEMO_START_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z: a fixed start keeps runs identical
STEP_MS = 1_000
REFREEZE_EVERY_SIM_S = 300  # a full collection then walks only what five simulated minutes made


@dataclass(frozen=True)
class DemoArgs:
    minutes: int = 60
    markets: int = 20
    seed: int = 7
    db: Path = Path("polytraders.db")
    scenario: str = "calm"
    overwrite: bool = False
    use_anvil: bool = True  # chain scenarios: anvil when installed, else the in-memory twin


RUNS_DIR = Path("demo-runs")


def new_run_path(scenario: str, seed: int, base: Path = RUNS_DIR) -> Path:
    """A fresh run folder: `demo-runs/<scenario>-seed<seed>-<n>/journal.db`, never an existing one."""
    for n in range(1, 100_000):
        folder = base / f"{scenario}-seed{seed}-{n}"
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        return folder / "journal.db"
    raise RefusedError(f"No free run folder under {base}; clear out old demo runs.")


def sim_genesis(seed: int, scenario: str, start_ms: int) -> tuple[Genesis, Signer]:
    """A simulation journal's identity, all derived from the seed so runs are identical."""
    system = sim_key(seed, "system")
    journal_id = hashlib.sha256(f"polytraders-sim:{seed}:{scenario}".encode()).hexdigest()[:32]
    admins = tuple(OperatorKey(name=n, public_key=sim_key(seed, n).public_hex) for n in GENESIS_ADMINS)
    return Genesis(journal_mode="simulation", journal_id=journal_id, system_key=system.public_hex,
                   admins=admins, created_ms=start_ms), system


def _clear_for_overwrite(db: Path) -> None:
    """`--overwrite`: remove a simulation journal (and what the demo made beside it: anchors, the
    incidents folder, the halt file), only when
    it is one and no other process has it open."""
    if not db.exists():
        return
    try:
        existing = open_journal(db, readonly=True)
    except BadInputError:
        raise RefusedError(f"--overwrite refused: {db} is not a Polytraders journal; it was left untouched.") from None
    mode = existing.mode
    existing.close()
    if mode != "simulation":
        raise RefusedError(f"--overwrite refused: {db} is a {mode} journal; only simulation journals are "
                           f"ever overwritten.")
    if in_use(db):
        raise RefusedError(f"--overwrite refused: another process has {db} open.")
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.rmtree(anchors_dir(db), ignore_errors=True)
    shutil.rmtree(incidents_dir(db), ignore_errors=True)  # its snapshots and channel
    halt_path(db).unlink(missing_ok=True)
    shutil.rmtree(config_repo_path(db), ignore_errors=True)  # the demo made it beside the journal


def config_repo_path(db: Path) -> Path:
    """The simulated approved-config repository of a demo journal."""
    return Path(str(db) + ".config")


def run_demo(args: DemoArgs, progress: Callable[[int, int], None] | None = None,
             after_step: Callable[[TradingSystem], None] | None = None) -> dict[str, Any]:
    """Run a scenario to the end; `after_step` sees the system after every simulated second
    (tests use it to check invariants such as the accounting identity at every step)."""
    scenario = get_scenario(args.scenario)
    if args.minutes < scenario.min_minutes:
        raise BadInputError(
            f"Scenario {scenario.name} needs at least {scenario.min_minutes} minutes to play out; "
            f"got --minutes {args.minutes}.")
    start_ms = DEMO_START_MS + scenario.start_offset_ms
    if args.overwrite:
        _clear_for_overwrite(args.db)
    if args.db.exists() or Path(str(args.db) + "-wal").exists():
        raise RefusedError(f"{args.db} exists already; the demo writes only new journals. Pass another --db, "
                           f"or --overwrite to replace a simulation journal no process is using.")
    if args.db.parent.exists() and not args.db.parent.is_dir():
        raise BadInputError(f"{args.db.parent} is not a directory.")
    args.db.parent.mkdir(parents=True, exist_ok=True)
    genesis, system_key = sim_genesis(args.seed, scenario.name, start_ms)
    # a running system waits at most a second for the write lock, then treats the journal as
    # unwritable for that step: it must keep checking the halt file, not block behind a writer
    journal = create_journal(args.db, genesis, synchronous="NORMAL", lock_timeout_s=1.0)
    from polytraders.engine.live import take_run_lock

    # the demo is the running system: an operator's trip meanwhile is handled by it, not the CLI
    run_lock = take_run_lock(args.db)
    write_crew_keys(args.db, args.seed)
    venue = SimVenue(args.seed, args.markets, start_ms)
    plan = scenario.faults(venue, start_ms)
    if plan is not None:
        venue.set_faults(plan)
    chain = ChainEnv(prefer_anvil=args.use_anvil, start_ms=start_ms) if scenario.chain else None
    tally = JournalTally()
    # The collector as a running system has it (engine/gc_policy.py), but refrozen on simulated
    # time: left alone, its full collections walk every order, fill and envelope of the run so
    # far, each later one longer and more often, and the hour's last minutes cost the most.
    collector = GcPolicy()
    try:
        system = TradingSystem(journal, venue, SystemConfig(
            seed=args.seed, n_markets=args.markets, start_ms=start_ms,
            initial_pusd=scenario.initial_pusd,
            bot_overrides={k: dict(v) for k, v in scenario.bot_overrides.items()},
            system_signer=system_key, halt_path=halt_path(args.db),
            chain_reader=chain.reader if chain is not None else None, api_monitor=scenario.api_monitor,
            approved_config=config_repo_path(args.db) if scenario.approved_config else None,
            approved_config_create=True))
        system.runtime.listeners.append(tally)
        system.start()
        if chain is not None:
            _attach_chain(system, chain)
        collector.freeze()
        script = dict(scenario.script)
        total = args.minutes * 60
        for second in range(1, total + 1):
            now = start_ms + second * STEP_MS
            if second % 60 == 0 and (second // 60) in script:
                script[second // 60](system)
            if chain is not None:
                chain.tick(now)
            system.step(now)
            if after_step is not None:
                after_step(system)
            if second % REFREEZE_EVERY_SIM_S == 0:
                collector.freeze()
            if progress is not None and second % 60 == 0:
                progress(second // 60, args.minutes)
        system.stop()
        summary = summarise(system, journal, args, tally)
        if chain is not None:
            summary["chain"] = {"kind": chain.kind, "note": chain.note, "settlement_failures": chain.failures}
            summary["reconcile"] = reconcile_summary(system)
    finally:
        collector.release()
        if chain is not None:
            chain.close()
        if run_lock is not None:
            os.close(run_lock)
    journal.close()
    return summary


def _attach_chain(system: TradingSystem, chain: ChainEnv) -> None:
    """Fund the funder on chain (journaled as a deposit) and settle our confirmed fills there."""
    from polytraders.engine.scenarios import fund_on_chain

    system.chain_env = chain  # type: ignore[attr-defined]  # the scenario's actions reach the chain here
    assert system.reconciler is not None
    funder = system.reconciler.address
    fund_on_chain(str(system.config.initial_pusd))(system)

    def settle(entry: JournalEntry) -> None:
        if entry.envelope.kind == "fill":
            chain.settle(entry.envelope.payload, funder, system.clock.now_ms())

    system.runtime.listeners.append(settle)


def reconcile_summary(system: TradingSystem) -> dict[str, Any]:
    from polytraders.state.reconcile import ReconcileProjection

    ledger = system.runtime.state.typed("reconcile", ReconcileProjection)
    reports = Counter(e.envelope.reason_code for e in system.runtime.journal.read(kinds=["gov_reconcile"]))
    return {"mismatched": ledger.mismatched, "reports": dict(sorted(reports.items())),
            "divergence": ledger.record, "history": ledger.history,
            "adjustments": list(ledger.iter_adjustments())}


_STORY_KINDS = frozenset({"gov_api_health"})
_STORY_CODES = frozenset({"GOV_MODE_HOLD", "GOV_API_RESTORED"})


class JournalTally:
    """What the summary needs from the journal, gathered from the entries the running system
    folds as they are journaled, so the summary need not read and decode the whole journal
    again: the count of each reason code, and the entries the API story is told from.

    It covers the contiguous run of seqs it saw; the summary reads the rest (the entries
    before the system started listening) from the journal, and reads everything when the run
    has a hole (an entry the trust gate refused is never folded, so never seen here)."""

    def __init__(self) -> None:
        self.codes: Counter[str] = Counter()
        self.story: list[JournalEntry] = []
        self.first: int | None = None
        self.last: int | None = None
        self.whole = True

    def __call__(self, entry: JournalEntry) -> None:
        if self.last is None:
            self.first = entry.seq
        elif entry.seq != self.last + 1:
            self.whole = False
        self.last = entry.seq
        env = entry.envelope
        self.codes[env.reason_code] += 1
        if env.kind in _STORY_KINDS or (env.kind == "note" and env.reason_code in _STORY_CODES):
            self.story.append(entry)

    def covers(self, head_seq: int) -> bool:
        return self.whole and self.first is not None and self.last == head_seq


def _journal_facts(journal: SqliteJournal, tally: JournalTally | None,
                   head_seq: int) -> tuple[Counter[str], list[JournalEntry]]:
    """(entries by reason code, the API story's entries) for the whole journal."""
    if tally is not None and tally.covers(head_seq):
        assert tally.first is not None
        by_code = Counter(tally.codes)
        story: list[JournalEntry] = []
        for entry in journal.read(1, tally.first - 1):
            by_code[entry.envelope.reason_code] += 1
            env = entry.envelope
            if env.kind in _STORY_KINDS or (env.kind == "note" and env.reason_code in _STORY_CODES):
                story.append(entry)
        return by_code, story + tally.story
    by_code = Counter()
    for entry in journal.read():
        by_code[entry.envelope.reason_code] += 1
    return by_code, list(journal.read(kinds=["gov_api_health", "note"]))


def summarise(system: TradingSystem, journal: SqliteJournal, args: DemoArgs,
              tally: JournalTally | None = None) -> dict[str, Any]:
    journal.flush()
    seq, head = journal.head()
    by_code, story_entries = _journal_facts(journal, tally, seq)
    orders = system.orders
    statuses = Counter(o.status for o in orders.all_orders())
    pf = system.portfolio
    now = system.clock.now_ms()
    fills = by_code.get("EXEC_FILL", 0) + by_code.get("EXEC_PARTIAL_FILL_HANDLED", 0)
    return {
        "scenario": args.scenario,
        "scenario_story": get_scenario(args.scenario).description,
        "seed": args.seed,
        "minutes": args.minutes,
        "markets": args.markets,
        "journal": {"entries": seq, "head_hash": head, "db": str(args.db), "mode": "simulation",
                    "keys": str(Path(str(args.db) + ".keys")),
                    "incidents_dir": str(incidents_dir(args.db))},
        "orders": {"total": sum(statuses.values()), **dict(sorted(statuses.items()))},
        "fills": fills,
        "pnl": {
            "realised_pusd": _q(pf.realised_pnl(), "0.000001"),
            "unrealised_pusd": _q(pf.unrealised_pnl(), "0.000001"),
            "fees_pusd": _q(pf.fees_pusd(), "0.000001"),
            "equity_pusd": _q(pf.equity(), "0.000001"),
        },
        # external flows, apart from PnL: equity = initial + deposits − withdrawals + adjustments + PnL
        "transfers": {k: _q(v, "0.000001") for k, v in (pf.accounting() or {}).items()
                      if k in ("initial", "deposits", "withdrawals", "adjustments")},
        "drawdown": {
            "intraday_pct": _q(pf.drawdown_intraday_pct(now), "0.0001"),
            "weekly_pct": _q(pf.drawdown_weekly_pct(now), "0.0001"),
        },
        "reason_codes": dict(sorted(by_code.items())),
        "positions": [p.to_json_dict() for p in pf.positions() if p.size != Decimal(0)],
        "kill_switch": {
            "state": system.runtime.kill_switch.label(),
            "trips": [h for h in system.runtime.kill_switch.history if h["event"] == "tripped"],
            "resets": [h for h in system.runtime.kill_switch.history if h["event"] == "reset"],
            "active": sorted(system.runtime.kill_switch.active),
        },
        "incidents": [incident_summary(i) for i in system.incidents.incidents.all()],
        "story": list(system.story) + api_story(story_entries),
        "modes": modes_summary(system),
        "api_health": api_levels(story_entries),
    }


def _q(value: Decimal | None, quantum: str) -> str | None:
    """Display rounding only; the journal keeps the exact values."""
    return None if value is None else str(value.quantize(Decimal(quantum)))


def incident_summary(inc: dict[str, Any]) -> dict[str, Any]:
    steps = [{"id": sid, "kind": inc["steps"][sid]["kind"], "status": inc["steps"][sid]["status"],
              "result": inc["steps"][sid].get("result"), "error": inc["steps"][sid].get("error"),
              "seq": inc["steps"][sid].get("seq")} for sid in inc["step_order"]]
    result = inc["steps"].get("run_replay_last_hour", {}).get("result") or ""
    verdict = result.rsplit(" ", 1)[-1] if result.startswith("replay verdict") else None
    outstanding = [s["id"] for s in steps if s["status"] in ("pending", "running", "failed")]
    return {"id": inc["incident_id"], "trigger": inc.get("trigger"), "status": inc.get("status"),
            "commander": inc.get("commander"), "trip_id": inc.get("trip_id"), "steps": steps,
            "replay_verdict": verdict, "playbook": inc.get("playbook"), "priority": inc.get("priority"),
            "outstanding": outstanding if inc.get("status") != "resolved" else [],
            "snapshot": (inc.get("snapshot") or {}).get("path"), "rca": inc.get("rca") is not None}


def modes_summary(system: TradingSystem) -> dict[str, Any]:
    """Each bot's effective mode now, its base mode and the holds on it (by source)."""
    modes = system.runtime.state.find("modes")
    halted = system.runtime.halted_by_kill_switch()  # the kill switch's hold, derived from its trips
    out: dict[str, Any] = {}
    for bot_id, bot in sorted(system.runtime.bots.items()):
        holds = modes.holds_of(bot_id) if modes is not None else {}  # type: ignore[attr-defined]
        if bot_id in halted:
            holds[KILL_SWITCH_SOURCE] = "off"
        base = modes.mode_of(bot_id) if modes is not None else None  # type: ignore[attr-defined]
        out[bot_id] = {"effective": bot.mode.value, "base": base, "holds": holds}
    return out


def api_levels(entries: Iterable[JournalEntry]) -> list[dict[str, Any]]:
    """Each API health level change, from the journal's entries in seq order."""
    return [{"seq": e.seq, "surface": e.envelope.payload["surface"], "level": e.envelope.payload["level"],
             "previous": e.envelope.payload.get("previous"), "at_ms": e.envelope.payload.get("at_ms")}
            for e in entries if e.envelope.kind == "gov_api_health"]


def api_story(entries: Iterable[JournalEntry]) -> list[str]:
    """The API-degraded playbook's story, told from the journal's entries in seq order (empty when
    the monitor did not run)."""
    lines = []
    for e in entries:
        env = e.envelope
        minute = (env.ts_ms - DEMO_START_MS) // 60_000
        if env.kind == "gov_api_health" and env.payload.get("previous") not in (None, "none", "unknown") or \
                env.kind == "gov_api_health" and env.payload["level"] in ("warning", "hard"):
            p = env.payload
            lines.append(f"minute {minute}: {p['surface']} went {p['previous']} -> {p['level']} "
                         f"(errors {p.get('error_rate_pct')}%, p99 {p.get('latency_p99_ms')} ms)")
        elif env.reason_code == "GOV_MODE_HOLD" and env.actor.id == "playbook:api_degraded":
            d = env.payload["detail"]
            verb = f"held at {d.get('mode')}" if d["action"] == "place" else "released (previous mode back)"
            lines.append(f"minute {minute}: {d['bot_id']} {verb} by the API-degraded playbook")
        elif env.reason_code == "GOV_API_RESTORED":
            lines.append(f"minute {minute}: strategies restored: {env.payload['detail']['reason']}")
    return lines
