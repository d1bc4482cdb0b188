"""One trading system in one process: journal, projections, bots, venue, OLM, order path.

`TradingSystem.step(now_ms)` is one turn of the event loop: the head check (others' entries and
the halt file), venue events in, market data in, strategy decisions through the order path,
lifecycle housekeeping, then a group commit. Side effects inside a step are preceded by their
durable envelopes (the OLM does that), so a crash at any point loses nothing that was journaled,
and a restart rebuilds every projection from the journal before doing anything.

With the system key the system opens a signed session, so its own entries are accounted for
and its digests vouch for them; `stop` writes a checkpoint and a final digest. When the journal
cannot be written (a full disk), a step does nothing but protect: it still obeys the halt file
and cancels, and journals what it did once it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytraders.bots.exec.order_lifecycle_manager import OrderLifecycleBot, OrderLifecycleManager
from polytraders.bots.exec.smart_router import RouteRequest, SmartRouter
from polytraders.bots.gov.api_degradation_monitor import ApiDegradationMonitor
from polytraders.bots.gov.incident_commander import IncidentCommander
from polytraders.bots.risk.guardrails import GUARDRAILS_IN_ORDER
from polytraders.bots.risk.kill_switch import KillSwitch
from polytraders.bots.sec.checks import SECURITY_CHECKS_IN_ORDER
from polytraders.bots.strat.maker_tight import MakerTight, QuoteRequest
from polytraders.chain.base import ChainReader
from polytraders.contracts import BUILDER_CODE, OrderIntent
from polytraders.contracts.envelope import Actor
from polytraders.engine.api_health import ApiHealthDriver
from polytraders.engine.feed import MarketFeed
from polytraders.engine.pipeline import OrderPath
from polytraders.engine.protect import Guardian
from polytraders.engine.reconcile import ReconcileDriver, block_height
from polytraders.execution.signer_service import SignerService, demo_signer
from polytraders.health import HealthSampler, SampledVenue
from polytraders.health.playbook import ACTIONS as HEALTH_ACTIONS
from polytraders.health.surfaces import probe_all, side_surfaces
from polytraders.incidents.config import Roster
from polytraders.incidents.desk import AlertDesk
from polytraders.incidents.engine import IncidentContext, PlaybookRunner, StepResult
from polytraders.incidents.notifiers import NotifierConfig, build_dispatcher
from polytraders.incidents.snapshot import incidents_dir_for
from polytraders.journal.base import Journal, JournalEntry
from polytraders.journal.signatures import Signer
from polytraders.journal.sqlite import JournalWriteError
from polytraders.runtime.bot import Bot
from polytraders.runtime.clock import Clock, SimClock
from polytraders.runtime.kinds import Mode
from polytraders.runtime.runner import SYSTEM, Runtime
from polytraders.signing.order import OrderSigner
from polytraders.state.markets import MarketsProjection
from polytraders.state.orders import OrdersProjection
from polytraders.state.portfolio import PortfolioProjection
from polytraders.state.standard import build_state
from polytraders.venues.base import Venue

WALLET = Actor(kind="system", id="wallet.sim")


def replay_last_hour(ctx: IncidentContext) -> StepResult:
    """Playbook step: replay the last hour up to now and record the verdict."""
    from polytraders.replay.engine import replay

    ctx.runtime.journal.flush()
    report = replay(ctx.runtime.journal, until_ms=ctx.runtime.clock.now_ms())
    data = report.to_json()
    return StepResult(report.verdict == "GOV_REPLAY_MATCH", f"replay verdict {report.verdict}",
                      {"verdict": report.verdict, "first_divergence": data["first_divergence"],
                       "trips_recorded": len(report.trips_recorded),
                       "votes_compared": report.votes_compared})


def unhandled_trips(rt: Runtime, runner: PlaybookRunner) -> list[JournalEntry]:
    """The entries of active trips that have no incident yet."""
    out = []
    for h in rt.kill_switch.history:
        if h["event"] == "tripped" and h["trip_id"] in rt.kill_switch.active:
            entry = next(iter(rt.journal.read(h["seq"], h["seq"])), None)
            if entry is not None and runner.incidents.get(runner.incident_id_for(entry)) is None:
                out.append(entry)
    return out


@dataclass
class SystemConfig:
    seed: int
    n_markets: int
    start_ms: int
    initial_pusd: Decimal = Decimal(10_000)
    quote_every_ms: int = 10_000
    bot_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    strategy_mode: Mode = Mode.ENFORCED
    roster: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "risk": ("alice", "bob"), "trading_ops": ("alice",), "security": ("bob",), "governance": ("bob",)})
    notifiers: NotifierConfig | None = None  # default: a file channel in <db>.incidents/
    snapshots_dir: Path | None = None  # default: <db>.incidents/
    system_signer: Signer | None = None  # signs the session and digests; None for bare test journals
    halt_path: Path | None = None
    digest_interval_ms: int = 60_000  # in event time; sim minutes pass in milliseconds of CPU
    clock: Clock | None = None  # default: simulated time from start_ms; the live runtime passes wall time
    wallet: OrderSigner | None = None  # default: the demo's seed-derived throwaway key (simulation only)
    wallet_source: str = "sim"  # where the starting balance comes from, as journaled
    api_monitor: bool = False  # sample every venue call and run the API degradation monitor and playbook
    maker: str | None = None  # the funding address orders are made for (proxy / deposit wallets)
    signature_type: int = 0  # CLOB V2 signature type: 0 EOA, 1 proxy, 2 Gnosis safe, 3 deposit wallet (1271)
    builder_code: str | None = None  # default: the pinned builder code
    # Optional on-chain reconciliation (gov.reconciler): the reader and the funder it reads.
    chain_reader: ChainReader | None = None
    funder_address: str | None = None
    # The approved-config repository (config/driver.py): bots start on its values and the drift
    # detector watches them. `approved_config_create`: simulation only, the system creates it.
    approved_config: Path | None = None
    approved_config_create: bool = False
    chain_reads_off_loop: bool = False  # the live runtime: a hung node never stalls a step




class TradingSystem:
    def __init__(self, journal: Journal, venue: Venue, config: SystemConfig) -> None:
        self.config = config
        self.clock: Clock = config.clock or SimClock(config.start_ms)
        self.state = build_state()
        self.runtime = Runtime(journal, self.clock, self.state, system_signer=config.system_signer,
                               digest_interval_ms=config.digest_interval_ms)
        self.runtime.halt_path = config.halt_path
        journal.defer_wal_checkpoints()  # taken at each step's end, never inside a trip's commit
        self.state.rebuild(journal)  # a restart resumes from the journal
        if config.system_signer is not None:
            self.runtime.open_session(seed=config.seed, markets=config.n_markets)
        self.journal_unwritable: str | None = None
        self.sampler: HealthSampler | None = None
        if config.api_monitor:
            self.sampler = HealthSampler()
            venue = SampledVenue(venue, self.sampler, self.clock.now_ms)
        self.venue = venue
        self.feed = MarketFeed(self.runtime, venue)
        rt = self.runtime

        wallet = config.wallet or demo_signer(config.seed)
        # a copy: the caller's config is never changed
        overrides = {k: dict(v) for k, v in config.bot_overrides.items()}
        overrides.setdefault("sec.wallet_permission_guard", {}).setdefault("allowed_wallets", (wallet.address,))

        approved = None
        version = "1"
        if config.approved_config is not None:
            from polytraders.config.driver import read_at_start

            approved = read_at_start(rt, config.approved_config, create=config.approved_config_create)
            overrides, version = approved.merge(overrides), approved.version

        def add(bot: Bot[Any, Any], mode: Mode = Mode.ENFORCED) -> Any:
            return rt.add_bot(bot, overrides.get(bot.bot_id), mode=mode, config_version=version)

        self.kill_switch = add(KillSwitch())
        self.guardrails = [add(cls()) for cls in GUARDRAILS_IN_ORDER]
        self.router = add(SmartRouter())
        self.security = [add(cls()) for cls in SECURITY_CHECKS_IN_ORDER]
        self.strategy: MakerTight = add(MakerTight(), config.strategy_mode)
        self.signer = SignerService(wallet, maker=config.maker or wallet.address, signature_type=config.signature_type,
                                    builder_code=config.builder_code or BUILDER_CODE)
        self.olm = OrderLifecycleManager(rt, venue, add(OrderLifecycleBot()))
        incidents_dir = config.snapshots_dir or incidents_dir_for(journal)  # <db>.incidents/: one per journal
        notifiers = config.notifiers or NotifierConfig(channel_path=incidents_dir_for(journal) / "channel.jsonl")
        self.commander: IncidentCommander = add(IncidentCommander())
        self.monitor: ApiDegradationMonitor | None = add(ApiDegradationMonitor()) if config.api_monitor else None
        if self.monitor is not None and isinstance(self.venue, SampledVenue):
            self.venue.max_book_age_ms = self.monitor.config.integer("max_orderbook_age_ms")
        reader, self.probes = side_surfaces(self.monitor, self.sampler, self.venue, config.chain_reader,
                                            self.clock.now_ms)
        self.incidents = PlaybookRunner(
            rt, {"replay": self._replay_action, **HEALTH_ACTIONS}, build_dispatcher(notifiers),
            Roster(config.roster), snapshots_dir=incidents_dir,
            chain_reader=(lambda: block_height(reader)) if reader is not None else None,
            params={"olm": self.olm, "max_orderbook_age_ms": self.monitor.config.integer("max_orderbook_age_ms")
                    if self.monitor is not None else 5_000,
                    "can_wait": True, "inflight_wait_s": self.commander.config.integer("inflight_wait_s")})
        self.desk = AlertDesk(rt, self.incidents, self.commander)  # every alert: confirm, then playbook
        self.api_health = (ApiHealthDriver(rt, self.monitor, self.sampler, self.incidents,
                                           probe=probe_all(getattr(self.venue, "probe", None), self.probes),
                                           desk=self.desk)
                           if self.monitor is not None and self.sampler is not None else None)
        self.guardian = Guardian(rt, self.kill_switch, self.olm, after_trip=self.desk.on_trip)
        # trips made while no system ran (or before a crash) still get their incident
        self.guardian.pending_trips.extend(unhandled_trips(rt, self.incidents))
        self.path = OrderPath(rt, kill_switch=self.kill_switch, guardrails=self.guardrails,
                              router=self.router, security=self.security, signer=self.signer,
                              olm=self.olm, route_request=RouteRequest)
        self.reconciler = (ReconcileDriver(rt, reader, config.funder_address or wallet.address,
                                           overrides=overrides.get("gov.reconciler"),
                                           rpc_lagging=getattr(reader, "lagging", None),
                                           off_loop=config.chain_reads_off_loop)
                           if reader is not None else None)
        self.config_driver = None
        if approved is not None:
            from polytraders.bots.gov.config_drift_detector import ConfigDriftDetector
            from polytraders.config.driver import ConfigDriftDriver

            self.config_driver = ConfigDriftDriver(rt, approved, add(ConfigDriftDetector()), self.incidents)
        self._next_quote: dict[str, int] = {}
        self.story: list[str] = []  # plain-English notes of scripted operator actions

    def start(self, *, feed: str = "synthetic") -> None:
        rt = self.runtime
        rt.note("GOV_RUN_STARTED", feed=feed, seed=self.config.seed, markets=self.config.n_markets,
                durable=True)
        rt.note("GOV_WALLET_BALANCE", actor=WALLET, pusd=str(self.config.initial_pusd),
                source=self.config.wallet_source)
        start = self.clock.now_ms()
        for i, info in enumerate(self.venue.markets()):
            # stagger quoting so markets do not all re-quote in the same second
            self._next_quote[info.condition_id] = start + (i * 997) % max(1, self.config.quote_every_ms)

    @property
    def markets(self) -> MarketsProjection:
        return self.state.typed("markets", MarketsProjection)

    @property
    def portfolio(self) -> PortfolioProjection:
        return self.state.typed("portfolio", PortfolioProjection)

    @property
    def orders(self) -> OrdersProjection:
        return self.state.typed("orders", OrdersProjection)

    def step(self, now_ms: int) -> None:
        if isinstance(self.clock, SimClock):
            self.clock.advance_to(now_ms)
        try:
            self._step(now_ms)
            self.journal_unwritable = None
        except JournalWriteError as exc:
            # Nothing may be sent without its envelope, so this step stops here; protection
            # (the halt file, cancels) still runs at the start of every step.
            self.runtime.recover_from_write_failure()
            if self.journal_unwritable is None:
                self.olm.request_reconcile()  # venue events consumed in the lost batch: ask the venue
            self.journal_unwritable = exc.message

    def _step(self, now_ms: int) -> None:
        self.runtime.sync()  # operator commands, trips and resets from other processes; the halt file
        self.guardian.act()
        self.olm.on_venue_events(self.venue.advance(now_ms))
        self.guardian.act()
        self.feed.poll(now_ms)
        self.guardian.act()
        self._quote(now_ms)
        self.olm.tick(now_ms)
        if self.config_driver is not None:
            self.config_driver.tick(now_ms)  # startup, deploys, config envelopes, the interval
        if self.api_health is not None:
            self.api_health.tick(now_ms)
        self.guardian.act()
        if self.reconciler is not None and self.reconciler.maybe_run(now_ms) is not None:
            self.guardian.act()  # a mismatch trips the switch: protect before anything else
        self.desk.tick(now_ms)
        self.incidents.tick(now_ms)
        self.runtime.digest_if_due()
        self.runtime.journal.flush()
        self.runtime.journal.checkpoint_if_due()

    def _quote(self, now_ms: int) -> None:
        for info in self.venue.markets():
            due = self._next_quote.get(info.condition_id)
            if due is None or now_ms < due:
                continue
            self._next_quote[info.condition_id] = now_ms + self.config.quote_every_ms
            market = self.markets.market(info.condition_id)
            if market is None or market.status != "open":
                continue
            if self.strategy.mode is Mode.OFF:
                return
            book = self.markets.book(info.yes_token)
            held = self.portfolio.position_size(info.yes_token)
            for side in ("BUY", "SELL"):
                resting = self._resting_quote(info.yes_token, side)
                request = QuoteRequest(market=market, book=book, side=side, position_size=held,
                                       open_quote=(resting.price, resting.size) if resting else None)
                out = self.runtime.decide(self.strategy, request)
                intent = out.effective
                if not isinstance(intent, OrderIntent):
                    continue
                if resting is not None:
                    self.olm.cancel(resting.client_order_id)
                self.path.process(intent)

    def _resting_quote(self, token_id: str, side: str) -> Any:
        for order in self.orders.open_orders_for(token_id):  # this token's, not every market's
            if order.side == side and order.strategy_id == self.strategy.bot_id:
                return order
        return None

    def _replay_action(self, ctx: IncidentContext) -> StepResult:
        return replay_last_hour(ctx)

    def stop(self) -> None:
        if self.probes is not None:
            self.probes.close()
        self.runtime.sync()
        self.guardian.settle()
        self.runtime.note("GOV_RUN_STOPPED", durable=True)
        self.runtime.record(self.state.checkpoint_contract(), actor=SYSTEM,
                            reason_code="GOV_CHECKPOINT", durable=True)
        self.runtime.write_digest(final=True)

