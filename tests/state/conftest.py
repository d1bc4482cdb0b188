"""Builders for the accounting tests: envelopes folded straight into a fresh state store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytraders.contracts import (
    BookLevel,
    Contract,
    FillRecord,
    MarketSnapshot,
    Note,
    OrderBookSnapshot,
    OrderRecord,
)
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.journal.base import JournalEntry
from polytraders.state.portfolio import add_accounting
from polytraders.state.store import StateStore

ACTOR = Actor(kind="system", id="test")
M1 = "0x" + "a1" * 32
M2 = "0x" + "b2" * 32
YES1, NO1, YES2, NO2 = "1001", "1002", "2001", "2002"
DAY_MS = 86_400_000
T0 = 20_000 * DAY_MS + 10 * 3_600_000  # 10:00 UTC on some day


def D(x: str | int) -> Decimal:
    return Decimal(x)


class Feeder:
    """Folds envelopes into markets + portfolio with increasing seq numbers."""

    M1, M2, YES1, NO1, YES2, NO2, T0, DAY_MS = M1, M2, YES1, NO1, YES2, NO2, T0, DAY_MS

    def __init__(self) -> None:
        self.store = StateStore()
        self.markets, self.portfolio = add_accounting(self.store)
        self.seq = 0
        self.entries: list[JournalEntry] = []

    def _apply(self, contract: Contract, code: str, ts_ms: int) -> None:
        self.seq += 1
        env = ReportEnvelope.wrap(contract, actor=ACTOR, reason_code=code, ts_ms=ts_ms)
        entry = JournalEntry(self.seq, "0" * 64, "0" * 64, env)
        self.entries.append(entry)
        self.store.apply(entry)

    def market(self, market_id: str = M1, yes: str = YES1, no: str = NO1, *, ts: int = T0,
               cluster: str = "c1", status: str = "open", min_size: str = "5") -> None:
        self._apply(MarketSnapshot(market_id=market_id, question="q?", yes_token=yes,
                                   no_token=no, tick=D("0.01"), min_size=D(min_size),
                                   status=status, cluster=cluster, observed_at_ms=ts),  # type: ignore[arg-type]
                    "GOV_MARKET_DATA", ts)

    def book(self, token: str, bid: str | None, ask: str | None, *, ts: int,
             market_id: str = M1) -> None:
        bids = (BookLevel(price=D(bid), size=D(100)),) if bid else ()
        asks = (BookLevel(price=D(ask), size=D(100)),) if ask else ()
        self._apply(OrderBookSnapshot(market_id=market_id, token_id=token, ts_ms=ts,
                                      tick=D("0.01"), bids=bids, asks=asks,
                                      book_hash=f"h{ts}{token}"), "GOV_MARKET_DATA", ts)

    def wallet(self, pusd: str, *, ts: int) -> None:
        self._apply(Note(detail={"pusd": pusd, "source": "sim"}), "GOV_WALLET_BALANCE", ts)

    def order(self, coid: str, strategy: str, token: str = YES1, *, market_id: str = M1,
              side: str = "BUY", ts: int = T0) -> None:
        self._apply(OrderRecord(client_order_id=coid, intent_id="intent-" + coid,
                                strategy_id=strategy, market_id=market_id, token_id=token,
                                side=side, price=D("0.5"), size=D(1), order_type="GTC",  # type: ignore[arg-type]
                                status="live"), "GOV_VENUE_EVENT", ts)

    def fill(self, trade: str, side: str, price: str, size: str, *, ts: int, fee: str = "0",
             token: str = YES1, market_id: str = M1, settlement: str = "MATCHED",
             coid: str | None = None) -> None:
        self._apply(FillRecord(trade_id=trade, client_order_id=coid or f"coid-{trade}",
                               market_id=market_id, token_id=token, side=side,  # type: ignore[arg-type]
                               price=D(price), size=D(size), fee_pusd=D(fee),
                               liquidity="taker", settlement=settlement,  # type: ignore[arg-type]
                               ts_ms=ts), "GOV_VENUE_EVENT", ts)


@pytest.fixture
def feed() -> Feeder:
    return Feeder()
