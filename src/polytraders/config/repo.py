"""The approved-config repository: real git, one TOML file per bot on the `approved` branch.

Layout: `bots/<bot_id>.toml` (e.g. `bots/risk.kill_switch.toml`), each a flat table of that
bot's parameters. Every approved version is a commit on `approved`; a proposed change is a
commit on its own branch `proposal/<request id>` made from the approved head, merged with
`--no-ff` when a second operator approves it.

Only git touches this repository, and only through these functions (the named exception to "no
command overwrites a file it did not create"). Reads never use the working tree: they read the
`approved` ref and its blobs, so a hand edit of a checked-out file is not an approved change.
Author and committer are the operator (or the system), dated from the caller's clock, so a
simulation's commits, and the journal that names them, are identical run to run. The user's git
configuration is ignored (no global or system config, no signing, no hooks).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polytraders.errors import ConfigError

BRANCH = "approved"
PROPOSAL_PREFIX = "proposal/"
BOTS_DIR = "bots"
GIT_TIMEOUT_S = 20


class RepoError(ConfigError):
    """The approved source cannot be read or written (missing, not a repository, damaged)."""


@dataclass(frozen=True, slots=True)
class ApprovedSnapshot:
    """The approved head: its commit, the hash of its files and the parsed file of each bot."""

    commit: str
    content_hash: str
    files: dict[str, dict[str, Any]]  # bot id -> raw TOML table


def bot_file(bot_id: str) -> str:
    return f"{BOTS_DIR}/{bot_id}.toml"


def render_bot_file(bot_id: str, values: Mapping[str, Any]) -> str:
    """A bot's approved parameters as TOML: integers as integers, decimals as strings (TOML
    floats are never exact, and the config loader refuses them), lists of strings, booleans."""
    lines = [f"# Approved parameters of {bot_id}. Change them with 'polytraders config propose',",
             "# never by editing this file: only commits on the approved branch count.", ""]
    for name in sorted(values):
        lines.append(f"{name} = {_toml_value(values[name])}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def iso_date(ms: int) -> str:
    """A git date from epoch milliseconds: `<seconds> +0000`."""
    return f"{ms // 1000} +0000"


class ApprovedRepo:
    def __init__(self, path: Path) -> None:
        self.path = path.absolute()  # git -C and GIT_INDEX_FILE must agree on where it is

    # -- git plumbing ------------------------------------------------------------------------

    def _env(self, who: str = "", when_ms: int | None = None, index: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
                    "LC_ALL": "C"})
        if who:
            email = f"{who}@polytraders.invalid"
            env.update({"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": who,
                        "GIT_COMMITTER_EMAIL": email})
        if when_ms is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = iso_date(when_ms)
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        return env

    def git(self, *args: str, who: str = "", when_ms: int | None = None, stdin: bytes | None = None,
            index: Path | None = None) -> bytes:
        cmd = ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false",
               "-c", "init.defaultBranch=" + BRANCH, "-C", str(self.path), *args]
        try:
            done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=GIT_TIMEOUT_S,
                                  env=self._env(who, when_ms, index), check=False)
        except FileNotFoundError:
            raise RepoError("The git command is not installed; the approved config needs git.") from None
        except subprocess.TimeoutExpired:
            raise RepoError(f"git {args[0]} in {self.path} did not finish in {GIT_TIMEOUT_S} s.") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RepoError(f"git {args[0]} failed in {self.path}: {(err[-1] if err else 'no message')[:300]}")
        return done.stdout

    # -- reading -----------------------------------------------------------------------------

    def head(self) -> str:
        """The approved branch's commit id; RepoError when the repository cannot be read."""
        if not self.path.is_dir():
            raise RepoError(f"The approved-config repository {self.path} does not exist (make it with "
                            f"'polytraders config init').")
        return self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}^{{commit}}").decode().strip()

    def read(self, ref: str = BRANCH) -> ApprovedSnapshot:
        """Every bot file at `ref`, parsed; RepoError naming the file when one is not TOML."""
        commit = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip() \
            if ref != BRANCH else self.head()
        listing = self.git("ls-tree", "-r", "-z", commit, "--", BOTS_DIR + "/").decode("utf-8", "replace")
        blobs: list[tuple[str, str]] = []
        for row in filter(None, listing.split("\0")):
            meta, _, name = row.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob":
                blobs.append((name, parts[2]))
        payload = self.git("cat-file", "--batch", stdin="".join(f"{b}\n" for _, b in blobs).encode()) \
            if blobs else b""
        contents = _split_batch(payload, len(blobs))
        digest = hashlib.sha256()
        files: dict[str, dict[str, Any]] = {}
        for (name, _), body in zip(blobs, contents, strict=True):
            digest.update(name.encode() + b"\0" + body + b"\0")
            if not name.endswith(".toml"):
                continue
            bot_id = name[len(BOTS_DIR) + 1:-len(".toml")]
            try:
                files[bot_id] = tomllib.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise RepoError(f"Approved file {name} at commit {commit[:12]} is not valid TOML: {exc}.") from None
        return ApprovedSnapshot(commit, digest.hexdigest(), files)

    def branches(self) -> list[str]:
        out = self.git("for-each-ref", "--format=%(refname:short)", "refs/heads/").decode()
        return [b for b in out.split() if b]

    def log(self, path: str | None = None, ref: str = BRANCH, limit: int = 50) -> list[dict[str, str]]:
        args = ["log", f"-{limit}", "--format=%H%x1f%an%x1f%at%x1f%s%x1e", ref]
        if path:
            args += ["--", path]
        rows = []
        for rec in self.git(*args).decode("utf-8", "replace").split("\x1e"):
            fields = rec.strip().split("\x1f")
            if len(fields) == 4:
                rows.append({"commit": fields[0], "author": fields[1], "time_ms": str(int(fields[2]) * 1000),
                             "subject": fields[3]})
        return rows

    # -- writing -----------------------------------------------------------------------------

    def init(self, files: Mapping[str, str], *, who: str, when_ms: int, message: str) -> str:
        """Create the repository with `files` (path -> text) as the first approved commit.
        Refuses a path that exists and is not empty: it never takes over someone's folder."""
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise RepoError(f"Refusing to create the approved-config repository at {self.path}: it exists and "
                            f"is not an empty folder.")
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", BRANCH)
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.git("add", "--", *files)
        self.git("commit", "-q", "-m", message, who=who, when_ms=when_ms)
        return self.head()

    def propose(self, branch: str, changes: Mapping[str, str], *, who: str, when_ms: int, message: str) -> str:
        """A commit with `changes` (path -> new text) on a new branch from the approved head,
        made with a private index so the working tree and the approved branch are untouched."""
        if not branch.startswith(PROPOSAL_PREFIX):
            raise ValueError(branch)
        base = self.head()
        index = self.path / ".git" / f"polytraders-{branch.replace('/', '-')}.index"
        try:
            self.git("read-tree", base, index=index)
            for rel, text in changes.items():
                blob = self.git("hash-object", "-w", "--stdin", stdin=text.encode()).decode().strip()
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}", index=index)
            tree = self.git("write-tree", index=index).decode().strip()
        finally:
            index.unlink(missing_ok=True)
        commit = self.git("commit-tree", tree, "-p", base, "-m", message, who=who,
                          when_ms=when_ms).decode().strip()
        # create only: an existing branch of that name is never moved
        self.git("update-ref", f"refs/heads/{branch}", commit, "0" * 40)
        return commit

    def merge(self, branch: str, *, who: str, when_ms: int, message: str) -> str:
        """Merge a proposal into the approved branch (`--no-ff`). The approved branch must be the
        checked-out one; a conflict aborts the merge and nothing changes."""
        current = self.git("symbolic-ref", "--short", "HEAD").decode().strip()
        if current != BRANCH:
            raise RepoError(f"The approved-config repository has {current!r} checked out, not {BRANCH!r}; "
                            f"check out {BRANCH} before approving.")
        try:
            self.git("merge", "--no-ff", "--no-edit", "-q", "-m", message, f"refs/heads/{branch}",
                     who=who, when_ms=when_ms)
        except RepoError:
            with contextlib.suppress(RepoError):
                self.git("merge", "--abort")
            raise
        return self.head()


def _split_batch(payload: bytes, n: int) -> list[bytes]:
    """`git cat-file --batch` output: `<oid> <type> <size>\\n<body>\\n` per object."""
    out: list[bytes] = []
    pos = 0
    for _ in range(n):
        nl = payload.index(b"\n", pos)
        header = payload[pos:nl].split()
        if len(header) != 3:
            raise RepoError(f"git returned an unreadable object ({header[:1]!r}).")
        size = int(header[2])
        out.append(payload[nl + 1:nl + 1 + size])
        pos = nl + 1 + size + 1
    return out
