"""Bot lifecycle: stages, promotion gates and the evidence they are judged on.

A bot's stage is never typed in. It is derived, each time it is asked for, from evidence:
the bot's implementation (importable from ``polytraders.bots.<family>.<name>``) and what the
journal holds (the bot's own envelopes and its steps in the order path's decision records,
synthetic-feed runs, recorded promotions).

Stages, in order (``STAGES``)::

    pending -> demo_wired -> shadow_ready -> runtime_live -> production_live

* ``demo_wired`` is automatic: an implementation exists and the bot emitted envelopes after a
  synthetic-feed run started (a ``GOV_RUN_STARTED`` note whose detail has ``feed: synthetic``).
* ``shadow_ready`` needs ``demo_wired``, at least 24 h of event time in shadow mode, zero reason
  codes outside the bot's declared ``reason_codes``, and a recorded ``GOV_BOT_PROMOTED``.
* ``runtime_live`` and ``production_live`` need evidence this system cannot produce yet (a real
  venue adapter, on-call rotation, 2-of-3 approvals, ...). Their gates exist as data and report
  the evidence as absent, so ``promote`` refuses naming them.  The paper-wallet gate is judged on
  the journal: envelopes the bot emitted during a paper run (``GOV_RUN_STARTED``, ``feed: paper``,
  written by ``polytraders run --paper``).

A stage is held only while its gates still pass: a shadow-ready bot that later emits an
undeclared code drops back, because the evidence no longer supports the stage.

``promote`` checks the gates of the next stage and journals either ``GOV_BOT_PROMOTED`` (with
an evidence summary) or ``GOV_PROMOTION_REFUSED`` (naming the failing gates), with the operator
as actor.

Gathering is one pass over the journal (``gather``); it keeps only per-bot counters.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

import orjson

from polytraders.contracts import Note
from polytraders.contracts.envelope import ReportEnvelope
from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.base import Journal, JournalEntry
from polytraders.journal.codec import canonical_or_stored
from polytraders.journal.sqlite import SqliteJournal
from polytraders.operators.auth import Operator
from polytraders.registry.catalogue import CatalogueEntry, load_catalogue, resolve_bot_id
from polytraders.runtime.bot import Bot
from polytraders.runtime.clock import Clock, WallClock
from polytraders.runtime.decisions import RECORD_KIND, steps_of_envelope

__all__ = [
    "SHADOW_READY_MS",
    "STAGES",
    "STAGE_SPECS",
    "BotEvidence",
    "Evidence",
    "Gate",
    "GateResult",
    "JournalEvidence",
    "LastEnvelope",
    "PromotionRecord",
    "PromotionRefusedError",
    "PromotionResult",
    "Stage",
    "StageSpec",
    "StageStatus",
    "derive_stage",
    "evidence_for",
    "gather",
    "gather_evidence",
    "implementation_of",
    "promote",
    "stage_spec",
]

Stage = Literal["pending", "demo_wired", "shadow_ready", "runtime_live", "production_live"]
STAGES: Final[tuple[Stage, ...]] = get_args(Stage)

SHADOW_READY_MS: Final[int] = 86_400_000
"""Event time a bot must spend in shadow mode before it can be promoted to shadow_ready."""

_RUN_STARTED: Final = "GOV_RUN_STARTED"
_PROMOTED: Final = "GOV_BOT_PROMOTED"
_REFUSED: Final = "GOV_PROMOTION_REFUSED"
_BOT_ERROR: Final = "GOV_BOT_ERROR"
_SHADOW: Final = "shadow"


# -- evidence from the journal ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LastEnvelope:
    seq: int
    ts_ms: int
    kind: str
    reason_code: str
    mode: str | None


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    seq: int
    ts_ms: int
    to_stage: str
    operator: str


@dataclass(slots=True)
class BotEvidence:
    """What the journal says about one bot: its envelopes as actor ``bot:<id>`` and its steps in
    the order path's decision records (each step counts as one envelope, as it once was)."""

    bot_id: str
    envelopes: int = 0
    reason_codes: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    first_ts_ms: int | None = None
    last_ts_ms: int | None = None
    shadow_envelopes: int = 0
    shadow_first_ts_ms: int | None = None
    shadow_last_ts_ms: int | None = None
    shadow_ms: int = 0
    """Event time between consecutive envelopes that were both in shadow mode; a stretch in
    another mode does not count, so leaving shadow and coming back later adds no time."""
    after_synthetic: int = 0
    in_paper_runs: int = 0
    """Envelopes emitted while a paper run (``GOV_RUN_STARTED`` with ``feed: paper``) was the
    latest run started: the bot traded on a paper wallet."""
    errors: int = 0
    last: LastEnvelope | None = None
    promotions: list[PromotionRecord] = field(default_factory=list)
    refusals: int = 0
    _last_was_shadow: bool = False

    @property
    def shadow_span_ms(self) -> int:
        if self.shadow_first_ts_ms is None or self.shadow_last_ts_ms is None:
            return 0
        return self.shadow_last_ts_ms - self.shadow_first_ts_ms

    def promoted_to(self, stage: str) -> PromotionRecord | None:
        for rec in reversed(self.promotions):
            if rec.to_stage == stage:
                return rec
        return None

    def _observe(self, seq: int, ts: int, mode: str | None, kind: str, code: str,
                 after_synthetic: bool, in_paper: bool = False) -> None:
        self.envelopes += 1
        self.reason_codes[code] += 1
        self.modes[mode or "unset"] += 1
        if self.first_ts_ms is None:
            self.first_ts_ms = ts
        is_shadow = mode == _SHADOW
        if is_shadow:
            self.shadow_envelopes += 1
            if self.shadow_first_ts_ms is None:
                self.shadow_first_ts_ms = ts
            if self._last_was_shadow and self.last_ts_ms is not None and ts > self.last_ts_ms:
                self.shadow_ms += ts - self.last_ts_ms
            self.shadow_last_ts_ms = ts
        self._last_was_shadow = is_shadow
        self.last_ts_ms = ts
        if after_synthetic:
            self.after_synthetic += 1
        if in_paper:
            self.in_paper_runs += 1
        if code == _BOT_ERROR:
            self.errors += 1
        self.last = LastEnvelope(seq, ts, kind, code, mode)


@dataclass(slots=True)
class JournalEvidence:
    """Everything ``gather`` read, in one pass."""

    bots: dict[str, BotEvidence] = field(default_factory=dict)
    entries: int = 0
    head_seq: int = 0
    synthetic_runs: int = 0
    first_synthetic_seq: int | None = None
    paper_runs: int = 0

    def bot(self, bot_id: str) -> BotEvidence:
        """The evidence for ``bot_id`` (empty if the journal never mentions it)."""
        found = self.bots.get(bot_id)
        return found if found is not None else BotEvidence(bot_id)

    def _bot(self, bot_id: str) -> BotEvidence:
        found = self.bots.get(bot_id)
        if found is None:
            found = self.bots[bot_id] = BotEvidence(bot_id)
        return found


_Row = tuple[int, Mapping[str, Any]]
"""(seq, envelope as a plain JSON mapping): only the fields gathering needs are read."""


def _rows(journal: Journal) -> Iterator[_Row]:
    """Every entry in order. For the SQLite backend the stored envelope JSON is read directly
    over a separate read-only connection (about 3x faster than building pydantic envelopes);
    the journal's own ``verify`` is what vouches for those bytes. Other backends go through
    the public ``read``."""
    if isinstance(journal, SqliteJournal) and journal.path.is_file():
        journal.flush()  # group-committed appends must be visible to the second connection
        db = sqlite3.connect(f"{journal.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            cursor = db.execute("SELECT seq, body FROM journal ORDER BY seq")
            while batch := cursor.fetchmany(2000):
                for seq, body in batch:
                    yield int(seq), orjson.loads(canonical_or_stored(bytes(body)))["envelope"]
        finally:
            db.close()
        return
    for entry in journal.read():
        yield entry.seq, entry.envelope.model_dump(mode="json")


def _note_detail(env: Mapping[str, Any]) -> Mapping[str, Any]:
    if env.get("kind") != Note.kind:
        return {}
    payload = env.get("payload")
    detail = payload.get("detail") if isinstance(payload, dict) else None
    return detail if isinstance(detail, dict) else {}


def gather(journal: Journal) -> JournalEvidence:
    """Fold the whole journal, once, into per-bot evidence and journal-wide facts."""
    ev = JournalEvidence()
    synthetic_seen = False
    in_paper = False
    for seq, env in _rows(journal):
        ev.entries += 1
        ev.head_seq = seq
        actor = env["actor"]
        code = env["reason_code"]
        if actor["kind"] == "bot":
            ev._bot(actor["id"])._observe(
                seq, env["ts_ms"], env.get("mode"), env["kind"], code, synthetic_seen, in_paper
            )
            continue
        if env["kind"] == RECORD_KIND:  # the order path: one record, one decision per bot inside
            for step in steps_of_envelope(seq, env):
                ev._bot(step.bot_id)._observe(
                    seq, step.ts_ms, step.mode, step.kind, step.reason_code, synthetic_seen, in_paper
                )
            continue
        if code == _RUN_STARTED:
            feed = _note_detail(env).get("feed")
            if feed is not None:  # the system's own start note (run's note names the venue)
                in_paper = feed == "paper"
                ev.paper_runs += in_paper
            if feed == "synthetic":
                ev.synthetic_runs += 1
                if not synthetic_seen:
                    ev.first_synthetic_seq = seq
                synthetic_seen = True
        elif code == _PROMOTED:
            detail = _note_detail(env)
            bot_id, to_stage = detail.get("bot_id"), detail.get("to_stage")
            if isinstance(bot_id, str) and isinstance(to_stage, str):
                ev._bot(bot_id).promotions.append(
                    PromotionRecord(seq, env["ts_ms"], to_stage, actor["id"])
                )
        elif code == _REFUSED:
            bot_id = _note_detail(env).get("bot_id")
            if isinstance(bot_id, str):
                ev._bot(bot_id).refusals += 1
    return ev


def gather_evidence(journal: Journal) -> dict[str, BotEvidence]:
    """Per-bot evidence keyed by actor id, from one pass over the journal."""
    return gather(journal).bots


# -- evidence from the code -------------------------------------------------------------------


def implementation_of(bot_id: str) -> type[Bot[Any, Any]] | None:
    """The ``Bot`` subclass implementing ``bot_id`` in ``polytraders.bots.<family>.<name>``."""
    family, _, name = bot_id.partition(".")
    if not family or not name:
        return None
    try:
        module = importlib.import_module(f"polytraders.bots.{family}.{name}")
    except ImportError:
        return None
    except Exception:  # noqa: BLE001 - a broken bot module counts as "not implemented", it
        return None  # must not take the board down for every other bot
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Bot)
            and value is not Bot
            and getattr(value, "bot_id", None) == bot_id
        ):
            return value
    return None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything a gate may look at for one bot."""

    bot_id: str
    entry: CatalogueEntry | None
    implementation: type[Bot[Any, Any]] | None
    journal: BotEvidence
    synthetic_run_seen: bool
    paper_run_seen: bool = False

    @property
    def declared_codes(self) -> frozenset[str]:
        impl = self.implementation
        return frozenset(impl.reason_codes) if impl is not None else frozenset()

    @property
    def unexpected_codes(self) -> tuple[str, ...]:
        """Codes the bot emitted that it does not declare (all of them, without a module)."""
        declared = self.declared_codes
        return tuple(sorted(c for c in self.journal.reason_codes if c not in declared))


def _catalogue_entry(bot_id: str) -> CatalogueEntry | None:
    for entry in load_catalogue():
        if entry.id == bot_id:
            return entry
    return None


def evidence_for(bot_id: str, journal_evidence: JournalEvidence) -> Evidence:
    return Evidence(
        bot_id=bot_id,
        entry=_catalogue_entry(bot_id),
        implementation=implementation_of(bot_id),
        journal=journal_evidence.bot(bot_id),
        synthetic_run_seen=journal_evidence.synthetic_runs > 0,
        paper_run_seen=journal_evidence.paper_runs > 0,
    )


# -- gates as data ----------------------------------------------------------------------------

GateCheck = Callable[[Evidence], tuple[bool, str]]


@dataclass(frozen=True, slots=True)
class Gate:
    id: str
    description: str
    check: GateCheck


@dataclass(frozen=True, slots=True)
class GateResult:
    id: str
    description: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class StageSpec:
    stage: Stage
    gates: tuple[Gate, ...]
    needs_promotion: bool
    """True when reaching the stage also needs a recorded ``GOV_BOT_PROMOTED``."""


def _has_implementation(ev: Evidence) -> tuple[bool, str]:
    module = f"polytraders.bots.{ev.bot_id}"
    impl = ev.implementation
    if impl is None:
        return False, f"no Bot subclass with bot_id {ev.bot_id!r} in module {module}"
    return True, f"{impl.__module__}.{impl.__qualname__}"


def _emitted_after_synthetic(ev: Evidence) -> tuple[bool, str]:
    if not ev.synthetic_run_seen:
        return False, "the journal holds no synthetic-feed run (GOV_RUN_STARTED, feed=synthetic)"
    n = ev.journal.after_synthetic
    if n == 0:
        return False, "no envelopes from this bot after a synthetic-feed run started"
    return True, f"{n} envelope(s) after a synthetic-feed run started"


def _emitted_in_paper_run(ev: Evidence) -> tuple[bool, str]:
    if not ev.paper_run_seen:
        return False, "the journal holds no paper run ('polytraders run --paper': GOV_RUN_STARTED, feed=paper)"
    n = ev.journal.in_paper_runs
    if n == 0:
        return False, "no envelopes from this bot during a paper run"
    return True, f"{n} envelope(s) during paper runs"


def _shadow_24h(ev: Evidence) -> tuple[bool, str]:
    have = ev.journal.shadow_ms
    hours = f"{have / 3_600_000:.1f} h"
    if have < SHADOW_READY_MS:
        return False, (
            f"{hours} of shadow-mode event time ({ev.journal.shadow_envelopes} envelope(s)); "
            f"24.0 h needed"
        )
    return True, f"{hours} of shadow-mode event time ({ev.journal.shadow_envelopes} envelope(s))"


def _no_unexpected_codes(ev: Evidence) -> tuple[bool, str]:
    if ev.implementation is None:
        return False, "no implementation, so no declared reason codes to compare against"
    if ev.journal.envelopes == 0:
        return False, "the bot has emitted nothing yet"
    unexpected = ev.unexpected_codes
    if unexpected:
        return False, "undeclared code(s) emitted: " + ", ".join(unexpected)
    return True, f"all {len(ev.journal.reason_codes)} emitted code(s) are declared"


def _absent(what: str) -> GateCheck:
    def check(ev: Evidence) -> tuple[bool, str]:
        return False, f"no evidence recorded: {what}"

    return check


STAGE_SPECS: Final[tuple[StageSpec, ...]] = (
    StageSpec("pending", (), needs_promotion=False),
    StageSpec(
        "demo_wired",
        (
            Gate(
                "implementation",
                "a Bot subclass for this id exists in polytraders.bots.<family>.<name>",
                _has_implementation,
            ),
            Gate(
                "synthetic_feed_envelopes",
                "the bot emitted envelopes after a synthetic-feed run started",
                _emitted_after_synthetic,
            ),
        ),
        needs_promotion=False,
    ),
    StageSpec(
        "shadow_ready",
        (
            Gate("shadow_24h", "at least 24 h of event time in shadow mode", _shadow_24h),
            Gate(
                "no_unexpected_codes",
                "zero reason codes outside the bot's declared reason_codes",
                _no_unexpected_codes,
            ),
        ),
        needs_promotion=True,
    ),
    StageSpec(
        "runtime_live",
        (
            Gate(
                "real_venue_adapter",
                "envelopes from the real CLOB V2 venue adapter for this bot",
                _absent("the real Polymarket venue adapter is not built yet"),
            ),
            Gate(
                "paper_wallet",
                "a paper-wallet run with this bot (polytraders run --paper)",
                _emitted_in_paper_run,
            ),
            Gate(
                "builder_code_bound",
                "builder code bound on a live venue account",
                _absent("no live venue account exists to bind a builder code to"),
            ),
            Gate(
                "ops_runbook_signed",
                "a signed-off operations runbook for this bot",
                _absent("runbook sign-offs are not journaled yet"),
            ),
            Gate(
                "runner_integration_suite",
                "a passing runner integration suite against the real adapter",
                _absent("no integration-suite results are journaled yet"),
            ),
        ),
        needs_promotion=True,
    ),
    StageSpec(
        "production_live",
        (
            Gate(
                "real_wallet",
                "a funded real pUSD wallet assigned to this bot",
                _absent("real wallets are not journaled yet"),
            ),
            Gate(
                "approvals_2_of_3",
                "explicit approval by 2 of 3 distinct approvers (multi-sig)",
                _absent("multi-approver promotion is not implemented yet"),
            ),
            Gate(
                "release_manifest_signed",
                "a signed release manifest (GOV_RELEASE_SIGNED)",
                _absent("release manifests are not signed or journaled yet"),
            ),
            Gate(
                "exposure_cap",
                "a per-bot exposure cap configured and enforced",
                _absent("per-bot exposure caps are not recorded yet"),
            ),
            Gate(
                "on_call_rotation",
                "an on-call rotation covering this bot",
                _absent("no on-call roster is journaled yet"),
            ),
        ),
        needs_promotion=True,
    ),
)


def stage_spec(stage: str) -> StageSpec:
    for spec in STAGE_SPECS:
        if spec.stage == stage:
            return spec
    raise BadInputError(f"Unknown stage {stage!r}; expected one of {', '.join(STAGES)}.")


# -- deriving the stage -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageStatus:
    bot_id: str
    stage: Stage
    gates: dict[Stage, tuple[GateResult, ...]]
    """Every gate of every stage above pending, evaluated against the current evidence."""

    @property
    def next_stage(self) -> Stage | None:
        i = STAGES.index(self.stage)
        return STAGES[i + 1] if i + 1 < len(STAGES) else None

    def failing(self, stage: Stage) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates.get(stage, ()) if not g.passed)


def _evaluate(spec: StageSpec, ev: Evidence) -> tuple[GateResult, ...]:
    results = []
    for gate in spec.gates:
        passed, detail = gate.check(ev)
        results.append(GateResult(gate.id, gate.description, passed, detail))
    return tuple(results)


def derive_stage(ev: Evidence) -> StageStatus:
    """The highest stage whose gates (and those below it) pass and, where the stage needs one,
    whose promotion is recorded."""
    gates: dict[Stage, tuple[GateResult, ...]] = {}
    stage: Stage = "pending"
    climbing = True
    for spec in STAGE_SPECS[1:]:
        results = _evaluate(spec, ev)
        gates[spec.stage] = results
        if not climbing:
            continue
        held = all(r.passed for r in results) and (
            not spec.needs_promotion or ev.journal.promoted_to(spec.stage) is not None
        )
        if held:
            stage = spec.stage
        else:
            climbing = False
    return StageStatus(ev.bot_id, stage, gates)


# -- promotion --------------------------------------------------------------------------------


class PromotionRefusedError(RefusedError):
    """A promotion whose gates lack evidence (or that skips a stage); already journaled."""

    def __init__(self, message: str, missing_gates: tuple[str, ...]) -> None:
        super().__init__(message, code=_REFUSED)
        self.missing_gates = missing_gates


@dataclass(frozen=True, slots=True)
class PromotionResult:
    bot_id: str
    from_stage: Stage
    to_stage: Stage
    entry: JournalEntry
    evidence: dict[str, Any]


def _summary(ev: Evidence, status: StageStatus, target: Stage, head_seq: int) -> dict[str, Any]:
    j = ev.journal
    return {
        "journal_head_seq": head_seq,
        "envelopes": j.envelopes,
        "first_ts_ms": j.first_ts_ms,
        "last_ts_ms": j.last_ts_ms,
        "shadow_envelopes": j.shadow_envelopes,
        "shadow_ms": j.shadow_ms,
        "after_synthetic": j.after_synthetic,
        "in_paper_runs": j.in_paper_runs,
        "errors": j.errors,
        "reason_codes": sorted(j.reason_codes),
        "unexpected_codes": list(ev.unexpected_codes),
        "gates": {g.id: g.detail for g in status.gates.get(target, ())},
    }


def _journal_note(journal: Journal, operator: Operator, code: str, detail: dict[str, Any],
                  clock: Clock) -> JournalEntry:
    env = ReportEnvelope.wrap(
        Note(detail=detail), actor=operator.actor, reason_code=code, ts_ms=clock.now_ms()
    )
    return journal.append(env, durable=True, signer=operator.signer)


def promote(
    journal: Journal,
    bot_id: str,
    to_stage: str,
    operator: Operator,
    *,
    clock: Clock | None = None,
) -> PromotionResult:
    """Promote ``bot_id`` one stage up if every gate of ``to_stage`` passes.

    Raises ``UnknownBotError`` for an unknown id and ``BadInputError`` for an unknown stage
    (nothing journaled: nothing was decided). Otherwise journals, as ``operator``, either
    ``GOV_BOT_PROMOTED`` (returned) or ``GOV_PROMOTION_REFUSED`` and raises
    ``PromotionRefusedError`` naming the missing gate(s).
    """
    clock = clock or WallClock()
    canonical = resolve_bot_id(bot_id)
    target = stage_spec(to_stage).stage
    facts = gather(journal)
    ev = evidence_for(canonical, facts)
    status = derive_stage(ev)
    current = status.stage
    failing = status.failing(target)
    missing = tuple(g.id for g in failing)
    problems: list[str] = []
    if STAGES.index(target) != STAGES.index(current) + 1:
        missing = ("stage_order", *missing)
        nxt = status.next_stage
        problems.append(
            f"it is at {current}, so it can only move to {nxt}"
            if nxt is not None
            else f"it is already at {current}"
        )
        if target == "demo_wired":
            problems.append("demo_wired is reached automatically from evidence")
    if failing:
        problems.append(
            "missing evidence for gate(s) "
            + "; ".join(f"{g.id} ({g.detail})" for g in failing)
        )
    if problems:
        _journal_note(journal, operator, _REFUSED, {
            "bot_id": canonical,
            "from_stage": current,
            "to_stage": target,
            "missing_gates": list(missing),
            "reason": "; ".join(problems),
        }, clock)
        raise PromotionRefusedError(
            f"Refused to promote {canonical} to {target}: " + "; ".join(problems) + ".",
            missing,
        )
    evidence = _summary(ev, status, target, facts.head_seq)
    entry = _journal_note(journal, operator, _PROMOTED, {
        "bot_id": canonical,
        "from_stage": current,
        "to_stage": target,
        "evidence": evidence,
    }, clock)
    return PromotionResult(canonical, current, target, entry, evidence)

