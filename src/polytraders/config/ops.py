"""Operator actions on config: init, live edit, override, propose, approve.

Every action is signed by the operator and journaled. A refusal of an authenticated operator
is journaled too (`GOV_CONFIG_COMMAND_REFUSED`, with the registry code of the cause: unknown
bot or field, past a hard limit, wrong type, missing reason or TTL, TTL above the detector's
`max_override_ttl_s`, approval by the proposer or someone the proposer registered) before it
is raised.

Order of effects: a proposal's branch commit is made first, because its entry names the commit
(a branch whose entry was never written is an orphan nobody can approve); an approval is
journaled durably before the merge, and the merge's result after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from polytraders.config.catalog import bot_class, canonical, check_change, defaults, owned, parse_value, system_bots
from polytraders.config.evidence import whatif
from polytraders.config.projection import APPROVER_ROLES, DETECTOR, ConfigProjection
from polytraders.config.repo import PROPOSAL_PREFIX, ApprovedRepo, RepoError, bot_file, render_bot_file
from polytraders.contracts import FREE_TEXT_MAX, Note
from polytraders.errors import BadInputError, ConfigError, PolytradersError, RefusedError
from polytraders.journal.base import JournalEntry
from polytraders.operators.auth import Operator
from polytraders.runtime.runner import Runtime

REFUSED = "GOV_CONFIG_COMMAND_REFUSED"


def projection(rt: Runtime) -> ConfigProjection:
    return rt.state.typed("config", ConfigProjection)


def _note(rt: Runtime, op: Operator, code: str, **detail: Any) -> JournalEntry:
    return rt.record(Note(detail=detail), actor=op.actor, reason_code=code, durable=True, signer=op.signer)


def refuse(rt: Runtime, op: Operator, command: str, exc: PolytradersError) -> PolytradersError:
    """Journal the refusal (with its cause's reason code), then hand the error back to raise."""
    _note(rt, op, REFUSED, command=command, cause=exc.code or REFUSED, operator=op.name,
          summary=exc.message[:FREE_TEXT_MAX])
    return exc


def _id(prefix: str, *parts: Any) -> str:
    return prefix + hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _text(name: str, value: str) -> str:
    if not value.strip() or len(value.encode()) > FREE_TEXT_MAX:
        raise BadInputError(f"{name} must be 1..{FREE_TEXT_MAX} bytes of text; give it with {name} TEXT.",
                            code="GOV_CONFIG_INVALID_VALUE")
    return value.strip()


def _base(rt: Runtime, bot_id: str) -> dict[str, Any]:
    """The values a change is checked against: the approved ones, else the running, else defaults."""
    proj = projection(rt)
    return proj.approved_values(bot_id) or dict(proj.running.get(bot_id) or {}) or defaults(bot_id)


def _committed(entry: JournalEntry, what: str) -> JournalEntry:
    if entry.signer is None:
        raise RefusedError(f"{what} was written but not counted by the journal's rules (seq {entry.seq}); see "
                           f"'polytraders journal verify'.", code=REFUSED)
    return entry


# -- init -----------------------------------------------------------------------------------------


def init_repo(rt: Runtime, op: Operator, repo: ApprovedRepo, start: Mapping[str, Mapping[str, Any]] | None = None,
              ) -> str:
    """Create the repository from every bot's defaults, with `start` (the settings' `[bots."ID"]`
    entries) on top, so a system configured in polytraders.toml starts without drift; journal
    its first commit as approved."""
    start = start or {}
    try:
        files = {bot_file(b): render_bot_file(b, canonical(b, {k: v for k, v in (start.get(b) or {}).items()
                                                               if not owned(b, k)}))
                 for b in sorted(system_bots())}
        unknown = sorted(set(start) - set(system_bots()))
        if unknown:
            raise BadInputError(f"polytraders.toml names [bots.\"{unknown[0]}\"], which is not a bot of the running "
                                f"system; bots: {', '.join(sorted(system_bots()))}.", code="GOV_CONFIG_UNKNOWN_FIELD")
    except ConfigError as exc:
        raise BadInputError(f"polytraders.toml: {exc.message}", code="GOV_CONFIG_INVALID_VALUE") from None
    who = op.name
    commit = repo.init(files, who=who, when_ms=rt.clock.now_ms(),
                       message=f"Approved config from the bots' defaults (config init by {op.name})")
    snap = repo.read()
    _committed(_note(rt, op, "GOV_CONFIG_REPO_INITIALISED", commit=commit, content_hash=snap.content_hash,
                     bots=sorted(snap.files), summary=f"approved config created at {commit[:12]} by {op.name}"),
               "The repository's first approved version")
    return commit


# -- live edit ------------------------------------------------------------------------------------


def live_set(rt: Runtime, op: Operator, bot_id: str, field: str, raw: str, reason: str = "") -> JournalEntry:
    try:
        value = check_change(bot_id, _running_or_base(rt, bot_id), {field: parse_value(bot_id, field, raw)})[field]
        if len(reason.encode()) > FREE_TEXT_MAX:
            raise BadInputError(f"--reason is longer than {FREE_TEXT_MAX} bytes.", code="GOV_CONFIG_INVALID_VALUE")
    except PolytradersError as exc:
        raise refuse(rt, op, "config set", exc) from None
    previous = (projection(rt).running.get(bot_id) or {}).get(field)
    entry = _note(rt, op, "GOV_CONFIG_SET", bot_id=bot_id, field=field, value=value, previous=previous,
                  reason=reason, summary=f"{op.name} set {bot_id}.{field} = {value} live (was {previous})")
    return _committed(entry, "The live edit")


def _running_or_base(rt: Runtime, bot_id: str) -> dict[str, Any]:
    return dict(projection(rt).running.get(bot_id) or {}) or _base(rt, bot_id)


# -- proposals and overrides ---------------------------------------------------------------------


def propose(rt: Runtime, op: Operator, repo: ApprovedRepo, bot_id: str, raw_changes: Mapping[str, Any],
            reason: str, *, override_id: str | None = None, parsed: bool = False) -> str:
    """Open an approval request: a commit on `proposal/<id>` changing the bot's file, with the
    what-if evidence of replay-last-hour under the proposed values."""
    try:
        reason = _text("--reason", reason)
        if not raw_changes:
            raise BadInputError("Give at least one FIELD=VALUE to change.", code="GOV_CONFIG_INVALID_VALUE")
        bot_class(bot_id)
        changes = check_change(bot_id, _base(rt, bot_id),
                               {f: v if parsed else parse_value(bot_id, f, v) for f, v in raw_changes.items()})
        # the file is rewritten on top of the repository's head, so it starts from the head's values
        # (a merge the running system has not deployed yet must not be undone by this proposal)
        base_values = _read_approved(repo, bot_id)
        if all(base_values.get(f) == v for f, v in changes.items()):
            raise BadInputError(f"The proposed values of {bot_id} are the approved ones already; nothing to "
                                f"approve.", code="GOV_CONFIG_INVALID_VALUE")
        now = rt.clock.now_ms()
        request_id = _id("cr_", bot_id, changes, op.name, now, override_id)
        base_commit = repo.head()
        commit = repo.propose(PROPOSAL_PREFIX + request_id,
                              {bot_file(bot_id): render_bot_file(bot_id, {**base_values, **changes})},
                              who=op.name, when_ms=now,
                              message=f"{request_id}: {bot_id} " + ", ".join(f"{k}={v}" for k, v in changes.items())
                              + f"\n\nProposed by {op.name}: {reason}")
    except PolytradersError as exc:
        raise refuse(rt, op, "config propose", exc) from None
    evidence = whatif(rt.journal, bot_id, changes)
    _committed(_note(rt, op, "GOV_CONFIG_CHANGE_PROPOSED", request_id=request_id, bot_id=bot_id, changes=changes,
                     branch=PROPOSAL_PREFIX + request_id, commit=commit, base_commit=base_commit, reason=reason,
                     override_id=override_id, whatif=evidence,
                     summary=f"{op.name} proposed {bot_id} "
                     + ", ".join(f"{k}={v}" for k, v in changes.items()) + f"; what-if: {evidence['verdict']}"),
               "The change request")
    return request_id


def _read_approved(repo: ApprovedRepo, bot_id: str) -> dict[str, Any]:
    snap = repo.read()
    table = snap.files.get(bot_id)
    return check_change(bot_id, {}, dict(table)) if table else defaults(bot_id)


def parse_ttl(text: str) -> int:
    from polytraders.replay.window import parse_duration

    try:
        return parse_duration(text)
    except BadInputError:
        raise BadInputError(f"--ttl {text[:40]!r} is not a duration; use for example 15m, 30m, 2h or 90s.",
                            code="GOV_CONFIG_INVALID_VALUE") from None


def _no_override_while_tripped(rt: Runtime) -> None:
    """The kill switch always wins: while it is tripped no override may loosen a limit (one that
    made the trigger condition look clear would be a way round the two-person reset)."""
    if rt.kill_switch.tripped:
        trips = ", ".join(sorted(rt.kill_switch.active))
        raise RefusedError(f"The kill switch is tripped ({trips}); no override may be requested or approved until it "
                           f"is reset. Change the approved config with 'polytraders config propose' instead.",
                           code=REFUSED)


def max_override_ttl_ms(rt: Runtime) -> int:
    proj = projection(rt)
    values = proj.running.get(DETECTOR) or proj.approved_values(DETECTOR) or defaults(DETECTOR)
    return int(values["max_override_ttl_s"]) * 1000


def request_override(rt: Runtime, op: Operator, repo: ApprovedRepo, bot_id: str, field: str, raw: str, *,
                     ttl: str | None, reason: str) -> tuple[str, str]:
    """A time-bound override of one bot's field (effective once a second operator approves it),
    and the approval request that would make it permanent."""
    try:
        _no_override_while_tripped(rt)
        reason = _text("--reason", reason)
        if ttl is None or not ttl.strip():
            raise BadInputError("An override needs a time bound: --ttl 30m (at most the detector's "
                                "max_override_ttl_s).", code="GOV_CONFIG_INVALID_VALUE")
        ttl_ms = parse_ttl(ttl)
        limit = max_override_ttl_ms(rt)
        if not 0 < ttl_ms <= limit:
            raise BadInputError(f"--ttl {ttl_ms // 1000} s is above the longest override allowed "
                                f"({limit // 1000} s, {DETECTOR}.max_override_ttl_s).", code="GOV_CONFIG_HARD_LIMIT")
        value = check_change(bot_id, _base(rt, bot_id), {field: parse_value(bot_id, field, raw)})[field]
    except PolytradersError as exc:
        raise refuse(rt, op, "config override", exc) from None
    now = rt.clock.now_ms()
    override_id = _id("ovr_", bot_id, field, value, op.name, now)
    request_id = propose(rt, op, repo, bot_id, {field: value}, reason, override_id=override_id, parsed=True)
    _committed(_note(rt, op, "GOV_CONFIG_OVERRIDE_REQUESTED", override_id=override_id, request_id=request_id,
                     bot_id=bot_id, field=field, value=value, ttl_ms=ttl_ms, reason=reason,
                     summary=f"{op.name} asks to override {bot_id}.{field} = {value} for {ttl_ms // 1000} s"),
               "The override request")
    return override_id, request_id


# -- approval -------------------------------------------------------------------------------------


def _separation(rt: Runtime, op: Operator, requester: str) -> None:
    problem = rt.state.trust.separation_problem(requester, op.name)
    if problem is None and op.role not in APPROVER_ROLES:
        problem = f"{op.name} has role {op.role}; only an approver or admin may approve"
    if problem is not None:
        raise RefusedError(f"Approval refused: {problem}.", code="GOV_AUTH_REFUSED")


def approve(rt: Runtime, op: Operator, repo: ApprovedRepo, ident: str) -> dict[str, Any]:
    """`ovr_…`: the override takes effect for its time bound. `cr_…`: the change is merged into
    the approved branch and becomes the approved version."""
    proj = projection(rt)
    try:
        if ident.startswith("ovr_"):
            ovr = proj.overrides.get(ident)
            if ovr is None or ovr["status"] != "requested":
                raise RefusedError(f"There is no override {ident[:40]!r} waiting for approval"
                                   + (f" (it is {ovr['status']})" if ovr else "") + "; see 'polytraders config "
                                   "approvals'.", code=REFUSED)
            _no_override_while_tripped(rt)
            if rt.clock.now_ms() >= ovr["requested_at_ms"] + ovr["ttl_ms"]:
                raise RefusedError(f"Override {ident} lapsed: nobody approved it within its time bound.", code=REFUSED)
            _separation(rt, op, ovr["requester"])
        elif ident.startswith("cr_"):
            req = proj.requests.get(ident)
            if req is None or req["status"] != "open":
                raise RefusedError(f"There is no open change request {ident[:40]!r}"
                                   + (f" (it is {req['status']})" if req else "") + "; see 'polytraders config "
                                   "approvals'.", code=REFUSED)
            _separation(rt, op, req["proposer"])
        else:
            raise BadInputError(f"{ident[:40]!r} is neither an override (ovr_…) nor a change request (cr_…); see "
                                f"'polytraders config approvals'.", code=REFUSED)
    except PolytradersError as exc:
        raise refuse(rt, op, "config approve", exc) from None
    if ident.startswith("ovr_"):
        ovr = proj.overrides[ident]
        _committed(_note(rt, op, "GOV_CONFIG_OVERRIDE_APPROVED", override_id=ident, bot_id=ovr["bot_id"],
                         field=ovr["field"], value=ovr["value"], requester=ovr["requester"],
                         summary=f"{op.name} approved override {ident} of {ovr['bot_id']}.{ovr['field']} by "
                         f"{ovr['requester']} for {ovr['ttl_ms'] // 1000} s"), "The override approval")
        return {"override_id": ident, "status": proj.overrides[ident]["status"],
                "ends_at_ms": proj.overrides[ident]["ends_at_ms"]}
    req = proj.requests[ident]
    _committed(_note(rt, op, "GOV_CONFIG_CHANGE_APPROVED", request_id=ident, bot_id=req["bot_id"],
                     requester=req["proposer"], summary=f"{op.name} approved {ident} by {req['proposer']}"),
               "The approval")
    try:
        merge = repo.merge(req["branch"], who=op.name, when_ms=rt.clock.now_ms(),
                           message=f"Approve {ident}: {req['bot_id']} (proposed by {req['proposer']}, approved by "
                                   f"{op.name})")
    except RepoError as exc:
        _note(rt, op, "GOV_CONFIG_MERGE_FAILED", request_id=ident, error=exc.message[:500],
              summary=f"merge of {ident} failed; the request is open again")
        raise RefusedError(f"{ident} was approved but could not be merged: {exc.message} The request is open "
                           f"again; propose the change anew if the approved branch moved.", code=REFUSED) from None
    _committed(_note(rt, op, "GOV_CONFIG_CHANGE_MERGED", request_id=ident, bot_id=req["bot_id"], merge_commit=merge,
                     changes=req["changes"], summary=f"{ident} merged as {merge[:12]}; approved by {op.name}"),
               "The merge")
    return {"request_id": ident, "status": "merged", "merge_commit": merge}
