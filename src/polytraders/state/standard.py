"""The standard set of projections every process folds (the running system, CLI readers, replay)."""

from __future__ import annotations

from polytraders.state.markets import MarketsProjection
from polytraders.state.orders import OrdersProjection
from polytraders.state.portfolio import PortfolioProjection
from polytraders.state.store import StateStore


def build_state() -> StateStore:
    from polytraders.incidents.projection import IncidentsProjection

    markets = MarketsProjection()
    return StateStore([markets, OrdersProjection(), PortfolioProjection(markets), IncidentsProjection(24)])
