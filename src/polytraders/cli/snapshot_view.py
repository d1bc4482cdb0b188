"""A captured-state snapshot as tables a person can read: the head, the kill switch, positions and
open orders by market question and outcome, bot modes and holds, config versions, and the
newest envelopes with ISO times. Tolerant of shape: a snapshot may hold one state or several
(e.g. as of the triggering entry and as of now); each dict section that looks like a state is
shown under its own heading. `--json` shows the file as stored.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from polytraders.cli.readable import MarketNames, amount, price
from polytraders.cli.timefmt import iso_utc, when

STATE_KEYS = ("positions", "open_orders", "kill_switch", "modes")


def _is_state(d: Any) -> bool:
    return isinstance(d, dict) and sum(k in d for k in STATE_KEYS) >= 2


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ms(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def render_snapshot(console: Console, snap: dict[str, Any], names: MarketNames) -> None:
    now = int(time.time() * 1000)
    captured = _ms(snap.get("captured_at_ms"))
    if captured is not None:
        console.print(f"captured {when(captured, now)}", markup=False, highlight=False)
    sections = [(k, v) for k, v in snap.items() if _is_state(v)]
    if _is_state(snap):
        sections.insert(0, ("", snap))
    for title, state in sections:
        _render_state(console, title, state, names, now)


def _render_state(console: Console, title: str, s: dict[str, Any], names: MarketNames, now: int) -> None:
    head = _dict(s.get("journal_head"))
    block = _dict(s.get("block"))
    height = block.get("height") if block.get("height") is not None else block.get("error", "-")
    ks = _dict(s.get("kill_switch"))
    active = ks.get("active") or {}
    label = f"[{title}] " if title else ""
    console.print(f"{label}journal head #{head.get('seq', '-')}; kill switch "
                  f"{'TRIPPED (' + ', '.join(map(str, active)) + ')' if active else 'armed'}; block height {height}",
                  markup=False, highlight=False)
    _positions(console, s.get("positions"), names)
    _orders(console, s.get("open_orders"), names)
    _modes(console, s.get("modes"))
    versions = s.get("config_versions")
    if isinstance(versions, dict):
        console.print("config versions: " + (", ".join(f"{k}={v}" for k, v in sorted(versions.items())) or "none"),
                      markup=False, highlight=False)
    _envelopes(console, s.get("last_envelopes"), now)


def _problem(console: Console, what: str, value: Any) -> bool:
    if isinstance(value, dict) and "error" in value:
        console.print(f"{what}: could not be captured ({value['error']})", markup=False, highlight=False)
        return True
    return not isinstance(value, list)


def _positions(console: Console, rows: Any, names: MarketNames) -> None:
    if _problem(console, "positions", rows):
        return
    table = Table(title=f"positions ({len(rows)})")
    for col in ("market · outcome", "size", "avg price", "mark", "realised pUSD"):
        table.add_column(col, overflow="fold")
    for r in rows:
        tick = names.tick_of(token_id=str(r.get("token_id")))
        table.add_row(names.token(str(r.get("token_id"))), amount(r.get("size")), price(r.get("avg_price"), tick),
                      price(r.get("mark_price"), tick), amount(r.get("realised_pnl_pusd")))
    console.print(table)


def _orders(console: Console, rows: Any, names: MarketNames) -> None:
    if _problem(console, "open orders", rows):
        return
    table = Table(title=f"open orders ({len(rows)})")
    for col in ("client order id", "market · outcome", "side", "price", "size", "filled", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        tick = names.tick_of(str(r.get("market_id")))
        table.add_row(str(r.get("client_order_id")), names.token(str(r.get("token_id")), 40), str(r.get("side")),
                      price(r.get("price"), tick), amount(r.get("size")), amount(r.get("filled")),
                      str(r.get("status")))
    console.print(table)


def _modes(console: Console, modes: Any) -> None:
    if not isinstance(modes, dict):
        return
    current = _dict(modes.get("modes"))
    holds = _dict(modes.get("holds"))
    table = Table(title="bot modes")
    for col in ("bot", "mode", "holds"):
        table.add_column(col, overflow="fold")
    for bot in sorted(set(current) | set(holds)):
        held = holds.get(bot)
        table.add_row(bot, str(current.get(bot, "-")), ", ".join(f"{k}: {v}" for k, v in held.items())
                      if isinstance(held, dict) else str(held or ""))
    console.print(table)


def _envelopes(console: Console, rows: Any, now: int) -> None:
    if not isinstance(rows, list):
        return
    shown = rows[-10:]
    table = Table(title=f"last envelopes ({len(rows)} captured; newest {len(shown)} shown, --json for all)")
    for col in ("seq", "time (UTC)", "actor", "reason", "correlation id"):
        table.add_column(col, overflow="fold", no_wrap=col == "time (UTC)")
    for row in shown:
        env = row.get("envelope", {}) if isinstance(row, dict) else {}
        actor = env.get("actor") or {}
        ts = _ms(env.get("ts_ms"))
        table.add_row(str(row.get("seq", "-")), iso_utc(ts) if ts is not None else "-",
                      f"{actor.get('kind', '')}:{actor.get('id', '')}", str(env.get("reason_code", "")),
                      str(env.get("correlation_id") or ""))
    console.print(table)
