"""`polytraders run`: the live runtime, on a live journal made by `polytraders init`.

It refuses a simulation journal, a second `run` on the same journal, an operator key whose role
may not run the system, and a system key that is not the journal's. Settings come from
`polytraders.toml` (see `polytraders/settings.py`); keys come from the environment or files it
names, never from the command line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from polytraders.cli.common import DbOpt, JsonOpt, console, err_console, friendly, print_json
from polytraders.errors import BadInputError, ConfigError, RefusedError
from polytraders.venues.base import VenueError


def _run_lock(db: Path) -> int:
    """One running system per journal: an exclusive flock on `<db>.run.lock`, held for the run."""
    from polytraders.engine.live import take_run_lock

    fd = take_run_lock(db)
    if fd is None:
        raise RefusedError(f"Another 'polytraders run' is already running on {db} (or, for a moment, an "
                           f"operator's command running a playbook because none was).")
    return fd


PAPER_NOTE = ("paper mode: no wallet key was loaded and no order was sent to the exchange; orders, fills and "
              "the bankroll live only in this journal")

SIGNATURE_TYPES = {"EOA": 0, "POLY_PROXY": 1, "POLY_GNOSIS_SAFE": 2, "POLY_1271": 3}


def _adapter_config(settings: Any) -> Any:
    from polytraders.venues.polymarket import PolymarketConfig

    v, k = settings.venue, settings.keys
    extra: dict[str, Any] = {"builder_code": v.builder_code} if v.builder_code else {}
    return PolymarketConfig(clob_url=v.clob_url, ws_url=v.ws_url, gamma_url=v.gamma_url, data_url=v.data_url,
                            signature_type=SIGNATURE_TYPES[v.signature_type], funder=v.funder or None,
                            key_env=k.wallet_key_env, keystore_path=Path(k.keystore) if k.keystore else None,
                            keystore_passphrase_env=k.keystore_passphrase_env, markets=tuple(settings.markets.ids),
                            **extra)


def _remembered(journal: Any) -> list[Any]:
    """Orders the journal holds open or in flight, so a restarted adapter knows their client ids."""
    from polytraders.state.orders import OrdersProjection
    from polytraders.state.standard import build_state

    state = build_state()
    state.rebuild(journal)
    orders = state.typed("orders", OrdersProjection)
    return [(o.venue_order_id, o.client_order_id, o.token_id, o.side, o.price, o.size)
            for o in (*orders.open_orders(), *orders.in_flight()) if o.venue_order_id]


def _paper_venue(settings: Any) -> Any:
    """Polymarket's public market data with our orders matched locally: no key is loaded."""
    from polytraders.venues.polymarket import PaperConfig, connect_paper

    v = settings.venue
    config = PaperConfig(clob_url=v.clob_url, ws_url=v.ws_url, gamma_url=v.gamma_url,
                         markets=tuple(settings.markets.ids), max_markets=settings.markets.max)
    try:
        return connect_paper(config)
    except VenueError as exc:
        raise RefusedError(f"Paper mode cannot read market data from {v.clob_url}: {exc}.") from None


def _venue(settings: Any, now_ms: int, journal: Any, paper: bool = False) -> tuple[Any, str, Any]:
    """The venue, its name, and the order-signing key: one key, loaded once, for the adapter's
    API credentials and for our order signatures (a throwaway key on the simulator and on paper,
    where orders never leave the process)."""
    from polytraders.signing.order import OrderSigner

    if paper:
        from polytraders.execution.signer_service import demo_signer

        return _paper_venue(settings), "paper", demo_signer(settings.run.sim_seed)
    if settings.venue.kind == "sim":
        from polytraders.execution.signer_service import demo_signer
        from polytraders.venues.sim import SimVenue

        return (SimVenue(settings.run.sim_seed, settings.run.sim_markets, now_ms), "sim",
                demo_signer(settings.run.sim_seed))
    from polytraders.venues.polymarket import KeyLoadError, connect, load_key

    config = _adapter_config(settings)
    try:
        key = load_key(config)
    except KeyLoadError as exc:
        raise ConfigError(f"Cannot load the order-signing key: {exc}") from None
    wallet = OrderSigner(bytes.fromhex(key.reveal().removeprefix("0x")))
    return connect(config, key, remembered=_remembered(journal)), "polymarket", wallet


def _approved_config(settings: Any, source: Path | None) -> Path | None:
    """The approved-config repository when one is configured ([approved_config] in the settings)
    or exists at the default path; None runs on the settings' [bots] alone, with no detector."""
    from polytraders.settings import relative_to

    path = relative_to(source, settings.approved_config.path)
    return path if "approved_config" in settings.model_fields_set or path.exists() else None


@friendly
def run(
    config: Annotated[Path | None, typer.Option("--config", help="Settings file (default ./polytraders.toml).")]
    = None,
    db: DbOpt = None,
    venue: Annotated[str | None, typer.Option("--venue", help="polymarket | sim (overrides the settings).")] = None,
    duration: Annotated[float | None, typer.Option("--duration", min=0.1, help="Stop after this many seconds "
                                                   "(rehearsals, tests); default: run until SIGTERM.")] = None,
    paper: Annotated[bool, typer.Option("--paper", help="Real market data from the venue's public feed, orders "
                                        "matched locally against it; no wallet key, nothing sent to the "
                                        "exchange (also [venue] paper = true).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the trading system for real on the wall clock (signed with $POLYTRADERS_KEY_FILE, an
    operator or admin; the system key from system_key_file in the keys table, or <db>.keys/system.key)."""
    from polytraders.engine.kill_switch_ops import halt_path
    from polytraders.engine.live import LiveOptions, LiveRunner
    from polytraders.engine.system import SystemConfig, TradingSystem
    from polytraders.journal.sqlite import open_journal, resolve_db_path
    from polytraders.operators.auth import authenticate
    from polytraders.operators.keys import key_from_env, load_key_file
    from polytraders.runtime.clock import StepClock
    from polytraders.settings import load_settings, relative_to
    from polytraders.state.store import StateStore

    settings, incidents, source = load_settings(config)
    if venue is not None:
        if venue not in ("polymarket", "sim"):
            raise ConfigError(f"--venue {venue!r}: expected polymarket or sim.")
        settings = settings.model_copy(update={"venue": settings.venue.model_copy(update={"kind": venue})})
    paper = paper or settings.venue.paper
    if paper and settings.venue.kind == "sim":
        raise BadInputError("Paper mode trades on the venue's real market data, and the simulator (venue kind "
                          "'sim') has none; use --venue polymarket with --paper, or the simulator without it.")
    path = resolve_db_path(db)
    operator_key = key_from_env()
    journal = open_journal(path, lock_timeout_s=1.0)
    lock_fd = None
    try:
        if journal.mode != "live":
            raise RefusedError(f"{path} is a {journal.mode} journal; 'run' uses only live journals. Make one with "
                               f"'polytraders init --admin NAME --admin NAME'.")
        lock_fd = _run_lock(path)
        trust = StateStore()
        trust.load_trust(journal)
        operator = authenticate(trust.trust, operator_key, "run")
        system_file = (relative_to(source, settings.keys.system_key_file) if settings.keys.system_key_file
                       else Path(str(path) + ".keys") / "system.key")
        system_key = load_key_file(system_file)
        if system_key.public_hex != trust.trust.system_key:
            raise RefusedError(f"{system_file} is not this journal's system key.")
        clock = StepClock()
        the_venue, feed, wallet = _venue(settings, clock.now_ms(), journal, paper)
        chain_reader = None
        if settings.chain.rpc_url and not paper:  # paper holdings are not on chain: nothing to reconcile
            from polytraders.chain.rpc import RpcChainReader

            chain_reader = RpcChainReader(settings.chain.rpc_url, settings.chain.pusd, settings.chain.ctf,
                                          confirmations=settings.chain.confirmations)
        bots = {k: dict(v) for k, v in settings.bots.items()}
        from polytraders.health.surfaces import configured_surfaces

        # only the surfaces this deployment uses count (the user channel, Gamma, Data API, chain RPC)
        bots.setdefault("gov.api_degradation_monitor", {}).setdefault("surfaces", configured_surfaces(
            feed, gamma_url=settings.venue.gamma_url, data_url=settings.venue.data_url,
            rpc_url=settings.chain.rpc_url if chain_reader is not None else ""))
        system = TradingSystem(journal, the_venue, SystemConfig(
            seed=settings.run.sim_seed, n_markets=len(the_venue.markets()), start_ms=clock.now_ms(), clock=clock,
            wallet=wallet, system_signer=system_key.signer, halt_path=halt_path(path),
            initial_pusd=settings.run.starting_pusd, wallet_source=f"settings ({feed})",
            notifiers=(per_journal := incidents.for_journal(path)).notifiers, snapshots_dir=per_journal.snapshots_dir,
            roster=dict(incidents.roster.oncall), digest_interval_ms=10_000, chain_reads_off_loop=True,
            api_monitor=settings.monitor.api, chain_reader=chain_reader, bot_overrides=bots,
            funder_address=settings.chain.funder or None, maker=settings.venue.funder or None,
            signature_type=SIGNATURE_TYPES[settings.venue.signature_type],
            builder_code=settings.venue.builder_code or None, approved_config=_approved_config(settings, source)))
        if paper:
            from polytraders.engine.paper import paper_cash

            system.config.initial_pusd = paper_cash(system, settings.run.starting_pusd)
            system.config.wallet_source = "paper bankroll"
        system.runtime.note("GOV_RUN_STARTED", durable=True, operator=operator.name,
                            venue="polymarket" if paper else feed, paper=paper,
                            settings=str(source) if source else "defaults", pid=os.getpid())
        tty = sys.stderr.isatty() and not as_json

        def status(snap: dict[str, Any]) -> None:
            if tty:
                label = "run (paper)" if paper else "run"
                err_console.print(f"[dim]{label}[/dim] step {snap['steps']} · kill switch {snap['kill_switch']} · "
                                  f"{snap['open_orders']} open orders · equity {snap['equity_pusd']} pUSD · "
                                  f"journal #{snap['journal_seq']}", highlight=False)
            else:
                sys.stderr.write(json.dumps({"event": "status", "paper": paper, **snap}, default=str) + "\n")

        runner = LiveRunner(system, LiveOptions(step_ms=settings.run.step_ms, on_exit=settings.run.on_exit,
                                                duration_s=duration, feed=feed), status)
        runner.install_signal_handlers()
        try:
            report = runner.run()
        finally:
            close = getattr(the_venue, "close", None)
            if close is not None:
                close()  # leaves resting orders; the report says what happened to them
    finally:
        journal.close()
        if lock_fd is not None:
            os.close(lock_fd)
    venue_name = "polymarket" if paper else feed
    data = {"db": str(path), "venue": venue_name, "paper": paper, "operator": operator.name, **report.to_json()}
    if paper:
        data["notes"] = [*data["notes"], PAPER_NOTE]
    if as_json:
        print_json(data)
        return
    where = f"{venue_name} (paper: market data only, orders matched locally)" if paper else feed
    console.print(f"Stopped ({report.stop_reason}) after {report.steps} steps on {where}.", markup=False)
    if paper:
        console.print(f"- {PAPER_NOTE}", markup=False)
    for line in report.notes:
        console.print(f"- {line}", markup=False)
