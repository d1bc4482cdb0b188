"""The stand-in contracts' compiled artefacts (ABI and bytecode), shipped beside their Solidity
source in `contracts/` and produced by `scripts/compile-contracts.cjs` with solcjs. A test
recompiles and compares, so the artefacts cannot drift from the source."""

from __future__ import annotations

import functools
import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

PUSD = "StandInPUSD"
CTF = "StandInConditionalTokens"


@functools.cache
def artifacts() -> dict[str, Any]:
    text = resources.files("polytraders.chain").joinpath("artifacts.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def abi(name: str) -> list[dict[str, Any]]:
    return list(artifacts()[name]["abi"])


def bytecode(name: str) -> str:
    return str(artifacts()[name]["bytecode"])


def repo_root() -> Path | None:
    """The source checkout this module runs from, when it does (tools live in its node_modules)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "package.json").exists() and (parent / "contracts").is_dir():
            return parent
    return None


def find_tool(name: str) -> str | None:
    """A test tool installed by scripts/install-test-tools.sh: $POLYTRADERS_<NAME>, then the
    checkout's node_modules/.bin, then PATH."""
    explicit = os.environ.get(f"POLYTRADERS_{name.upper()}")
    if explicit:
        return explicit if Path(explicit).exists() else None
    root = repo_root()
    if root is not None:
        local = root / "node_modules" / ".bin" / name
        if local.exists():
            return str(local)
    return shutil.which(name)
