"""`polytraders exchange serve`: run the local Polymarket-compatible exchange on loopback."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Annotated

import typer

app = typer.Typer(help="A local Polymarket-compatible exchange (CLOB V2 REST + WebSockets).", no_args_is_help=True)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8080,
    seed: Annotated[int, typer.Option(help="Seed for markets, flow and credentials.")] = 7,
    markets: Annotated[int, typer.Option(min=1, max=200, help="Synthetic markets.")] = 8,
    starting_balance: Annotated[str, typer.Option("--starting-balance",
                                                  help="pUSD credited to every new address (0: fund via admin).")]
    = "10000",
    sim_time: Annotated[bool, typer.Option("--sim-time", help="Simulated clock, advanced by POST /admin/time/advance.")]
    = False,
    heartbeat_timeout_ms: Annotated[int, typer.Option(min=1, help="Dead-man timeout.")] = 10_000,
    heartbeat_buffer_ms: Annotated[int, typer.Option(min=0, help="Dead-man buffer.")] = 5_000,
    taker_delay_ms: Annotated[int, typer.Option(min=0, help="Taker delay on sports markets (0: none).")] = 250,
    ws_idle_timeout_ms: Annotated[int, typer.Option(min=100, help="Close WebSockets silent this long.")] = 15_000,
    order_limit: Annotated[int, typer.Option(min=0, help="Per-signer order posts per 10 s (0: unlimited).")] = 0,
    cancel_limit: Annotated[int, typer.Option(min=0, help="Per-signer cancels per 10 s (0: unlimited).")] = 0,
    no_background: Annotated[bool, typer.Option("--no-background", help="No synthetic liquidity or flow.")] = False,
    markets_page_size: Annotated[int, typer.Option(min=1, help="Rows per /markets page.")] = 100,
    gamma_base: Annotated[str, typer.Option(help="Base path of the Gamma API.")] = "/gamma",
    data_base: Annotated[str, typer.Option(help="Base path of the Data API.")] = "/data-api",
    faults: Annotated[str | None, typer.Option(help="Faults at start, as JSON in the POST /admin/faults shape, "
                                               'e.g. \'{"latency_ms": {"trading": 50}}\'.')] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    chain: Annotated[str | None, typer.Option("--chain", help="Loopback JSON-RPC node (anvil --chain-id 137): deploy "
                                              "the stand-in pUSD and conditional tokens there, mint starting "
                                              "balances on chain and settle trades on chain at MINED.")] = None,
) -> None:
    """Serve until interrupted.  Prints the URL first (tests wait for it)."""
    import socket

    import uvicorn

    from polytraders.exchange.admin import apply_faults
    from polytraders.exchange.app import create_app
    from polytraders.exchange.config import ExchangeConfig
    from polytraders.exchange.context import Ctx
    from polytraders.exchange.errors import ApiError

    try:
        cfg = ExchangeConfig(
            host=host, port=port, seed=seed, markets=markets, starting_balance=Decimal(starting_balance),
            sim_time=sim_time, heartbeat_timeout_ms=heartbeat_timeout_ms, heartbeat_buffer_ms=heartbeat_buffer_ms,
            taker_delay_ms=taker_delay_ms, ws_idle_timeout_ms=ws_idle_timeout_ms, background=not no_background,
            markets_page_size=markets_page_size, order_limit=order_limit, cancel_limit=cancel_limit,
            gamma_base=gamma_base, data_base=data_base,
        )
    except (ValueError, ArithmeticError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only turns Nagle off on sockets that say they are TCP,
    # and with Nagle on, a response written in two pieces waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        typer.echo(f"Error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    bound = sock.getsockname()[1]
    from dataclasses import replace

    cfg = replace(cfg, port=bound)
    ctx = Ctx.build(cfg)
    settlement = None
    if chain:
        from polytraders.exchange.chain import ChainSettlement

        try:
            settlement = ChainSettlement(chain)
        except Exception as exc:
            typer.echo(f"Error: --chain {chain}: {type(exc).__name__}: {str(exc)[:300]}", err=True)
            raise typer.Exit(2) from None
        ctx.engine.ledger.chain = settlement
    if faults:
        try:
            spec = json.loads(faults)
            if not isinstance(spec, dict):
                raise ValueError("expected a JSON object")
            apply_faults(ctx, spec)
        except (ValueError, TypeError, KeyError, ApiError) as exc:
            typer.echo(f"Error: --faults: {exc}", err=True)
            raise typer.Exit(2) from None
    server = uvicorn.Server(uvicorn.Config(create_app(cfg, ctx), log_level=log_level, ws="websockets-sansio",
                                           lifespan="on", access_log=False))
    print(cfg.url, flush=True)
    print(f"gamma: {cfg.url}{cfg.gamma_base}  data: {cfg.url}{cfg.data_base}  "
          f"ws: ws://{host}:{bound}/ws/market, /ws/user", flush=True)
    if settlement is not None:
        print(f"chain: {chain}  pusd: {settlement.pusd}  ctf: {settlement.ctf}  rpc-with-faults: {cfg.url}/rpc",
              flush=True)
        print(f"export POLYTRADERS_RPC_URL={chain} POLYTRADERS_PUSD={settlement.pusd} "
              f"POLYTRADERS_CTF={settlement.ctf}", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # pragma: no cover - uvicorn handles SIGINT itself
        sys.exit(0)
