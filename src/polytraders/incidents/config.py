"""Incident configuration: the on-call roster, the notifiers and where snapshots go.

A TOML file::

    [oncall]                      # role -> people, first one is the primary (the commander)
    risk = ["alice", "bob"]
    trading_ops = ["carol"]
    security = ["dave"]

    [notifiers]                   # the fields of NotifierConfig
    channel_path = "incidents/channel.jsonl"
    pagerduty_routing_key = "..."

    [incidents]
    snapshots_dir = "incidents"

Without a file, or when the file does not name them, the channel is
``<db>.incidents/channel.jsonl`` and snapshots go to ``<db>.incidents/`` beside each journal
(:meth:`IncidentConfig.for_journal`), so two journals in one folder never share either; a path
the file names is used as given (incident ids carry the journal's tag, so lines from two
journals in one configured channel stay apart). Without a file the roster is empty, so every
commander is ``unassigned`` and a warning is kept in
``IncidentConfig.warnings``. A bad file raises one ``ConfigError`` paragraph naming the key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from polytraders.errors import ConfigError
from polytraders.incidents.notifiers import NotifierConfig

DEFAULT_DIR: Final = Path("incidents")
DEFAULT_CHANNEL: Final = DEFAULT_DIR / "channel.jsonl"
UNASSIGNED: Final = "unassigned"
ENV_VAR: Final = "POLYTRADERS_INCIDENTS_CONFIG"

_TOP_KEYS: Final = frozenset({"oncall", "notifiers", "incidents"})
_INCIDENT_KEYS: Final = frozenset({"snapshots_dir"})


@dataclass(frozen=True, slots=True)
class Roster:
    """On-call people per role; the first listed is the primary and becomes commander."""

    oncall: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def commander_for(self, role: str) -> str:
        people = self.oncall.get(role, ())
        return people[0] if people else UNASSIGNED


def incidents_dir(db: str | os.PathLike[str]) -> Path:
    """``<db>.incidents/``: a journal's incident files (channel, snapshots), beside it like
    ``<db>.keys/``, so two journals in one folder never share them."""
    return Path(str(db) + ".incidents")


@dataclass(frozen=True, slots=True)
class IncidentConfig:
    roster: Roster
    notifiers: NotifierConfig
    snapshots_dir: Path
    source: Path | None = None
    warnings: tuple[str, ...] = ()
    channel_named: bool = False  # the file names [notifiers].channel_path
    snapshots_named: bool = False  # the file names [incidents].snapshots_dir

    def for_journal(self, db: str | os.PathLike[str]) -> IncidentConfig:
        """The config with every path the file did not name put beside the journal."""
        folder = incidents_dir(db)
        notifiers = self.notifiers if self.channel_named else self.notifiers.model_copy(
            update={"channel_path": folder / "channel.jsonl"})
        return dataclasses.replace(self, notifiers=notifiers,
                                   snapshots_dir=self.snapshots_dir if self.snapshots_named else folder)


def _err(path: Path, key: str, problem: str) -> ConfigError:
    return ConfigError(f"Incident config {path}: key '{key}' {problem}")


def _roster(path: Path, raw: Any) -> Roster:
    if not isinstance(raw, dict):
        raise _err(path, "oncall", "must be a table of role = [\"name\", ...].")
    out: dict[str, tuple[str, ...]] = {}
    for role, people in raw.items():
        if not isinstance(people, list) or not all(
            isinstance(p, str) and p.strip() for p in people
        ):
            raise _err(path, f"oncall.{role}", "must be a list of non-empty names, e.g. "
                       "[\"alice\", \"bob\"].")
        out[role] = tuple(p.strip() for p in people)
    return Roster(out)


def _notifiers(path: Path, raw: Any, base: Path) -> NotifierConfig:
    if not isinstance(raw, dict):
        raise _err(path, "notifiers", "must be a table of notifier settings.")
    data = dict(raw)
    channel = Path(str(data.get("channel_path", DEFAULT_CHANNEL)))
    data["channel_path"] = channel if channel.is_absolute() else base / channel
    try:
        return NotifierConfig(**data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(root)"
        # The message only, never the input: some notifier fields are secrets.
        raise _err(path, f"notifiers.{loc}", f"is invalid: {first['msg']}.") from None


def load_incident_config(path: str | os.PathLike[str] | None = None) -> IncidentConfig:
    """Load the incident config; ``None`` reads ``$POLYTRADERS_INCIDENTS_CONFIG`` or defaults."""
    chosen = path if path is not None else os.environ.get(ENV_VAR)
    if not chosen:
        return IncidentConfig(
            roster=Roster(),
            notifiers=NotifierConfig(channel_path=DEFAULT_CHANNEL),
            snapshots_dir=DEFAULT_DIR,
            warnings=("no incident config: the on-call roster is empty, so every incident "
                      "commander is 'unassigned'",),
        )
    file = Path(chosen)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Incident config {file} does not exist; pass an existing TOML file "
                          f"or unset {ENV_VAR} to use the defaults.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Incident config {file} cannot be read ({type(exc).__name__})."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Incident config {file} is not valid TOML: {exc}.") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        expected = ", ".join(sorted(_TOP_KEYS))
        raise _err(file, unknown[0], f"is not known; expected tables {expected}.")
    return incident_config_from(raw, file)


def incident_config_from(raw: Mapping[str, Any], file: Path) -> IncidentConfig:
    """The incident config from the `[oncall]`, `[notifiers]` and `[incidents]` tables of an
    already-parsed TOML file (also the sections of `polytraders.toml`)."""
    base = file.parent
    roster = _roster(file, raw.get("oncall", {}))
    notifiers = _notifiers(file, raw.get("notifiers", {}), base)
    inc = raw.get("incidents", {})
    if not isinstance(inc, dict):
        raise _err(file, "incidents", "must be a table.")
    bad = sorted(set(inc) - _INCIDENT_KEYS)
    if bad:
        raise _err(file, f"incidents.{bad[0]}", "is not known; expected snapshots_dir.")
    snap_raw = inc.get("snapshots_dir", str(DEFAULT_DIR))
    if not isinstance(snap_raw, str) or not snap_raw.strip():
        raise _err(file, "incidents.snapshots_dir", "must be a non-empty path string.")
    snap = Path(snap_raw)
    warnings = [] if any(roster.oncall.values()) else [
        f"incident config {file}: the on-call roster is empty, so every incident commander is "
        f"'{UNASSIGNED}'"]
    named = raw.get("notifiers", {})
    return IncidentConfig(roster, notifiers, snap if snap.is_absolute() else base / snap,
                          file, tuple(warnings),
                          channel_named=isinstance(named, dict) and "channel_path" in named,
                          snapshots_named="snapshots_dir" in inc)
