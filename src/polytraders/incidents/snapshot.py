"""State capture (universal playbook step 2): what the system looked like before any remedy.

An incident's snapshot holds two pictures:

* ``as_of_trigger`` — the state as of the triggering entry, before any remedy: positions, open
  and in-flight orders, the 100 envelopes up to and including the trigger, the kill-switch
  state, bot modes and config versions. The running system takes it in memory the moment the
  trigger entry is folded (a listener runs then, so the state *is* as of that seq, and cancels
  and halts come later); when that moment was missed (the trip was made while no system ran, or
  before a restart) it is rebuilt from the journal up to the trigger's seq (:func:`state_as_of`).
* the state now (top-level keys, as :func:`capture_state` always wrote them): positions, open
  orders, the last 100 envelopes, the on-chain block height (or the error that stopped us
  reading it), the kill switch, modes and config versions.

A part that cannot be read is recorded as ``{"error": ...}`` rather than left out, so an
investigator can tell "no positions" from "positions unknown". Every snapshot names its
journal (``journal_id``) so a file can never pass for another journal's.

:func:`store_snapshot` writes the snapshot as canonical JSON to ``<dir>/<name>.json`` and then
journals a durable ``GOV_STATE_CAPTURED`` note holding its sha256 and path. The file is written
first on purpose: it is local evidence, not an outside side effect, and the note must be able to
name a file that exists. The default directory is ``<db>.incidents/`` beside the journal, one
per journal, and names carry the journal's tag (:func:`journal_tag`), so two journals in one
folder (or one configured snapshots directory) never write the same file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from polytraders.contracts.envelope import Actor
from polytraders.incidents.config import incidents_dir
from polytraders.journal.base import JournalEntry
from polytraders.state.modes import with_kill_switch_holds

if TYPE_CHECKING:
    from polytraders.journal.base import Journal
    from polytraders.runtime.runner import Runtime
    from polytraders.state.store import StateStore

TAIL_ENVELOPES: Final = 100
NO_CHAIN_READER: Final = "no chain reader configured"

ChainReader = Callable[[], int]


KS_HISTORY_KEPT = 20  # kill-switch history entries kept in a picture


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, set | frozenset) else items
    to_json = getattr(obj, "to_json_dict", None) or getattr(obj, "to_json", None)
    if callable(to_json):
        return _jsonable(to_json())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    return str(obj)


def journal_tag(journal: object) -> str:
    """A short tag of the journal's identity (its genesis id), '' for a journal without one."""
    jid = getattr(journal, "journal_id", None)
    return str(jid)[:8] if jid else ""


def _projection(state: StateStore, name: str) -> Any | None:
    return state.find(name)


def _read_part(state: StateStore, projection: str, method: str) -> Any:
    part = _held_read(state, projection, method)
    return part() if callable(part) else part


def _entry_json(entry: JournalEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "hash": entry.hash, "prev_hash": entry.prev_hash,
            "envelope": entry.envelope.to_json_dict()}


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def capture_parts(state: StateStore, config_versions: dict[str, str]) -> dict[str, Any]:
    """The parts of a picture that come from state alone (cheap, in memory, reads only)."""
    return HeldPicture(_held_parts(state, config_versions)).picture()


def _tail_upto(journal: Journal, seq: int) -> Any:
    try:
        return [_entry_json(e) for e in journal.read(max(1, seq - TAIL_ENVELOPES + 1), seq)]
    except Exception as exc:
        return _error(exc)


def capture_as_of_now(runtime: Runtime) -> dict[str, Any]:
    """The as-of-trigger picture, taken in memory while the state is exactly as of the trigger
    (a listener calls this right after the trigger entry is folded, before any remedy)."""
    return hold_as_of_now(runtime).picture()


class HeldPicture:
    """The as-of-trigger picture held, not yet written out: what the state said at the trigger,
    kept as values that later folds cannot change (frozen records, copies of the few mutable
    dicts), so :meth:`picture` gives later exactly what :func:`capture_as_of_now` gives now.

    The desk takes one on the trip path, before the remedy; turning the records into JSON costs
    several times more than taking them and grows with the kill switch's history, so it waits
    until the protective action is done and the incident needs the picture.
    """

    __slots__ = ("_parts", "_done")

    def __init__(self, parts: dict[str, Any]) -> None:
        self._parts = parts
        self._done: dict[str, Any] | None = None

    def picture(self) -> dict[str, Any]:
        if self._done is None:
            self._done = {k: v() if callable(v) else v for k, v in self._parts.items()}
        return self._done


def _held_read(state: StateStore, projection: str, method: str) -> Any:
    """A projection's read now, its conversion to JSON later (or an error part).
    Only for reads returning frozen values (contracts, new lists), which later folds replace
    and never change in place."""
    proj = _projection(state, projection)
    if proj is None or not callable(getattr(proj, method, None)):
        return {"error": f"no {projection!r} projection with {method}() in this process"}
    try:
        value = getattr(proj, method)()
    except Exception as exc:  # capture must never stop the playbook
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}

    def later() -> Any:
        try:
            return _jsonable(value)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return later


def _held_positions(state: StateStore) -> Any:
    """`_held_read` of the portfolio's positions, holding their values now (immutable Decimals)
    and building the records only when the picture is written out."""
    portfolio = _projection(state, "portfolio")
    if portfolio is None or not callable(getattr(portfolio, "position_inputs", None)):
        return _held_read(state, "portfolio", "positions")
    try:
        inputs = portfolio.position_inputs()  # the values now; their arithmetic and sort later
    except Exception as exc:  # capture must never stop the playbook
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}

    def later() -> Any:
        from polytraders.state.portfolio import position_record, position_values_of

        try:
            return _jsonable([position_record(*v) for v in position_values_of(inputs)])
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return later


def _held_kill_switch(ks: Any) -> Any:
    """The kill switch read now, written out later: active trips and open reset requests in full;
    of the history only its newest entries and its length (the whole history grows with every trip
    ever made; `killswitch history` reads it from the journal). Trips are frozen and history entries
    never change once appended; a reset request changes in place once, when it is used, so only
    the unused ones are copied."""
    history = ks.history
    active = dict(ks.active)
    requests = dict(ks.requests)  # in the projection's order; used requests never change again
    for k in ks.unused_request_ids():
        requests[k] = dict(requests[k])
    kept, total = history[-KS_HISTORY_KEPT:], len(history)

    def later() -> Any:
        from polytraders.state.kill_switch import vars_of

        return _jsonable({"active": {k: vars_of(v) for k, v in active.items()}, "history": kept,
                          "requests": requests, "history_total": total})
    return later


def hold_as_of_now(runtime: Runtime) -> HeldPicture:
    """:func:`capture_as_of_now`, held: the reads now, the JSON when :meth:`HeldPicture.picture`
    is first asked for."""
    versions = {b: bot.config.config_version for b, bot in runtime.bots.items()}
    return HeldPicture({**_held_parts(runtime.state, versions), "source": "memory"})


def _held_parts(state: StateStore, config_versions: dict[str, str]) -> dict[str, Any]:
    """The state parts of a picture, each a value or a function giving its JSON later."""
    modes = _projection(state, "modes")
    ks = _projection(state, "kill_switch")
    modes_now = modes.snapshot() if modes is not None else None  # copies: safe to hold
    return {
        "seq": state.last_seq,
        "positions": _held_positions(state),
        "open_orders": _held_read(state, "orders", "open_orders"),
        "in_flight_orders": _held_read(state, "orders", "in_flight"),
        "kill_switch": (_held_kill_switch(ks) if ks is not None
                        else {"error": "no kill_switch projection"}),
        "modes": ((lambda: _jsonable(modes_now)) if modes_now is not None
                  else {"error": "no modes projection"}),
        # a fresh dict of strings, so safe to hold; sorted when written out
        "config_versions": lambda: dict(sorted(config_versions.items())),
    }


def state_as_of(journal: Journal, seq: int) -> tuple[StateStore, dict[str, str]]:
    """State rebuilt from the journal up to and including ``seq`` (no checkpoint: the latest one
    may lie beyond ``seq``), and the config versions loaded by then."""
    from polytraders.state.standard import build_state

    state = build_state()
    versions: dict[str, str] = {}
    for entry in journal.read(1, seq):
        state.apply(entry)
        env = entry.envelope
        if env.reason_code == "GOV_CONFIG_LOADED":
            d = env.payload.get("detail", {})
            versions[str(d.get("bot_id"))] = str(d.get("config_version"))
    return state, versions


def capture_as_of(journal: Journal, seq: int) -> dict[str, Any]:
    """The as-of-trigger picture rebuilt from the journal (when no listener saw the trigger)."""
    try:
        state, versions = state_as_of(journal, seq)
    except Exception as exc:
        return {"seq": seq, **_error(exc), "source": "journal"}
    return {**capture_parts(state, versions), "source": "journal"}


def complete_as_of(runtime: Runtime, part: dict[str, Any]) -> dict[str, Any]:
    """Add the 100 envelopes up to the trigger (read later: they are in the journal for good)."""
    seq = part.get("seq")
    tail = _tail_upto(runtime.journal, int(seq)) if isinstance(seq, int) else []
    return {**part, "last_envelopes": tail}


def capture_state(runtime: Runtime, *, chain_reader: ChainReader | None,
                  as_of_trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-native picture of the system now (and, for an incident, as of its trigger).
    Reads only; every failure is recorded inline."""
    block: dict[str, Any]
    if chain_reader is None:
        block = {"height": None, "error": NO_CHAIN_READER}
    else:
        try:
            block = {"height": int(chain_reader()), "error": None}
        except Exception as exc:
            block = {"height": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        tail: Any = [_entry_json(e) for e in runtime.journal.tail(TAIL_ENVELOPES)]
    except Exception as exc:
        tail = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    modes = _projection(runtime.state, "modes")
    head_seq, head_hash = runtime.journal.head()
    snap: dict[str, Any] = {
        "journal_id": getattr(runtime.journal, "journal_id", None),
        "captured_at_ms": runtime.clock.now_ms(),
        "journal_head": {"seq": head_seq, "hash": head_hash},
        "positions": _read_part(runtime.state, "portfolio", "positions"),
        "open_orders": _read_part(runtime.state, "orders", "open_orders"),
        "last_envelopes": tail,
        "block": block,
        "kill_switch": _jsonable(runtime.kill_switch.snapshot()),
        "modes": (_jsonable(with_kill_switch_holds(modes.snapshot(), runtime.halted_by_kill_switch()))
                  if modes is not None else {"error": "no modes projection"}),
        "config_versions": {bot_id: bot.config.config_version
                            for bot_id, bot in sorted(runtime.bots.items())},
    }
    if as_of_trigger is not None:
        snap["as_of_trigger"] = complete_as_of(runtime, as_of_trigger)
    return snap


def snapshot_bytes(snapshot: dict[str, Any]) -> bytes:
    return orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def incidents_dir_for(journal: object) -> Path:
    """``<db>.incidents/`` beside the journal file (one per journal, like ``<db>.keys/``), or
    ``./incidents`` for a journal without a path."""
    path = getattr(journal, "path", None)
    return incidents_dir(path) if path is not None else Path("incidents")


def default_snapshots_dir(runtime: Runtime) -> Path:
    return incidents_dir_for(runtime.journal)


def snapshot_path(directory: str | os.PathLike[str], name: str) -> Path:
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ValueError(f"bad snapshot name {name!r}")
    return Path(directory) / f"{name}.json"


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` already holds exactly ``data`` (the same picture saved twice)."""
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def store_snapshot(
    runtime: Runtime,
    snapshot: dict[str, Any],
    *,
    name: str,
    directory: str | os.PathLike[str],
    actor: Actor,
    correlation_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JournalEntry:
    """Write the snapshot file, then journal ``GOV_STATE_CAPTURED`` durably with sha and path."""
    data = snapshot_bytes(snapshot)
    digest = hashlib.sha256(data).hexdigest()
    path = snapshot_path(directory, name)
    detail: dict[str, Any] = dict(extra or {})
    detail.update({"sha256": digest, "path": str(path), "snapshot": name,
                   "block_height": snapshot.get("block", {}).get("height"),
                   "block_error": snapshot.get("block", {}).get("error")})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("xb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)  # whole or not at all, and never over a file that is already there
        finally:
            tmp.unlink(missing_ok=True)
        detail["write_error"] = None
    except FileExistsError:
        detail["write_error"] = None if _holds(path, data) else f"{path} already exists and was left untouched"
    except OSError as exc:
        detail["write_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return runtime.note("GOV_STATE_CAPTURED", actor=actor, durable=True,
                        correlation_id=correlation_id, **detail)


def load_snapshot(directory: str | os.PathLike[str], name: str) -> tuple[dict[str, Any], str]:
    """Read a stored snapshot; return it and the sha256 of its bytes (to check the journal)."""
    data = snapshot_path(directory, name).read_bytes()
    loaded = orjson.loads(data)
    if not isinstance(loaded, dict):
        raise ValueError(f"snapshot {name} is not a JSON object")
    return loaded, hashlib.sha256(data).hexdigest()
