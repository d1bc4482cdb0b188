"""Fixtures: one ``polytraders exchange serve`` process per module (no background liquidity, so our
orders are the book and a counterparty's FAK meets exactly them) and a harness per test, each
with a fresh wallet so tests never see each other's orders."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from eth_account import Account
from exchange.helpers import DrivesExchange, ServerProcess, Trader

from polytraders.signing import OrderSigner
from polytraders.venues.base import Side, VenueEvent, VenueOrder, VenueOrderType
from polytraders.venues.polymarket import PolymarketConfig, PolymarketVenue, PrivateKey, connect

from ..factories import signed_venue_order

Events = list[VenueEvent]
_TOKENS = itertools.count()


class ExchangeHarness(DrivesExchange):
    """The contract's ``Harness`` on the real adapter and a real exchange process."""

    def __init__(self, server: ServerProcess, **overrides: Any) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10)
        self.key_hex = "0x" + bytes(Account.create().key).hex()
        self.signer = OrderSigner(self.key_hex)
        settings: dict[str, Any] = {"heartbeat_interval_s": 1.0, "reconcile_interval_s": 1.0,
                                    "ws_reconnect_max_s": 0.5, **overrides}
        self.config = PolymarketConfig.for_local_exchange(server.url, **settings)
        self.venue: PolymarketVenue = connect(self.config, PrivateKey(self.key_hex))
        markets = [m for m in self.venue.markets()
                   if m.tick == Decimal("0.01") and m.cluster != "sports" and not m.neg_risk]
        market = markets[next(_TOKENS) % len(markets)]
        self.market = market
        self.token = market.yes_token
        self.counterparty = Trader.new()
        self.counterparty.login(self.http)
        funded = self.http.post("/admin/fund", json={"address": self.counterparty.address, "amount": "1000",
                                                     "token_id": self.token})
        assert funded.status_code == 200
        self._salt = itertools.count(1)

    def close(self) -> None:
        self.http.delete("/admin/faults")
        self.venue.cancel_all(None, self.now())  # leave the shared book as we found it
        self.counterparty.call(self.http, "DELETE", "/cancel-all")
        self.venue.close()
        self.http.close()

    def order(self, cid: str, side: Side, price: str, size: str, order_type: VenueOrderType = "GTC",
              post_only: bool = False) -> VenueOrder:
        return signed_venue_order(self.signer, cid, self.token, side, price, size, order_type=order_type,
                                  post_only=post_only)

    def cross(self, side: Side, price: str, size: str) -> None:
        body, _ = self.counterparty.order(self.token, side, price, size, order_type="FAK", salt=next(self._salt))
        resp = self.counterparty.call(self.http, "POST", "/order", body)
        assert resp.status_code == 200, resp.text



@pytest.fixture(scope="module")
def exchange_server() -> Iterator[ServerProcess]:
    proc = ServerProcess("--seed", "9", "--markets", "6", "--no-background", "--taker-delay-ms", "0")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def harness(exchange_server: ServerProcess) -> Iterator[ExchangeHarness]:
    h = ExchangeHarness(exchange_server)
    try:
        yield h
    finally:
        h.close()
