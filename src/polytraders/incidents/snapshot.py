"""State capture (universal playbook step 2): what the system looked like before any remedy.

:func:`capture_state` reads, never writes: positions (the ``portfolio`` projection), open orders
(the ``orders`` projection), the last 100 journal envelopes, the on-chain block height (or the
error that stopped us reading it), the kill-switch state, bot modes and config versions. A part
that cannot be read is recorded as ``{"error": ...}`` rather than left out, so an investigator
can tell "no positions" from "positions unknown".

:func:`store_snapshot` writes the snapshot as canonical JSON to ``<dir>/<name>.json`` and then
journals a durable ``GOV_STATE_CAPTURED`` note holding its sha256 and path. The file is written
first on purpose: it is local evidence, not an outside side effect, and the note must be able to
name a file that exists.
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
from polytraders.journal.base import JournalEntry

if TYPE_CHECKING:
    from polytraders.runtime.runner import Runtime

TAIL_ENVELOPES: Final = 100
NO_CHAIN_READER: Final = "no chain reader configured"

ChainReader = Callable[[], int]


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


def _projection(runtime: Runtime, name: str) -> Any | None:
    try:
        return runtime.state.get(name)
    except KeyError:
        return None


def _read_part(runtime: Runtime, projection: str, method: str) -> Any:
    proj = _projection(runtime, projection)
    if proj is None or not callable(getattr(proj, method, None)):
        return {"error": f"no {projection!r} projection with {method}() in this process"}
    try:
        return _jsonable(getattr(proj, method)())
    except Exception as exc:  # capture must never stop the playbook
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _entry_json(entry: JournalEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "hash": entry.hash, "prev_hash": entry.prev_hash,
            "envelope": entry.envelope.to_json_dict()}


def capture_state(runtime: Runtime, *, chain_reader: ChainReader | None) -> dict[str, Any]:
    """A JSON-native picture of the system now. Reads only; every failure is recorded inline."""
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
    modes = _projection(runtime, "modes")
    head_seq, head_hash = runtime.journal.head()
    return {
        "captured_at_ms": runtime.clock.now_ms(),
        "journal_head": {"seq": head_seq, "hash": head_hash},
        "positions": _read_part(runtime, "portfolio", "positions"),
        "open_orders": _read_part(runtime, "orders", "open_orders"),
        "last_envelopes": tail,
        "block": block,
        "kill_switch": _jsonable(runtime.kill_switch.snapshot()),
        "modes": (_jsonable(modes.snapshot()) if modes is not None
                  else {"error": "no modes projection"}),
        "config_versions": {bot_id: bot.config.config_version
                            for bot_id, bot in sorted(runtime.bots.items())},
    }


def snapshot_bytes(snapshot: dict[str, Any]) -> bytes:
    return orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def default_snapshots_dir(runtime: Runtime) -> Path:
    """``incidents/`` beside the journal file, or ``./incidents`` for a journal without a path."""
    path = getattr(runtime.journal, "path", None)
    return (Path(path).parent if path is not None else Path(".")) / "incidents"


def snapshot_path(directory: str | os.PathLike[str], name: str) -> Path:
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ValueError(f"bad snapshot name {name!r}")
    return Path(directory) / f"{name}.json"


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
        tmp = path.with_suffix(".json.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        detail["write_error"] = None
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
