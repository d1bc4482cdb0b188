"""Operator views over the journal: `orders`, `positions`, `trace`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, console, fail, friendly, journal_from, print_json
from polytraders.contracts.reasons import registry
from polytraders.state.store import StateStore


def _rebuilt(db: str | None) -> StateStore:
    from polytraders.state.standard import build_state

    with journal_from(db) as j:
        state = build_state()
        state.rebuild(j)
    return state


@friendly
def orders(open_only: Annotated[bool, typer.Option("--open", help="Only resting orders.")] = False,
           db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Orders as the Order Lifecycle Manager last recorded them."""
    from polytraders.state.orders import OrdersProjection

    proj = _rebuilt(db).typed("orders", OrdersProjection)
    rows = proj.open_orders() if open_only else proj.all_orders()
    data = [r.to_json_dict() for r in rows]
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{len(data)} orders")
    for col in ("client order id", "market", "side", "price", "size", "filled", "status"):
        table.add_column(col)
    for r in data:
        table.add_row(r["client_order_id"], r["market_id"][:10] + "…", r["side"], r["price"],
                      r["size"], r["filled"], r["status"])
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
    table = Table(title=f"positions (cash {pf.cash_pusd()} pUSD, equity {pf.equity()} pUSD)")
    for col in ("token", "size", "avg price", "mark", "realised", "unrealised"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["token_id"][:12] + "…", r["size"], r["avg_price"], str(r["mark_price"]),
                      r["realised_pnl_pusd"], r["unrealised_pnl_pusd"])
    console.print(table)


@friendly
def trace(correlation_id: Annotated[str, typer.Argument(help="The decision's correlation id.")],
          db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every envelope of one decision, in order, explained in plain English."""
    with journal_from(db) as j:
        entries = list(j.read(correlation_id=correlation_id))
    if not entries:
        raise fail(f"No envelopes carry correlation id {correlation_id!r}; copy one from "
                   f"'polytraders journal tail' or 'polytraders orders'.")
    reg = registry()
    if as_json:
        print_json([{"seq": e.seq, "hash": e.hash, "explanation": reg[e.envelope.reason_code].user_message,
                     "envelope": e.envelope.to_json_dict()} for e in entries])
        return
    table = Table(title=f"trace {correlation_id}")
    for col in ("seq", "actor", "kind", "decision", "reason", "what happened"):
        table.add_column(col)
    for e in entries:
        env = e.envelope
        decision = str(env.payload.get("decision") or env.payload.get("status") or "")
        table.add_row(str(e.seq), env.actor.label(), env.kind, decision, env.reason_code,
                      reg[env.reason_code].user_message)
    console.print(table)
