"""risk.kill_switch — the emergency stop, checked first on every intent.

Purpose: reject every intent in the scope of an active trip. Trips are journaled
`killswitch_event` envelopes (folded by `state.kill_switch.KillSwitchProjection`); nothing
disarms by itself.
Inputs: OrderIntent; the kill-switch projection and the markets projection (for the cluster).
Outputs: RiskVote — REJECT `RISK_KILLSWITCH_ACTIVE` inside an active trip's scope, otherwise
APPROVE `RISK_KILLSWITCH_ARMED`.
Parameters: none yet (trigger thresholds arrive with the automatic triggers).
Reason codes: RISK_KILLSWITCH_ACTIVE, RISK_KILLSWITCH_ARMED.
"""

from __future__ import annotations

from polytraders.contracts import OrderIntent, RiskVote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer


def cluster_of_intent(intent: OrderIntent, ctx: BotContext) -> str:
    markets = ctx.state._projections.get("markets")  # noqa: SLF001
    if markets is None:
        return ""
    cluster = markets.cluster_of(intent.market_id)  # type: ignore[attr-defined]
    return str(cluster or "")


class KillSwitch(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.kill_switch"
    version = "0.2.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.PAUSE, Authority.REJECT})
    reason_codes = ("RISK_KILLSWITCH_ACTIVE", "RISK_KILLSWITCH_ARMED")

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        trip = ctx.kill_switch.trip_covering(
            strategy_id=input.strategy_id,
            cluster=cluster_of_intent(input, ctx),
            bot_id=input.strategy_id,
        )
        if trip is not None:
            vote = RiskVote(guard_id=self.bot_id, intent_id=input.intent_id, decision="REJECT",
                            severity="P0", reason_code="RISK_KILLSWITCH_ACTIVE",
                            message=f"kill switch tripped ({trip.trigger}, scope {trip.label()})",
                            observed={"trip_id": trip.trip_id, "trigger": trip.trigger})
            return Decision(vote, "RISK_KILLSWITCH_ACTIVE")
        vote = RiskVote(guard_id=self.bot_id, intent_id=input.intent_id, decision="APPROVE",
                        reason_code="RISK_KILLSWITCH_ARMED", message="no trip in scope")
        return Decision(vote, "RISK_KILLSWITCH_ARMED")
