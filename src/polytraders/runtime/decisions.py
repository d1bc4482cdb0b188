"""Every bot decision in a journal entry, whatever its shape: one step per decision.

A bot's decision is journaled either as its own envelope (actor ``bot:<id>``: what `Runtime.decide`
writes for the OLM, protection, health, reconciliation and older journals' order paths) or as one
step of a `DecisionRecord` (the order path now: one envelope per intent holding every vote).
Readers that show or compare decisions (`trace`, replay, the registry's per-bot evidence) go
through `decision_steps` so both shapes read the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from polytraders.contracts.decisions import DecisionRecord, full_output

RECORD_KIND = DecisionRecord.kind


@dataclass(frozen=True, slots=True)
class StepView:
    """One bot's decision as the journal holds it. `index` is the step's place in its decision
    record (None for a decision journaled as its own envelope); `payload` is the output's full
    JSON form (a record step's elided fields restored); `blocked` is known only for record steps."""

    seq: int
    index: int | None
    bot_id: str
    kind: str
    reason_code: str
    mode: str | None
    config_version: str
    payload: Mapping[str, Any]
    correlation_id: str | None
    ts_ms: int
    blocked: bool | None = None

    @property
    def label(self) -> str:
        """Where the step sits: ``seq`` or ``seq.step`` (1-based) for a record's step."""
        return str(self.seq) if self.index is None else f"{self.seq}.{self.index + 1}"


def steps_of_envelope(seq: int, env: Mapping[str, Any]) -> Iterator[StepView]:
    """The bot decisions in one envelope given as plain JSON (a bot's own envelope, or every
    step of a decision record); nothing for any other envelope."""
    actor = env.get("actor") or {}
    if env.get("kind") == RECORD_KIND:
        payload = env.get("payload") or {}
        intent_id = str(payload.get("intent_id", ""))
        for i, step in enumerate(payload.get("steps") or ()):
            bot_id, kind, code = str(step["bot_id"]), str(step["output_kind"]), str(step["reason_code"])
            yield StepView(seq, i, bot_id, kind, code, step.get("mode"), str(step.get("config_version", "0")),
                           full_output(kind, step.get("output") or {}, bot_id, code, intent_id),
                           env.get("correlation_id"), int(env["ts_ms"]), bool(step.get("blocked")))
    elif actor.get("kind") == "bot":
        yield StepView(seq, None, str(actor["id"]), str(env["kind"]), str(env["reason_code"]), env.get("mode"),
                       str(env.get("config_version", "0")), env.get("payload") or {}, env.get("correlation_id"),
                       int(env["ts_ms"]))


def decision_steps(entry: Any) -> list[StepView]:
    """The bot decisions in a `JournalEntry` (see `steps_of_envelope`)."""
    env = entry.envelope
    if env.kind != RECORD_KIND and env.actor.kind != "bot":
        return []
    return list(steps_of_envelope(entry.seq, {
        "kind": env.kind, "actor": {"kind": env.actor.kind, "id": env.actor.id},
        "reason_code": env.reason_code, "mode": env.mode, "config_version": env.config_version,
        "payload": env.payload, "correlation_id": env.correlation_id, "ts_ms": env.ts_ms}))
