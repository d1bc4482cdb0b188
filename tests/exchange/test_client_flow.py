"""The unmodified official py-clob-client-v2 drives a real ``polytraders exchange serve`` process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from eth_account import Account
from py_clob_client_v2 import (
    AssetType,
    BalanceAllowanceParams,
    BookParams,
    ClobClient,
    OpenOrderParams,
    OrderArgs,
    OrderPayload,
    OrderType,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException

from polytraders.signing import SignedOrderV2, UnsignedOrderV2, order_hash, recover_signer

from .helpers import SRC, ServerProcess

pytestmark = pytest.mark.slow


def _local_hash(signed: object, neg_risk: bool) -> str:
    """Recompute the order id from the client's signed order with our own EIP-712 code."""
    o = signed
    unsigned = UnsignedOrderV2(
        salt=int(o.salt), maker=o.maker, signer=o.signer, token_id=int(o.tokenId),  # type: ignore[attr-defined]
        maker_amount=int(o.makerAmount), taker_amount=int(o.takerAmount),  # type: ignore[attr-defined]
        side=int(o.side), signature_type=int(o.signatureType), timestamp_ms=int(o.timestamp),  # type: ignore[attr-defined]
        metadata=o.metadata.lower(), builder=o.builder.lower(), expiration=int(o.expiration),  # type: ignore[attr-defined]
    )
    assert recover_signer(SignedOrderV2(unsigned, o.signature), 137, neg_risk) == o.signer  # type: ignore[attr-defined]
    return order_hash(unsigned, 137, neg_risk)


def test_official_client_end_to_end(server: ServerProcess) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    client = ClobClient(server.url, 137, key=key)
    # 1. health
    assert client.get_ok() == "OK"
    assert abs(int(client.get_server_time()) - __import__("time").time()) < 5
    # 2. create-or-derive, then derive again: the same credentials
    creds = client.create_or_derive_api_key()
    assert creds.api_key and creds.api_secret and creds.api_passphrase
    assert client.derive_api_key() == creds
    with pytest.raises(PolyApiException) as again:
        client.create_api_key()  # the key exists: the client's create_or_derive falls back on this
    assert again.value.status_code == 400
    client.set_api_creds(creds)
    # 3. discover a market; tick size, neg-risk and book
    page = client.get_markets()
    assert page["next_cursor"] == "LTE=" and len(page["data"]) == 6
    market = next(m for m in page["data"] if "sports" not in m["tags"])
    token = market["tokens"][0]["token_id"]
    tick = client.get_tick_size(token)
    assert tick == str(market["minimum_tick_size"])
    neg_risk = client.get_neg_risk(token)
    assert neg_risk is market["neg_risk"]
    book = client.get_order_book(token)
    assert book["hash"] == client.get_order_book_hash(dict(book))
    bids = [float(level["price"]) for level in book["bids"]]
    assert bids == sorted(bids), "levels are served best-last"
    best_bid = float(book["bids"][-1]["price"])
    # 4. post-only order whose id is the locally computed hash; get it; list open orders
    price = round(best_bid - 5 * float(tick), 3)
    signed = client.create_order(OrderArgs(token_id=token, price=price, size=10, side="BUY"))
    expected_id = _local_hash(signed, neg_risk)
    resp = client.post_order(signed, OrderType.GTC, post_only=True)
    assert resp["success"] is True and resp["status"] == "live" and resp["errorMsg"] == ""
    assert resp["orderID"] == expected_id
    got = client.get_order(expected_id)
    assert got["id"] == expected_id and got["status"] == "LIVE" and got["original_size"] == "10"
    assert [o["id"] for o in client.get_open_orders(OpenOrderParams(market=market["condition_id"]))] == [expected_id]
    # 5. cancel it
    assert client.cancel_order(OrderPayload(orderID=expected_id)) == {"canceled": [expected_id], "not_canceled": {}}
    assert client.get_open_orders() == []
    # 6. post again, then cancel-all
    ids = [client.create_and_post_order(OrderArgs(token_id=token, price=price, size=5 + i, side="BUY"))["orderID"]
           for i in range(2)]
    cancelled = client.cancel_all()
    assert sorted(cancelled["canceled"]) == sorted(ids)
    # 7. trades (a marketable order makes one), heartbeat, balance
    ask = float(client.get_order_book(token)["asks"][-1]["price"])
    taker = client.create_and_post_order(OrderArgs(token_id=token, price=ask, size=5, side="BUY"), None, OrderType.FAK)
    assert taker["status"] == "matched" and taker["transactionsHashes"]
    trades = client.get_trades(TradeParams(market=market["condition_id"]))
    assert {t["id"] for t in trades} == set(taker["tradeIDs"])
    assert all(t["transaction_hash"].startswith("0x") and t["trader_side"] == "TAKER" for t in trades)
    beat = client.post_heartbeat("")
    assert client.post_heartbeat(beat["heartbeat_id"])["heartbeat_id"] != beat["heartbeat_id"]
    collateral = client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    assert 0 < int(collateral["balance"]) < 10_000 * 10**6  # paid for the shares and the taker fee
    shares = client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=token))
    assert int(shares["balance"]) == 5 * 10**6


def test_faults_from_the_command_line() -> None:
    proc = ServerProcess("--markets", "2", "--faults", '{"window": {"status": 429, "surfaces": ["public"], '
                         '"retry_after": 3}}')
    try:
        client = ClobClient(proc.url, 137)
        with pytest.raises(PolyApiException) as limited:
            client.get_markets()
        assert limited.value.status_code == 429
        assert limited.value.error_msg == {"error": "Too Many Requests", "retry_after_seconds": 3}
    finally:
        proc.stop()
    bad = subprocess.run([sys.executable, "-m", "polytraders.cli.main", "exchange", "serve", "--port", "0",
                          "--faults", '{"window": {"status": 418}}'], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PYTHONPATH": SRC})
    assert bad.returncode == 2 and "window status must be 425, 429, 500 or 503" in bad.stderr


def test_the_rest_of_the_client_surface(server: ServerProcess) -> None:
    from py_clob_client_v2 import OrderScoringParams, OrdersScoringParams

    client = ClobClient(server.url, 137, key="0x" + bytes(Account.create().key).hex())
    client.set_api_creds(client.create_or_derive_api_key())
    simplified = client.get_simplified_markets()
    assert simplified["next_cursor"] == "LTE=" and len(simplified["data"][0]["tokens"]) == 2
    assert client.get_sampling_simplified_markets()["data"] == simplified["data"]
    assert client.get_sampling_markets()["count"] == 6
    assert client.is_order_scoring(OrderScoringParams(orderId="0x1")) == {"scoring": False}
    assert client.are_orders_scoring(OrdersScoringParams(orderIds=["0x1"])) == {"0x1": False}
    assert client.get_notifications() == []
    assert client.get_pre_migration_orders() == []
    assert client.get_api_keys() == {"apiKeys": [client.creds.api_key]}
    assert client.get_closed_only_mode() == {"closed_only": False}
    tokens = client.get_markets()["data"][0]["tokens"]
    books = client.get_order_books([BookParams(token_id=t["token_id"]) for t in tokens])
    assert len(books) == 2 and all(b["hash"] for b in books)
    assert client.delete_api_key() == "OK"
    with pytest.raises(PolyApiException) as gone:
        client.get_api_keys()
    assert gone.value.status_code == 401
