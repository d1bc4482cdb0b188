"""Shared builders: journals with a real identity (genesis, system key, signed crew)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from polytraders.engine.demo import sim_genesis
from polytraders.engine.scenarios import sim_key
from polytraders.journal.sqlite import create_journal
from polytraders.operators.auth import Operator, approve_operator, authenticate, request_operator
from polytraders.operators.keys import OperatorKey
from polytraders.runtime.clock import Clock
from polytraders.runtime.runner import Runtime
from polytraders.state.standard import build_state
from polytraders.state.store import StateStore

DEFAULT_CREW = (("alice", "approver"), ("bob", "approver"), ("carol", "operator"))
SEED = 11


def operator_key(name: str, seed: int = SEED) -> OperatorKey:
    return OperatorKey(sim_key(seed, name), "simulation", name, f"test key of {name}")


def make_trusted_runtime(path: Path, clock: Clock, crew: tuple[tuple[str, str], ...] = DEFAULT_CREW,
                         state: StateStore | None = None, *, system: bool = True,
                         **runtime_args: Any) -> tuple[Runtime, dict[str, Operator]]:
    """A simulation journal with genesis admins root and ops, and `crew` registered by root with
    ops approving. With `system`, the runtime has opened a signed session (it is the running
    system); the operators returned sign what they do through it."""
    genesis, system_key = sim_genesis(SEED, path.stem, clock.now_ms())
    journal = create_journal(path, genesis, synchronous="NORMAL")
    rt = Runtime(journal, clock, state if state is not None else build_state(),
                 system_signer=system_key, **runtime_args)
    rt.state.rebuild(journal)
    if system:
        rt.open_session(purpose="test")
    ops: dict[str, Operator] = {}
    for name in ("root", "ops"):
        ops[name] = authenticate(rt.state.trust, operator_key(name), "operators.add")
    for name, role in crew:
        req = request_operator(rt, ops["root"], name, role, operator_key(name).public_hex)
        approve_operator(rt, ops["ops"], req.seq)
        ops[name] = Operator(name, role, operator_key(name).signer)
    for op in ops.values():
        assert op.signer is not None
        rt.operator_signers[op.name] = op.signer
    return rt, ops


def reopen_runtime(path: Path, clock: Clock, state: StateStore | None = None) -> Runtime:
    """Another process on an existing test journal, acting for the crew (not the system)."""
    from polytraders.journal.sqlite import SqliteJournal

    rt = Runtime(SqliteJournal(path, synchronous="NORMAL"), clock, state if state is not None else StateStore())
    for name in ("root", "ops", *(n for n, _ in DEFAULT_CREW), "val"):
        rt.operator_signers[name] = operator_key(name).signer
    return rt


def signed_reset(rt: Runtime, trip_id: str, trigger: str, requester: str = "alice", approver: str = "bob") -> None:
    """A two-person reset written the way the CLI writes it: a request signed by `requester`,
    then the reset signed by `approver` (both must act through `rt`)."""
    from decimal import Decimal

    from polytraders.contracts import KillSwitchEvent, Note, Scope
    from polytraders.contracts.envelope import Actor

    rid = f"rr_{trip_id}_{rt.state.last_seq}"
    now = rt.clock.now_ms()
    rt.record(Note(detail={"request_id": rid, "trip_id": trip_id, "requester": requester,
                           "expires_at_ms": now + 600_000}),
              actor=Actor(kind="operator", id=requester), reason_code="RISK_KILLSWITCH_RESET_REQUESTED",
              durable=True)
    trip = rt.kill_switch.active[trip_id]
    rt.record(KillSwitchEvent(event="reset", trip_id=trip_id, trigger=trigger,  # type: ignore[arg-type]
                              scope=Scope(scope=trip.scope, value=trip.scope_value),  # type: ignore[arg-type]
                              observed=Decimal(0), threshold=Decimal(0), at_ms=now,
                              detail={"request_id": rid, "requester": requester, "approver": approver}),
              actor=Actor(kind="operator", id=approver), reason_code="RISK_KILLSWITCH_RESET", durable=True)


def journal_rows(db: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """(seq, reason code, envelope) for every entry, read straight from the file as another
    process sees it (read-only, no trust gate): for tests of real processes."""
    import sqlite3

    import orjson

    from polytraders.journal.codec import canonical

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return [(int(s), str((e := orjson.loads(canonical(b))["envelope"])["reason_code"]), e)
                for s, b in con.execute("SELECT seq, body FROM journal ORDER BY seq")]
    finally:
        con.close()


def start_run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`polytraders run --json ARGS` as a real process in `cwd`, its output piped."""
    return subprocess.Popen([sys.executable, "-m", "polytraders.cli.main", "run", "--json", *args], env=env,
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(db: Path, code: str, proc: subprocess.Popen[str], timeout: float = 60, after: int = 0,
             poll_s: float = 0.05) -> int:
    """The seq of the first entry with reason code `code` after seq `after`, waiting for `proc`
    to journal it; fails if the process exits (its stderr) or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while True:
        hits = [s for s, c, _ in journal_rows(db) if c == code and s > after]
        if hits:
            return hits[0]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{code} never appeared"
        time.sleep(poll_s)


def journal_count(db: Path) -> int:
    """How many entries the file holds; 0 while it does not exist or is being created."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return int(con.execute("SELECT COUNT(*) FROM journal").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def run_unstopped_system(db: Path, *, seconds: int, checkpoint_every: int) -> None:
    """A signed 3-market system trading `seconds` simulated seconds into a new journal at `db`,
    checkpointing every `checkpoint_every` entries at the least, then left without a stop (no
    final checkpoint or digest): a journal as a running, or killed, system leaves it."""
    from polytraders.engine.demo import DEMO_START_MS, STEP_MS
    from polytraders.engine.system import SystemConfig, TradingSystem
    from polytraders.venues.sim import SimVenue

    genesis, system_key = sim_genesis(4, "calm", DEMO_START_MS)
    journal = create_journal(db, genesis, synchronous="NORMAL")
    system = TradingSystem(journal, SimVenue(4, 3, DEMO_START_MS), SystemConfig(
        seed=4, n_markets=3, start_ms=DEMO_START_MS, system_signer=system_key, digest_interval_ms=10_000))
    system.runtime.checkpoint_every = checkpoint_every
    system.start()
    for s in range(1, seconds + 1):
        system.step(DEMO_START_MS + s * STEP_MS)
    journal.close()
