"""`polytraders.toml`: the live runtime's settings, never its secrets.

    [venue]
    kind = "polymarket"          # polymarket | sim (the in-process simulator, for a rehearsal)
    paper = false                # real market data, orders matched locally against that book
                                 # (`run --paper`): no wallet key, nothing sent to the exchange
    clob_url = "https://clob.polymarket.com"
    ws_url = "wss://ws-subscriptions-clob.polymarket.com/ws"
    gamma_url = "https://gamma-api.polymarket.com"
    data_url = "https://data-api.polymarket.com"
    signature_type = "EOA"       # EOA | POLY_PROXY | POLY_GNOSIS_SAFE | POLY_1271
    funder = ""                  # the funding address for proxy / deposit wallets
    builder_code = ""            # empty: the pinned default

    [keys]                       # references to keys, never keys
    wallet_key_env = "POLYTRADERS_WALLET_KEY"        # env var holding the order-signing key
    keystore = ""                                    # or an eth-account keystore JSON file
    keystore_passphrase_env = "POLYTRADERS_KEYSTORE_PASSPHRASE"
    system_key_file = ""                             # default <db>.keys/system.key

    [markets]
    ids = []                     # condition ids; empty = the first `max` the venue lists
    max = 10

    [run]
    step_ms = 250                # one turn of the loop; others' commands are obeyed within one
    on_exit = "cancel"           # cancel | leave resting orders on SIGTERM
    sim_seed = 7                 # venue.kind = "sim" only
    starting_pusd = "10000"      # the simulator's wallet, and the paper bankroll (first paper run)

    [chain]                      # on-chain reconciliation (gov.reconciler); empty rpc_url: off
    rpc_url = "http://127.0.0.1:8545"
    pusd = "0x…"                 # the pUSD token contract
    ctf = "0x…"                  # the conditional-token (ERC-1155) contract
    funder = ""                  # default: the order-signing wallet
    confirmations = 2

    [monitor]
    api = true                   # the API degradation monitor and its playbook

    [bots."gov.api_degradation_monitor"]   # per-bot parameters (validated against each bot's
    green_before_promote_s = 600           # default / warning / hard limits at start)

    [approved_config]
    path = "approved-config"     # the git repository of approved per-bot parameter files

    [oncall] / [notifiers] / [incidents]   # as in the incident config (incidents/config.py)

Every field is optional; a bad or unknown field is one `ConfigError` paragraph naming it.
Relative paths are relative to the file.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from polytraders.errors import ConfigError, describe_validation_error
from polytraders.incidents.config import IncidentConfig, incident_config_from, load_incident_config

INCIDENT_TABLES = ("oncall", "notifiers", "incidents")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VenueSettings(_Section):
    kind: Literal["polymarket", "sim"] = "polymarket"
    paper: bool = False
    clob_url: str = "https://clob.polymarket.com"
    ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws"
    gamma_url: str = "https://gamma-api.polymarket.com"
    data_url: str = "https://data-api.polymarket.com"
    signature_type: Literal["EOA", "POLY_PROXY", "POLY_GNOSIS_SAFE", "POLY_1271"] = "EOA"
    funder: str = ""
    builder_code: str = ""


class KeySettings(_Section):
    wallet_key_env: str = Field(default="POLYTRADERS_WALLET_KEY", pattern=r"^[A-Z_][A-Z0-9_]*$")
    keystore: str = ""
    keystore_passphrase_env: str = Field(default="POLYTRADERS_KEYSTORE_PASSPHRASE", pattern=r"^[A-Z_][A-Z0-9_]*$")
    system_key_file: str = ""


class MarketSettings(_Section):
    ids: tuple[str, ...] = ()
    max: int = Field(default=10, ge=1, le=500)


class RunSettings(_Section):
    step_ms: int = Field(default=250, ge=20, le=1_000)
    on_exit: Literal["cancel", "leave"] = "cancel"
    sim_seed: int = 7
    sim_markets: int = Field(default=10, ge=1, le=200)
    starting_pusd: Decimal = Field(default=Decimal(10_000), ge=0, le=Decimal(10) ** 12)


class ChainSettings(_Section):
    rpc_url: str = ""  # empty: no on-chain reconciliation
    pusd: str = ""
    ctf: str = ""
    funder: str = ""  # default: the order-signing wallet's address
    confirmations: int = Field(default=2, ge=0, le=256)


class MonitorSettings(_Section):
    api: bool = True  # sample every venue call and run gov.api_degradation_monitor and its playbook


class ApprovedConfigSettings(_Section):
    path: str = "approved-config"


class Settings(_Section):
    venue: VenueSettings = VenueSettings()
    keys: KeySettings = KeySettings()
    markets: MarketSettings = MarketSettings()
    run: RunSettings = RunSettings()
    chain: ChainSettings = ChainSettings()
    monitor: MonitorSettings = MonitorSettings()
    bots: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per-bot parameter overrides
    approved_config: ApprovedConfigSettings = ApprovedConfigSettings()


def load_settings(path: Path | None) -> tuple[Settings, IncidentConfig, Path | None]:
    """The settings, the incident config and the file they came from (None: all defaults)."""
    if path is None:
        default = Path("polytraders.toml")
        if not default.exists():
            return Settings(), load_incident_config(None), None
        path = default
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Settings file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Settings file {path} cannot be read ({type(exc).__name__}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Settings file {path} is not valid TOML: {exc}.") from None
    known = set(Settings.model_fields) | set(INCIDENT_TABLES)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"Settings file {path}: table [{unknown[0]}] is not known; expected "
                          f"{', '.join(sorted(known))}.")
    try:
        settings = Settings.model_validate({k: v for k, v in raw.items() if k in Settings.model_fields})
    except ValidationError as exc:
        raise ConfigError(f"Settings file {path}: " + describe_validation_error("settings", exc)) from None
    incidents = incident_config_from({k: raw[k] for k in INCIDENT_TABLES if k in raw}, path)
    return settings, incidents, path


def relative_to(file: Path | None, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() or file is None else file.parent / p
