"""Configuration of the Polymarket adapter, and the signing key loaded at the edge.

``PolymarketConfig`` is frozen and holds *references* to secrets (an environment variable name,
a keystore path), never the secrets.  ``load_key`` resolves the reference into a
``PrivateKey``, whose ``repr``/``str`` show only the address and which cannot be pickled, so a
key never reaches a log line, an envelope or an error by accident.

Fields:
- ``clob_url``, ``ws_url`` (``/market`` and ``/user`` are appended), ``gamma_url``, ``data_url``:
  base URLs; point all four at ``polytraders exchange serve`` for a rehearsal (its Gamma and
  Data API live under ``/gamma`` and ``/data-api``).
- ``chain_id`` 137 (Polygon) or 80002 (Amoy); ``signature_type`` 0 EOA, 1 proxy, 2 Safe,
  3 deposit wallet (POLY_1271); ``funder`` the address holding the funds (default: the key's).
- ``builder_code``: bytes32 attached to every order (configuration, not a constant).
- ``key_env`` / ``keystore_path`` + ``keystore_passphrase_env``: where the signing key is.
- ``markets``: condition ids to trade and watch (empty: every market the CLOB lists).
- Timing (seconds): ``heartbeat_interval_s`` (5), ``heartbeat_deadline_s`` (15: the exchange
  cancels our orders when no heartbeat arrives this long), ``reconcile_interval_s``,
  ``ws_ping_interval_s`` (10), ``ws_reconnect_max_s``, ``request_timeout_s``, ``stale_feed_s``
  (a book the market channel was silent about this long is checked against REST ``/book``),
  ``markets_refresh_s`` (market statuses are re-read this often),
  ``retry_budget_s`` (the longest a call may block retrying 425/429 before it gives up).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from eth_account import Account
from pydantic import BaseModel, ConfigDict, Field, field_validator

from polytraders.signing.constants import BUILDER_CODE, POLYGON_CHAIN_ID, SUPPORTED_CHAIN_IDS

__all__ = ["KeyLoadError", "MarketDataConfig", "PolymarketConfig", "PrivateKey", "load_key"]

_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class MarketDataConfig(BaseModel):
    """Where public market data comes from and how its feeds are kept fresh: what the real
    adapter and the paper venue share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clob_url: str = "https://clob.polymarket.com"
    ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws"
    gamma_url: str = "https://gamma-api.polymarket.com"
    markets: tuple[str, ...] = ()
    ws_ping_interval_s: float = Field(default=10.0, gt=0)
    ws_reconnect_max_s: float = Field(default=30.0, gt=0)
    stale_feed_s: float = Field(default=30.0, gt=0)
    markets_refresh_s: float = Field(default=60.0, gt=0)
    request_timeout_s: float = Field(default=5.0, gt=0)
    retry_budget_s: float = Field(default=1.0, ge=0)

    @field_validator("clob_url", "ws_url", "gamma_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.rstrip("/")


class PolymarketConfig(MarketDataConfig):
    """See the module docstring for each field."""

    data_url: str = "https://data-api.polymarket.com"
    chain_id: int = POLYGON_CHAIN_ID
    signature_type: int = Field(default=0, ge=0, le=3)
    funder: str | None = None
    builder_code: str = BUILDER_CODE
    key_env: str | None = "POLYTRADERS_PRIVATE_KEY"
    keystore_path: Path | None = None
    keystore_passphrase_env: str = "POLYTRADERS_KEYSTORE_PASSPHRASE"
    api_nonce: int = Field(default=0, ge=0)
    heartbeat_interval_s: float = Field(default=5.0, gt=0)
    heartbeat_deadline_s: float = Field(default=15.0, gt=0)
    reconcile_interval_s: float = Field(default=10.0, gt=0)

    @field_validator("data_url")
    @classmethod
    def _strip_data(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("chain_id")
    @classmethod
    def _chain(cls, value: int) -> int:
        if value not in SUPPORTED_CHAIN_IDS:
            raise ValueError(f"chain_id must be one of {sorted(SUPPORTED_CHAIN_IDS)}")
        return value

    @field_validator("builder_code")
    @classmethod
    def _builder(cls, value: str) -> str:
        if not _BYTES32.fullmatch(value) or int(value, 16) == 0:
            raise ValueError("builder_code must be a non-zero 0x bytes32 hex string")
        return value.lower()

    @field_validator("funder")
    @classmethod
    def _funder(cls, value: str | None) -> str | None:
        if value is not None and not _ADDRESS.fullmatch(value):
            raise ValueError("funder must be a 0x 20-byte hex address")
        return value

    @classmethod
    def for_local_exchange(cls, url: str, **overrides: Any) -> PolymarketConfig:
        """Every base URL on one ``polytraders exchange serve`` (the rehearsal setup)."""
        base = url.rstrip("/")
        ws = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return cls(clob_url=base, ws_url=f"{ws}/ws", gamma_url=f"{base}/gamma", data_url=f"{base}/data-api",
                   **overrides)


class KeyLoadError(Exception):
    """The signing key could not be loaded.  The message names the reference, never the key."""


class PrivateKey:
    """A secp256k1 signing key.  ``repr``/``str`` show the address only; not picklable."""

    __slots__ = ("__hex", "address")

    def __init__(self, hex_key: str) -> None:
        try:
            address = str(Account.from_key(hex_key).address)
        except Exception:
            address = ""
        if not address:
            # Raised outside the handler: the underlying error may quote the key material.
            raise KeyLoadError("the signing key is malformed (value withheld)")
        self.__hex = hex_key if hex_key.startswith("0x") else "0x" + hex_key
        self.address = address

    def reveal(self) -> str:
        """The 0x hex key, for the official client's signer only."""
        return self.__hex

    def __repr__(self) -> str:
        return f"PrivateKey(address={self.address})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("PrivateKey cannot be pickled or copied")


def load_key(config: PolymarketConfig, env: Mapping[str, str] | None = None) -> PrivateKey:
    """The signing key from the keystore (when ``keystore_path`` is set) or from ``key_env``."""
    environ = os.environ if env is None else env
    if config.keystore_path is not None:
        passphrase = environ.get(config.keystore_passphrase_env)
        if passphrase is None:
            raise KeyLoadError(f"keystore passphrase variable {config.keystore_passphrase_env} is not set")
        try:
            blob = json.loads(Path(config.keystore_path).read_text())
        except (OSError, ValueError):
            raise KeyLoadError(f"keystore {config.keystore_path} is unreadable or not JSON") from None
        raw: bytes | None
        try:
            raw = bytes(Account.decrypt(blob, passphrase))
        except Exception:
            raw = None
        if raw is None:
            raise KeyLoadError(f"keystore {config.keystore_path} did not decrypt with that passphrase")
        return PrivateKey("0x" + raw.hex())
    if config.key_env is None:
        raise KeyLoadError("no key reference: set key_env or keystore_path")
    value = environ.get(config.key_env)
    if not value:
        raise KeyLoadError(f"environment variable {config.key_env} is not set")
    return PrivateKey(value.strip())
