"""Demo scenarios: named, seeded situations the demo (and tests) can run.

A scenario may set a fault plan on the simulated venue, override bot config, start at another
time of day, fund the wallet differently, and run scripted actions at given minutes (operator
commands, wallet reads). The kill-switch scenarios each trip the switch for one trigger and then
drill the two-person reset: a request refused while the condition holds, an approval refused
for the same person, then an approval by a second operator that is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polytraders.errors import BadInputError, RefusedError
from polytraders.journal.signatures import Signer
from polytraders.operators.keys import OperatorKey
from polytraders.venues.sim.faults import FaultPlan

if TYPE_CHECKING:
    from polytraders.engine.system import TradingSystem
    from polytraders.operators.auth import Operator
    from polytraders.venues.sim import SimVenue

MINUTE = 60_000
Action = Callable[["TradingSystem"], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    faults: Callable[[SimVenue, int], FaultPlan | None] = lambda venue, start_ms: None
    bot_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (minute offset, action) pairs run at the start of that minute
    script: tuple[tuple[int, Action], ...] = ()
    start_offset_ms: int = 0
    initial_pusd: Decimal = Decimal(10_000)
    min_minutes: int = 1
    expected_trigger: str | None = None
    api_monitor: bool = False  # sample the venue and run the API degradation monitor
    chain: bool = False  # reconcile against a chain: anvil when installed, else the in-memory twin
    # every trigger the scenario trips, in the order of their first trip (a scenario that trips
    # twice says so here, and the scenario test checks each trip, not only the first)
    expected_trips: tuple[str, ...] = ()
    approved_config: bool = False  # bots run on an approved-config repository beside the journal


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    SCENARIOS[scenario.name] = scenario
    return scenario


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise BadInputError(
            f"Unknown scenario {name!r}; available scenarios: {', '.join(sorted(SCENARIOS))}."
        ) from None


# -- scripted operators ------------------------------------------------------------------------

GENESIS_ADMINS = ("root", "ops")  # the two admins a simulation journal starts with
CREW = (("alice", "approver"), ("bob", "approver"))  # registered at minute 1 by root, approved by ops


def sim_key(seed: int, name: str) -> Signer:
    """Simulation only: keys derived from the seed keep the journal identical run to run; they
    are marked `simulation` and a live journal refuses them."""
    return Signer.derive(seed, name)


def crew_keys(seed: int) -> dict[str, OperatorKey]:
    names = (*GENESIS_ADMINS, *(n for n, _ in CREW))
    return {n: OperatorKey(sim_key(seed, n), "simulation", n, f"simulated {n}") for n in names}


def write_crew_keys(db: Path, seed: int) -> Path:
    """Write the simulated crew's key files beside the journal so a person can act on the run."""
    from polytraders.operators.keys import write_key_file

    folder = Path(str(db) + ".keys")
    for name, key in crew_keys(seed).items():
        path = folder / f"{name}.key"
        if not path.exists():
            write_key_file(path, name, key.signer, "simulation")
    return folder


def _as(system: TradingSystem, name: str, command: str) -> Operator:
    from polytraders.operators.auth import authenticate

    return authenticate(system.runtime.state.trust, crew_keys(system.config.seed)[name], command)


def add_crew(system: TradingSystem) -> None:
    """root asks to register each approver; ops, the other admin, approves."""
    from polytraders.operators.auth import approve_operator, request_operator

    rt = system.runtime
    rt.journal.flush()
    keys = crew_keys(system.config.seed)
    for name, role in CREW:
        if name in rt.state.trust.operators:
            continue
        request = request_operator(rt, _as(system, "root", "operators.add"), name, role, keys[name].public_hex)
        approve_operator(rt, _as(system, "ops", "operators.approve"), request.seq)
        system.story.append(f"{name} registered as {role}: requested by root, approved by ops")


def reset_drill(system: TradingSystem) -> None:
    """alice requests a reset of every active trip; alice then bob try to approve it."""
    from polytraders.engine.kill_switch_ops import approve_reset, kill_switch_config, request_reset

    rt = system.runtime
    rt.journal.flush()
    config = kill_switch_config(rt.journal)
    alice = _as(system, "alice", "killswitch.request_reset")
    for trip_id in sorted(rt.kill_switch.active):
        try:
            request_id = request_reset(rt, alice, trip_id, config)
        except RefusedError as refused:
            system.story.append(f"reset of {trip_id} refused: {refused.message}")
            continue
        for name in ("alice", "bob"):
            try:
                approve_reset(rt, _as(system, name, "killswitch.approve_reset"), request_id, config)
                system.story.append(f"reset of {trip_id} approved by {name}")
            except RefusedError as refused:
                system.story.append(f"approval by {name} refused: {refused.message}")
    rt.poll()


def _books(system: TradingSystem) -> dict[str, Decimal]:
    from polytraders.state.portfolio import PortfolioProjection

    portfolio = system.runtime.state.typed("portfolio", PortfolioProjection)
    books = portfolio.accounting()
    cash = portfolio.cash_pusd()
    if books is None or cash is None:
        raise RefusedError("The scenario moves money before the first wallet read.")
    return {**books, "cash": cash}


def transfer(direction: str, amount: Decimal | None = None, *, leave: Decimal | None = None) -> Action:
    """Journal a deposit or withdrawal, then the wallet read that shows it.

    The transfer comes first so the read agrees with the books (no adjustment): the money moved
    is an external flow, never PnL or drawdown. `leave` withdraws down to that balance;
    `amount=None` with a deposit puts back everything withdrawn so far in this run.
    """
    def act(system: TradingSystem) -> None:
        from polytraders.contracts import Transfer
        from polytraders.contracts.transfers import TRANSFER_REASON
        from polytraders.engine.system import WALLET

        books = _books(system)
        cash = books["cash"]
        if leave is not None:
            moved = cash - leave
        elif amount is not None:
            moved = amount
        else:
            moved = books["withdrawals"] - books["deposits"]
        if moved <= 0:
            return
        rt = system.runtime
        rt.record(Transfer(direction=direction, amount_pusd=moved, source="sim"), actor=WALLET,
                  reason_code=TRANSFER_REASON[direction])
        after = cash + moved if direction == "deposit" else cash - moved
        rt.note("GOV_WALLET_BALANCE", actor=WALLET, pusd=str(after), source="sim")
        system.story.append(f"{direction} of {moved:,.2f} pUSD journaled; the wallet now reads {after:,.2f} pUSD")
    return act


# -- the scenarios -----------------------------------------------------------------------------

register(Scenario("calm", "Ordinary markets: mean-reverting prices, background flow, no faults."))

register(Scenario(
    "drawdown",
    "Starts at 23:40 UTC with 1,000 pUSD; at 23:50 every market's fair value drops 20 points. "
    "The intraday drawdown breaches 5% and the kill switch trips; the reset is refused until the "
    "new UTC day starts the intraday drawdown afresh. The weekly drawdown limit is raised from 10% "
    "to 25% (its hard limit) for this scenario: the drop costs 12-20% of equity on 20 markets, so "
    "at 10% a second, weekly trip would hold for the rest of the week and the reset could not succeed.",
    faults=lambda venue, start: FaultPlan().price_shock(-0.20, at_ms=start + 10 * MINUTE),
    bot_overrides={"risk.kill_switch": {"drawdown_weekly_pct": 25}},
    script=((1, add_crew), (15, reset_drill), (30, reset_drill)),
    start_offset_ms=-20 * MINUTE,
    initial_pusd=Decimal(1_000),
    min_minutes=31,
    expected_trips=("drawdown_intraday",),
))

register(Scenario(
    "reject-spike",
    "From minute 5 to 12 the venue rejects every order (not enough balance); the reject rate "
    "over five minutes passes 50% and the kill switch trips. The reset is refused until the "
    "window holds no more spike.",
    faults=lambda venue, start: FaultPlan().reject_submits(
        "INVALID_ORDER_NOT_ENOUGH_BALANCE", start_ms=start + 5 * MINUTE, end_ms=start + 12 * MINUTE),
    bot_overrides={"risk.kill_switch": {"reject_rate_window_s": 300}},
    script=((1, add_crew), (9, reset_drill), (25, reset_drill)),
    min_minutes=26,
    expected_trips=("reject_rate",),
))


def _drop_half(venue: SimVenue, start: int) -> FaultPlan:
    plan = FaultPlan()
    for info in venue.markets()[::2]:
        plan = plan.drop_feed(info.condition_id, start_ms=start + 10 * MINUTE,
                              end_ms=start + 20 * MINUTE)
    return plan


register(Scenario(
    "feed-loss",
    "From minute 10 to 20 the market feed of every other market goes silent while positions "
    "are open there; the kill switch trips for each affected cluster. Resets are refused until "
    "the feed is back.",
    faults=_drop_half,
    script=((1, add_crew), (15, reset_drill), (25, reset_drill)),
    min_minutes=26,
    expected_trips=("feed_loss",),
))

register(Scenario(
    "wallet-short",
    "At minute 10 a withdrawal leaves 30 pUSD in the wallet (journaled as a transfer, then read): "
    "less than open orders and the 50 pUSD reserve need, so the kill switch trips for wallet "
    "funding, and only for that (a transfer is not a drawdown). The reset is refused until a "
    "deposit at minute 20 puts the money back.",
    script=((1, add_crew), (10, transfer("withdrawal", leave=Decimal(30))), (15, reset_drill),
            (20, transfer("deposit")), (25, reset_drill)),
    min_minutes=26,
    expected_trips=("wallet_funding",),
))


register(Scenario(
    "api-degraded",
    "From minute 5 to 12 the venue answers every submission and cancel with 503 and every answer comes 2.5 s "
    "late. The API degradation monitor sees CLOB REST go bad; its playbook demotes the strategy to advisory "
    "(remembering its mode), cancels orders only where book freshness cannot be read, and pages trading-ops. "
    "Once every surface has been green for ten minutes without a break, the strategy's previous mode returns.",
    faults=lambda venue, start: FaultPlan()
    .transport_errors("submit", 503, start_ms=start + 5 * MINUTE, end_ms=start + 12 * MINUTE)
    .transport_errors("cancel", 503, start_ms=start + 5 * MINUTE, end_ms=start + 12 * MINUTE)
    .latency(2_500, start_ms=start + 5 * MINUTE, end_ms=start + 12 * MINUTE),
    min_minutes=26,
    api_monitor=True,
))


# -- the on-chain reconcile scenario ----------------------------------------------------------

def chain_env_of(system: TradingSystem) -> Any:
    env = getattr(system, "chain_env", None)
    if env is None:
        raise RefusedError("this scenario needs a chain; run it through 'polytraders demo'")
    return env


def fund_on_chain(pusd: str) -> Action:
    """Mint the funder's starting pUSD on chain and journal the deposit that explains it."""
    def act(system: TradingSystem) -> None:
        from polytraders.contracts import ChainTransfer
        from polytraders.engine.system import WALLET

        env = chain_env_of(system)
        assert system.reconciler is not None
        funder, now = system.reconciler.address, system.clock.now_ms()
        env.fund(funder, Decimal(pusd), now)
        system.runtime.record(ChainTransfer(direction="deposit", item="pusd", amount=Decimal(pusd), address=funder,
                                            reference="starting balance"),
                              actor=WALLET, reason_code="GOV_CHAIN_TRANSFER", durable=True)
        system.story.append(f"deposited {pusd} pUSD on chain ({env.kind}) and journaled the deposit")
    return act


def transfer_behind_back(pusd: str) -> Action:
    """Someone with the funder's key moves pUSD away; nothing is journaled."""
    def act(system: TradingSystem) -> None:
        env = chain_env_of(system)
        assert system.reconciler is not None
        env.transfer_pusd(system.reconciler.address, "0x000000000000000000000000000000000000dEaD", Decimal(pusd),
                          system.clock.now_ms())
        system.story.append(f"{pusd} pUSD left the funder on chain behind the system's back (not journaled)")
    return act


def reconcile_by_hand(system: TradingSystem) -> None:
    """alice explains and adjusts; alice's own approval is refused; bob approves; the reset is still
    refused until a fresh reconcile matches."""
    from polytraders.engine.reconcile_ops import approve_resolution, record_resolution
    from polytraders.state.reconcile import ReconcileProjection

    rt = system.runtime
    rt.journal.flush()
    ledger = rt.state.typed("reconcile", ReconcileProjection)
    record = ledger.record or {}
    trips = [h for h in rt.kill_switch.history if h["trigger"] == "reconcile_mismatch" and h["event"] == "tripped"]
    if not trips:
        system.story.append("no reconcile_mismatch trip to resolve")
        return
    trip_id = trips[-1]["trip_id"]
    incident_id = next((i["incident_id"] for i in system.incidents.incidents.all()
                        if i.get("trip_id") == trip_id), trip_id)
    adjust = {i["item"]: Decimal(str(i["difference"])) for i in record.get("items", [])}
    adjustment_id = record_resolution(rt, _as(system, "alice", "reconcile.resolve"), incident_id,
                                      "pUSD moved out of the funder by a transfer we did not make; funds "
                                      "written off pending investigation", adjust)
    system.story.append(f"alice recorded by-hand reconciliation {adjustment_id} for {incident_id}: "
                        + ", ".join(f"{k} {v:+}" for k, v in adjust.items()))
    for name in ("alice", "bob"):
        try:
            approve_resolution(rt, _as(system, name, "reconcile.approve"), adjustment_id)
            system.story.append(f"{adjustment_id} approved by {name}")
        except RefusedError as refused:
            system.story.append(f"approval by {name} refused: {refused.message}")
    reset_drill(system)


def show_divergence(system: TradingSystem) -> None:
    from polytraders.runtime.kinds import Authority
    from polytraders.state.reconcile import ReconcileProjection

    rt = system.runtime
    for trip in rt.kill_switch.active.values():
        halted = sorted(f"{b.bot_id} ({b.mode.value})" for b in rt.bots.values() if Authority.TRADE in b.authority)
        system.story.append(f"kill switch {trip.trip_id} tripped ({trip.trigger}, scope {trip.label()}); "
                            f"Trade bots now: {', '.join(halted)}")
    record = rt.state.typed("reconcile", ReconcileProjection).record
    if not record:
        system.story.append("no divergence record")
        return
    for item in record.get("items", []):
        system.story.append(
            f"divergence: {item['item']} internal {item['internal']} vs on-chain {item['onchain']} "
            f"(difference {item['difference']}) at block {record['last_block_number']} "
            f"{record['last_block_hash']}, last-applied journal seq {record['last_applied_seq']}")


register(Scenario(
    "reconcile-mismatch",
    "The funder's pUSD is on a chain (anvil when installed, else the in-memory twin) and reconciled "
    "every 30 s. At minute 5, 250 pUSD leave the funder behind the system's back: the reconciler finds "
    "the mismatch, the kill switch halts Trade bots and security is paged. The reset is refused while "
    "unreconciled; alice records a by-hand reconciliation, her own approval is refused, bob approves, "
    "and once a fresh reconcile matches the reset goes through.",
    script=((1, add_crew), (5, transfer_behind_back("250")), (7, show_divergence),
            (8, reset_drill), (9, reconcile_by_hand), (11, reset_drill)),
    bot_overrides={"gov.reconciler": {"tolerance": 50}},
    min_minutes=12,
    expected_trigger="reconcile_mismatch",
    chain=True,
))


# -- config drift ----------------------------------------------------------------------------------

DRIFT_BOT, DRIFT_FIELD = "risk.drawdown_guard", "max_intraday_drawdown_pct"


def _config_repo(system: TradingSystem) -> Any:
    driver = system.config_driver
    assert driver is not None, "the config-drift scenario runs with an approved-config repository"
    return driver.repo


def unauthorised_edit(system: TradingSystem) -> None:
    """alice loosens a guardrail limit live, with no override: the playbook reverts it."""
    from polytraders.config.ops import live_set

    live_set(system.runtime, _as(system, "alice", "config.set"), DRIFT_BOT, DRIFT_FIELD, "8",
             reason="markets are quiet, give the maker more room")
    system.story.append(f"alice edited {DRIFT_BOT}.{DRIFT_FIELD} live to 8 % without approval")


def override_drill(system: TradingSystem) -> None:
    """alice asks for a 5-minute override; alice's own approval is refused, bob's is accepted."""
    from polytraders.config.ops import approve, request_override

    rt, repo = system.runtime, _config_repo(system)
    rt.journal.flush()
    ovr, req = request_override(rt, _as(system, "alice", "config.override"), repo, DRIFT_BOT, DRIFT_FIELD, "6",
                                ttl="5m", reason="a volatile hour ahead; hold 6 % while we review")
    verdict = _config_projection(system).requests[req]["whatif"]["verdict"]
    system.story.append(f"alice asked for override {ovr} ({DRIFT_BOT}.{DRIFT_FIELD} = 6 for 5 min) and opened "
                        f"change request {req} (what-if: {verdict})")
    for name in ("alice", "bob"):
        try:
            approve(rt, _as(system, name, "config.approve"), repo, ovr)
            system.story.append(f"override {ovr} approved by {name}: it holds for 5 minutes")
        except RefusedError as refused:
            system.story.append(f"approval of {ovr} by {name} refused: {refused.message}")


def _config_projection(system: TradingSystem) -> Any:
    from polytraders.config.projection import ConfigProjection

    return system.runtime.state.typed("config", ConfigProjection)


STORY_CODES = ("GOV_CONFIG_DRIFT", "GOV_CONFIG_REVERTED", "GOV_CONFIG_OVERRIDE_EXPIRED", "GOV_CONFIG_DRIFT_RESOLVED")


def config_outcome(system: TradingSystem) -> None:
    """What the detector and the playbook did, from the journal, then where the override ended."""
    from polytraders.replay.window import fmt_utc

    proj = _config_projection(system)
    for event in proj.events:
        if event["code"] in STORY_CODES:
            system.story.append(f"{fmt_utc(event['ts_ms'])} {event['code']}: {event['summary']}")
    system.story.append(f"the approved config is the git repository {_config_repo(system).path} (pass it as --repo "
                        f"to 'polytraders config propose|approve|history')")
    for ovr in proj.overrides.values():
        system.story.append(f"override {ovr['override_id']} is {ovr['status']}; {ovr['bot_id']}.{ovr['field']} "
                            f"runs at {proj.running.get(ovr['bot_id'], {}).get(ovr['field'])} (approved "
                            f"{(proj.approved_values(ovr['bot_id']) or {}).get(ovr['field'])})")


register(Scenario(
    "config-drift",
    "An operator edits a guardrail limit live without approval and the config-drift playbook reverts it; later "
    "the same limit is changed under an override a second operator approved, with a change request and its "
    "what-if evidence open; nobody approves the change, so the override expires and the approved value is "
    "restored.",
    script=((1, add_crew), (2, unauthorised_edit), (4, override_drill), (11, config_outcome)),
    min_minutes=12,
    approved_config=True,
))
