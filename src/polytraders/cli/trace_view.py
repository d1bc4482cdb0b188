"""`polytraders trace ID`: find one decision by any id a person was shown, and tell its story.

An id may be a correlation id, a client order id (`co_…`), an intent id (`oi_…`) or a venue order
id (the order hash). The intent itself carries its correlation id in its payload, not on the
envelope, so the search works on the raw journal bytes: first every entry that mentions the id,
then every entry that mentions a correlation id found there. Two scans of undecoded rows; only
matches are decoded.

For a rejection (a risk or security REJECT vote, or the venue refusing the order) the story
leads with the proposed order and the values the bot saw. The order path's decision record (one
envelope holding every vote of the intent) is shown one row per step, numbered ``seq.step``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from polytraders.cli.readable import MarketNames, amount, price, short_id
from polytraders.cli.timefmt import iso_utc, when
from polytraders.contracts.order_batch import OrderBatch, order_records
from polytraders.contracts.reasons import registry
from polytraders.journal.base import JournalEntry
from polytraders.runtime.decisions import RECORD_KIND, decision_steps

MAX_ID_LEN = 200  # longer than any id we mint; a longer "id" cannot match


@dataclass
class Found:
    correlation_ids: list[str] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)


def _scan(journal: Any, needles: list[bytes]) -> list[JournalEntry]:
    seqs = journal.seqs_mentioning(needles)
    return [entry for seq in seqs for entry in journal.read(from_seq=seq, to_seq=seq)]


def _correlations(entry: JournalEntry, mentioned: str | None = None) -> list[str]:
    env = entry.envelope
    found = [env.correlation_id] if env.correlation_id else []
    payload_corr = env.payload.get("correlation_id")
    if isinstance(payload_corr, str) and payload_corr:
        found.append(payload_corr)
    if env.kind == OrderBatch.kind:  # one venue answer for many orders: each record is its order's
        found += [r.correlation_id for r in order_records(entry) if r.correlation_id
                  and (mentioned is None or _mentions(r.payload, r.correlation_id, mentioned))]
    return found


def _mentions(record: Any, correlation_id: str, decision_id: str) -> bool:
    return decision_id in (correlation_id, record.get("client_order_id"), record.get("intent_id"),
                           record.get("venue_order_id"))


def find_decision(journal: Any, decision_id: str) -> Found:
    if not decision_id or len(decision_id) > MAX_ID_LEN or '"' in decision_id or "\\" in decision_id:
        return Found()
    mentions = _scan(journal, [f'"{decision_id}"'.encode()])
    corrs: list[str] = []
    for entry in mentions:
        for c in _correlations(entry, decision_id):
            if c not in corrs:
                corrs.append(c)
    if not corrs:
        return Found([], mentions)
    # a checkpoint or an incident snapshot may quote the id too; only the decision's own entries count
    entries = [e for e in _scan(journal, [f'"{c}"'.encode() for c in corrs]) if set(_correlations(e)) & set(corrs)]
    return Found(corrs, entries)


# -- rendering ---------------------------------------------------------------------------------


def _rejections(entries: list[JournalEntry]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(where, who, reason code, payload) of every REJECT vote and venue refusal, in order; a vote
    inside a decision record is placed as ``seq.step``."""
    out = []
    for e in entries:
        refused = [r for r in order_records(e) if r.payload.get("status") == "rejected"]
        for r in refused:
            out.append((r.label, e.envelope.actor.label(), r.reason_code, dict(r.payload)))
        if refused:
            continue
        for step in decision_steps(e):
            if step.kind == "risk_vote" and step.payload.get("decision") == "REJECT":
                who = str(step.payload.get("guard_id") or step.bot_id)
                out.append((step.label, who, step.reason_code, dict(step.payload)))
    return out


def _proposed(entries: list[JournalEntry]) -> dict[str, Any] | None:
    return next((e.envelope.payload for e in entries if e.envelope.kind == "order_intent"), None)


def _proposed_text(intent: dict[str, Any], names: MarketNames) -> str:
    tick = names.tick_of(str(intent.get("market_id", "")))
    market = names.token(str(intent.get("token_id", "")), 60)
    return (f"{intent.get('side')} {amount(intent.get('size'))} @ {price(intent.get('price'), tick)} "
            f"({intent.get('order_type')}) on {market}, by {intent.get('strategy_id')}, "
            f"intent {intent.get('intent_id')}")


def _decision_text(e: JournalEntry) -> str:
    p = e.envelope.payload
    return str(p.get("decision") or p.get("status") or "")


def render_trace(console: Console, decision_id: str, found: Found, names: MarketNames) -> None:
    reg = registry()
    entries = found.entries
    corr = ", ".join(found.correlation_ids) or "-"
    span = f" from {when(entries[0].envelope.ts_ms)}" if entries else ""
    n_steps = sum(len(decision_steps(e)) for e in entries if e.envelope.kind == RECORD_KIND)
    steps = f" ({n_steps} bot decisions inside decision records)" if n_steps else ""
    console.print(f"trace {decision_id}: correlation id {corr}, {len(entries)} envelopes{steps}{span}",
                  markup=False, highlight=False)
    intent = _proposed(entries)
    if intent is not None:
        console.print(f"proposed: {_proposed_text(intent, names)}", markup=False, highlight=False)
    for where, who, code, p in _rejections(entries):
        why = p.get("message") or p.get("venue_error") or reg[code].user_message if code in reg else ""
        console.print(f"REJECTED at seq {where} by {who}: {code} - {why}", markup=False, highlight=False)
        observed = dict(p.get("observed") or {})
        if p.get("venue_error"):
            observed.setdefault("venue_error", p["venue_error"])
        if observed:
            console.print("  observed: " + ", ".join(f"{k}={v}" for k, v in sorted(observed.items())),
                          markup=False, highlight=False)
        if p.get("constraints"):
            console.print(f"  constraints: {p['constraints']}", markup=False, highlight=False)
    day = iso_utc(entries[0].envelope.ts_ms)[:10] if entries else ""
    table = Table(title=f"envelopes in order (times UTC, {day})")
    for col in ("seq", "time", "actor", "reason · decision", "what happened"):
        table.add_column(col, overflow="fold")
    for e in entries:
        env = e.envelope
        record_steps = decision_steps(e) if env.kind == RECORD_KIND else []
        if record_steps:  # one row per step of the decision, each as its own envelope used to show it
            for step in record_steps:
                meaning = reg[step.reason_code].user_message if step.reason_code in reg else ""
                detail = _detail(step.kind, dict(step.payload), names)
                decision = str(step.payload.get("decision") or "")
                table.add_row(step.label, iso_utc(step.ts_ms)[11:], step.bot_id,
                              step.reason_code + (f" · {decision}" if decision else ""),
                              meaning + (f" ({detail})" if detail else ""))
            continue
        if env.kind == OrderBatch.kind:  # one row per record of the traced decision's orders
            for r in order_records(e):
                if r.correlation_id not in found.correlation_ids:
                    continue
                meaning = reg[r.reason_code].user_message if r.reason_code in reg else ""
                detail = _detail("order_record", dict(r.payload), names)
                table.add_row(r.label, iso_utc(env.ts_ms)[11:], env.actor.id,
                              r.reason_code + f" · {r.payload.get('status')}", meaning + f" ({detail})")
            continue
        meaning = reg[env.reason_code].user_message if env.reason_code in reg else ""
        detail = _detail(env.kind, env.payload, names)
        decision = _decision_text(e)
        table.add_row(str(e.seq), iso_utc(env.ts_ms)[11:], env.actor.id,
                      env.reason_code + (f" · {decision}" if decision else ""),
                      meaning + (f" ({detail})" if detail else ""))
    console.print(table)


def _detail(kind: str, p: dict[str, Any], names: MarketNames) -> str:
    if kind == "order_record":
        tick = names.tick_of(str(p.get("market_id", "")))
        venue = f", venue id {short_id(p['venue_order_id'])}" if p.get("venue_order_id") else ""
        return (f"{p.get('client_order_id')} {p.get('side')} {amount(p.get('size'))} @ "
                f"{price(p.get('price'), tick)}, filled {amount(p.get('filled'))}{venue}")
    if kind == "fill":
        tick = names.tick_of(str(p.get("market_id", "")))
        return f"{p.get('side')} {amount(p.get('size'))} @ {price(p.get('price'), tick)}, {p.get('settlement')}"
    if kind == "risk_vote" and p.get("decision") not in (None, "APPROVE"):
        return str(p.get("message") or "")
    return ""
