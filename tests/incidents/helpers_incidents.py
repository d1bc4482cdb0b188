"""Shared builders for the incident-commander tests (no fixtures: imported explicitly)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from factories import make_trusted_runtime, reopen_runtime, signed_reset

from polytraders.contracts import KillSwitchEvent, Scope
from polytraders.contracts.envelope import Actor
from polytraders.incidents.config import Roster
from polytraders.incidents.engine import PlaybookRunner, StepAction, StepResult
from polytraders.incidents.notifiers import DeliveryResult, Dispatcher, FileChannel, Notice
from polytraders.journal.base import JournalEntry
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime
from polytraders.state.store import StateStore

START_MS = 1_700_000_000_000
KS_ACTOR = Actor(kind="bot", id="risk.kill_switch")


class RecordingPager:
    """A pager that accepts everything and remembers what it was sent."""

    def __init__(self, ok: bool = True) -> None:
        self.sent: list[Notice] = []
        self.ok = ok

    @property
    def target(self) -> str:
        return "fake-pager"

    def send(self, notice: Notice) -> DeliveryResult:
        self.sent.append(notice)
        return DeliveryResult(self.target, self.ok, 1, 202 if self.ok else 500, None)


class FakePortfolio:
    name = "portfolio"

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows

    def apply(self, entry: JournalEntry) -> None:
        pass

    def positions(self) -> list[dict[str, str]]:
        return list(self.rows)

    def snapshot(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def restore(self, data: dict[str, Any]) -> None:
        self.rows = data["rows"]


def make_runtime(tmp: Path, name: str = "journal.db") -> tuple[Runtime, SimClock]:
    """The running system on a journal with a signed crew (alice, bob approvers; carol operator)."""
    clock = SimClock(START_MS)
    if (tmp / name).exists():
        return reopen_runtime(tmp / name, clock), clock
    rt, _ = make_trusted_runtime(tmp / name, clock, state=StateStore(),
                                 crew=(("alice", "operator"), ("bob", "approver"), ("val", "readonly")))
    return rt, clock


def trip(rt: Runtime, trigger: str = "drawdown_intraday", trip_id: str = "trip-1") -> JournalEntry:
    return rt.record(
        KillSwitchEvent(event="tripped", trip_id=trip_id, trigger=trigger,
                        scope=Scope(), observed=Decimal("-0.05"), threshold=Decimal("-0.04"),
                        at_ms=rt.clock.now_ms()),
        actor=KS_ACTOR, reason_code="RISK_KILLSWITCH_TRIPPED", durable=True)


def reset(rt: Runtime, trigger: str = "drawdown_intraday", trip_id: str = "trip-1") -> None:
    signed_reset(rt, trip_id, trigger)


def ok_replay(ctx: Any) -> StepResult:
    return StepResult(True, "replay reproduced the trip", {"verdict": "match"})


def make_runner(
    rt: Runtime,
    tmp: Path,
    *,
    pagers: list[Any] | None = None,
    actions: Mapping[str, StepAction] | None = None,
    roster: Roster | None = None,
    dispatcher: Dispatcher | None = None,
    **kw: Any,
) -> PlaybookRunner:
    disp = dispatcher or Dispatcher(FileChannel(tmp / "channel.jsonl", fsync=False),
                                    pagers if pagers is not None else [RecordingPager()])
    return PlaybookRunner(rt, {"replay": ok_replay} if actions is None else actions, disp,
                          roster or Roster({"risk": ("alice", "bob")}),
                          snapshots_dir=tmp / "snaps", **kw)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def codes(rt: Runtime, incident_id: str) -> list[tuple[int, str, str | None]]:
    """(seq, reason code, step) of every entry correlated with the incident, in order."""
    out = []
    for e in rt.journal.read(correlation_id=incident_id):
        detail = e.envelope.payload.get("detail", {})
        out.append((e.seq, e.envelope.reason_code, detail.get("step")))
    return out
