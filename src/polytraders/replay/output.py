"""Where `replay --out` writes, and the one rule about replacing files.

A replay writes new files. An existing file is replaced only with `--force`, and only when it
carries the replay's marker (a report's `"generator"` field, a chart's first-line comment),
that is, only a file a replay wrote. Anything else is left byte-identical and the command is
refused, because no command deletes or overwrites a file it did not create.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from polytraders.errors import BadInputError, RefusedError
from polytraders.replay.chart import MARKER

GENERATOR = "polytraders replay"


def _ours(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(200_000)
    except OSError:
        return False
    if path.suffix == ".svg":
        return head.startswith(MARKER.encode())
    try:
        data = json.loads(head)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("generator") == GENERATOR


def prepare_out(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"--out {folder} exists and is not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"--out {folder}: cannot create the folder ({exc.strerror or exc}).") from None


def check_writable(paths: list[Path], *, force: bool) -> None:
    """Refuse before anything is written if any target exists and may not be replaced."""
    for path in paths:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise RefusedError(f"{path} exists and is not a regular file; the replay wrote nothing.")
        if not path.exists():
            continue
        if not force:
            raise RefusedError(f"{path} exists already; the replay wrote nothing. Pass --force to replace a "
                               f"report or chart an earlier replay wrote, or choose another --out.")
        if not _ours(path):
            raise RefusedError(f"{path} exists and was not written by a replay; even with --force it is left "
                               f"untouched and the replay wrote nothing.")


def write_out(path: Path, text: str) -> None:
    """Create `path` exclusively (so a file that appeared since the check is never clobbered),
    or, when it exists and `check_writable` allowed it (ours, --force), replace it through a
    temporary file and a rename, so a reader never sees half a report."""
    try:
        if not path.exists():
            with path.open("x", encoding="utf-8") as fh:
                fh.write(text)
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("x", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except FileExistsError:
        raise RefusedError(f"{path} appeared while the replay ran; it was left untouched.") from None
    except OSError as exc:
        raise BadInputError(f"Cannot write {path}: {exc.strerror or exc}.") from None
