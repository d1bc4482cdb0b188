"""risk.kill_switch — the emergency stop: trips by itself, checked first on every intent.

Purpose: stop trading in a scope when the book says it must, and keep it stopped until the
condition is clear and two people agree. Nothing disarms by itself (no timer, no auto-reset).

Inputs:
- `OrderIntent` — every intent, before any guardrail;
- `TriggerCheck` — evaluated after each journaled input (book update, fill, order transition,
  wallet read, governance event); `check_triggers` is pure so replay can run the same code.
Outputs:
- for an intent: RiskVote REJECT `RISK_KILLSWITCH_ACTIVE` inside an active trip's scope, else
  APPROVE `RISK_KILLSWITCH_ARMED`;
- for a breach: `KillSwitchEvent(event="tripped")` with trigger, scope, observed value,
  threshold and the journal seq that caused it (`RISK_KILLSWITCH_TRIPPED`).
Triggers (a value AT its threshold trips — safety first):
- drawdown_intraday: intraday drawdown % ≥ `drawdown_intraday_pct` (scope global);
- drawdown_weekly: 7-day drawdown % ≥ `drawdown_weekly_pct` (global);
- reject_rate: venue rejects / venue answers over `reject_rate_window_s` ≥ `reject_rate_pct`,
  only once at least `reject_rate_min_sample` answers are in the window (global);
- feed_loss: a market where we hold a position has no book, or a book older than
  `feed_loss_ms` (scope: that market's cluster);
- wallet_funding: pUSD cash < reserved for open orders + `min_reserve_pusd` (global);
- reconcile_mismatch: a `GOV_RECONCILE_MISMATCH` event (global);
- venue_anomaly: an `EXEC_VENUE_ANOMALY` note, a venue event the OLM refused as impossible
  (scope `market:<condition_id>` of the order it named; global when no market can be placed).
  The event is the condition, so it is clear once journaled: like a manual trip, only the
  two-person reset ends it;
- manual: an operator's trip (journaled by the CLI, any scope).
Parameters (default / warning / hard):
- drawdown_intraday_pct 5 / 8 / 15 (%); drawdown_weekly_pct 10 / 15 / 25 (%);
- reject_rate_pct 50 / 70 / 90 (%); reject_rate_window_s 60 / 300 / 900;
- reject_rate_min_sample 10 / 5 / 3 (a floor: fewer samples make noise look like a spike);
- feed_loss_ms 15000 / 30000 / 60000; min_reserve_pusd 50 / 20 / 0 (a floor);
- reset_request_ttl_s 900 / 1800 / 3600.
Reason codes: RISK_KILLSWITCH_ACTIVE, RISK_KILLSWITCH_ARMED, RISK_KILLSWITCH_TRIPPED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytraders.contracts import KillSwitchEvent, OrderIntent, RiskVote, Scope
from polytraders.contracts.events import KillSwitchTrigger
from polytraders.contracts.orders import own_vote
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer
from polytraders.state.store import StateStore

AUTOMATIC_TRIGGERS: tuple[KillSwitchTrigger, ...] = (
    "drawdown_intraday", "drawdown_weekly", "reject_rate", "feed_loss", "wallet_funding",
    "reconcile_mismatch", "venue_anomaly",
)
HUNDRED = Decimal(100)
# Which triggers an input of each kind can change; every other trigger is unaffected by it.
TRIGGERS_BY_INPUT: dict[str, tuple[KillSwitchTrigger, ...]] = {
    "order_book": ("drawdown_intraday", "drawdown_weekly", "feed_loss"),
    "market_snapshot": ("drawdown_intraday", "drawdown_weekly", "feed_loss"),
    "fill": ("drawdown_intraday", "drawdown_weekly", "wallet_funding", "feed_loss"),
    "order_record": ("reject_rate", "wallet_funding"),
    "wallet": ("wallet_funding", "drawdown_intraday", "drawdown_weekly"),
    "gov_reconcile": ("reconcile_mismatch",),
    "venue_anomaly": ("venue_anomaly",),
}
# Triggers that may hold in several scopes at once: an active trip blocks only its own scope.
PER_SCOPE_TRIGGERS: frozenset[str] = frozenset({"feed_loss", "venue_anomaly"})


@dataclass(frozen=True, slots=True)
class Breach:
    """A trigger condition that holds now."""

    trigger: KillSwitchTrigger
    scope: str
    scope_value: str
    observed: Decimal
    threshold: Decimal
    caused_by_seq: int | None
    detail: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TriggerCheck:
    breach: Breach


@dataclass(frozen=True, slots=True)
class _Limits:
    """A config's trigger thresholds, read once per config rather than on every check."""

    drawdown_intraday_pct: Decimal
    drawdown_weekly_pct: Decimal
    reject_rate_pct: Decimal
    reject_rate_window_ms: int
    reject_rate_min_sample: int
    feed_loss_ms: int
    min_reserve_pusd: Decimal


_LIMITS: dict[int, tuple[BotConfig, _Limits]] = {}


def _limits(config: BotConfig) -> _Limits:
    # keyed by identity, holding the config itself so its id cannot be reused while cached;
    # a config is frozen, so its thresholds never change under the cache
    hit = _LIMITS.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    limits = _Limits(config.num("drawdown_intraday_pct"), config.num("drawdown_weekly_pct"),
                     config.num("reject_rate_pct"), config.integer("reject_rate_window_s") * 1000,
                     config.integer("reject_rate_min_sample"), config.integer("feed_loss_ms"),
                     config.num("min_reserve_pusd"))
    if len(_LIMITS) >= 64:
        _LIMITS.clear()
    _LIMITS[id(config)] = (config, limits)
    return limits


def _proj(state: StateStore, name: str) -> Any:
    return state.find(name)


def cluster_of_intent(intent: OrderIntent, state: StateStore) -> str:
    markets = _proj(state, "markets")
    return str((markets.cluster_of(intent.market_id) if markets else "") or "")


def _drawdown(trigger: str, scope_value: str, state: StateStore, config: BotConfig, now_ms: int,
              caused_by_seq: int | None, skip_clusters: frozenset[str]) -> Breach | None:
    portfolio: Any = state.find("portfolio")
    if portfolio is None:
        return None
    intraday = trigger == "drawdown_intraday"
    observed = (portfolio.drawdown_intraday_pct(now_ms) if intraday
                else portfolio.drawdown_weekly_pct(now_ms))
    if observed is None:
        return None
    limits = _limits(config)
    threshold = limits.drawdown_intraday_pct if intraday else limits.drawdown_weekly_pct
    if observed >= threshold:
        return Breach(trigger, "global", "*", observed.quantize(Decimal("0.0001")),  # type: ignore[arg-type]
                      threshold, caused_by_seq)
    return None


def _reject_rate(trigger: str, scope_value: str, state: StateStore, config: BotConfig, now_ms: int,
                 caused_by_seq: int | None, skip_clusters: frozenset[str]) -> Breach | None:
    orders: Any = state.find("orders")
    if orders is None:
        return None
    limits = _limits(config)
    rejects, total = orders.reject_rate(now_ms, limits.reject_rate_window_ms)
    if total < limits.reject_rate_min_sample or total == 0:
        return None
    observed = (Decimal(rejects) * HUNDRED / Decimal(total)).quantize(Decimal("0.01"))
    threshold = limits.reject_rate_pct
    if observed >= threshold:
        return Breach("reject_rate", "global", "*", observed, threshold, caused_by_seq,
                      (("rejects", str(rejects)), ("answered", str(total))))
    return None


def _feed_loss(trigger: str, scope_value: str, state: StateStore, config: BotConfig, now_ms: int,
               caused_by_seq: int | None, skip_clusters: frozenset[str]) -> Breach | None:
    portfolio: Any = state.find("portfolio")
    markets: Any = state.find("markets")
    if portfolio is None or markets is None:
        return None
    limit = _limits(config).feed_loss_ms
    if portfolio.held_books_fresh(now_ms, limit):
        return None  # every held token's book is fresh: no cluster can have lost its feed
    for token_id, market_id in portfolio.held_tokens():
        cluster = markets.cluster_of(market_id) or "default"
        if scope_value not in ("*", cluster) or cluster in skip_clusters:
            continue
        age = markets.book_age_ms(token_id, now_ms)
        if age is None or age >= limit:
            observed = Decimal(age if age is not None else now_ms)
            return Breach("feed_loss", "cluster", cluster, observed, Decimal(limit),
                          caused_by_seq, (("token_id", token_id), ("market_id", market_id)))
    return None


def _wallet_funding(trigger: str, scope_value: str, state: StateStore, config: BotConfig, now_ms: int,
                    caused_by_seq: int | None, skip_clusters: frozenset[str]) -> Breach | None:
    portfolio: Any = state.find("portfolio")
    orders: Any = state.find("orders")
    cash = portfolio.cash_pusd() if portfolio is not None else None
    if cash is None or orders is None:
        return None  # no wallet read yet: nothing to compare
    need = orders.reserved_pusd() + _limits(config).min_reserve_pusd
    if cash < need:
        return Breach("wallet_funding", "global", "*", cash, need, caused_by_seq,
                      (("reserved_pusd", str(orders.reserved_pusd())),))
    return None


def _reconcile_mismatch(trigger: str, scope_value: str, state: StateStore, config: BotConfig, now_ms: int,
                        caused_by_seq: int | None, skip_clusters: frozenset[str]) -> Breach | None:
    recon = _proj(state, "reconcile")
    if recon is not None and recon.mismatched:
        return Breach("reconcile_mismatch", "global", "*", Decimal(1), Decimal(1),
                      caused_by_seq or recon.mismatch_seq)
    return None


def _venue_anomaly(trigger: str, scope_value: str, state: StateStore, config: BotConfig, now_ms: int,
                   caused_by_seq: int | None, skip_clusters: frozenset[str]) -> Breach | None:
    orders: Any = state.find("orders")
    anomaly = orders.anomaly_at(caused_by_seq) if orders is not None and caused_by_seq else None
    if anomaly is None:
        return None  # only the anomaly's own entry trips; after that, resetting is for people
    scope, value = ("market", anomaly.market_id) if anomaly.market_id else ("global", "*")
    return Breach("venue_anomaly", scope, value, Decimal(1), Decimal(1), caused_by_seq,
                  anomaly.detail)


_Condition = Callable[[str, str, StateStore, BotConfig, int, int | None, frozenset[str]], Breach | None]
# Each automatic trigger's condition. Manual trips have none: the operator's reset clears them.
_CONDITIONS: dict[str, _Condition] = {
    "drawdown_intraday": _drawdown, "drawdown_weekly": _drawdown, "reject_rate": _reject_rate,
    "feed_loss": _feed_loss, "wallet_funding": _wallet_funding,
    "reconcile_mismatch": _reconcile_mismatch, "venue_anomaly": _venue_anomaly,
}
_NO_CLUSTERS: frozenset[str] = frozenset()
# (trigger, its condition) in TRIGGERS_BY_INPUT's order, for each input kind and for all
_CHECKS_BY_INPUT: dict[str, tuple[tuple[str, _Condition], ...]] = {
    kind: tuple((t, _CONDITIONS[t]) for t in triggers) for kind, triggers in TRIGGERS_BY_INPUT.items()}
_ALL_CHECKS: tuple[tuple[str, _Condition], ...] = tuple((t, _CONDITIONS[t]) for t in AUTOMATIC_TRIGGERS)


def condition(trigger: str, scope_value: str, state: StateStore, config: BotConfig,
              now_ms: int, caused_by_seq: int | None = None,
              skip_clusters: frozenset[str] = frozenset()) -> Breach | None:
    """Evaluate one trigger's condition now; None when clear. Used to trip and to reset."""
    check = _CONDITIONS.get(trigger)
    if check is None:
        return None  # manual trips have no automatic condition: the operator's reset clears them
    return check(trigger, scope_value, state, config, now_ms, caused_by_seq, skip_clusters)


class KillSwitch(Bot[OrderIntent | TriggerCheck, RiskVote | KillSwitchEvent]):
    bot_id = "risk.kill_switch"
    version = "1.0.0"
    layer = Layer.RISK
    bot_class = "Guardrail"
    authority = frozenset({Authority.PAUSE, Authority.REJECT})
    params = (
        Param("drawdown_intraday_pct", 5, 8, 15, unit="%"),
        Param("drawdown_weekly_pct", 10, 15, 25, unit="%"),
        Param("reject_rate_pct", 50, 70, 90, unit="%"),
        Param("reject_rate_window_s", 60, 300, 900, unit="s"),
        Param("reject_rate_min_sample", 10, 5, 3, direction="min"),
        Param("feed_loss_ms", 15_000, 30_000, 60_000, unit="ms"),
        Param("min_reserve_pusd", 50, 20, 0, direction="min", unit=" pUSD"),
        Param("reset_request_ttl_s", 900, 1_800, 3_600, unit="s"),
    )
    reason_codes = ("RISK_KILLSWITCH_ACTIVE", "RISK_KILLSWITCH_ARMED", "RISK_KILLSWITCH_TRIPPED")

    def check_triggers(self, state: StateStore, now_ms: int, caused_by_seq: int,
                       input_kind: str | None = None) -> list[Breach]:
        """Every automatic trigger that holds now and has no active trip already. Pure.

        `input_kind` narrows the check to the triggers that kind of input can change (see
        TRIGGERS_BY_INPUT); live and replay pass the same kind, so they agree."""
        ks = _proj(state, "kill_switch")
        config = self.config
        found = []
        if ks is None or not ks.active:  # the usual case, checked after every input: no sets to build
            for trigger, check in _CHECKS_BY_INPUT.get(input_kind, _ALL_CHECKS) if input_kind else _ALL_CHECKS:
                breach = check(trigger, "*", state, config, now_ms, caused_by_seq, _NO_CLUSTERS)
                if breach is not None:
                    found.append(breach)
            return found
        triggers = TRIGGERS_BY_INPUT.get(input_kind, AUTOMATIC_TRIGGERS) if input_kind else \
            AUTOMATIC_TRIGGERS
        active = {(t.trigger, t.scope, t.scope_value) for t in ks.active.values()}
        active_triggers = {t[0] for t in active}
        tripped_clusters = frozenset(t[2] for t in active if t[0] == "feed_loss")
        for trigger in triggers:
            if trigger in active_triggers and trigger not in PER_SCOPE_TRIGGERS:
                continue
            breach = condition(trigger, "*", state, config, now_ms, caused_by_seq,
                               tripped_clusters)
            if breach is not None and (breach.trigger, breach.scope, breach.scope_value) not in active:
                found.append(breach)
        return found

    def decide(self, input: OrderIntent | TriggerCheck,
               ctx: BotContext) -> Decision[RiskVote | KillSwitchEvent]:
        if isinstance(input, TriggerCheck):
            b = input.breach
            event = KillSwitchEvent(
                event="tripped", trip_id=f"ks_{b.caused_by_seq}_{b.trigger}", trigger=b.trigger,
                scope=Scope(scope=b.scope, value=b.scope_value),
                observed=b.observed, threshold=b.threshold, caused_by_seq=b.caused_by_seq,
                at_ms=ctx.now(), detail=dict(b.detail),
            )
            return Decision(event, "RISK_KILLSWITCH_TRIPPED")
        ks = ctx.kill_switch
        # an armed switch covers nothing (no trip, no halt): the intent's cluster is not looked up
        trip = ks.trip_covering(
            strategy_id=input.strategy_id, cluster=cluster_of_intent(input, ctx.state),
            bot_id=input.strategy_id, market_id=input.market_id,
        ) if ks.tripped else None
        if trip is not None:
            # built as the guardrails build their own votes (no validation pass: every value is
            # a str this code made), the first thing the next intent meets after a trip
            vote = own_vote(self.bot_id, input.intent_id, "REJECT", "P0", "RISK_KILLSWITCH_ACTIVE",
                            f"kill switch tripped ({trip.trigger}, scope {trip.label()})", None,
                            {"trip_id": trip.trip_id, "trigger": trip.trigger})
            return Decision(vote, "RISK_KILLSWITCH_ACTIVE")
        # (`own_vote` with its fields in order: `RiskVote.own`'s keywords cost a call more, every intent)
        vote = own_vote(self.bot_id, input.intent_id, "APPROVE", "INFO", "RISK_KILLSWITCH_ARMED", "no trip in scope",
                        None, {})
        return Decision(vote, "RISK_KILLSWITCH_ARMED")
