"""Test helpers: a trader that signs orders and L2 headers itself, and a server process runner."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from py_clob_client_v2.headers.headers import create_level_1_headers
from py_clob_client_v2.signer import Signer
from starlette.testclient import TestClient

from polytraders.exchange.app import create_app
from polytraders.exchange.auth import hmac_signature
from polytraders.exchange.config import ExchangeConfig
from polytraders.exchange.context import Ctx
from polytraders.signing import BUILDER_CODE, OrderSigner, UnsignedOrderV2, order_hash, sign_order
from polytraders.signing.amounts import limit_order_amounts
from polytraders.venues.base import Venue, VenueEvent

SRC = str(Path(__file__).resolve().parents[2] / "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``polytraders exchange serve`` as a real subprocess on a free loopback port."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "polytraders.cli.main", "exchange", "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().strip()
        assert first == self.url, f"server printed {first!r}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/ok", timeout=1)
                return  # any answer means it is serving (an injected fault may make it a 429)
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("exchange did not come up")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()


@dataclass
class Trader:
    """A wallet with API credentials; builds signed wire orders without the official client."""

    key: str
    api_key: str = ""
    secret: str = ""
    passphrase: str = ""

    @classmethod
    def new(cls) -> Trader:
        return cls(key="0x" + bytes(Account.create().key).hex())

    @property
    def address(self) -> str:
        cached = self.__dict__.get("_address")
        if cached is None:  # deriving the address from the key costs more than an HMAC
            cached = self.__dict__["_address"] = str(Account.from_key(self.key).address)
        return str(cached)

    def l1_headers(self, nonce: int = 0) -> dict[str, str]:
        return dict(create_level_1_headers(Signer(self.key, 137), nonce=nonce))

    def login(self, http: Any) -> None:
        """Create (or derive) API credentials through ``http`` (httpx.Client or TestClient)."""
        resp = http.post("/auth/api-key", headers=self.l1_headers())
        if resp.status_code != 200:
            resp = http.get("/auth/derive-api-key", headers=self.l1_headers())
        body = resp.json()
        self.api_key, self.secret, self.passphrase = body["apiKey"], body["secret"], body["passphrase"]

    def l2_headers(self, method: str, path: str, body: str = "", *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {"POLY_ADDRESS": self.address, "POLY_API_KEY": self.api_key, "POLY_PASSPHRASE": self.passphrase,
                "POLY_TIMESTAMP": ts, "POLY_SIGNATURE": hmac_signature(self.secret, ts, method, path, body),
                "Content-Type": "application/json"}

    def call(self, http: Any, method: str, path: str, payload: Any = None, **kw: Any) -> Any:
        body = "" if payload is None else json.dumps(payload, separators=(",", ":"))
        query = kw.pop("params", None)
        return http.request(method, path, content=body.encode() if body else None, params=query,
                            headers=self.l2_headers(method, path, body), **kw)

    def order(self, token: str, side: str, price: str | Decimal, size: str | Decimal, *, tick: str = "0.01",
              neg_risk: bool = False, order_type: str = "GTC", post_only: bool = False, expiration: int = 0,
              amounts: tuple[int, int] | None = None, salt: int = 1, maker: str | None = None,
              signature_type: int = 0) -> tuple[dict[str, Any], str]:
        """A signed ``POST /order`` body and its locally computed EIP-712 hash."""
        maker_amount, taker_amount = amounts or limit_order_amounts(
            side, Decimal(price), Decimal(size), Decimal(tick))  # type: ignore[arg-type]
        unsigned = UnsignedOrderV2(
            salt=salt, maker=maker or self.address, signer=self.address, token_id=int(token),
            maker_amount=maker_amount, taker_amount=taker_amount, side=0 if side == "BUY" else 1,
            signature_type=signature_type,
            timestamp_ms=int(time.time() * 1000), metadata="0x" + "00" * 32, builder=BUILDER_CODE,
            expiration=expiration,
        )
        signed = sign_order(unsigned, OrderSigner(self.key), 137, neg_risk)
        body = {"order": {"salt": salt, "maker": unsigned.maker, "signer": self.address, "tokenId": token,
                          "makerAmount": str(maker_amount), "takerAmount": str(taker_amount), "side": side,
                          "expiration": str(expiration), "signatureType": signature_type,
                          "timestamp": str(unsigned.timestamp_ms), "metadata": unsigned.metadata,
                          "builder": unsigned.builder, "signature": signed.signature},
                "owner": self.api_key, "orderType": order_type, "deferExec": False, "postOnly": post_only}
        return body, order_hash(unsigned, 137, neg_risk)


@dataclass
class Local:
    """An exchange app with its context, a TestClient and one logged-in trader."""

    ctx: Ctx
    http: TestClient
    trader: Trader

    def market(self, tick: str = "0.01", cluster_not: str = "sports") -> Any:
        for info in self.ctx.engine.by_cid.values():
            if str(info.tick) == tick and info.cluster != cluster_not and not info.neg_risk:
                return info
        raise AssertionError("no such market")

    def book(self, token: str) -> Any:
        view = self.ctx.engine.book_view(token)
        assert view is not None
        return view

    def post(self, body: dict[str, Any], trader: Trader | None = None) -> Any:
        return (trader or self.trader).call(self.http, "POST", "/order", body)

    def advance(self, ms: int) -> None:
        assert self.http.post("/admin/time/advance", json={"ms": ms}).status_code == 200

    def login(self) -> Trader:
        trader = Trader.new()
        trader.login(self.http)
        return trader


def make_local(**overrides: Any) -> Iterator[Local]:
    settings: dict[str, Any] = {"seed": 11, "markets": 10, "sim_time": True, **overrides}
    cfg = ExchangeConfig(**settings)
    ctx = Ctx.build(cfg)
    with TestClient(create_app(cfg, ctx)) as http:
        trader = Trader.new()
        trader.login(http)
        yield Local(ctx, http, trader)




class DrivesExchange:
    """What a venue-contract harness does to the exchange process around a venue under test:
    fault windows, a dropped feed, and collecting the venue's events until a condition holds.
    ``feed_channel`` is the channel the venue's fills arrive on."""

    http: httpx.Client
    venue: Venue
    feed_channel = "user"

    def now(self) -> int:
        return int(time.time() * 1000)

    def fault(self, status: int, seconds: float, mode: str = "") -> None:
        window: dict[str, Any] = {"status": status, "surfaces": ["trading"], "seconds": seconds, "retry_after": 1}
        if mode:
            window["mode"] = mode
        assert self.http.post("/admin/faults", json={"window": window}).status_code == 200

    def clear_faults(self) -> None:
        assert self.http.delete("/admin/faults").status_code == 200

    def drop_user_feed(self, seconds: float) -> None:
        body = {"ws": {"channel": self.feed_channel, "kind": "drop", "seconds": seconds}}
        assert self.http.post("/admin/faults", json=body).status_code == 200

    def collect(self, until: Callable[[list[VenueEvent]], bool], timeout_s: float = 8.0) -> list[VenueEvent]:
        out: list[VenueEvent] = []
        deadline = time.monotonic() + timeout_s
        while True:
            out += self.venue.advance(self.now())
            if until(out) or time.monotonic() >= deadline:
                return out
            time.sleep(0.01)
