"""The venue contract on the real adapter, against a real ``polytraders exchange serve`` process:
fills arrive over the user WebSocket, fault windows come from the exchange's admin endpoints."""

from __future__ import annotations

import pytest

from ..contract import VenueContract

pytestmark = pytest.mark.slow


class TestAdapterOnLocalExchange(VenueContract):
    """Uses the ``harness`` fixture from this package's conftest."""
