"""Fixtures: one ``polytraders exchange serve`` process per module as the "real market data" (no
background liquidity, so its books hold only what a counterparty posts) and a paper harness per
test, each on its own market so tests never see each other's liquidity."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from exchange.helpers import DrivesExchange, ServerProcess, Trader

from polytraders.venues.base import Side, Venue, VenueEvent, VenueOrder, VenueOrderType
from polytraders.venues.polymarket.paper import PaperConfig, PaperVenue, connect_paper

Events = list[VenueEvent]
_MARKETS = itertools.count()


class PaperHarness(DrivesExchange):
    """The contract's ``Harness`` on the paper venue: another trader moves the *exchange's* book
    (it posts resting orders that cross our paper price there); our orders never go there. Paper
    has no user channel: the feed it lives on is the market channel, so that is the one dropped."""

    feed_channel = "market"

    def __init__(self, server: ServerProcess, **overrides: Any) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10)
        base = server.url
        self.config = PaperConfig(clob_url=base, ws_url=base.replace("http://", "ws://") + "/ws",
                                  gamma_url=f"{base}/gamma", ws_reconnect_max_s=0.5, refresh_interval_s=0.5,
                                  **overrides)
        self.paper: PaperVenue = connect_paper(self.config)
        self.venue: Venue = self.paper
        markets = [m for m in self.paper.markets()
                   if m.tick == Decimal("0.01") and m.cluster != "sports" and not m.neg_risk]
        self.market = markets[next(_MARKETS) % len(markets)]
        self.token = self.market.yes_token
        self.counterparty, self.liquidity = Trader.new(), Trader.new()
        for trader in (self.counterparty, self.liquidity):
            trader.login(self.http)
            for body in ({"address": trader.address, "amount": "1000"},
                         {"address": trader.address, "amount": "1000", "token_id": self.token}):
                assert self.http.post("/admin/fund", json=body).status_code == 200
        self._salt = itertools.count(1)
        self.posted: list[str] = []  # order hashes the counterparty put on the exchange
        deadline = time.monotonic() + 10
        while self.paper.book(self.token) is None:  # the feed's first snapshot
            assert time.monotonic() < deadline, "no live book from the exchange's market channel"
            time.sleep(0.05)

    def close(self) -> None:
        self.http.delete("/admin/faults")
        for trader in (self.counterparty, self.liquidity):
            trader.call(self.http, "DELETE", "/cancel-all")
        self.paper.close()
        self.http.close()

    def order(self, cid: str, side: Side, price: str, size: str, order_type: VenueOrderType = "GTC",
              post_only: bool = False) -> VenueOrder:
        return VenueOrder(cid, self.token, side, Decimal(price), Decimal(size), order_type, post_only,
                          order_hash="0x" + cid.encode().hex().ljust(64, "0")[:64])

    def post(self, side: Side, price: str, size: str, order_type: str = "GTC", trader: Trader | None = None) -> Any:
        trader = trader or self.counterparty
        body, digest = trader.order(self.token, side, price, size, order_type=order_type, salt=next(self._salt))
        resp = trader.call(self.http, "POST", "/order", body)
        assert resp.status_code == 200, resp.text
        self.posted.append(digest)
        return resp.json()

    def cross(self, side: Side, price: str, size: str) -> None:
        """A trade of ``size`` at ``price`` prints on the exchange, ``side`` the taker: another
        trader rests liquidity at our price (behind our paper order in time) and the counterparty
        takes ``size`` of it (FAK), so the print went through our price level."""
        resting: Side = "BUY" if side == "SELL" else "SELL"
        self.post(resting, price, str(max(Decimal(size), Decimal(5))), trader=self.liquidity)
        self.post(side, price, size, order_type="FAK")



@pytest.fixture(scope="module")
def paper_exchange() -> Iterator[ServerProcess]:
    proc = ServerProcess("--seed", "13", "--markets", "8", "--no-background", "--taker-delay-ms", "0")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def harness(paper_exchange: ServerProcess) -> Iterator[PaperHarness]:
    h = PaperHarness(paper_exchange)
    try:
        yield h
    finally:
        h.close()
