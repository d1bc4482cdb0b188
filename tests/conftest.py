"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories import make_trusted_runtime


@pytest.fixture
def trusted_runtime() -> Callable[..., Any]:
    return make_trusted_runtime
