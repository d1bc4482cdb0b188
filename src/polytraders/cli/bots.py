"""`polytraders bots [show|promote]` and `polytraders board`: the registry and its status board.

Stages and readiness are derived from evidence (the bot modules and the journal) each time;
nothing here stores a stage. Reads need no token and work on a missing journal (no evidence:
everything pending, and no file is created). `bots promote` authenticates (`bots.promote`) and
journals the promotion or its refusal.

Exit codes: 0 ok, 1 refused (auth or a missing gate), 2 bad usage (unknown bot, stage, layer).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.table import Table

from polytraders.cli.common import (
    DbOpt,
    JsonOpt,
    console,
    err_console,
    fail,
    friendly,
    journal_from,
    json_mode,
    operator_session,
    print_json,
)
from polytraders.errors import EXIT_USAGE, BadInputError
from polytraders.journal.sqlite import resolve_db_path
from polytraders.registry.board import (
    Board,
    BotStatus,
    assess,
    board_from,
    board_json,
    header_line,
    readiness_json,
    status_json,
    uncatalogued_slots,
)
from polytraders.registry.catalogue import (
    FAMILY_BY_LAYER,
    LAYER_ORDER,
    CatalogueEntry,
    UnknownBotError,
    load_catalogue,
    resolve_bot_id,
)
from polytraders.registry.lifecycle import STAGES, JournalEvidence, gather, promote, stage_spec

__all__ = ["app", "board", "register"]

app = typer.Typer(help="The bot catalogue: stages, gates and readiness, derived from evidence.")

LayerOpt = Annotated[
    str | None,
    typer.Option("--layer", help=f"Only this layer ({', '.join(LAYER_ORDER)}) or its family."),
]
_STAGE_STYLE = {
    "pending": "dim",
    "demo_wired": "cyan",
    "shadow_ready": "yellow",
    "runtime_live": "green",
    "production_live": "bold green",
}


def _facts(db: str | None) -> JournalEvidence:
    """Evidence from the journal. Only the default ./polytraders.db may be absent (the catalogue
    is then shown from code evidence alone, and says so); a journal named by --db or
    $POLYTRADERS_DB must exist, so a mistyped path is an error rather than an empty board."""
    named = db is not None or bool(os.environ.get("POLYTRADERS_DB"))
    if not named and not resolve_db_path(db).exists():
        if not json_mode():
            err_console.print(f"Note: no journal at {resolve_db_path(db)}; stages come from code evidence only.",
                              markup=False, highlight=False)
        return JournalEvidence()
    with journal_from(db) as j:
        return gather(j)


def _group_db(ctx: typer.Context, db: str | None) -> str | None:
    if db is not None:
        return db
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    found = obj.get("db")
    return found if isinstance(found, str) else None


def _entry(name: str) -> CatalogueEntry:
    try:
        canonical = resolve_bot_id(name)
    except UnknownBotError as exc:
        raise fail(
            f"Error: {exc} Run 'polytraders bots' to list every catalogued bot and its aliases.",
            EXIT_USAGE,
        ) from None
    return next(e for e in load_catalogue() if e.id == canonical)


def _layer(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip().lower()
    for layer in LAYER_ORDER:
        if key in (layer, FAMILY_BY_LAYER[layer]):
            return layer
    raise BadInputError(
        f"Unknown layer {value!r}; expected one of {', '.join(LAYER_ORDER)} "
        f"(or a family: {', '.join(FAMILY_BY_LAYER.values())}).",
    )


# each score named in every cell (docs 3/27 · impl 5/15 · backtest 0/4 · runtime 0/8): no legend needed
READINESS_COLUMN = "readiness (items passed)"


def _stage_text(stage: str) -> str:
    return f"[{_STAGE_STYLE.get(stage, '')}]{stage}[/]"


def _bots_table(title: str, rows: list[BotStatus]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("#", "id", "name", "class", "authority", "spec", "stage", READINESS_COLUMN):
        table.add_column(col, no_wrap=col in ("id", "stage"))
    for s in rows:
        e = s.entry
        table.add_row(
            e.number or "-", e.id, e.name, e.bot_class, ", ".join(e.authority), e.spec_status,
            _stage_text(s.stage.stage), s.readiness.label(),
        )
    return table


@app.callback(invoke_without_command=True)
@friendly
def bots(
    ctx: typer.Context,
    layer: LayerOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List every catalogued bot with its derived stage and readiness."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"db": db}  # `bots --db X show ID` means the same journal as `show --db X`
        return
    wanted = _layer(layer)
    board_ = board_from(_facts(db), layers=None if wanted is None else (wanted,))
    if as_json:
        print_json([status_json(s) for s in board_.bots])
        return
    for layer_name, rows in board_.by_layer().items():
        if rows:
            console.print(_bots_table(layer_name, rows))


def _show_json(status: BotStatus) -> dict[str, Any]:
    ev = status.evidence
    j = ev.journal
    last = j.last
    return {
        **status_json(status),
        "aliases": list(status.entry.aliases),
        "purpose": status.entry.purpose,
        "spec_readiness": status.entry.spec_readiness,
        "implementation": (
            f"{ev.implementation.__module__}.{ev.implementation.__qualname__}"
            if ev.implementation is not None else None
        ),
        "gates": {
            stage: [{"id": g.id, "description": g.description, "passed": g.passed,
                     "detail": g.detail} for g in gates]
            for stage, gates in status.stage.gates.items()
        },
        "readiness": readiness_json(status.readiness, items=True),
        "journal": {
            "envelopes": j.envelopes,
            "reason_codes": dict(sorted(j.reason_codes.items())),
            "modes": dict(sorted(j.modes.items())),
            "first_ts_ms": j.first_ts_ms,
            "last_ts_ms": j.last_ts_ms,
            "shadow_envelopes": j.shadow_envelopes,
            "shadow_ms": j.shadow_ms,
            "after_synthetic": j.after_synthetic,
            "in_paper_runs": j.in_paper_runs,
            "errors": j.errors,
            "promotions": [{"seq": p.seq, "ts_ms": p.ts_ms, "to_stage": p.to_stage,
                            "operator": p.operator} for p in j.promotions],
            "last_envelope": None if last is None else {
                "seq": last.seq, "ts_ms": last.ts_ms, "kind": last.kind,
                "reason_code": last.reason_code, "mode": last.mode,
            },
        },
    }


@app.command("show")
@friendly
def show(
    ctx: typer.Context,
    bot_id: Annotated[str, typer.Argument(help="Bot id or any alias.", metavar="ID")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One bot: identity, stage, every gate with why it passes or fails, readiness items."""
    entry = _entry(bot_id)
    status = assess(entry, _facts(_group_db(ctx, db)))
    if as_json:
        print_json(_show_json(status))
        return
    ev, j = status.evidence, status.evidence.journal
    out = console.print
    out(f"[bold]{entry.id}[/]  {entry.number or '-'} {entry.name}", highlight=False)
    if entry.aliases:
        out("aliases: " + ", ".join(entry.aliases), markup=False, highlight=False)
    out(f"{entry.layer} · {entry.bot_class} · authority {', '.join(entry.authority) or '-'} · "
        f"spec {entry.spec_status} ({entry.spec_readiness})", markup=False, highlight=False)
    out(entry.purpose, markup=False, highlight=False)
    impl = ev.implementation
    out("implementation: " + (f"{impl.__module__}.{impl.__qualname__}" if impl else "none"),
        markup=False, highlight=False)
    out(f"stage: {_stage_text(status.stage.stage)}", highlight=False)
    out(f"readiness: {status.readiness.label()}", markup=False, highlight=False)

    gates = Table(title="promotion gates", title_justify="left")
    for col in ("stage", "gate", "result", "why"):
        gates.add_column(col, no_wrap=col != "why")
    for stage, results in status.stage.gates.items():
        needs = stage_spec(stage).needs_promotion
        for g in results:
            gates.add_row(stage, g.id, "[green]pass[/]" if g.passed else "[red]fail[/]", g.detail)
        if needs:
            rec = j.promoted_to(stage)
            gates.add_row(stage, "promotion_recorded", "[green]pass[/]" if rec else "[red]fail[/]",
                          f"GOV_BOT_PROMOTED seq {rec.seq} by {rec.operator}" if rec
                          else "no GOV_BOT_PROMOTED recorded")
    out(gates)

    items = Table(title="readiness", title_justify="left")
    for col in ("score", "item", "result", "why"):
        items.add_column(col, no_wrap=col != "why")
    for score in status.readiness.scores:
        for item in score.items:
            mark = {"passed": "[green]pass[/]", "failed": "[red]fail[/]",
                    "not_checkable": "[dim]n/a[/]"}[item.status]
            items.add_row(f"{score.name} {score.label()}", item.description, mark, item.detail)
    out(items)

    last = j.last
    if last is None:
        out("last envelope: none (this bot has never emitted)", markup=False)
    else:
        out(f"last envelope: seq {last.seq} at {last.ts_ms} ms, {last.kind} {last.reason_code}"
            f" (mode {last.mode or 'unset'}); {j.envelopes} envelope(s) in total",
            markup=False, highlight=False)


@app.command("promote")
@friendly
def promote_cmd(
    ctx: typer.Context,
    bot_id: Annotated[str, typer.Argument(help="Bot id or any alias.", metavar="ID")],
    to: Annotated[str, typer.Option("--to", help=f"Target stage: {', '.join(STAGES[1:])}.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Promote a bot one stage up (admin, signed with $POLYTRADERS_KEY_FILE); refused (exit 1,
    journaled) while any gate lacks evidence."""
    entry = _entry(bot_id)
    target = stage_spec(to.strip().lower().replace("-", "_")).stage
    with operator_session(_group_db(ctx, db), "bots.promote") as s:
        operator = s.operator
        result = promote(s.journal, entry.id, target, operator)
    if as_json:
        print_json({"bot_id": result.bot_id, "from_stage": result.from_stage,
                    "to_stage": result.to_stage, "seq": result.entry.seq,
                    "evidence": result.evidence})
        return
    console.print(f"Promoted {result.bot_id}: {result.from_stage} -> {result.to_stage} "
                  f"(GOV_BOT_PROMOTED seq {result.entry.seq}, by {operator.name}).",
                  markup=False, highlight=False)


def _board_output(board_: Board) -> None:
    console.print(header_line(board_), markup=False, highlight=False, soft_wrap=True)
    slots = uncatalogued_slots()
    for layer_name, rows in board_.by_layer().items():
        missing = slots.get(layer_name, 0)
        extra = f" + {missing} uncatalogued slot{'s' if missing != 1 else ''}" if missing else ""
        table = Table(title=f"{layer_name} ({len(rows)} catalogued{extra})", title_justify="left")
        for col in ("#", "id", "stage", READINESS_COLUMN, "last envelope"):
            table.add_column(col, no_wrap=col not in ("last envelope", READINESS_COLUMN))
        for s in rows:
            last = s.evidence.journal.last
            table.add_row(
                s.entry.number or "-", s.bot_id, _stage_text(s.stage.stage),
                s.readiness.label(),
                "-" if last is None else f"seq {last.seq} {last.reason_code}",
            )
        for _ in range(missing):
            # the spec counts these bots but never named them: shown, not invented
            table.add_row("-", "(uncatalogued slot)", "-", "-", "the spec does not name this bot")
        console.print(table)
    plan = board_.plan
    if plan is not None:
        tasks = Table(title=f"infrastructure tasks ({plan.infra_text()}; done = its evidence test exists)",
                      title_justify="left")
        for col in ("phase", "task", "status", "evidence"):
            tasks.add_column(col)
        for task, status in plan.statuses:
            tasks.add_row(str(task.phase or "scale"), task.title, status, task.evidence)
        console.print(tasks)


@friendly
def board(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The plan status board: how many bots are at each stage, then every bot by layer."""
    board_ = board_from(_facts(db))
    if as_json:
        print_json(board_json(board_))
        return
    _board_output(board_)


def register(root: typer.Typer) -> None:
    """Attach `bots` and `board` to the root CLI."""
    root.add_typer(app, name="bots")
    root.command("board")(board)
