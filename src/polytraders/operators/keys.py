"""Operator key files: where a private key comes from, and how it is kept.

A key file is JSON `{"format", "name", "kind", "public_key", "private_key"}` written with mode
0600 and never over an existing file. `kind` is `live` or `simulation`: simulation keys are
derived from a demo's seed, so anyone can rebuild them, and a live journal refuses them.

A command finds its key in `POLYTRADERS_KEY_FILE` (a path; the file must be 0600) or in
`POLYTRADERS_KEY` (the key file's JSON, or the 64-hex private key), never on the command line.
Errors name the file, never the key.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.signatures import Signer

KEY_FILE_ENV = "POLYTRADERS_KEY_FILE"
KEY_ENV = "POLYTRADERS_KEY"
KEY_FORMAT = "polytraders-key/1"
KeyKind = Literal["live", "simulation"]


@dataclass(frozen=True)
class OperatorKey:
    """A loaded private key and what its file says about it. `repr` hides the key."""

    signer: Signer = field(repr=False)
    kind: KeyKind
    name: str | None = None
    source: str = ""

    @property
    def public_hex(self) -> str:
        return self.signer.public_hex


def write_key_file(path: Path, name: str, signer: Signer, kind: KeyKind) -> Path:
    """Write a new 0600 key file; refuse to replace anything already at `path`."""
    data = {"format": KEY_FORMAT, "name": name, "kind": kind, "public_key": signer.public_hex,
            "private_key": signer.private_hex()}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RefusedError(f"A file exists already at {path}; key files are never overwritten.") from None
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    return path


def _parse(text: str, source: str) -> OperatorKey:
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            if data.get("format") != KEY_FORMAT or data.get("kind") not in ("live", "simulation"):
                raise ValueError
            signer = Signer.from_hex(str(data["private_key"]))
            if signer.public_hex != data.get("public_key"):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BadInputError(f"The key in {source} is not a valid Polytraders key file.") from None
        return OperatorKey(signer, data["kind"], str(data.get("name") or "") or None, source)
    try:
        return OperatorKey(Signer.from_hex(text), "live", None, source)
    except ValueError:
        raise BadInputError(f"The key in {source} is neither a key file nor 64 hex characters.") from None


def load_key_file(path: Path) -> OperatorKey:
    try:
        st = path.stat()
    except OSError:
        raise BadInputError(f"Cannot read the key file {path}: it does not exist or is not readable.") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadInputError(f"The key file {path} is not a regular file.")
    if st.st_mode & 0o077:
        raise RefusedError(
            f"The key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run 'chmod 600 {path}' first. A private key must be readable by its owner alone.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise BadInputError(f"Cannot read the key file {path}.") from None
    return _parse(text, str(path))


def key_from_env() -> OperatorKey:
    """The operator's key from the environment; refuses when there is none."""
    file = os.environ.get(KEY_FILE_ENV)
    if file:
        return load_key_file(Path(file))
    raw = os.environ.get(KEY_ENV)
    if raw:
        return _parse(raw, f"${KEY_ENV}")
    raise RefusedError(
        f"No operator key: set {KEY_FILE_ENV} to your key file (made by 'polytraders init' or "
        f"'polytraders operators keygen'), or {KEY_ENV}. Keys are never taken from the command line.",
        code="GOV_AUTH_REFUSED")
