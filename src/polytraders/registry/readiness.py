"""Readiness scores, derived from evidence: Docs x/27, Impl x/15, Backtest x/4, Runtime x/8.

Every score is a list of items, each ``passed``, ``failed`` or ``not_checkable`` with a reason,
so a score always explains itself. An item this system cannot verify yet counts 0 and says so;
nothing is scored from a typed-in claim.

* Docs: the guide's 27 spec sections (``DOC_SECTIONS``). The digest names 20 of them; the other
  7 are listed as unnamed and cannot be checked. A named section is covered when the bot
  module's docstring has a heading for it (a ``Name:`` line, a ``# Name`` line or an underlined
  line; matching is by the phrases listed per section).
* Impl: 13 automatic checks on the module, its config, fixture pack and journal record, plus
  2 items (mock CLOB V2 adapter pass, green CI) that cannot be checked from here.
* Backtest: fixture, recorded envelope timeline, ``SEARCH_SPACE``, optimizer run (none yet).
* Runtime: clean 24 h shadow, error rate under 0.1 %, promoted through every gate; the other five
  (latency, reject-rate calibration, runbook drill, dashboard, alerts) are not checkable yet.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

import orjson

import polytraders
from polytraders.contracts.reasons import CODE_PATTERN, registry
from polytraders.errors import ConfigError
from polytraders.registry.lifecycle import (
    SHADOW_READY_MS,
    STAGES,
    Evidence,
    StageStatus,
)
from polytraders.runtime.bot import Bot
from polytraders.runtime.config import build_config
from polytraders.runtime.kinds import Mode

__all__ = [
    "DOC_SECTIONS",
    "FIXTURE_CASES",
    "MAX_ERROR_RATE",
    "DocSection",
    "Readiness",
    "Score",
    "ScoreItem",
    "default_fixtures_root",
    "docstring_headings",
    "score_readiness",
]

ItemStatus = Literal["passed", "failed", "not_checkable"]
FIXTURE_CASES: Final[tuple[str, ...]] = ("normal", "warning", "hard", "failure")
MAX_ERROR_RATE: Final[Decimal] = Decimal("0.001")
_CODE_TOKEN: Final = re.compile(r"\b(?:INTEL|DISC|STRAT|RISK|EXEC|SEC|GOV)_[A-Z0-9_]*[A-Z0-9]\b")


@dataclass(frozen=True, slots=True)
class ScoreItem:
    id: str
    description: str
    status: ItemStatus
    detail: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True, slots=True)
class Score:
    name: str
    maximum: int
    items: tuple[ScoreItem, ...]

    @property
    def value(self) -> int:
        return sum(1 for item in self.items if item.passed)

    def label(self) -> str:
        return f"{self.value}/{self.maximum}"


@dataclass(frozen=True, slots=True)
class Readiness:
    docs: Score
    impl: Score
    backtest: Score
    runtime: Score

    @property
    def scores(self) -> tuple[Score, Score, Score, Score]:
        return (self.docs, self.impl, self.backtest, self.runtime)

    def label(self) -> str:
        return " · ".join(f"{s.name} {s.label()}" for s in self.scores)

    def short(self) -> str:
        return " ".join(s.label() for s in self.scores)


# -- Docs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocSection:
    title: str
    phrases: tuple[str, ...]
    """Lower-case phrases; a heading containing any of them covers the section. Empty for a
    section the digest does not name."""


DOC_SECTIONS: Final[tuple[DocSection, ...]] = (
    # polytraders-spec.md 3.4 and seed-components.md 1.1: sections 1-7 are numbered there ...
    DocSection("Bot Identity", ("identity",)),
    DocSection("Operational Profile", ("operational profile",)),
    DocSection("Purpose", ("purpose",)),
    DocSection("Why This Bot Matters", ("why this bot matters", "why it matters")),
    DocSection("Required Polymarket Inputs", ("polymarket inputs",)),
    DocSection("Required Internal Inputs", ("internal inputs",)),
    DocSection("Parameter Guide", ("parameter guide", "parameters")),
    DocSection("Detailed Parameter Instructions", ("parameter instructions",)),
    # ... the rest are named without their numbers.
    DocSection("Reason Codes", ("reason codes",)),
    DocSection("Wire Examples", ("wire examples",)),
    DocSection("Reference Implementation", ("reference implementation", "pseudocode")),
    DocSection("Test Matrix", ("test matrix",)),
    DocSection("Metrics and Logs", ("metrics",)),
    DocSection("Alerts", ("alerts",)),
    DocSection("Dependencies", ("dependencies",)),
    DocSection("Security Surfaces", ("security surfaces",)),
    DocSection("V2 Compatibility", ("v2 compatibility",)),
    DocSection("Failure Injection", ("failure injection",)),
    DocSection("Runbook", ("runbook",)),
    DocSection("Promotion Gates", ("promotion gates",)),
    *(DocSection(f"Unnamed section {n}", ()) for n in range(21, 28)),
)

_INLINE_HEADING: Final = re.compile(r"^([A-Za-z0-9][A-Za-z0-9 ./&()'\-]{0,70}?):(?:\s|$)")
_UNDERLINE: Final = re.compile(r"^\s*(?:-{3,}|={3,})\s*$")
_NUMBERING: Final = re.compile(r"^\d+[.)]?\s+")


def _normalise_heading(text: str) -> str:
    text = text.strip().strip("#*` ").strip()
    text = _NUMBERING.sub("", text)
    return " ".join(text.lower().split())


def docstring_headings(doc: str) -> tuple[str, ...]:
    """Headings in a module docstring (after its summary line), normalised to lower case
    without numbering: ``Name:`` lines, ``# Name`` lines and underlined lines."""
    lines = doc.splitlines()
    found: list[str] = []
    for i, line in enumerate(lines):
        if i == 0 or not line.strip() or line[:1].isspace():  # line 0 is the summary
            continue
        stripped = line.strip()
        underlined = (
            i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) and not _UNDERLINE.match(line)
        )
        if stripped.startswith("#") or underlined:
            found.append(_normalise_heading(stripped))
        else:
            match = _INLINE_HEADING.match(stripped.replace("*", ""))
            if match and len(match.group(1).split()) <= 6:
                found.append(_normalise_heading(match.group(1)))
    return tuple(h for h in found if h)


def _docs(ev: Evidence) -> Score:
    impl = ev.implementation
    doc = inspect.getdoc(sys.modules.get(impl.__module__)) if impl is not None else None
    headings = docstring_headings(doc or "")
    items = []
    for n, section in enumerate(DOC_SECTIONS, start=1):
        item_id = f"section_{n}"
        if not section.phrases:
            items.append(ScoreItem(item_id, section.title, "not_checkable",
                                   "the reference digest does not name this section"))
        elif impl is None:
            items.append(ScoreItem(item_id, section.title, "failed", "no bot module"))
        else:
            hit = next((h for h in headings if any(p in h for p in section.phrases)), None)
            items.append(ScoreItem(
                item_id, section.title, "passed" if hit else "failed",
                f"heading {hit!r}" if hit else "no heading for it in the module docstring",
            ))
    return Score("Docs", 27, tuple(items))


# -- Impl ------------------------------------------------------------------------------------


def default_fixtures_root() -> Path:
    """``tests/fixtures/bots`` of the source checkout this package runs from."""
    return Path(polytraders.__file__).resolve().parents[2] / "tests" / "fixtures" / "bots"


def _fixture_pack(ev: Evidence, root: Path) -> tuple[bool, str]:
    folder = root / ev.bot_id
    problems = []
    for case in FIXTURE_CASES:
        path = folder / f"{case}.json"
        if not path.is_file():
            problems.append(f"{case}.json missing")
            continue
        try:
            if not isinstance(orjson.loads(path.read_bytes()), dict):
                problems.append(f"{case}.json is not a JSON object")
        except orjson.JSONDecodeError:
            problems.append(f"{case}.json is not valid JSON")
    if problems:
        return False, f"{folder}: " + ", ".join(problems)
    return True, f"{folder}: all four cases present"


_Check = Callable[[Evidence], tuple[bool, str]]


def _impl_items(ev: Evidence, root: Path) -> tuple[ScoreItem, ...]:
    codes = registry()

    def needs_impl(check: _Check) -> _Check:
        def run(e: Evidence) -> tuple[bool, str]:
            return (False, "no bot module") if e.implementation is None else check(e)

        return run

    def module_exists(e: Evidence) -> tuple[bool, str]:
        if e.implementation is None:
            return False, f"polytraders.bots.{e.bot_id} does not import or has no {e.bot_id} bot"
        return True, e.implementation.__module__

    def subclass(e: Evidence) -> tuple[bool, str]:
        cls = e.implementation
        assert cls is not None
        if not issubclass(cls, Bot) or cls.bot_id != e.bot_id:
            return False, f"{cls.__qualname__} is not a Bot with bot_id {e.bot_id!r}"
        if inspect.isabstract(cls):
            return False, f"{cls.__qualname__} is abstract (decide() not implemented)"
        return True, f"{cls.__qualname__} implements Bot"

    def identity(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        cls = e.implementation
        missing = [a for a in ("layer", "bot_class", "authority") if not hasattr(cls, a)]
        if missing:
            return False, "missing " + ", ".join(missing)
        if e.entry is not None and str(cls.layer) != e.entry.layer:
            return False, f"layer {cls.layer} differs from the catalogue's {e.entry.layer}"
        return True, f"{cls.layer} / {cls.bot_class} / {sorted(str(a) for a in cls.authority)}"

    def params(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        n = len(e.implementation.params)
        return (n > 0), f"{n} parameter(s) declared"

    def defaults(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        try:
            _, warnings = build_config(e.bot_id, e.implementation.params)
        except (ConfigError, ValueError) as exc:
            return False, str(exc)
        if warnings:
            return True, "within hard limits (past warning: " + ", ".join(
                w.field for w in warnings) + ")"
        return True, "defaults validate within every hard limit"

    def declares_codes(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        n = len(e.implementation.reason_codes)
        return (n > 0), f"{n} reason code(s) declared"

    def declared_registered(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        bad = sorted(c for c in e.implementation.reason_codes if c not in codes)
        return (not bad), ("unregistered: " + ", ".join(bad)) if bad else "all registered"

    def source_registered(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        try:
            source = inspect.getsource(sys.modules[e.implementation.__module__])
        except (OSError, TypeError, KeyError):
            return False, "module source is not readable"
        found = {t for t in _CODE_TOKEN.findall(source) if CODE_PATTERN.match(t)}
        bad = sorted(t for t in found if t not in codes)
        if bad:
            return False, "unregistered code(s) in source: " + ", ".join(bad)
        return True, f"{len(found)} code-like token(s) in source, all registered"

    def base_modes(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        need = {Mode.OFF, Mode.SHADOW, Mode.ENFORCED}
        lacking = sorted(m.value for m in need - set(e.implementation.supported_modes))
        return (not lacking), ("lacks " + ", ".join(lacking)) if lacking else "off/shadow/enforced"

    def quarantine(e: Evidence) -> tuple[bool, str]:
        assert e.implementation is not None
        guardrail = (e.entry.bot_class if e.entry else e.implementation.bot_class) == "Guardrail"
        if not guardrail:
            return True, "not a guardrail; quarantine not required"
        ok = Mode.QUARANTINE in e.implementation.supported_modes
        return ok, "supports quarantine" if ok else "guardrail without quarantine mode"

    def fixtures(e: Evidence) -> tuple[bool, str]:
        return _fixture_pack(e, root)

    def emitted(e: Evidence) -> tuple[bool, str]:
        n = e.journal.envelopes
        return (n > 0), f"{n} envelope(s) in the journal"

    def emitted_declared(e: Evidence) -> tuple[bool, str]:
        if e.journal.envelopes == 0:
            return False, "nothing emitted yet"
        unexpected = e.unexpected_codes
        if unexpected:
            return False, "emitted undeclared: " + ", ".join(unexpected)
        return True, f"{len(e.journal.reason_codes)} distinct declared code(s) emitted"

    checks: tuple[tuple[str, str, _Check], ...] = (
        ("module_exists", "bot module imports", module_exists),
        ("bot_subclass", "implements Bot with this bot_id", needs_impl(subclass)),
        ("identity", "declares layer, class and authority", needs_impl(identity)),
        ("params", "declares parameters", needs_impl(params)),
        ("default_config", "default config within hard limits", needs_impl(defaults)),
        ("declares_codes", "declares reason codes", needs_impl(declares_codes)),
        ("declared_registered", "declared codes are registered", needs_impl(declared_registered)),
        ("source_registered", "every code in the source is registered",
         needs_impl(source_registered)),
        ("base_modes", "supports off, shadow and enforced", needs_impl(base_modes)),
        ("quarantine", "guardrails support quarantine", needs_impl(quarantine)),
        ("fixture_pack", "fixture pack normal/warning/hard/failure present", fixtures),
        ("emitted", "has emitted envelopes", emitted),
        ("emitted_declared", "emits only declared registry codes", emitted_declared),
    )
    items = []
    for item_id, description, check in checks:
        passed, detail = check(ev)
        items.append(ScoreItem(item_id, description, "passed" if passed else "failed", detail))
    items.append(ScoreItem("mock_clob_v2", "passes the mock CLOB V2 adapter integration test",
                           "not_checkable", "no integration-test results are recorded yet"))
    items.append(ScoreItem("green_ci", "green CI on main", "not_checkable",
                           "CI results are not recorded yet"))
    return tuple(items)


# -- Backtest --------------------------------------------------------------------------------


def _backtest(ev: Evidence, root: Path) -> Score:
    impl = ev.implementation
    normal = root / ev.bot_id / "normal.json"
    space = getattr(impl, "SEARCH_SPACE", None) if impl is not None else None
    after = ev.journal.after_synthetic
    items = (
        ScoreItem("synthetic_fixture", "synthetic fixture exists",
                  "passed" if normal.is_file() else "failed",
                  str(normal) + (" present" if normal.is_file() else " missing")),
        ScoreItem("envelope_timeline", "recorded envelope timeline from a synthetic run",
                  "passed" if after else "failed",
                  f"{after} envelope(s) after a synthetic-feed run start"),
        ScoreItem("search_space", "SEARCH_SPACE declared",
                  "passed" if space else "failed",
                  "declared" if space else "no SEARCH_SPACE on the bot class"),
        ScoreItem("optimizer_run", "at least one optimizer reference run", "not_checkable",
                  "no optimizer exists yet"),
    )
    return Score("Backtest", 4, items)


# -- Runtime ---------------------------------------------------------------------------------


def _runtime(ev: Evidence, status: StageStatus) -> Score:
    j = ev.journal
    clean = j.shadow_ms >= SHADOW_READY_MS and j.envelopes > 0 and not ev.unexpected_codes \
        and ev.implementation is not None
    if j.envelopes:
        rate = Decimal(j.errors) / Decimal(j.envelopes)
        rate_ok = rate < MAX_ERROR_RATE
        rate_detail = f"{j.errors} GOV_BOT_ERROR in {j.envelopes} envelope(s) ({rate:.4%})"
    else:
        rate_ok, rate_detail = False, "no envelopes to measure"
    top = STAGES[-1]

    def absent(item_id: str, description: str, why: str) -> ScoreItem:
        return ScoreItem(item_id, description, "not_checkable", why)

    items = (
        ScoreItem("clean_shadow", "24 h shadow with zero unexpected codes",
                  "passed" if clean else "failed",
                  f"{j.shadow_ms / 3_600_000:.1f} h shadow, unexpected codes: "
                  + (", ".join(ev.unexpected_codes) or "none")),
        ScoreItem("error_rate", "error rate below 0.1 %", "passed" if rate_ok else "failed",
                  rate_detail),
        absent("latency", "latency within budget", "decision latency is not journaled yet"),
        absent("reject_rate", "reject rate calibrated", "no calibration review is recorded"),
        absent("runbook_drill", "runbook battle-tested by on-call", "no drills are recorded"),
        absent("dashboard", "dashboard live", "no dashboard exists yet"),
        absent("alerts", "alerts wired", "alert wiring is not recorded per bot yet"),
        ScoreItem("all_gates", "promoted through every gate",
                  "passed" if status.stage == top else "failed", f"stage {status.stage}"),
    )
    return Score("Runtime", 8, items)


def score_readiness(ev: Evidence, status: StageStatus, *,
                    fixtures_root: Path | None = None) -> Readiness:
    root = fixtures_root if fixtures_root is not None else default_fixtures_root()
    return Readiness(
        docs=_docs(ev),
        impl=Score("Impl", 15, _impl_items(ev, root)),
        backtest=_backtest(ev, root),
        runtime=_runtime(ev, status),
    )
