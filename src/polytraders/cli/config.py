"""`polytraders config …`: the approved config (a git repository), the running config, live
edits, time-bound overrides, change requests with what-if evidence, and their approval.

Reads (`diff`, `show`, `history`, `approvals`, `check`) need no key. Changes are signed with
$POLYTRADERS_KEY_FILE and journaled; a second operator (approver or admin, not the requester
nor registered by them) approves overrides and change requests. The repository is
`[approved_config].path` of polytraders.toml (relative to that file), or `--repo`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from polytraders.cli.common import DbOpt, JsonOpt, console, friendly, journal_from, operator_session, print_json
from polytraders.cli.timefmt import iso_utc, when
from polytraders.errors import EXIT_REFUSED, RefusedError

app = typer.Typer(help="Approved vs running bot config: drift, live edits, overrides, change requests.",
                  no_args_is_help=True)

SettingsOpt = Annotated[Path | None, typer.Option("--config", help="Settings file (default ./polytraders.toml).")]
RepoOpt = Annotated[Path | None, typer.Option("--repo", help="The approved-config repository (default: "
                                                             "[approved_config].path of the settings).")]
BotArg = Annotated[str, typer.Argument(help="A bot id, e.g. risk.drawdown_guard.")]


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="config")


def _repo(settings_file: Path | None, repo: Path | None) -> Any:
    from polytraders.config.repo import ApprovedRepo
    from polytraders.settings import load_settings, relative_to

    if repo is not None:
        return ApprovedRepo(repo)
    settings, _, source = load_settings(settings_file)
    return ApprovedRepo(relative_to(source, settings.approved_config.path))


def _state(db: str | None) -> Any:
    from polytraders.config.projection import ConfigProjection
    from polytraders.state.standard import build_state

    with journal_from(db) as j:
        state = build_state()
        state.rebuild(j)
    return state.typed("config", ConfigProjection)


# -- init and check --------------------------------------------------------------------------------


@app.command("init")
@friendly
def init(settings_file: SettingsOpt = None, repo: RepoOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Create the approved-config repository from the bots' defaults and the per-bot tables of
    polytraders.toml, as its first approved commit (an admin)."""
    from polytraders.config.ops import init_repo
    from polytraders.settings import load_settings

    settings, _, _ = load_settings(settings_file)
    target = _repo(settings_file, repo)
    with operator_session(db, "config.init") as s:
        commit = init_repo(s.runtime, s.operator, target, settings.bots)
    data = {"repo": str(target.path), "commit": commit, "branch": "approved", "by": s.operator.name}
    if as_json:
        print_json(data)
        return
    console.print(f"Approved config created in {target.path} at commit {commit[:12]} (branch approved), one file "
                  f"per bot under bots/. Change it with 'polytraders config propose'.", markup=False)


@app.command("check")
@friendly
def check(settings_file: SettingsOpt = None, repo: RepoOpt = None, as_json: JsonOpt = False) -> None:
    """Validate polytraders.toml and every per-bot file of the approved branch; name each bad field."""
    from polytraders.config.catalog import file_problems, system_bots
    from polytraders.config.repo import RepoError
    from polytraders.errors import ConfigError
    from polytraders.settings import load_settings

    problems: list[str] = []
    settings_note = "defaults (no polytraders.toml)"
    settings = None
    try:
        settings, _, source = load_settings(settings_file)
        settings_note = str(source) if source else settings_note
    except ConfigError as exc:
        problems.append(exc.message)
    if settings is not None:
        for bot_id, table in settings.bots.items():
            problems += [p.replace(f"bots/{bot_id}.toml", f"polytraders.toml [bots.\"{bot_id}\"]")
                         for p in file_problems(bot_id, table)]
    target = _repo(settings_file, repo) if settings is not None or repo is not None else None
    commit = None
    missing: list[str] = []
    if target is not None:
        try:
            snap = target.read()
            commit = snap.commit
            for bot_id, table in sorted(snap.files.items()):
                problems += file_problems(bot_id, table)
            missing = sorted(set(system_bots()) - set(snap.files))
        except RepoError as exc:
            problems.append(exc.message)
    data = {"settings": settings_note, "repo": str(target.path) if target else None, "commit": commit,
            "problems": problems, "ok": not problems, "defaults_approved_for": missing}
    if problems:  # a failed check is an error report too: scripts read error and reason_code
        data |= {"error": f"{len(problems)} problem(s): {problems[0]}", "reason_code": "GOV_CONFIG_SOURCE_INVALID"}
    if as_json:
        print_json(data)
    else:
        console.print(f"Settings: {settings_note}; approved config: {data['repo']} at "
                      f"{commit[:12] if commit else '-'}", markup=False)
        for p in problems:
            console.print(f"  - {p}", markup=False, soft_wrap=True)
        if missing:
            console.print(f"  (no file for {', '.join(missing)}: their defaults are the approved values)",
                          markup=False, soft_wrap=True)
        console.print("OK: every field is valid." if not problems else f"{len(problems)} problem(s).", markup=False)
    if problems:
        raise typer.Exit(EXIT_REFUSED)


# -- changes ---------------------------------------------------------------------------------------


@app.command("set")
@friendly
def set_(bot: BotArg, field: Annotated[str, typer.Argument(help="The parameter.")],
         value: Annotated[str, typer.Argument(help="The new value (exact: 0.05, not a float).")],
         reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
         db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Edit a running bot's field live (signed, journaled). Without an approved override covering
    it, the config-drift playbook reverts it: use 'config override' for a time-bound change."""
    from polytraders.config.ops import live_set
    from polytraders.journal.sqlite import in_use, resolve_db_path

    running = in_use(resolve_db_path(db))
    with operator_session(db, "config.set") as s:
        if not running:
            from polytraders.config.ops import refuse

            raise refuse(s.runtime, s.operator, "config set", RefusedError(
                "No running system holds this journal: a live edit changes a running system's config. Change the "
                "approved config with 'polytraders config propose' instead.", code="GOV_CONFIG_COMMAND_REFUSED"))
        entry = live_set(s.runtime, s.operator, bot, field, value, reason)
    d = entry.envelope.payload["detail"]
    data = {"seq": entry.seq, "bot_id": bot, "field": field, "value": d["value"], "previous": d["previous"]}
    if as_json:
        print_json(data)
        return
    console.print(f"{bot}.{field} = {d['value']} (was {d['previous']}) journaled at seq {entry.seq}. This is a live "
                  f"edit outside the approved config: unless an approved override covers it, the drift detector "
                  f"reports it and the playbook reverts it.", markup=False, soft_wrap=True)


@app.command("override")
@friendly
def override(bot: BotArg, field: Annotated[str, typer.Argument(help="The parameter.")],
             value: Annotated[str, typer.Argument(help="The value to hold.")],
             ttl: Annotated[str | None, typer.Option("--ttl", help="How long it holds once approved: 30m, 2h.")] = None,
             reason: Annotated[str, typer.Option("--reason", help="Why (required, recorded).")] = "",
             settings_file: SettingsOpt = None, repo: RepoOpt = None, db: DbOpt = None,
             as_json: JsonOpt = False) -> None:
    """Ask for a time-bound override of one bot's field, and open the change request that would
    make it permanent (with what-if evidence). A second operator approves the override."""
    from polytraders.config.ops import projection, request_override

    target = _repo(settings_file, repo)
    with operator_session(db, "config.override") as s:
        ovr, req = request_override(s.runtime, s.operator, target, bot, field, value, ttl=ttl, reason=reason)
        request = dict(projection(s.runtime).requests[req])
    data = {"override_id": ovr, "request_id": req, "branch": request["branch"], "commit": request["commit"],
            "whatif": request["whatif"]}
    if as_json:
        print_json(data)
        return
    console.print(f"Override {ovr} requested ({bot}.{field} = {value} for {ttl}); it takes effect when a second "
                  f"operator runs 'polytraders config approve {ovr}'. Change request {req} is open on branch "
                  f"{request['branch']}. What-if: {request['whatif']['summary']}", markup=False, soft_wrap=True)


@app.command("propose")
@friendly
def propose(bot: BotArg, changes: Annotated[list[str], typer.Argument(help="FIELD=VALUE, one or more.")],
            reason: Annotated[str, typer.Option("--reason", help="Why (required, recorded).")] = "",
            settings_file: SettingsOpt = None, repo: RepoOpt = None, db: DbOpt = None,
            as_json: JsonOpt = False) -> None:
    """Open a change request: a commit on its own branch with the proposed file, and the what-if
    of replaying the last hour with the proposed values."""
    from polytraders.config.ops import projection
    from polytraders.config.ops import propose as do_propose
    from polytraders.errors import BadInputError

    parsed: dict[str, str] = {}
    for item in changes:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise BadInputError(f"{item[:80]!r}: expected FIELD=VALUE, for example max_intraday_drawdown_pct=5.")
        parsed[name.strip()] = value.strip()
    target = _repo(settings_file, repo)
    with operator_session(db, "config.propose") as s:
        req = do_propose(s.runtime, s.operator, target, bot, parsed, reason)
        request = dict(projection(s.runtime).requests[req])
    if as_json:
        print_json(request)
        return
    console.print(f"Change request {req} open on branch {request['branch']} (commit {request['commit'][:12]}). "
                  f"What-if: {request['whatif']['summary']}. A second operator approves it with "
                  f"'polytraders config approve {req}'.", markup=False, soft_wrap=True)


@app.command("approve")
@friendly
def approve(ident: Annotated[str, typer.Argument(help="An override (ovr_…) or a change request (cr_…).")],
            settings_file: SettingsOpt = None, repo: RepoOpt = None, db: DbOpt = None,
            as_json: JsonOpt = False) -> None:
    """Approve another operator's override (it takes effect for its time bound) or change request
    (merged into the approved branch: the new approved version)."""
    from polytraders.config.ops import approve as do_approve

    target = _repo(settings_file, repo)
    with operator_session(db, "config.approve") as s:
        data = do_approve(s.runtime, s.operator, target, ident)
    data["approved_by"] = s.operator.name
    if as_json:
        print_json(data)
        return
    if "merge_commit" in data:
        console.print(f"{ident} merged into the approved branch as {data['merge_commit'][:12]}; a running system "
                      f"deploys it at its next check.", markup=False)
    else:
        console.print(f"Override {ident} is {data['status']} until {iso_utc(data['ends_at_ms'])}.", markup=False)


# -- reads -----------------------------------------------------------------------------------------


@app.command("approvals")
@friendly
def approvals(show_all: Annotated[bool, typer.Option("--all", help="Closed requests and overrides too.")] = False,
              db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Open change requests (with their what-if verdict) and overrides waiting for approval."""
    proj = _state(db)
    reqs = [r for r in proj.requests.values() if show_all or r["status"] in ("open", "approved")]
    ovrs = [o for o in proj.overrides.values() if show_all or o["status"] in ("requested", "active")]
    if as_json:
        print_json({"requests": reqs, "overrides": ovrs})
        return
    from rich.table import Table

    table = Table(title="Change requests", title_justify="left")
    for col in ("id", "status", "bot", "changes", "proposer", "what-if", "opened"):
        table.add_column(col, overflow="fold")
    for r in reqs:
        wi = r.get("whatif") or {}
        table.add_row(r["request_id"], r["status"], r["bot_id"], ", ".join(f"{k}={v}" for k, v in r["changes"].items()),
                      r["proposer"], str(wi.get("verdict", "-")), when(r["ts_ms"]))
    console.print(table)
    for r in reqs:  # the evidence in full, for the approver to read before signing it off
        console.print(f"{r['request_id']} what-if: {(r.get('whatif') or {}).get('summary', '-')}", markup=False,
                      soft_wrap=True)
    otable = Table(title="Overrides", title_justify="left")
    for col in ("id", "status", "bot.field", "value", "requester", "approver", "ends", "request"):
        otable.add_column(col, overflow="fold")
    for o in ovrs:
        otable.add_row(o["override_id"], o["status"], f"{o['bot_id']}.{o['field']}", str(o["value"]), o["requester"],
                       o["approver"] or "-", when(o["ends_at_ms"]), str(o["request_id"]))
    console.print(otable)


@app.command("diff")
@friendly
def diff(settings_file: SettingsOpt = None, repo: RepoOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Running vs approved config, field by field, as the journal holds them (exit 1 on drift or
    when the approved config is unknown)."""
    from polytraders.config.repo import RepoError

    proj = _state(db)
    drifts = proj.drifts()
    approved = proj.approved or {}
    head = None
    try:
        head = _repo(settings_file, repo).head()
    except (RepoError, Exception):  # noqa: BLE001 - the repository is optional for a diff; say it is unreadable
        head = None
    status = ("unknown" if proj.approved is None or proj.source_error else "drift" if drifts else "in_sync")
    data = {"status": status, "approved_commit": approved.get("commit"), "repo_head": head,
            "source_error": proj.source_error, "drifts": drifts,
            "active_overrides": proj.active_overrides()}
    if status == "drift":
        data |= {"error": f"{len(drifts)} field(s) differ from the approved config", "reason_code": "GOV_CONFIG_DRIFT"}
    elif status == "unknown":
        data |= {"error": f"the approved config is unknown: {proj.source_error or 'never read into this journal'}",
                 "reason_code": "GOV_CONFIG_DRIFT_UNKNOWN"}
    if as_json:
        print_json(data)
    else:
        commit = str(approved.get("commit") or "-")[:12]
        why = proj.source_error or ("" if proj.approved is not None else
                                    "This journal never read an approved config: no system ran with an approved-config "
                                    "repository ('polytraders config init' creates one).")
        console.print(f"Approved config {commit} (repository head {str(head or 'unreadable')[:12]}): "
                      f"{status.replace('_', ' ')}." + (f" {why}" if why else ""), markup=False, soft_wrap=True)
        for d in drifts:
            how = f"override {d['override_id']}" if d["override_id"] else "UNAUTHORISED"
            console.print(f"  {d['bot_id']}.{d['field']}: approved {d['approved']}  running {d['running']}  "
                          f"(changed by {d['changed_by']} via {d['changed_via']}; {how})", markup=False)
    if status != "in_sync":
        raise typer.Exit(EXIT_REFUSED)


@app.command("show")
@friendly
def show(bot: BotArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """One bot's fields: approved, running, default / warning / hard, and who last changed each."""
    from polytraders.config.catalog import bot_class, norm, owned
    from polytraders.runtime.config import Param

    cls = bot_class(bot)
    proj = _state(db)
    approved = proj.approved_values(bot) or {}
    running = proj.running.get(bot) or {}
    rows = []
    for p in cls.params:
        if owned(bot, p.name):
            continue
        row: dict[str, Any] = {"field": p.name, "approved": approved.get(p.name), "running": running.get(p.name),
                               "default": norm(p.default),
                               "changed_by": proj.changed_by.get(bot, {}).get(p.name, {}).get("actor")}
        if isinstance(p, Param):
            row.update(warning=str(p.warning), hard=str(p.hard), direction=p.direction, unit=p.unit)
        rows.append(row)
    data = {"bot_id": bot, "approved_commit": (proj.approved or {}).get("commit"), "fields": rows,
            "overrides": [o for o in proj.overrides.values() if o["bot_id"] == bot]}
    if as_json:
        print_json(data)
        return
    from rich.table import Table

    table = Table(title=f"{bot} (approved {str(data['approved_commit'] or '-')[:12]})", title_justify="left")
    for col in ("field", "approved", "running", "default", "warning", "hard", "last changed by"):
        table.add_column(col)
    for r in rows:
        mark = "" if r["approved"] == r["running"] else " *"
        table.add_row(r["field"], str(r["approved"]), f"{r['running']}{mark}", str(r["default"]),
                      r.get("warning", "-"), r.get("hard", "-"), str(r["changed_by"] or "-"))
    console.print(table)


@app.command("history")
@friendly
def history(bot: BotArg, settings_file: SettingsOpt = None, repo: RepoOpt = None, db: DbOpt = None,
            as_json: JsonOpt = False) -> None:
    """Approved versions of one bot's file (git log) and every journaled config event for it."""
    from polytraders.config.catalog import bot_class
    from polytraders.config.repo import RepoError, bot_file

    bot_class(bot)
    proj = _state(db)
    try:
        commits = _repo(settings_file, repo).log(bot_file(bot))
        repo_error = None
    except RepoError as exc:
        commits, repo_error = [], exc.message
    events = [e for e in proj.events if e.get("bot_id") == bot]
    data = {"bot_id": bot, "commits": commits, "repo_error": repo_error, "events": events}
    if as_json:
        print_json(data)
        return
    console.print(f"Approved versions of {bot_file(bot)}:" if commits else f"No approved versions ({repo_error}).",
                  markup=False)
    for c in commits:
        console.print(f"  {c['commit'][:12]}  {iso_utc(int(c['time_ms']))}  {c['author']}  {c['subject']}",
                      markup=False)
    console.print("Journal:", markup=False)
    for e in events:
        console.print(f"  #{e['seq']}  {iso_utc(e['ts_ms'])}  {e['code']}  {e['actor']}  {e['summary']}", markup=False,
                      soft_wrap=True)
