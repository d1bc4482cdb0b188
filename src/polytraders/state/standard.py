"""The standard set of projections every process folds (the running system, CLI readers, replay)."""

from __future__ import annotations

from polytraders.state.markets import MarketsProjection
from polytraders.state.orders import OrdersProjection
from polytraders.state.portfolio import PortfolioProjection
from polytraders.state.store import StateStore


def build_full_state() -> StateStore:
    """`build_state` plus the kill switch and modes, as a runtime folds them (for readers that
    must see every rule applied: verify, status, replay)."""
    from polytraders.state.kill_switch import KillSwitchProjection
    from polytraders.state.modes import ModesProjection

    state = build_state()
    state.add(KillSwitchProjection(state.trust))
    state.add(ModesProjection())
    return state


def build_state() -> StateStore:
    from polytraders.config.projection import ConfigProjection
    from polytraders.incidents.projection import IncidentsProjection
    from polytraders.state.api_health import ApiHealthProjection
    from polytraders.state.reconcile import ReconcileProjection

    markets = MarketsProjection()
    state = StateStore([markets, OrdersProjection(), PortfolioProjection(markets), IncidentsProjection(24)])
    state.add(ApiHealthProjection(state.trust))
    state.add(ReconcileProjection(state.trust))  # the kill switch's reconcile_mismatch condition reads it
    state.add(ConfigProjection(state.trust))  # approved vs running config, overrides, change requests
    return state
