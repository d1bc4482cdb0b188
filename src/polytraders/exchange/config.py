"""Configuration of the local exchange (one frozen object, built by the CLI or by tests)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from polytraders.signing.constants import POLYGON_CHAIN_ID


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    """Everything ``create_app`` needs.  Times are milliseconds unless the name says seconds.

    ``sim_time``: the exchange clock starts at ``start_ms`` and moves only through the admin
    time endpoint (the HMAC timestamp window always uses the wall clock).
    ``heartbeat_timeout_ms`` + ``heartbeat_buffer_ms``: the dead-man rule; a key that started
    heartbeats and then sends none for that long has its orders cancelled.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 7
    markets: int = 8
    starting_balance: Decimal = Decimal(10_000)
    chain_id: int = POLYGON_CHAIN_ID
    sim_time: bool = False
    start_ms: int | None = None  # simulated time starts here (default: the wall clock at start)
    heartbeat_timeout_ms: int = 10_000
    heartbeat_buffer_ms: int = 5_000
    auth_window_s: int = 30
    ws_idle_timeout_ms: int = 15_000
    order_limit: int = 0  # per-signer POST /order(s) tokens per 10 s (0: unlimited)
    cancel_limit: int = 0  # per-signer cancel tokens per 10 s (0: unlimited)
    tick_interval_ms: int = 100
    step_ms: int = 1_000
    markets_page_size: int = 100
    orders_page_size: int = 100
    taker_delay_ms: int = 250
    background: bool = True
    gamma_base: str = "/gamma"
    data_base: str = "/data-api"
    server_secret: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.host not in ("127.0.0.1", "localhost", "::1") and not self.host.startswith("127."):
            raise ValueError(f"host={self.host!r}: the local exchange only binds loopback addresses")
        if self.starting_balance < 0:
            raise ValueError("starting_balance must be >= 0")
        if not self.server_secret:
            # Deterministic per seed so derived API credentials survive a restart.
            secret = hashlib.sha256(f"polytraders-exchange/{self.seed}".encode()).digest()
            object.__setattr__(self, "server_secret", secret)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
