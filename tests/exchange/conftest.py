"""Fixtures: an in-process exchange on simulated time (fast, deterministic) and real server processes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from .helpers import Local, ServerProcess, make_local


@pytest.fixture
def local() -> Iterator[Local]:
    yield from make_local()


@pytest.fixture
def poor_local() -> Iterator[Local]:
    yield from make_local(starting_balance=Decimal(0))


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess("--seed", "5", "--markets", "6")
    try:
        yield proc
    finally:
        proc.stop()
