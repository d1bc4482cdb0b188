"""`polytraders reconcile [--json]`, `reconcile resolve INCIDENT --explain TEXT [--adjust TOKEN=AMOUNT ...]`,
`reconcile approve ADJUSTMENT`, `reconcile transfer deposit|withdrawal AMOUNT --reference TEXT`,
`reconcile status`.

`reconcile` reads the chain once (head at the confirmation depth, then pUSD and every position
token at that block), journals the read and the reconciler's verdict signed by the operator who
asked, and exits 0 on GOV_RECONCILE_OK, 1 otherwise (a mismatch or an unreadable chain is never
a match). When no running system holds the journal, a mismatch also trips the kill switch here
(signed by the operator, trigger reconcile_mismatch); a running system trips it itself when it
folds the verdict, so it is never tripped twice. The node and contracts come from --rpc/--pusd/
--ctf/--funder or $POLYTRADERS_RPC_URL, $POLYTRADERS_PUSD, $POLYTRADERS_CTF, $POLYTRADERS_FUNDER
(`polytraders exchange serve --chain URL` prints them).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from polytraders.cli.common import DbOpt, JsonOpt, console, fail, friendly, journal_from, operator_session, print_json
from polytraders.cli.readable import MarketNames, amount
from polytraders.errors import EXIT_REFUSED

app = typer.Typer(help="On-chain reconciliation: compare the ledger with the chain; resolve a mismatch by hand.",
                  invoke_without_command=True)

RpcOpt = Annotated[str | None, typer.Option("--rpc", envvar="POLYTRADERS_RPC_URL", help="JSON-RPC URL of the node.")]
PusdOpt = Annotated[str | None, typer.Option("--pusd", envvar="POLYTRADERS_PUSD", help="pUSD contract address.")]
CtfOpt = Annotated[str | None, typer.Option("--ctf", envvar="POLYTRADERS_CTF",
                                            help="Conditional-token (ERC-1155) contract address.")]
FunderOpt = Annotated[str | None, typer.Option("--funder", envvar="POLYTRADERS_FUNDER",
                                               help="The address that holds the funds.")]


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="reconcile")


def _report_json(entry: Any) -> dict[str, Any]:
    return {"seq": entry.seq, "reason_code": entry.envelope.reason_code, **entry.envelope.payload}


@app.callback()
@friendly
def reconcile(ctx: typer.Context, db: DbOpt = None, rpc: RpcOpt = None, pusd: PusdOpt = None, ctf: CtfOpt = None,
              funder: FunderOpt = None, as_json: JsonOpt = False) -> None:
    """Reconcile now: read the chain at the confirmation depth and compare it with the ledger."""
    if ctx.invoked_subcommand is not None:
        return
    missing = [n for n, v in (("--rpc", rpc), ("--pusd", pusd), ("--ctf", ctf), ("--funder", funder)) if not v]
    if missing:
        raise fail(f"Error: {', '.join(missing)} missing (or set $POLYTRADERS_RPC_URL, $POLYTRADERS_PUSD, "
                   f"$POLYTRADERS_CTF, $POLYTRADERS_FUNDER).", 2)
    assert rpc and pusd and ctf and funder
    from polytraders.chain.rpc import RpcChainReader
    from polytraders.engine.reconcile import ReconcileDriver, reconciler_from_journal, trip_on_mismatch
    from polytraders.journal.sqlite import in_use, resolve_db_path

    # Asked before this process opens the journal (its own lock would count): is a system running?
    system_running = in_use(resolve_db_path(db))
    with operator_session(db, "reconcile.run") as s:
        reader = RpcChainReader(rpc, pusd, ctf)
        driver = ReconcileDriver(s.runtime, reader, funder, bot=reconciler_from_journal(s.journal))
        entry = driver.run(operator=s.operator)
        assert entry is not None
        trip = None
        if entry.envelope.reason_code == "GOV_RECONCILE_MISMATCH" and not system_running:
            trip = trip_on_mismatch(s.runtime, s.operator, entry)
        data = {**_report_json(entry), "kill_switch_trip": trip}
    if as_json:
        print_json(data)
    else:
        _print_report(data)
    if data["reason_code"] != "GOV_RECONCILE_OK":
        raise typer.Exit(EXIT_REFUSED)


def _print_report(d: dict[str, Any]) -> None:
    block = f"block {d.get('last_block_number')} {d.get('last_block_hash')}"
    if d["status"] == "match":
        console.print(f"GOV_RECONCILE_OK: {len(d['internal'])} item(s) match at {block} (seq {d['seq']}).",
                      markup=False)
        return
    if d["status"] == "unavailable":
        console.print(f"GOV_RECONCILE_UNAVAILABLE: {d.get('error')} (seq {d['seq']}). This is not a match.",
                      markup=False, soft_wrap=True)
        return
    console.print(f"GOV_RECONCILE_MISMATCH (P0) at {block}, last-applied journal seq {d['last_applied_seq']}:",
                  markup=False)
    for item in d["items"]:
        console.print(f"  {item['item']}: internal {item['internal']}  on-chain {item['onchain']}  "
                      f"difference {item['difference']}  in flight {item['in_flight']}", markup=False)
    if d.get("kill_switch_trip"):
        console.print(f"Kill switch tripped: {d['kill_switch_trip']} (reconcile_mismatch, global).", markup=False)


@app.command("resolve")
@friendly
def resolve(incident: Annotated[str, typer.Argument(help="The reconcile incident, e.g. inc_1234 (or the "
                                                    "reconcile_mismatch trip id when no system opened one).")],
            explain: Annotated[str, typer.Option("--explain", help="What happened and why this fixes it.")],
            adjust: Annotated[list[str] | None, typer.Option("--adjust", help="TOKEN_ID=AMOUNT or pusd=AMOUNT "
                                                              "(signed); repeat for several items.")] = None,
            db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Record the explanation and by-hand reconciliation (a second operator must approve it)."""
    from polytraders.engine.reconcile_ops import parse_adjustments, record_resolution

    adjustments = parse_adjustments(adjust or [])
    with operator_session(db, "reconcile.resolve") as s:
        adjustment_id = record_resolution(s.runtime, s.operator, incident, explain, adjustments)
    data = {"adjustment_id": adjustment_id, "incident_id": incident,
            "adjustments": {k: str(v) for k, v in adjustments.items()}}
    if as_json:
        print_json(data)
        return
    console.print(f"Recorded {adjustment_id} for {incident}. A second operator approves it with "
                  f"'polytraders reconcile approve {adjustment_id}'; then run 'polytraders reconcile'.", markup=False)


@app.command("approve")
@friendly
def approve(adjustment: Annotated[str, typer.Argument(help="The adjustment id printed by 'reconcile resolve'.")],
            db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Approve another operator's by-hand reconciliation (separation of duties applies)."""
    from polytraders.engine.reconcile_ops import approve_resolution

    with operator_session(db, "reconcile.approve") as s:
        incident_id = approve_resolution(s.runtime, s.operator, adjustment)
    if as_json:
        print_json({"adjustment_id": adjustment, "incident_id": incident_id, "approved_by": s.operator.name})
        return
    console.print(f"{adjustment} approved. Run 'polytraders reconcile'; once it matches, the kill-switch reset "
                  f"can be requested and approved.", markup=False)


@app.command("transfer")
@friendly
def transfer(direction: Annotated[str, typer.Argument(help="deposit or withdrawal.")],
             amount: Annotated[str, typer.Argument(help="Token units, at most 6 decimals (e.g. 10000).")],
             reference: Annotated[str, typer.Option("--reference", help="What moved and why (e.g. the "
                                                    "opening balance, a sweep to cold storage).")],
             item: Annotated[str, typer.Option("--item", help="pusd, or a decimal token id for shares.")] = "pusd",
             tx: Annotated[str | None, typer.Option("--tx", help="The transaction hash, when there is one.")] = None,
             funder: FunderOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Record a deposit or withdrawal the funder made, so the chain's change is explained (signed)."""
    from polytraders.engine.reconcile_ops import parse_adjustments, record_transfer
    from polytraders.errors import BadInputError

    if direction not in ("deposit", "withdrawal"):
        raise BadInputError(f"{direction[:40]!r} is not a direction; use deposit or withdrawal.")
    parsed = parse_adjustments([f"{item}={amount}"])
    (name, value), = parsed.items()
    if value <= 0:
        raise BadInputError(f"Amount {amount[:40]!r} must be above zero (the direction says which way it moved).")
    if not reference.strip() or len(reference) > 200:
        raise BadInputError("--reference must say what moved, in at most 200 characters.")
    if tx is not None and not (tx.startswith("0x") and len(tx) == 66 and all(c in "0123456789abcdefABCDEF"
                                                                                for c in tx[2:])):
        raise BadInputError(f"--tx {tx[:80]!r} is not a transaction hash (0x and 64 hex digits).")
    with operator_session(db, "reconcile.transfer") as s:
        way: Literal["deposit", "withdrawal"] = "deposit" if direction == "deposit" else "withdrawal"
        seq = record_transfer(s.runtime, s.operator, way, name, value, funder or "", reference.strip(), tx)
        who = s.operator.name
    data = {"seq": seq, "direction": direction, "item": name, "amount": str(value), "operator": who}
    if as_json:
        print_json(data)
        return
    console.print(f"Recorded {direction} of {value} {name} (seq {seq}, {who}).", markup=False)


@app.command("status")
@friendly
def status(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The ledger, the last verdict, the open mismatch and what still blocks the reset."""
    from polytraders.runtime.clock import WallClock
    from polytraders.runtime.runner import Runtime
    from polytraders.state.reconcile import ReconcileProjection
    from polytraders.state.standard import build_state

    with journal_from(db) as j:
        rt = Runtime(j, WallClock(), build_state())
        rt.state.rebuild(j)
        ledger = rt.state.typed("reconcile", ReconcileProjection)
        data: dict[str, Any] = {"mismatched": ledger.mismatched, "mismatch_seq": ledger.mismatch_seq,
                "reset_blocker": ledger.reset_blocker(), "divergence": ledger.record,
                "last_report": ledger.last_report, "ledger": {k: str(v) for k, v in sorted(ledger.confirmed.items())},
                "tokens": ledger.tokens(), "adjustments": list(ledger.iter_adjustments())}
        names = MarketNames.from_journal(j)
    if as_json:
        print_json(data)
        return
    console.print(f"Mismatched: {data['mismatched']}" + (f" (since seq {data['mismatch_seq']}); reset blocked: "
                                                         f"{data['reset_blocker']}" if data["mismatched"] else ""),
                  markup=False, soft_wrap=True)
    last = data["last_report"] or {}
    if last:
        console.print(f"Last verdict: {last.get('status', '-')} at block {last.get('last_block_number', '-')} "
                      f"(seq {last.get('seq', '-')})", markup=False, highlight=False)
    table = Table(title="ledger (what the chain should show)")
    table.add_column("item", overflow="fold")
    table.add_column("amount", justify="right")
    for item, value in data["ledger"].items():
        table.add_row("pUSD" if item == "pusd" else names.token(item), amount(value))
    console.print(table)
