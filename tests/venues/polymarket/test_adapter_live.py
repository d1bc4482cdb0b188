"""The adapter on a real exchange process, beyond the contract: keys from a keystore, secrets never
in logs or output, the heartbeat interlock, a submit whose answer is lost, Gamma and Data API."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from exchange.helpers import ServerProcess

from polytraders.venues.base import OutcomeUnknown, VenueError
from polytraders.venues.polymarket import (
    HEARTBEAT_LOST,
    DataApiClient,
    GammaClient,
    KeyLoadError,
    PolymarketConfig,
    load_key,
)

from .conftest import ExchangeHarness

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_deadman() -> Iterator[ServerProcess]:
    proc = ServerProcess("--seed", "9", "--markets", "6", "--no-background", "--taker-delay-ms", "0",
                         "--heartbeat-timeout-ms", "1000", "--heartbeat-buffer-ms", "500")
    try:
        yield proc
    finally:
        proc.stop()


def test_key_from_env_or_keystore_never_shown(tmp_path: Path) -> None:
    account = Account.create()
    key_hex = "0x" + bytes(account.key).hex()
    cfg = PolymarketConfig(key_env="PT_TEST_KEY")
    key = load_key(cfg, {"PT_TEST_KEY": key_hex})
    assert key.address == account.address and key_hex not in repr(key) + str(key)
    with pytest.raises(TypeError):
        __import__("pickle").dumps(key)
    path = tmp_path / "keystore.json"
    path.write_text(json.dumps(Account.encrypt(key_hex, "correct horse")))
    ks = PolymarketConfig(keystore_path=path, keystore_passphrase_env="PT_PASS")
    assert load_key(ks, {"PT_PASS": "correct horse"}).address == account.address
    for env in ({"PT_PASS": "wrong"}, {}):
        with pytest.raises(KeyLoadError) as err:
            load_key(ks, env)
        assert key_hex[2:] not in str(err.value) and "correct horse" not in str(err.value)
    with pytest.raises(KeyLoadError) as err:
        load_key(cfg, {"PT_TEST_KEY": "0x1234" + key_hex[6:-2]})
    assert key_hex[6:-2] not in str(err.value)


def test_secrets_never_reach_logs_or_output(quick_deadman: ServerProcess, caplog: pytest.LogCaptureFixture,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    h = ExchangeHarness(quick_deadman)
    try:
        creds = h.venue.rest.creds
        assert creds is not None
        order = h.order("secret-hunt-1", "BUY", "0.40", "10")
        h.venue.submit(order, h.now())
        h.drop_user_feed(0.5)
        h.fault(429, 0.5)
        try:  # a refusal, or a success after waiting out Retry-After: we hunt for what it says
            h.venue.submit(h.order("secret-hunt-2", "BUY", "0.41", "10"), h.now())
        except VenueError as exc:
            texts_err = [str(exc), repr(exc)]
        else:
            texts_err = []
        h.clear_faults()
        h.collect(lambda evs: False, 1.5)
        texts = [*texts_err, caplog.text, *capfd.readouterr(), repr(h.venue), repr(h.venue.rest), repr(creds),
                 repr(h.config), str(h.venue.health())]
    finally:
        h.close()
    blob = "\n".join(texts)
    assert "DEBUG" in caplog.text or caplog.records  # the hunt ran with everything logged
    for secret in (h.key_hex, h.key_hex[2:], creds.secret, creds.passphrase):
        assert secret not in blob


def test_heartbeat_loss_is_surfaced_and_the_orders_reported_gone(quick_deadman: ServerProcess) -> None:
    h = ExchangeHarness(quick_deadman, heartbeat_interval_s=0.3, heartbeat_deadline_s=1.5)
    try:
        order = h.order("hb-lost-1", "BUY", "0.40", "10")
        assert h.venue.submit(order, h.now())[0].kind == "ack"
        assert h.venue.health().heartbeat_ok
        # Heartbeats (and every account read) now fail: the exchange's dead-man switch fires.
        window = {"status": 503, "mode": "disabled", "surfaces": ["account"], "seconds": 3}
        assert h.http.post("/admin/faults", json={"window": window}).status_code == 200
        events = h.collect(lambda evs: any(e.kind == "cancel" for e in evs) and h.venue.health().heartbeat_lost, 8)
        (cancel,) = [e for e in events if e.kind == "cancel"]
        assert cancel.venue_order_id == order.order_hash and cancel.remaining == Decimal(10)
        assert cancel.error_code in (None, HEARTBEAT_LOST)
        assert h.venue.health().heartbeat_lost
        h.clear_faults()
        deadline = time.monotonic() + 5
        while h.venue.health().heartbeat_lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not h.venue.health().heartbeat_lost and h.venue.open_orders() == ()
    finally:
        h.close()


def test_submit_with_lost_answer_is_unknown_then_reconciled(quick_deadman: ServerProcess) -> None:
    h = ExchangeHarness(quick_deadman, request_timeout_s=0.4)
    try:
        assert h.http.post("/admin/faults", json={"latency_ms": {"trading": 900}}).status_code == 200
        order = h.order("unknown-1", "BUY", "0.40", "10")
        with pytest.raises(OutcomeUnknown) as unknown:
            h.venue.submit(order, h.now())
        assert unknown.value.venue_order_id == order.order_hash
        h.clear_faults()
        events = h.collect(lambda evs: any(e.kind == "ack" for e in evs), 6)
        acks = [e for e in events if e.kind == "ack"]
        assert [(a.venue_order_id, a.client_order_id) for a in acks] == [(order.order_hash, "unknown-1")]
        assert [v.client_order_id for v in h.venue.open_orders()] == ["unknown-1"]
    finally:
        h.close()


def test_gamma_and_data_api_clients(quick_deadman: ServerProcess) -> None:
    h = ExchangeHarness(quick_deadman)
    try:
        gamma = GammaClient(h.config.gamma_url)
        (meta,) = gamma.markets(condition_ids=[h.market.condition_id])
        assert meta.question and meta.tick == h.market.tick and meta.min_size == h.market.min_size
        assert meta.outcome_of(h.market.yes_token) == "Yes" and meta.outcome_of(h.market.no_token) == "No"
        assert not meta.closed and meta.winner_token is None
        assert gamma.market(meta.condition_id).condition_id == meta.condition_id
        h.venue.submit(h.order("data-api-1", "BUY", "0.40", "10"), h.now())
        h.cross("SELL", "0.40", "5")
        h.collect(lambda evs: any(e.kind == "fill" for e in evs), 5)
        data = DataApiClient(h.config.data_url)
        (position,) = data.positions(h.signer.address)
        assert position.token_id == h.token and position.size == Decimal(5)
        assert [t.size for t in data.trades(h.signer.address)] == [Decimal(5)]
        gamma.close()
        data.close()
    finally:
        h.close()
    assert httpx  # imported for the harness's admin calls


def test_batch_post_with_a_refused_leg(quick_deadman: ServerProcess) -> None:
    h = ExchangeHarness(quick_deadman)
    try:
        orders = [h.order("batch-ok-1", "BUY", "0.30", "10"), h.order("batch-small", "BUY", "0.30", "1"),
                  h.order("batch-ok-2", "BUY", "0.31", "10", post_only=True)]
        events = h.venue.submit_batch(orders, h.now())
        kinds = {e.client_order_id: (e.kind, e.error_code) for e in events}
        assert kinds == {"batch-ok-1": ("ack", None), "batch-small": ("reject", "INVALID_ORDER_MIN_SIZE"),
                         "batch-ok-2": ("ack", None)}
        assert sorted(v.client_order_id for v in h.venue.open_orders()) == ["batch-ok-1", "batch-ok-2"]
        assert not [e for e in h.collect(lambda evs: False, 0.5) if e.kind == "ack"]  # no second ack
    finally:
        h.close()


def test_a_silently_stalled_market_feed_is_caught_by_the_rest_cross_check(quick_deadman: ServerProcess) -> None:
    h = ExchangeHarness(quick_deadman, stale_feed_s=0.5, reconcile_interval_s=0.5)
    try:
        deadline = time.monotonic() + 5
        while h.venue.book(h.token) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert h.venue.book(h.token) is not None
        body = {"ws": {"channel": "market", "kind": "stall", "seconds": 8}}
        assert h.http.post("/admin/faults", json=body).status_code == 200
        resting, _ = h.counterparty.order(h.token, "SELL", "0.77", "10", salt=99)
        assert h.counterparty.call(h.http, "POST", "/order", resting).status_code == 200
        deadline = time.monotonic() + 5  # well inside the stall: only the REST cross-check can see it
        while time.monotonic() < deadline:
            view = h.venue.book(h.token)
            if view is not None and view.best_ask == Decimal("0.77"):
                break
            time.sleep(0.05)
        view = h.venue.book(h.token)
        assert view is not None and view.best_ask == Decimal("0.77")
        assert h.venue.health().feed_resyncs >= 1
    finally:
        h.close()
