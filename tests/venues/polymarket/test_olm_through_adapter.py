"""The Order Lifecycle Manager trades through the real adapter exactly as through the simulator:
signed order -> POST -> ack -> fill over the user WebSocket -> settlement -> cancel -> a clean
reconciliation, every step journaled; the journal never holds the key or the API secret."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from exchange.helpers import ServerProcess

from polytraders.bots.exec.order_lifecycle_manager import OrderLifecycleBot, OrderLifecycleManager
from polytraders.contracts import OrderIntent, PlannedOrder
from polytraders.journal.sqlite import SqliteJournal
from polytraders.runtime.clock import WallClock
from polytraders.runtime.runner import Runtime
from polytraders.state.orders import OrdersProjection
from polytraders.state.store import StateStore
from polytraders.venues.base import VenueEvent
from polytraders.venues.polymarket import PolymarketVenue, PrivateKey

from .conftest import ExchangeHarness

pytestmark = pytest.mark.slow


def test_olm_lifecycle_through_the_adapter(exchange_server: ServerProcess, tmp_path: Path) -> None:
    h = ExchangeHarness(exchange_server)
    db = tmp_path / "journal.db"
    journal = SqliteJournal(db, synchronous="NORMAL")
    runtime = Runtime(journal, WallClock(), StateStore([OrdersProjection()]))
    bot = OrderLifecycleBot()
    runtime.add_bot(bot)
    olm = OrderLifecycleManager(runtime, h.venue, bot)
    try:
        order = h.order("olm-live-0001", "BUY", "0.40", "10")
        assert order.signed is not None
        now = int(time.time() * 1000)
        intent = OrderIntent(intent_id="intent-olm-0001", correlation_id="corr-olm-0001", strategy_id="strat.test",
                             market_id=h.market.condition_id, token_id=h.token, outcome="YES", side="BUY",
                             price=Decimal("0.40"), size=Decimal(10), emitted_at_ms=now)
        planned = PlannedOrder(client_order_id="olm-live-0001", token_id=h.token, side="BUY", price=Decimal("0.40"),
                               size=Decimal(10), order_type="GTC")
        rec = olm.submit(order.signed, planned, intent)
        assert rec.status == "live" and rec.venue_order_id == order.order_hash

        h.cross("SELL", "0.40", "4")

        def pump_until(status: str, timeout_s: float = 8.0) -> str:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                olm.on_venue_events(h.venue.advance(int(time.time() * 1000)))
                current = olm.orders.order("olm-live-0001")
                assert current is not None
                if current.status == status:
                    return status
                time.sleep(0.01)
            return "timeout"

        assert pump_until("partially_filled") == "partially_filled"
        fills = [e for e in journal.read() if e.envelope.kind == "fill"]
        assert fills and fills[0].envelope.payload["size"] == "4"
        deadline = time.monotonic() + 6  # settlement: MATCHED -> MINED arrives over the socket
        while time.monotonic() < deadline and not any(
                e.envelope.kind == "fill" and e.envelope.payload["settlement"] == "MINED" for e in journal.read()):
            olm.on_venue_events(h.venue.advance(int(time.time() * 1000)))
            time.sleep(0.02)
        assert any(e.envelope.kind == "fill" and e.envelope.payload["settlement"] == "MINED" for e in journal.read())

        olm.cancel("olm-live-0001")
        final = olm.orders.order("olm-live-0001")
        assert final is not None and final.status == "cancelled" and final.filled == Decimal(4)
        olm.reconcile()
        codes = [e.envelope.reason_code for e in journal.read()]
        assert codes[-1] == "EXEC_RECONCILED"
        assert "EXEC_ILLEGAL_TRANSITION" not in codes and "EXEC_VENUE_ANOMALY" not in codes
        journal.flush()
        creds = h.venue.rest.creds
        assert creds is not None
        raw = b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.name.startswith("journal.db"))
        for secret in (h.key_hex[2:], creds.secret, creds.passphrase):
            assert secret.encode() not in raw
    finally:
        h.close()
        journal.close()


def test_restart_adopts_the_venues_orders_by_client_id(exchange_server: ServerProcess) -> None:
    """After kill -9 the journal knows (venue id, client id); a new adapter told so reports the
    resting order and its later fills under the right client id, and submits nothing twice."""
    first = ExchangeHarness(exchange_server)
    order = first.order("restart-0001", "BUY", "0.40", "10")
    assert first.venue.submit(order, first.now())[0].kind == "ack"
    first.venue.close()  # the process "dies": close never cancels; the dead-man is 15 s away

    second = PolymarketVenue(first.config, PrivateKey(first.key_hex))
    second.remember(order.order_hash, "restart-0001", first.token, "BUY", Decimal("0.40"), Decimal(10))
    second.start()
    try:
        (view,) = second.open_orders()
        assert (view.venue_order_id, view.client_order_id) == (order.order_hash, "restart-0001")
        (dup,) = second.submit(order, first.now())  # a resubmission is answered, never doubled
        assert (dup.kind, dup.error_code, dup.venue_order_id) == ("reject", "INVALID_ORDER_DUPLICATED",
                                                                 order.order_hash)
        first.cross("SELL", "0.40", "3")
        events: list[VenueEvent] = []
        deadline = time.monotonic() + 8
        while not any(e.kind == "fill" for e in events) and time.monotonic() < deadline:
            events += second.advance(0)
            time.sleep(0.01)
        (fill,) = [e for e in events if e.kind == "fill"]
        assert (fill.client_order_id, fill.size, fill.remaining) == ("restart-0001", Decimal(3), Decimal(7))
        assert len(second.open_orders()) == 1
    finally:
        second.cancel_all(None, 0)
        second.close()
        first.counterparty.call(first.http, "DELETE", "/cancel-all")
        first.http.close()
