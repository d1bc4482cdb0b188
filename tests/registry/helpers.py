"""Journal-writing helpers and fake bots for the registry tests."""

from __future__ import annotations

from typing import Any

from polytraders.contracts import Note, RiskVote
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal.sqlite import SqliteJournal
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer

T0 = 1_700_000_000_000
HOUR = 3_600_000
SYSTEM = Actor(kind="system", id="runtime")


class FakeKillSwitch(Bot[Any, RiskVote]):
    """A stand-in implementation so lifecycle tests do not depend on the real bot."""

    bot_id = "risk.kill_switch"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.PAUSE, Authority.REJECT})
    params = (Param("drawdown_pct", 5, 8, 15),)
    reason_codes = ("RISK_KILLSWITCH_ARMED", "RISK_KILLSWITCH_ACTIVE")

    def decide(self, input: Any, ctx: BotContext) -> Decision[RiskVote]:
        return Decision(None, "RISK_KILLSWITCH_ARMED")


class FakeRouter(FakeKillSwitch):
    bot_id = "exec.smart_router"
    layer = Layer.EXECUTION
    bot_class = "Execution Utility"


FAKES: dict[str, type[Bot[Any, Any]]] = {
    FakeKillSwitch.bot_id: FakeKillSwitch,
    FakeRouter.bot_id: FakeRouter,
}


def run_started(j: SqliteJournal, ts: int, feed: str = "synthetic") -> None:
    j.append(ReportEnvelope.wrap(Note(detail={"feed": feed, "seed": 7}), actor=SYSTEM,
                                 reason_code="GOV_RUN_STARTED", ts_ms=ts))


def emit(j: SqliteJournal, bot_id: str, ts: int, *, mode: str | None = "shadow",
         code: str = "RISK_KILLSWITCH_ARMED") -> None:
    j.append(ReportEnvelope.wrap(Note(detail={}), actor=Actor(kind="bot", id=bot_id),
                                 reason_code=code, ts_ms=ts, mode=mode))


def shadow_run(j: SqliteJournal, bot_id: str, hours: int, *, start: int = T0,
               code: str = "RISK_KILLSWITCH_ARMED") -> int:
    """A synthetic run, then one shadow envelope per hour for `hours` hours; returns end ts."""
    run_started(j, start)
    for h in range(hours + 1):
        emit(j, bot_id, start + h * HOUR, code=code)
    j.flush()
    return start + hours * HOUR
