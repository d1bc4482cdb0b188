"""The adapter's public surface is exactly what ``__init__`` lists, sorted, and wire types stay
inside the package."""

from __future__ import annotations

import ast
from pathlib import Path

import polytraders.venues.polymarket as pm
from polytraders.venues.base import Venue
from polytraders.venues.polymarket import PolymarketVenue

SRC = Path(pm.__file__).resolve().parents[2]


def test_all_is_sorted_and_complete() -> None:
    assert list(pm.__all__) == sorted(pm.__all__, key=lambda n: (not n.isupper(), n))  # constants first
    exported = {n for n in dir(pm) if not n.startswith("_")} - {
        "books", "config", "data_api", "errors", "gamma", "heartbeat", "orders", "paper", "parse", "rest", "schemas",
        "tracking", "venue", "ws"}
    assert exported == set(pm.__all__)
    assert not [n for n in pm.__all__ if n.startswith("Wire")]


def test_the_venue_satisfies_the_protocol() -> None:
    for name in ("markets", "submit", "cancel", "cancel_all", "open_orders", "book", "advance"):
        assert callable(getattr(PolymarketVenue, name)), name
    assert Venue  # the protocol the OLM types against


def test_no_other_package_imports_polymarket_internals() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if "venues/polymarket" in path.as_posix():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("polytraders.venues.polymarket."):
                offenders.append(f"{path}: {node.module}")
    assert offenders == []
