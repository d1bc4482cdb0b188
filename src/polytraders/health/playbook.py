"""The "Polymarket API degraded" playbook: data, run by the one playbook engine.

After the universal first steps: demote every Strategy bot to advisory (a hold from
`playbook:api_degraded`, so its previous mode comes back when the hold is released), cancel
resting orders only on markets whose book freshness cannot be read, page trading-ops, then watch
and restore. The restore is done by `engine/api_health.py` once every configured surface has
been green for `green_before_promote_s` without a break, or when a second operator approved an
early promotion; an operator's hold keeps the demotion in place.
"""

from __future__ import annotations

from typing import Final

from polytraders.incidents.engine import IncidentContext, StepResult
from polytraders.incidents.playbooks import Step, playbook, register_playbook
from polytraders.runtime.kinds import Layer, Mode

HOLD_SOURCE: Final = "playbook:api_degraded"
WATCH_STEP: Final = "watch_and_restore"

API_DEGRADED_PLAYBOOK: Final = register_playbook(playbook(
    "api_degraded",
    trigger_kinds=("GOV_API_DEGRADED",),
    priority="P1",
    page_role="trading_ops",
    title="Polymarket API degraded",
    remedy=(
        Step("demote_strategies", "Switch every Strategy bot from enforced to advisory, remembering its "
             "previous mode", "auto", "demote_strategies"),
        Step("cancel_unreadable_markets", "Cancel resting orders on markets whose book freshness cannot be read "
             "(book older than max_orderbook_age_ms, or the market feed unknown)", "auto",
             "cancel_unreadable_markets"),
        Step("page_oncall", "Page the trading-ops on-call", "auto", "page"),
        Step(WATCH_STEP, "Watch the error rate; restore each bot's previous mode after green_before_promote_s of "
             "continuous green on every surface (a relapse restarts the clock)", "manual"),
    ),
))


def demote_strategies(ctx: IncidentContext) -> StepResult:
    rt = ctx.runtime
    before = {b.bot_id: b.mode.value for b in rt.bots.values() if b.layer is Layer.STRATEGY}
    for bot_id in before:
        rt.place_hold(bot_id, HOLD_SOURCE, Mode.ADVISORY, actor=ctx.actor, durable=True,
                      reason=f"{ctx.incident_id}: API degraded ({ctx.trigger})")
    after = {bot_id: rt.bots[bot_id].mode.value for bot_id in before}
    return StepResult(True, f"{len(before)} strategy bot(s) held at advisory", {"modes_before": before,
                                                                               "modes_after": after})


def cancel_unreadable_markets(ctx: IncidentContext) -> StepResult:
    """Only markets whose freshness cannot be read: the others keep their orders."""
    rt = ctx.runtime
    now = rt.clock.now_ms()
    markets = rt.state.find("markets")
    orders = rt.state.find("orders")
    health = rt.state.find("api_health")
    olm = ctx.params.get("olm")
    if markets is None or orders is None or olm is None:
        return StepResult(False, "no market or order state to judge freshness by")
    feed_unknown = health is not None and health.level.get("clob_ws_market") == "unknown"  # type: ignore[attr-defined]
    max_age = int(ctx.params.get("max_orderbook_age_ms", 5_000))
    unreadable: set[str] = set()
    for m in markets.markets():  # type: ignore[attr-defined]
        age = markets.book_age_ms(m.yes_token, now)  # type: ignore[attr-defined]
        if feed_unknown or age is None or age > max_age:
            unreadable.add(m.market_id)
    cancelled = []
    for order in orders.open_orders():  # type: ignore[attr-defined]
        if order.market_id in unreadable:
            olm.cancel(order.client_order_id)
            cancelled.append(order.client_order_id)
    return StepResult(True, f"cancelled {len(cancelled)} order(s) on {len(unreadable)} unreadable market(s)",
                      {"markets": sorted(unreadable), "cancelled": cancelled})


ACTIONS: Final = {"demote_strategies": demote_strategies, "cancel_unreadable_markets": cancel_unreadable_markets}
