"""The plan status board: every catalogued bot with its derived stage and readiness.

``build_board(journal)`` gathers evidence in one journal pass and assesses every catalogue
entry against it; ``header_line`` is the one-line summary the CLI prints first and
``board_json`` the machine-readable form (``stages``, ``total``, ``bots``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polytraders.journal.base import Journal
from polytraders.registry.catalogue import LAYER_ORDER, CatalogueEntry, load_catalogue
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


@dataclass(frozen=True, slots=True)
class Board:
    bots: tuple[BotStatus, ...]
    facts: JournalEvidence

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
    return Board(statuses, facts)


def header_line(board: Board) -> str:
    c = board.counts
    return (
        f"{c['demo_wired']} demo-wired · {c['shadow_ready']} shadow-ready · "
        f"{c['runtime_live']} runtime-live · {c['production_live']} production-live · "
        f"{c['pending']} pending · {board.total} total"
    )


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
    return {
        "stages": dict(board.counts),
        "total": board.total,
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
