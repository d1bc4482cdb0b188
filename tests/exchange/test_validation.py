"""Each order rule gives its own refusal: status code, ``errorMsg`` code and message."""

from __future__ import annotations

import time
from decimal import Decimal

from polytraders.signing.order import checksum_address

from .helpers import Local, make_local


def _refused(resp: object, status: int, code: str) -> dict[str, object]:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert body["errorMsg"] == code and body["success"] is False and body["error"]
    return body  # type: ignore[no-any-return]


def test_order_id_is_the_eip712_hash_and_statuses_are_lowercase(local: Local) -> None:
    info = local.market()
    bid = local.book(info.yes_token).best_bid
    body, digest = local.trader.order(info.yes_token, "BUY", bid - Decimal("0.02"), "10")
    resp = local.post(body)
    assert resp.status_code == 200
    assert resp.json() == {"success": True, "errorMsg": "", "orderID": digest, "status": "live", "makingAmount": "0",
                           "takingAmount": "0", "transactionsHashes": [], "tradeIDs": []}
    ask = local.book(info.yes_token).best_ask
    taker, _ = local.trader.order(info.yes_token, "BUY", ask, "5", order_type="FAK", salt=2)
    matched = local.post(taker).json()
    assert matched["status"] == "matched" and len(matched["tradeIDs"]) == len(matched["transactionsHashes"]) >= 1
    assert Decimal(matched["takingAmount"]) == 5 and Decimal(matched["makingAmount"]) == ask * 5


def test_sports_markets_delay_marketable_orders(local: Local) -> None:
    sports = next(i for i in local.ctx.engine.by_cid.values() if i.cluster == "sports" and str(i.tick) == "0.01")
    ask = local.book(sports.yes_token).best_ask
    body, digest = local.trader.order(sports.yes_token, "BUY", ask, "5", order_type="FOK")
    assert local.post(body).json()["status"] == "delayed"
    assert local.ctx.engine.orders[digest].status == "DELAYED"
    refused = local.trader.call(local.http, "DELETE", "/order", {"orderID": digest}).json()
    assert refused["not_canceled"] == {digest: "Order is delayed and cannot be canceled yet"}
    local.advance(300)
    assert local.ctx.engine.orders[digest].status == "MATCHED"
    # Re-validated after the delay: with the allowance withdrawn meanwhile it ends UNMATCHED.
    body, second = local.trader.order(sports.yes_token, "BUY", ask, "5", order_type="FOK", salt=2)
    assert local.post(body).json()["status"] == "delayed"
    local.http.post("/admin/allowance", json={"address": local.trader.address, "amount": "0"})
    local.advance(300)
    assert local.ctx.engine.orders[second].status == "UNMATCHED"
    assert local.ctx.engine.reserved_collateral[local.trader.address] == 0


def test_off_tick_price(local: Local) -> None:
    info = local.market()
    body, digest = local.trader.order(info.yes_token, "BUY", "0.305", "10", tick="0.001")
    err = _refused(local.post(body), 400, "INVALID_ORDER_MIN_TICK_SIZE")
    assert err["orderID"] == digest and "breaks minimum tick size rule: 0.01" in str(err["error"])


def test_below_minimum_size(local: Local) -> None:
    info = local.market()
    body, _ = local.trader.order(info.yes_token, "BUY", "0.10", "4.99")
    assert "lower than the minimum: 5" in str(_refused(local.post(body), 400, "INVALID_ORDER_MIN_SIZE")["error"])


def test_marketable_amount_precision(local: Local) -> None:
    info = local.market()
    ask = local.book(info.yes_token).best_ask
    # maker 5.9109 pUSD has 4 decimals: a marketable BUY may carry only 2
    body, _ = local.trader.order(info.yes_token, "BUY", ask, "1", order_type="FAK", amounts=(5_910_900, 10_370_000))
    assert "max accuracy of 2 decimals" in str(_refused(local.post(body), 400, "INVALID_ORDER_ERROR")["error"])
    body, _ = local.trader.order(info.yes_token, "BUY", ask, "1", order_type="FAK", amounts=(5_000_000, 10_123_450))
    _refused(local.post(body), 400, "INVALID_ORDER_ERROR")  # taker amount with 5 decimals


def test_marketable_minimum_one_dollar(local: Local) -> None:
    info = local.market()
    ask = local.book(info.yes_token).best_ask
    body, _ = local.trader.order(info.yes_token, "BUY", ask, "1", order_type="FOK",
                                 amounts=(900_000, int(Decimal("0.9") / ask * 10**4) * 100))
    assert "min size: $1" in str(_refused(local.post(body), 400, "INVALID_ORDER_MIN_SIZE")["error"])


def test_post_only_crossing_and_type(local: Local) -> None:
    info = local.market()
    ask = local.book(info.yes_token).best_ask
    body, _ = local.trader.order(info.yes_token, "BUY", ask, "10", post_only=True)
    assert "crosses" in str(_refused(local.post(body), 400, "INVALID_POST_ONLY_ORDER")["error"])
    body, _ = local.trader.order(info.yes_token, "BUY", ask, "10", order_type="FOK", post_only=True, salt=2)
    _refused(local.post(body), 400, "INVALID_POST_ONLY_ORDER_TYPE")


def test_fak_matching_nothing_is_a_400_and_fok_must_fill_completely(local: Local) -> None:
    info = local.market()
    view = local.book(info.yes_token)
    body, digest = local.trader.order(info.yes_token, "BUY", view.best_bid, "10", order_type="FAK")
    err = _refused(local.post(body), 400, "EXECUTION_ERROR")
    assert "no orders found to match with FAK order" in str(err["error"])
    assert digest not in local.ctx.engine.orders
    depth = sum(level.size for level in view.asks if level.price == view.best_ask)
    body, _ = local.trader.order(info.yes_token, "BUY", view.best_ask, depth + 1, order_type="FOK", salt=3)
    _refused(local.post(body), 400, "FOK_ORDER_NOT_FILLED_ERROR")
    assert local.book(info.yes_token).asks == view.asks, "a killed FOK leaves the book untouched"


def test_gtd_lives_until_expiration_minus_sixty_seconds(local: Local) -> None:
    info = local.market()
    bid = local.book(info.yes_token).best_bid - Decimal("0.03")
    now_s = local.ctx.clock.now_ms() // 1000
    body, _ = local.trader.order(info.yes_token, "BUY", bid, "10", order_type="GTD", expiration=now_s + 60)
    _refused(local.post(body), 400, "INVALID_ORDER_EXPIRATION")
    body, _ = local.trader.order(info.yes_token, "BUY", bid, "10", expiration=now_s + 600, salt=2)
    _refused(local.post(body), 400, "INVALID_ORDER_EXPIRATION")  # only GTD orders may expire
    # A 90 s order is sent with expiration = now + 60 + 90.
    body, digest = local.trader.order(info.yes_token, "BUY", bid, "10", order_type="GTD",
                                      expiration=now_s + 60 + 90, salt=3)
    assert local.post(body).json()["status"] == "live"
    local.advance(89_000)
    assert local.ctx.engine.orders[digest].status == "LIVE"
    local.advance(2_000)
    assert local.ctx.engine.orders[digest].status == "CANCELED"


def test_balance_is_reserved(local: Local) -> None:
    info = local.market()
    body, _ = local.trader.order(info.yes_token, "BUY", "0.10", "1000000")
    err = _refused(local.post(body), 400, "INVALID_ORDER_NOT_ENOUGH_BALANCE")
    assert err["error"] == "not enough balance / allowance"
    # 10,000 pUSD: one order reserving 9,000 leaves too little for a second of 2,000.
    first, _ = local.trader.order(info.yes_token, "BUY", "0.10", "90000", salt=2)
    assert local.post(first).status_code == 200
    second, _ = local.trader.order(info.yes_token, "BUY", "0.10", "20000", salt=3)
    _refused(local.post(second), 400, "INVALID_ORDER_NOT_ENOUGH_BALANCE")
    sell, _ = local.trader.order(info.yes_token, "SELL", "0.90", "10", salt=4)
    _refused(local.post(sell), 400, "INVALID_ORDER_NOT_ENOUGH_BALANCE")  # holds no shares


def test_unfunded_account_needs_the_admin(poor_local: Local) -> None:
    info = poor_local.market()
    body, _ = poor_local.trader.order(info.yes_token, "BUY", "0.10", "10")
    _refused(poor_local.post(body), 400, "INVALID_ORDER_NOT_ENOUGH_BALANCE")
    balance = poor_local.trader.call(poor_local.http, "GET", "/balance-allowance", params={"asset_type": "COLLATERAL"})
    assert balance.json()["balance"] == "0"
    funded = poor_local.http.post("/admin/fund", json={"address": poor_local.trader.address, "amount": "50"})
    assert funded.status_code == 200
    assert poor_local.post(body).json()["status"] == "live"
    balance = poor_local.trader.call(poor_local.http, "GET", "/balance-allowance", params={"asset_type": "COLLATERAL"})
    assert balance.json()["balance"] == "50000000"


def test_signature_owner_signer_and_duplicates(local: Local) -> None:
    info = local.market()
    body, digest = local.trader.order(info.yes_token, "BUY", "0.10", "10")
    tampered = {**body, "order": {**body["order"], "makerAmount": str(int(body["order"]["makerAmount"]) - 10_000)}}
    assert local.post(tampered).json()["error"] == "invalid signature"
    assert local.post({**body, "owner": "someone-else"}).json()["error"] == (
        "the order owner has to be the owner of the API KEY")
    other = local.login()
    assert local.post({**body, "owner": other.api_key}, trader=other).json()["error"] == (
        "the order signer address has to be the address of the API KEY")
    assert local.post(body).status_code == 200
    err = _refused(local.post(body), 400, "INVALID_ORDER_DUPLICATED")
    assert err["error"] == f"order {digest} is invalid. Duplicated."


def test_batch_limits_and_per_leg_errors(local: Local) -> None:
    info = local.market()
    orders = [local.trader.order(info.yes_token, "BUY", "0.10", "10", salt=i)[0] for i in range(16)]
    resp = local.trader.call(local.http, "POST", "/orders", orders)
    assert resp.status_code == 400 and resp.json()["error"] == "Too many orders in payload: 16, max allowed: 15"
    bad, _ = local.trader.order(info.yes_token, "BUY", "0.105", "10", tick="0.001", salt=99)
    resp = local.trader.call(local.http, "POST", "/orders", [orders[0], bad])
    assert resp.status_code == 200
    legs = resp.json()
    assert legs[0]["status"] == "live" and legs[0]["orderID"]
    assert legs[1]["orderID"] == "" and "tick size" in legs[1]["errorMsg"]


def test_l2_authentication(local: Local) -> None:
    t = local.trader
    ok = t.call(local.http, "GET", "/data/orders")
    assert ok.status_code == 200 and ok.json()["next_cursor"] == "LTE="
    old = int(time.time()) - 300
    stale = local.http.get("/data/orders", headers=t.l2_headers("GET", "/data/orders", timestamp=old))
    assert stale.status_code == 401 and stale.json() == {"error": "Unauthorized/Invalid api key"}
    headers = t.l2_headers("GET", "/data/orders")
    headers["POLY_SIGNATURE"] = headers["POLY_SIGNATURE"][:-4] + "AAA="
    assert local.http.get("/data/orders", headers=headers).status_code == 401
    # The signature covers the exact body: re-serialising it differently breaks it.
    body = '{"orderID":"0xabc"}'
    headers = t.l2_headers("DELETE", "/order", body)
    assert local.http.request("DELETE", "/order", content=b'{"orderID": "0xabc"}', headers=headers).status_code == 401
    assert local.http.request("DELETE", "/order", content=body.encode(), headers=headers).status_code == 200
    # The query string is not signed.
    headers = t.l2_headers("GET", "/data/orders")
    assert local.http.get("/data/orders?next_cursor=MA==", headers=headers).status_code == 200
    l1 = t.l1_headers()
    l1["POLY_SIGNATURE"] = "0x" + "11" * 65
    assert local.http.get("/auth/derive-api-key", headers=l1).status_code == 401


def test_cancel_reasons(local: Local) -> None:
    info = local.market()
    body, digest = local.trader.order(info.yes_token, "BUY", "0.10", "10")
    local.post(body)
    resp = local.trader.call(local.http, "DELETE", "/orders", [digest, digest, "0xnope"]).json()
    assert resp == {"canceled": [digest], "not_canceled": {"0xnope": "Order not found or already canceled"}}
    again = local.trader.call(local.http, "DELETE", "/order", {"orderID": digest}).json()
    assert again["not_canceled"] == {digest: "Order already canceled"}
    assert local.trader.call(local.http, "GET", f"/data/order/{digest}").json() is None  # inactive reads empty


def test_proxy_funders_belong_to_their_first_signer(local: Local) -> None:
    info = local.market()
    proxy = checksum_address("0x" + "ab" * 20)
    body, digest = local.trader.order(info.yes_token, "BUY", "0.10", "10", maker=proxy, signature_type=1)
    assert local.post(body).json()["status"] == "live"
    assert local.ctx.engine.orders[digest].maker == proxy  # the proxy's own balance pays
    thief = local.login()
    stolen, _ = thief.order(info.yes_token, "BUY", "0.10", "10", maker=proxy, signature_type=1)
    err = _refused(local.post(stolen, trader=thief), 400, "INVALID_ORDER_ERROR")
    assert err["error"] == "maker address not allowed, please use the deposit wallet flow"
    victim, _ = thief.order(info.yes_token, "BUY", "0.10", "10", maker=local.trader.address, signature_type=2)
    _refused(local.post(victim, trader=thief), 400, "INVALID_ORDER_ERROR")  # an EOA with keys is no proxy


def test_l1_credentials_depend_on_address_nonce_and_seed_only(local: Local) -> None:
    t = local.trader
    again = local.http.get("/auth/derive-api-key", headers=t.l1_headers()).json()
    assert again["apiKey"] == t.api_key and again["secret"] == t.secret and again["passphrase"] == t.passphrase
    created = local.http.post("/auth/api-key", headers=t.l1_headers())
    assert created.status_code == 400 and created.json() == {"error": "Could not create api key"}
    other_nonce = local.http.post("/auth/api-key", headers=t.l1_headers(nonce=7)).json()
    assert other_nonce["apiKey"] != t.api_key
    # A restart with the same seed derives the same key; another seed does not.
    for same in make_local():
        assert same.http.get("/auth/derive-api-key", headers=t.l1_headers()).json()["apiKey"] == t.api_key
    for other in make_local(seed=12):
        assert other.http.get("/auth/derive-api-key", headers=t.l1_headers()).json()["apiKey"] != t.api_key


def test_neg_risk_markets_verify_against_the_neg_risk_exchange(local: Local) -> None:
    info = next(i for i in local.ctx.engine.by_cid.values() if i.neg_risk and str(i.tick) == "0.01")
    body, digest = local.trader.order(info.yes_token, "BUY", "0.10", "10", neg_risk=True)
    resp = local.post(body).json()
    assert resp["status"] == "live" and resp["orderID"] == digest
    wrong, _ = local.trader.order(info.yes_token, "BUY", "0.10", "10", neg_risk=False, salt=2)
    assert local.post(wrong).json()["error"] == "invalid signature"


def test_cancel_market_orders_only_touches_that_market(local: Local) -> None:
    first = local.market()
    second = next(i for i in local.ctx.engine.by_cid.values()
                  if i.condition_id != first.condition_id and str(i.tick) == "0.01" and not i.neg_risk)
    a, a_id = local.trader.order(first.yes_token, "BUY", "0.10", "10")
    b, b_id = local.trader.order(second.no_token, "BUY", "0.10", "10", salt=2)
    assert local.post(a).status_code == local.post(b).status_code == 200
    resp = local.trader.call(local.http, "DELETE", "/cancel-market-orders", {"market": first.condition_id}).json()
    assert resp == {"canceled": [a_id], "not_canceled": {}}
    resp = local.trader.call(local.http, "DELETE", "/cancel-market-orders", {"asset_id": second.yes_token}).json()
    assert resp["canceled"] == []
    resp = local.trader.call(local.http, "DELETE", "/cancel-market-orders", {"asset_id": second.no_token}).json()
    assert resp["canceled"] == [b_id]
