"""The plan status board: every catalogued bot with its derived stage and readiness.

``build_board(journal)`` gathers evidence in one journal pass and assesses every catalogue
entry against it; ``header_line`` is the one-line summary the CLI prints first and
``board_json`` the machine-readable form (``stages``, ``total``, ``bots``).

The header follows the spec's banner (`v3 spine · Phase 1 · Shared contracts · 9 demo-wired ·
0 shadow-ready · 0 production-live · 100 pending · 109 total · 15/33 infra tasks`) with our own
numbers: the phase and its name come from our infrastructure tasks (``plan.py``), the stage
counts from the journal, and the total is the spec's 109, with the slots the catalogue could not
name counted as uncatalogued rather than dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polytraders.journal.base import Journal
from polytraders.registry.catalogue import (
    LAYER_ORDER,
    SPEC_LAYER_COUNTS,
    SPEC_TOTAL,
    CatalogueEntry,
    load_catalogue,
)
from polytraders.registry.lifecycle import (
    STAGES,
    Evidence,
    JournalEvidence,
    Stage,
    StageStatus,
    derive_stage,
    evidence_for,
    gather,
)
from polytraders.registry.plan import PlanStatus, plan_status
from polytraders.registry.readiness import Readiness, Score, score_readiness

__all__ = [
    "Board",
    "BotStatus",
    "assess",
    "board_from",
    "board_json",
    "build_board",
    "header_line",
    "readiness_json",
    "status_json",
    "uncatalogued_slots",
]


@dataclass(frozen=True, slots=True)
class BotStatus:
    entry: CatalogueEntry
    evidence: Evidence
    stage: StageStatus
    readiness: Readiness

    @property
    def bot_id(self) -> str:
        return self.entry.id


def assess(entry: CatalogueEntry, facts: JournalEvidence, *,
           fixtures_root: Path | None = None) -> BotStatus:
    ev = evidence_for(entry.id, facts)
    stage = derive_stage(ev)
    return BotStatus(entry, ev, stage, score_readiness(ev, stage, fixtures_root=fixtures_root))


def uncatalogued_slots() -> dict[str, int]:
    """Per layer, the spec's slots no catalogue entry fills (the guide never named those bots)."""
    filled: dict[str, int] = dict.fromkeys(LAYER_ORDER, 0)
    for entry in load_catalogue():
        filled[entry.spec_layer_of] += 1
    return {layer: max(SPEC_LAYER_COUNTS[layer] - filled[layer], 0) for layer in LAYER_ORDER}


@dataclass(frozen=True, slots=True)
class Board:
    bots: tuple[BotStatus, ...]
    facts: JournalEvidence
    plan: PlanStatus | None = None

    @property
    def counts(self) -> dict[Stage, int]:
        counts: dict[Stage, int] = dict.fromkeys(STAGES, 0)
        for status in self.bots:
            counts[status.stage.stage] += 1
        return counts

    @property
    def total(self) -> int:
        return len(self.bots)

    def by_layer(self) -> dict[str, list[BotStatus]]:
        grouped: dict[str, list[BotStatus]] = {layer: [] for layer in LAYER_ORDER}
        for status in self.bots:
            grouped[status.entry.layer].append(status)
        return grouped


def build_board(journal: Journal, *, layers: Iterable[str] | None = None,
                fixtures_root: Path | None = None) -> Board:
    """Gather the journal once and assess every catalogued bot (optionally some layers)."""
    return board_from(gather(journal), layers=layers, fixtures_root=fixtures_root)


def board_from(facts: JournalEvidence, *, layers: Iterable[str] | None = None,
               fixtures_root: Path | None = None) -> Board:
    """Assess every catalogued bot against evidence already gathered (empty: all pending)."""
    wanted = set(layers) if layers is not None else None
    statuses = tuple(
        assess(entry, facts, fixtures_root=fixtures_root)
        for entry in load_catalogue()
        if wanted is None or entry.layer in wanted
    )
    return Board(statuses, facts, plan_status())


def header_line(board: Board) -> str:
    """`v3 spine · Phase N · name · stage counts · U uncatalogued · 109 total · d/m infra tasks`.

    The stage counts cover the catalogued bots; with the uncatalogued slots they sum to the
    spec's total. A board of some layers only (``bots --layer``) has no spec total to show."""
    c = board.counts
    plan = board.plan if board.plan is not None else plan_status()
    stages = (f"{c['demo_wired']} demo-wired · {c['shadow_ready']} shadow-ready · "
              f"{c['runtime_live']} runtime-live · {c['production_live']} production-live · "
              f"{c['pending']} pending")
    uncatalogued = sum(uncatalogued_slots().values())
    if board.total + uncatalogued != SPEC_TOTAL:  # a filtered board: no honest spec total
        return f"v3 spine · {plan.phase_text()} · {stages} · {board.total} shown · {plan.infra_text()}"
    return (f"v3 spine · {plan.phase_text()} · {stages} · {uncatalogued} uncatalogued · {SPEC_TOTAL} total · "
            f"{plan.infra_text()}")


def plan_json(plan: PlanStatus) -> dict[str, Any]:
    return {
        "phase": plan.phase,
        "phase_text": plan.phase_text(),
        "done": plan.done if plan.known else None,
        "total": plan.total,
        "tasks": [{"id": t.id, "title": t.title, "phase": t.phase or "scale", "evidence": t.evidence,
                   "status": status} for t, status in plan.statuses],
    }


def _score_json(score: Score) -> dict[str, Any]:
    return {
        "value": score.value,
        "max": score.maximum,
        "items": [
            {"id": i.id, "description": i.description, "status": i.status, "detail": i.detail}
            for i in score.items
        ],
    }


def readiness_json(readiness: Readiness, *, items: bool = False) -> dict[str, Any]:
    if items:
        return {s.name.lower(): _score_json(s) for s in readiness.scores}
    return {s.name.lower(): s.value for s in readiness.scores}


def status_json(status: BotStatus) -> dict[str, Any]:
    """Summary row for one bot (what ``bots --json`` and ``board --json`` list)."""
    e = status.entry
    return {
        "id": e.id,
        "number": e.number,
        "name": e.name,
        "layer": e.layer,
        "class": e.bot_class,
        "authority": list(e.authority),
        "spec_status": e.spec_status,
        "stage": status.stage.stage,
        "readiness": readiness_json(status.readiness),
    }


def board_json(board: Board) -> dict[str, Any]:
    slots = uncatalogued_slots()
    return {
        "header": header_line(board),
        "stages": dict(board.counts),
        "total": board.total,
        "spec_total": SPEC_TOTAL,
        "uncatalogued": {"total": sum(slots.values()), "by_layer": {k: v for k, v in slots.items() if v}},
        "infra": plan_json(board.plan if board.plan is not None else plan_status()),
        "bots": [
            {
                "id": s.bot_id,
                "layer": s.entry.layer,
                "stage": s.stage.stage,
                "readiness": readiness_json(s.readiness),
            }
            for s in board.bots
        ],
    }
