"""risk.compliance_gate — only trade markets the compliance lists allow.

Purpose: enforce the market allow list, the market deny list and the cluster deny list; flag
markets or clusters on the watch lists.
Inputs: OrderIntent; the "markets" projection (the market's cluster).
Outputs: RiskVote — APPROVE `RISK_APPROVED`; WARNING_ONLY `RISK_MARKET_ON_WATCHLIST`; REJECT
`RISK_MARKET_NOT_ALLOWED`, or `RISK_UNKNOWN_MARKET` when the market (so its cluster) cannot be
read (fails closed).
Parameters (Options; tuples of condition ids / cluster names):
  allow_markets  ()  empty = every market allowed unless denied
  deny_markets   ()
  deny_clusters  ()
  watch_markets  ()  allowed, flagged WARNING_ONLY
  watch_clusters ()
Reason codes: RISK_APPROVED, RISK_MARKET_ON_WATCHLIST, RISK_MARKET_NOT_ALLOWED,
RISK_UNKNOWN_MARKET.
"""

from __future__ import annotations

from typing import Any, ClassVar

from polytraders.bots.risk._common import approve, markets_of, reject, warn
from polytraders.contracts import OrderIntent, RiskVote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer


def _ids(value: Any) -> frozenset[str]:
    # condition ids are hex and compared case-insensitively (contracts lower-case bytes32)
    return frozenset(str(v).lower() for v in value)


def _names(value: Any) -> frozenset[str]:
    return frozenset(str(v) for v in value)


class ComplianceGate(Bot[OrderIntent, RiskVote]):
    bot_id = "risk.compliance_gate"
    version = "0.1.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.PAUSE, Authority.REJECT})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Option("allow_markets", (), doc="condition ids; empty = all allowed unless denied"),
        Option("deny_markets", (), doc="condition ids never traded"),
        Option("deny_clusters", (), doc="clusters never traded"),
        Option("watch_markets", (), doc="condition ids allowed but flagged"),
        Option("watch_clusters", (), doc="clusters allowed but flagged"),
    )
    reason_codes = ("RISK_APPROVED", "RISK_MARKET_ON_WATCHLIST", "RISK_MARKET_NOT_ALLOWED",
                    "RISK_UNKNOWN_MARKET")

    def on_init(self, config: BotConfig) -> None:
        self._allow = _ids(config["allow_markets"])
        self._deny = _ids(config["deny_markets"])
        self._deny_clusters = _names(config["deny_clusters"])
        self._watch = _ids(config["watch_markets"])
        self._watch_clusters = _names(config["watch_clusters"])

    def decide(self, input: OrderIntent, ctx: BotContext) -> Decision[RiskVote]:
        gid = self.bot_id
        market_id = input.market_id
        if market_id in self._deny:
            return reject(gid, input, "RISK_MARKET_NOT_ALLOWED", list="deny_markets")
        if self._allow and market_id not in self._allow:
            return reject(gid, input, "RISK_MARKET_NOT_ALLOWED", list="allow_markets")
        markets = markets_of(ctx)
        cluster = markets.cluster_of(market_id) if markets is not None else None
        if cluster is None:
            return reject(gid, input, "RISK_UNKNOWN_MARKET", market_id=market_id)
        if cluster in self._deny_clusters:
            return reject(gid, input, "RISK_MARKET_NOT_ALLOWED", list="deny_clusters",
                          cluster=cluster)
        if market_id in self._watch or cluster in self._watch_clusters:
            return warn(gid, input, "RISK_MARKET_ON_WATCHLIST", cluster=cluster)
        return approve(gid, input, cluster=cluster)
