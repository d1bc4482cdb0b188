"""Replay-last-hour: rebuild state at the window start, re-feed the window's recorded inputs to
the current bot code under the recorded event times, and compare the decisions.

Compared decisions:
- automatic kill-switch trips: the current `risk.kill_switch.check_triggers` runs after every
  recorded input, exactly as the live guardian does; a trip must happen at the same input seq
  with the same trigger and scope;
- every recorded vote of the kill switch and the guardrails on a recorded intent (each a step
  of the order path's decision record, or its own envelope in older journals): the current
  bot re-votes on the same intent against the replayed state; decision and reason code must
  agree.
The first difference (by input seq) is the divergence, with both decisions. Replay builds no
venue and no notifier; a socket guard records any attempt to open a connection as
`GOV_REPLAY_NO_NETWORK_VIOLATION`.

Books: the report carries two equity curves, the recorded one and this run's (`whatif.py`: a
trip the recording did not have stops the fills in its scope), each with its PnL and deepest
drawdown over the window, and the config version each replayed bot ran under.
"""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from polytraders.bots.risk.guardrails import GUARDRAILS_IN_ORDER
from polytraders.bots.risk.kill_switch import KillSwitch, TriggerCheck
from polytraders.contracts import FillRecord, KillSwitchEvent, OrderIntent, RiskVote
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.engine.protect import INPUT_NOTES, input_kind
from polytraders.errors import BadInputError
from polytraders.journal.base import Journal, JournalEntry, entry_hash
from polytraders.journal.sqlite import SqliteJournal
from polytraders.replay.whatif import WhatIfBooks, run_summary
from polytraders.runtime.bot import Bot
from polytraders.runtime.clock import SimClock
from polytraders.runtime.config import BotConfig, build_config, last_loaded_values
from polytraders.runtime.context import BotContext
from polytraders.runtime.decisions import RECORD_KIND, StepView, decision_steps
from polytraders.state.bulk_decode import BookDecoder
from polytraders.state.kill_switch import KillSwitchProjection
from polytraders.state.markets import MarketsProjection
from polytraders.state.portfolio import PortfolioProjection
from polytraders.state.store import TRUST_CODES, TRUST_KINDS, JournalLink, StateStore

HOUR_MS = 3_600_000
KS_ACTOR = "risk.kill_switch"


@dataclass
class Divergence:
    seq: int
    what: str
    recorded: dict[str, Any] | None
    replayed: dict[str, Any] | None


@dataclass
class ReplayReport:
    window_start_ms: int
    window_end_ms: int
    first_seq: int
    last_seq: int
    inputs: int
    trips_recorded: list[dict[str, Any]]
    trips_replayed: list[dict[str, Any]]
    votes_compared: int
    divergences: list[Divergence] = field(default_factory=list)
    network_violations: list[str] = field(default_factory=list)
    equity_curve: list[tuple[int, Decimal]] = field(default_factory=list)
    replayed_curve: list[tuple[int, Decimal]] = field(default_factory=list)
    # performance equity (less deposits, withdrawals, adjustments): what drawdown is drawn from
    recorded_perf: list[tuple[int, Decimal]] = field(default_factory=list)
    replayed_perf: list[tuple[int, Decimal]] = field(default_factory=list)
    books_recorded: dict[str, Any] = field(default_factory=dict)
    books_replayed: dict[str, Any] = field(default_factory=dict)
    config_versions: dict[str, str] = field(default_factory=dict)
    # when each replayed trip happened, in the order of `trips_replayed` (for the chart; the trip
    # keys themselves stay the shape the journaled verdict and its readers know)
    trips_replayed_at_ms: list[int] = field(default_factory=list)
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.network_violations:
            return "GOV_REPLAY_NO_NETWORK_VIOLATION"
        return "GOV_REPLAY_REGRESSION" if self.divergences else "GOV_REPLAY_MATCH"

    def to_json(self) -> dict[str, Any]:
        first = self.divergences[0] if self.divergences else None
        return {
            "verdict": self.verdict,
            "window": {"start_ms": self.window_start_ms, "end_ms": self.window_end_ms,
                       "first_seq": self.first_seq, "last_seq": self.last_seq},
            "inputs_replayed": self.inputs,
            "votes_compared": self.votes_compared,
            "trips_recorded": self.trips_recorded,
            "trips_replayed": self.trips_replayed,
            "first_divergence": None if first is None else {
                "seq": first.seq, "what": first.what, "recorded": first.recorded,
                "replayed": first.replayed},
            "divergences": len(self.divergences),
            "network_violations": self.network_violations,
            "books": {"recorded": self.books_recorded, "replayed": self.books_replayed},
            "config_versions": self.config_versions,
            "overrides": self.overrides,
        }


@contextmanager
def no_network(violations: list[str]) -> Iterator[None]:
    """Refuse and record any outbound connection while replaying."""
    original = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        violations.append(f"connect to {address!r}")
        raise ConnectionRefusedError("replay must not touch the network")

    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic garbage collection while replaying, the caller's setting back after. The
    fold leaves almost no cyclic garbage (about 800 objects over a 20-market demo hour), while
    the collections its allocations set off traversed its growing state again and again
    (0.12-0.17 s of that hour's replay); reference counting frees everything else as before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fresh_state() -> StateStore:
    from polytraders.state.standard import build_full_state

    return build_full_state()


def _trip_key(p: dict[str, Any]) -> dict[str, Any]:
    scope = p["scope"]
    return {"caused_by_seq": p["caused_by_seq"], "trigger": p["trigger"],
            "scope": "global" if scope["scope"] == "global" else f"{scope['scope']}:{scope['value']}"}


def last_input_ms(journal: Journal) -> int:
    """The time of the last recorded input: "the last hour" means the last hour of trading,
    not of whatever was journaled afterwards (verdicts, operator reads)."""
    if isinstance(journal, SqliteJournal):
        return _last_input_ms_raw(journal)
    for n in (1_000, 100_000, 10_000_000):
        tail = journal.tail(n)
        for entry in reversed(tail):
            if input_kind(entry) is not None:
                return entry.envelope.ts_ms
        if len(tail) < n:
            break
    raise BadInputError("The journal holds no recorded inputs (market data, fills, orders): "
                        "there is nothing to replay.")


def _last_input_ms_raw(journal: SqliteJournal) -> int:
    """`last_input_ms` walking back from the head row by row: each row is decoded and checked
    as `read` does it, but a checkpoint (megabytes late in a run, and never an input) only has
    its hash checked, as the replay fold itself does (`_entries`). Reading the last 1,000
    entries in full, two of them checkpoints, cost as much as a tenth of a demo hour's replay."""
    for seq, hash_b, body, _copies in journal.read_raw(descending=True):
        try:
            kind = orjson.loads(body)["envelope"]["kind"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            kind = None  # the full decode names the damage
        if kind == "checkpoint" and entry_hash(body) == hash_b.decode("ascii", "replace"):
            continue
        entry = journal.decode_row(seq, hash_b, body)  # raises on damage
        if input_kind(entry) is not None:
            return entry.envelope.ts_ms
    raise BadInputError("The journal holds no recorded inputs (market data, fills, orders): "
                        "there is nothing to replay.")


_CONFIG_LOADED = b'"GOV_CONFIG_LOADED"'


def _config_loaded_notes(journal: Journal) -> list[JournalEntry]:
    """The journal's GOV_CONFIG_LOADED notes, in order (what `_loaded_versions` and
    `last_loaded_values` read), decoded and checked as `read` does. Of a SQLite journal's other
    notes (most of them the strategies' no-quote notes) only the hash is checked here: a note
    whose text holds neither that code nor a backslash-u escape (which could spell it) is not
    one. The fold checks each of them in full again."""
    if not isinstance(journal, SqliteJournal):
        return [e for e in journal.read(kinds=["note"]) if e.envelope.reason_code == "GOV_CONFIG_LOADED"]
    out = []
    for seq, hash_b, body, _copies in journal.read_raw(kinds=["note"]):
        if _CONFIG_LOADED in body or b"\\u" in body or entry_hash(body) != hash_b.decode("ascii", "replace"):
            entry = journal.decode_row(seq, hash_b, body)  # raises on damage
            if entry.envelope.reason_code == "GOV_CONFIG_LOADED":
                out.append(entry)
    return out


def _loaded_versions(notes: list[JournalEntry]) -> dict[str, str]:
    """The config version each bot last journaled (GOV_CONFIG_LOADED), by bot id."""
    out: dict[str, str] = {}
    for entry in notes:
        d = entry.envelope.payload.get("detail", {})
        if entry.envelope.reason_code == "GOV_CONFIG_LOADED" and isinstance(d.get("bot_id"), str):
            out[d["bot_id"]] = str(d.get("config_version", "?"))
    return out


def replay(
    journal: Journal,
    *,
    until_ms: int | None = None,
    window_ms: int = HOUR_MS,
    overrides: dict[str, dict[str, Any]] | None = None,
    since_ms: int | None = None,
) -> ReplayReport:
    """Replay [since_ms, until_ms] with current code; without `since_ms` the window is the
    `window_ms` ending at `until_ms` (default: the last recorded input).

    `overrides` changes a bot's config for this replay only (what-if, or proving that a changed
    threshold is detected as a regression).
    """
    overrides = overrides or {}
    end = until_ms if until_ms is not None else last_input_ms(journal)
    start = since_ms if since_ms is not None else end - window_ms

    bots: dict[str, Bot[Any, Any]] = {}
    classes: tuple[type[Bot[Any, Any]], ...] = (KillSwitch, *GUARDRAILS_IN_ORDER)
    notes = _config_loaded_notes(journal)
    versions = _loaded_versions(notes)
    for cls in classes:
        bot = cls()
        values = dict(last_loaded_values(notes, cls.bot_id) or {})
        values.update(overrides.get(cls.bot_id, {}))
        config: BotConfig
        config, _ = build_config(cls.bot_id, cls.params, values)
        bot.init(config)
        bots[cls.bot_id] = bot
    ks_bot = bots[KS_ACTOR]
    assert isinstance(ks_bot, KillSwitch)

    state = _fresh_state()
    ks_proj = state.typed("kill_switch", KillSwitchProjection)
    clock = SimClock(0)
    intents: dict[str, OrderIntent] = {}
    report = ReplayReport(start, end, 0, 0, 0, [], [], 0)
    report.config_versions = {cls.bot_id: versions.get(cls.bot_id, "not journaled") for cls in classes}
    report.overrides = {b: {k: str(v) for k, v in sorted(p.items())} for b, p in sorted(overrides.items())}
    replay_actor = Actor(kind="bot", id=KS_ACTOR)
    # Until a replayed trip the recording lacks, the what-if books would fold exactly what the
    # recorded books fold: they start as a copy of those at the first such trip (`_fork`).
    books: WhatIfBooks | None = None
    trades_seen: set[str] = set()
    markets = state.typed("markets", MarketsProjection)
    portfolio = state.typed("portfolio", PortfolioProjection)
    # the recorded automatic trips, known up front, so a replayed trip the recording lacks
    # can stop the what-if books at once rather than at the end of the window
    recorded_keys = {(t["caused_by_seq"], t["trigger"], t["scope"]) for t in (
        _trip_key(e.envelope.payload) for e in journal.read(kinds=[KillSwitchEvent.kind])
        if e.envelope.actor.id == KS_ACTOR and e.envelope.payload["event"] == "tripped")}

    with no_network(report.network_violations), collector_paused():
        for entry in _entries(journal, state):
            if isinstance(entry, _Passed):
                # nothing replay or any projection reads (a strategy's no-quote note, an
                # execution plan): stepped over, checked for its hash and link, undecoded
                if entry.ts_ms > end:
                    break
                if entry.ts_ms >= start:
                    if report.first_seq == 0:
                        report.first_seq = entry.seq
                    report.last_seq = entry.seq
                    clock.advance_to(max(clock.now_ms(), entry.ts_ms))
                state.skip(entry.link)
                continue
            env = entry.envelope
            if env.ts_ms > end:
                break
            in_window = env.ts_ms >= start
            if in_window and report.first_seq == 0:
                report.first_seq = entry.seq
            automatic_trip = (env.kind == KillSwitchEvent.kind and env.actor.id == KS_ACTOR
                              and env.payload["event"] == "tripped")
            if not in_window:
                kept = state.apply(entry)
                if kept is not None:
                    if env.kind == FillRecord.kind:
                        trades_seen.add(str(env.payload["trade_id"]))
                    if env.reason_code in _CONFIG_CHANGES:
                        _follow_config(kept, state, bots, overrides)
                continue
            report.last_seq = entry.seq
            clock.advance_to(max(clock.now_ms(), env.ts_ms))
            if automatic_trip:
                report.trips_recorded.append(_trip_key(env.payload))
                state.skip(entry)  # recorded trips are decisions, not inputs
                continue
            if env.kind == RECORD_KIND or (env.kind == "risk_vote" and env.actor.kind == "bot"):
                # every recorded vote of the kill switch and the guardrails, whether journaled as
                # its own envelope or as a step of the order path's decision record
                for step in decision_steps(entry):
                    if step.kind == "risk_vote" and step.bot_id in bots:
                        _compare_vote(step, bots[step.bot_id], intents, state, ks_proj, clock, report,
                                      env.builder_code)
            kept = state.apply(entry)
            if kept is not None:
                if books is not None:
                    books.apply(kept)
                elif env.kind == FillRecord.kind:
                    trades_seen.add(str(env.payload["trade_id"]))
                if env.reason_code in _CONFIG_CHANGES:
                    _follow_config(kept, state, bots, overrides)
            if env.kind == OrderIntent.kind:
                intent = env.decode()
                assert isinstance(intent, OrderIntent)
                intents[intent.correlation_id] = intent
            kind = input_kind(entry)
            if kind is not None:
                report.inputs += 1
                for breach in ks_bot.check_triggers(state, env.ts_ms, entry.seq, kind):
                    # the same decide() the live guardian calls builds the trip event
                    ctx = BotContext(clock=clock, config=ks_bot.config, state=state,
                                     kill_switch=ks_proj, correlation_id=None,
                                     builder_code=env.builder_code)
                    event = ks_bot.decide(TriggerCheck(breach), ctx).output
                    assert isinstance(event, KillSwitchEvent)
                    key = _trip_key(event.to_json_dict())
                    report.trips_replayed.append(key)
                    report.trips_replayed_at_ms.append(env.ts_ms)
                    if (key["caused_by_seq"], key["trigger"], key["scope"]) not in recorded_keys:
                        if books is None:
                            books = _fork(markets, portfolio, trades_seen)
                        books.halt(entry.seq, key["scope"])
                    ks_proj.apply(JournalEntry(entry.seq, "", "", ReportEnvelope.wrap(
                        event, actor=replay_actor, reason_code="RISK_KILLSWITCH_TRIPPED",
                        ts_ms=env.ts_ms)))
    _compare_trips(report)
    replayed = books.portfolio if books is not None else portfolio
    report.equity_curve = [(t, v) for t, v in portfolio.equity_curve() if start <= t <= end]
    report.replayed_curve = [(t, v) for t, v in replayed.equity_curve() if start <= t <= end]
    report.recorded_perf = [(t, v) for t, v in portfolio.performance_curve() if start <= t <= end]
    report.replayed_perf = [(t, v) for t, v in replayed.performance_curve() if start <= t <= end]
    report.books_recorded = run_summary(portfolio, start, end)
    report.books_replayed = run_summary(replayed, start, end)
    report.divergences.sort(key=lambda d: d.seq)
    return report


@dataclass(frozen=True, slots=True)
class _Passed:
    """An entry replay steps over without decoding it."""

    link: JournalLink
    ts_ms: int

    @property
    def seq(self) -> int:
        return self.link.seq


# Kinds of which some entries nobody in replay reads: only rows of these kinds are parsed to see
# whether they can be stepped over; every other row is decoded as `read` decodes it.
# A checkpoint is among them: replay folds from seq 1 and reads none, and each one holds all
# state so far (megabytes, late in a long run), so validating them cost more the longer the run.
_MAYBE_PASSED = frozenset({b"note", b"execution_plan", b"signed_order", b"checkpoint"})
# what replay itself reads, besides the projections and the inputs
_REPLAY_READS = frozenset({"risk_vote", OrderIntent.kind, KillSwitchEvent.kind})


def _entries(journal: Journal, state: StateStore) -> Iterator[JournalEntry | _Passed]:
    """The journal in seq order; entries that neither the trust gate, a projection, the trigger
    checks nor the vote comparison read come back as `_Passed` (hash-checked, not decoded)."""
    if not isinstance(journal, SqliteJournal):
        yield from journal.read()
        return
    trust = state.trust
    books = BookDecoder()
    for seq, hash_b, body, copies in journal.read_raw():
        if bytes(copies[0]) not in _MAYBE_PASSED:
            entry = journal.decode_row(seq, hash_b, body)
            books.predecode(entry.envelope)
            yield entry
            continue
        try:
            data = orjson.loads(body)
            env = data["envelope"]
            kind, code = env["kind"], env["reason_code"]
            passed = (env.get("signature") is None and data["seq"] == seq
                      and kind not in TRUST_KINDS and code not in TRUST_CODES
                      and kind not in _REPLAY_READS and code not in _CONFIG_CHANGES
                      and not (kind == "note" and code in INPUT_NOTES)
                      and not state.reads(kind, code)
                      and (trust.session_open or trust.system_key is None))
            link = JournalLink(seq, str(data["prev_hash"]), hash_b.decode("ascii", "replace"))
            ts_ms = int(env["ts_ms"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            passed = False  # the full decode names the damage
        if passed and entry_hash(body) == link.hash:
            yield _Passed(link, ts_ms)
        else:
            yield journal.decode_row(seq, hash_b, body)  # decodes, or raises naming the damage


def _fork(markets: MarketsProjection, portfolio: PortfolioProjection, trades_seen: set[str]) -> WhatIfBooks:
    """What-if books that start as the recorded books stand now (a snapshot restores to the
    same state a fold reaches), having seen the same trades."""
    books = WhatIfBooks()
    books.markets.restore(markets.snapshot())
    books.portfolio.restore(portfolio.snapshot())
    books.seen = set(trades_seen)
    return books


_CONFIG_CHANGES = frozenset({"GOV_CONFIG_LOADED", "GOV_CONFIG_SET", "GOV_CONFIG_REVERTED",
                             "GOV_CONFIG_OVERRIDE_APPROVED", "GOV_CONFIG_OVERRIDE_EXPIRED"})


def _follow_config(entry: JournalEntry, state: StateStore, bots: dict[str, Bot[Any, Any]],
                   overrides: dict[str, dict[str, Any]]) -> None:
    """A live edit, revert, override or deploy in the recording: from then on the replayed bot
    runs what the recorded one ran (the what-if's values still on top)."""
    from polytraders.config.catalog import to_config
    from polytraders.config.projection import ConfigProjection

    if entry.envelope.reason_code not in _CONFIG_CHANGES:
        return
    bot_id = entry.envelope.payload.get("detail", {}).get("bot_id")
    proj = state.find("config")
    bot = bots.get(bot_id) if isinstance(bot_id, str) else None
    if bot is None or not isinstance(proj, ConfigProjection) or not proj.running.get(bot.bot_id):
        return
    values = {**to_config(bot.bot_id, proj.running[bot.bot_id]), **overrides.get(bot.bot_id, {})}
    config, _ = build_config(bot.bot_id, bot.params, values, config_version=bot.config.config_version)
    bot.init(config)


def _compare_vote(step: StepView, bot: Bot[Any, Any], intents: dict[str, OrderIntent],
                  state: StateStore, ks_proj: KillSwitchProjection, clock: SimClock,
                  report: ReplayReport, builder_code: str) -> None:
    intent = intents.get(step.correlation_id or "")
    if intent is None:
        return  # the intent was recorded before the window; nothing to re-vote on
    ctx = BotContext(clock=clock, config=bot.config, state=state, kill_switch=ks_proj,
                     correlation_id=step.correlation_id, builder_code=builder_code)
    try:
        decision = bot.decide(intent, ctx)
        out = decision.output
        replayed = ({"decision": out.decision, "reason_code": out.reason_code}
                    if isinstance(out, RiskVote) else {"reason_code": decision.reason_code})
    except Exception as exc:  # a crash in current code is a divergence, not a replay crash
        replayed = {"error": type(exc).__name__}
    recorded = {"decision": step.payload["decision"], "reason_code": step.payload["reason_code"]}
    report.votes_compared += 1
    if replayed != recorded:
        report.divergences.append(Divergence(step.seq, f"vote of {bot.bot_id} on "
                                             f"{step.correlation_id}", recorded, replayed))


def _compare_trips(report: ReplayReport) -> None:
    rec = {(t["caused_by_seq"], t["trigger"], t["scope"]) for t in report.trips_recorded}
    rep = {(t["caused_by_seq"], t["trigger"], t["scope"]) for t in report.trips_replayed}
    for t in report.trips_recorded:
        if (t["caused_by_seq"], t["trigger"], t["scope"]) not in rep:
            same = [r for r in report.trips_replayed if r["trigger"] == t["trigger"]]
            report.divergences.append(Divergence(t["caused_by_seq"], "kill-switch trip", t,
                                                 same[0] if same else None))
    for t in report.trips_replayed:
        if (t["caused_by_seq"], t["trigger"], t["scope"]) not in rec:
            same = [r for r in report.trips_recorded if r["trigger"] == t["trigger"]]
            report.divergences.append(Divergence(t["caused_by_seq"], "kill-switch trip",
                                                 same[0] if same else None, t))
