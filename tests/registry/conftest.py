"""Fixtures for the registry tests: a temp journal and monkeypatched bot implementations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polytraders.journal.sqlite import SqliteJournal
from polytraders.registry import lifecycle
from polytraders.runtime.bot import Bot

from .helpers import FAKES


@pytest.fixture
def fake_impls(monkeypatch: pytest.MonkeyPatch) -> dict[str, type[Bot[Any, Any]]]:
    """Only the fake bots are 'implemented'; every other id has no module."""
    monkeypatch.setattr(lifecycle, "implementation_of", lambda bot_id: FAKES.get(bot_id))
    return FAKES


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[SqliteJournal]:
    from factories import make_trusted_runtime

    from polytraders.runtime.clock import SimClock

    rt, _ = make_trusted_runtime(tmp_path / "journal.db", SimClock(1_767_571_200_000), crew=())
    j = rt.journal
    assert isinstance(j, SqliteJournal)
    try:
        yield j
    finally:
        j.close()
