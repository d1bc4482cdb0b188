"""Operator views over the journal: `orders`, `positions`, `trace`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, console, fail, friendly, journal_from, print_json
from polytraders.cli.readable import MarketNames, amount, price
from polytraders.cli.timefmt import iso_utc
from polytraders.contracts.reasons import registry
from polytraders.errors import EXIT_REFUSED
from polytraders.state.store import StateStore


def _rebuilt(db: str | None) -> StateStore:
    from polytraders.state.standard import build_state

    with journal_from(db) as j:
        state = build_state()
        state.rebuild(j)
    return state


def _names(db: str | None) -> MarketNames:
    with journal_from(db) as j:
        return MarketNames.from_journal(j)


TABLE_LIMIT = 50


@friendly
def orders(open_only: Annotated[bool, typer.Option("--open", help="Only resting orders.")] = False,
           limit: Annotated[int | None, typer.Option(
               "--limit", min=0,
               help="Show the newest N orders (default 50 in the table, all with --json; 0: all).")] = None,
           db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Orders as the Order Lifecycle Manager last recorded them, with the correlation id to pass
    to 'polytraders trace'."""
    from polytraders.state.orders import OPEN_STATUSES, OrdersProjection

    proj = _rebuilt(db).typed("orders", OrdersProjection)
    states = [s for s in proj.all_states() if not open_only or s.record.status in OPEN_STATUSES]
    total = len(states)
    keep = (0 if as_json else TABLE_LIMIT) if limit is None else limit
    if keep:  # the newest: a person at 3 a.m. wants what just happened, not 2,000 rows
        states = sorted(states, key=lambda st: st.since_ms or 0)[-keep:]
    if as_json:
        print_json([{**s.record.to_json_dict(), "correlation_id": s.correlation_id, "created_ms": s.created_ms,
                     "since_ms": s.since_ms} for s in states])
        return
    names = _names(db)
    shown = f"the newest {len(states)} of {total}" if len(states) < total else f"{total}"
    table = Table(title=f"{shown} {'open ' if open_only else ''}orders (trace any of them: "
                        f"polytraders trace CORRELATION_ID)",
                  caption="--limit N shows more (0: all)" if len(states) < total else None)
    # the client order id is in --json and in the trace; the table keeps to what fits a terminal
    for col in ("correlation id", "market · outcome", "side", "price", "size", "filled", "status", "since (UTC)"):
        table.add_column(col, overflow="fold", no_wrap=col == "correlation id")
    for st in states:
        r = st.record
        tick = names.tick_of(r.market_id)
        table.add_row(st.correlation_id or "-", names.token(r.token_id, 40), r.side, price(r.price, tick),
                      amount(r.size), amount(r.filled), r.status, iso_utc(st.since_ms))
    console.print(table)


@friendly
def positions(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Positions, cash and PnL derived from the journal."""
    from polytraders.state.portfolio import PortfolioProjection

    pf = _rebuilt(db).typed("portfolio", PortfolioProjection)
    rows = [p.to_json_dict() for p in pf.positions()]
    if as_json:
        print_json({"positions": rows, "cash_pusd": str(pf.cash_pusd()), "equity_pusd": str(pf.equity()),
                    "realised_pnl_pusd": str(pf.realised_pnl()), "fees_pusd": str(pf.fees_pusd())})
        return
    names = _names(db)
    table = Table(title=f"positions (cash {amount(pf.cash_pusd())} pUSD, equity {amount(pf.equity())} pUSD, "
                        f"realised {amount(pf.realised_pnl())} pUSD, fees {amount(pf.fees_pusd())} pUSD)")
    for col in ("market · outcome", "size", "avg price", "mark", "realised pUSD", "unrealised pUSD"):
        table.add_column(col, overflow="fold", no_wrap=col.startswith(("time", "when", "since")))
    for r in rows:
        tick = names.tick_of(token_id=r["token_id"])
        table.add_row(names.token(r["token_id"]), amount(r["size"]), price(r["avg_price"], tick),
                      price(r["mark_price"], tick), amount(r["realised_pnl_pusd"]), amount(r["unrealised_pnl_pusd"]))
    console.print(table)


@friendly
def trace(decision_id: Annotated[str, typer.Argument(
              metavar="ID", help="A correlation id, client order id, intent id or venue order id.")],
          db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every envelope of one decision, in order, explained in plain English. For a rejection,
    the proposed order and the values the bot saw."""
    from polytraders.cli.trace_view import find_decision, render_trace

    with journal_from(db) as j:
        found = find_decision(j, decision_id)
        names = MarketNames.from_journal(j) if found.entries and not as_json else None
    if not found.entries:
        raise fail(f"Error: no decision carries the id {decision_id[:80]!r} (looked for a correlation id, client "
                   f"order id, intent id and venue order id); copy one from 'polytraders orders' or "
                   f"'polytraders journal tail'.", EXIT_REFUSED, "GOV_CLI_NOT_FOUND")
    reg = registry()
    if as_json:
        print_json({"id": decision_id, "correlation_ids": found.correlation_ids,
                    "entries": [{"seq": e.seq, "hash": e.hash, "explanation": reg[e.envelope.reason_code].user_message
                                 if e.envelope.reason_code in reg else "", "envelope": e.envelope.to_json_dict()}
                                for e in found.entries]})
        return
    assert names is not None
    render_trace(console, decision_id, found, names)
