"""Public market data, paging, Gamma and Data API shapes, and wire parsing under hypothesis."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.utilities import generate_orderbook_summary_hash, parse_raw_orderbook_summary

from polytraders.exchange.auth import ApiKey
from polytraders.exchange.errors import ApiError
from polytraders.exchange.validate import check_order
from polytraders.exchange.wire import END_CURSOR, decode_cursor, encode_cursor, page
from polytraders.exchange.ws import _kind
from polytraders.venues.base import MarketInfo

from .helpers import Local, make_local


def test_books_prices_and_batches(local: Local) -> None:
    info = local.market()
    token = info.yes_token
    book = local.http.get("/book", params={"token_id": token}).json()
    assert generate_orderbook_summary_hash(parse_raw_orderbook_summary(dict(book))) == book["hash"]
    asks = [Decimal(a["price"]) for a in book["asks"]]
    assert asks == sorted(asks, reverse=True), "asks best-last"
    view = local.book(token)
    assert local.http.get("/price", params={"token_id": token, "side": "BUY"}).json() == {"price": str(view.best_bid)}
    assert local.http.get("/price", params={"token_id": token, "side": "SELL"}).json() == {"price": str(view.best_ask)}
    mid = local.http.get("/midpoint", params={"token_id": token}).json()
    assert Decimal(mid["mid"]) == (view.best_bid + view.best_ask) / 2 == Decimal(mid["mid_price"])
    spread = local.http.get("/spread", params={"token_id": token}).json()["spread"]
    assert Decimal(spread) == view.best_ask - view.best_bid
    both = [{"token_id": info.yes_token}, {"token_id": info.no_token}]
    assert [b["asset_id"] for b in local.http.post("/books", json=both).json()] == [info.yes_token, info.no_token]
    assert set(local.http.post("/midpoints", json=both).json()) == {info.yes_token, info.no_token}
    assert local.http.post("/prices", json=[{"token_id": token, "side": "BUY"}]).json() == {
        token: {"BUY": str(view.best_bid)}}
    assert set(local.http.post("/spreads", json=both).json()) == {info.yes_token, info.no_token}
    assert local.http.get("/neg-risk", params={"token_id": token}).json() == {"neg_risk": info.neg_risk}
    assert local.http.get(f"/tick-size/{token}").json() == {"minimum_tick_size": 0.01}
    assert local.http.get("/fee-rate", params={"token_id": token}).json() == {"base_fee": 400}
    missing = local.http.get("/book", params={"token_id": "123"})
    assert missing.status_code == 404 and missing.json() == {"error": "No orderbook exists for the requested token id"}
    ask = view.best_ask
    taker, _ = local.trader.order(token, "BUY", ask, "5", order_type="FAK")
    local.post(taker)
    assert local.http.get("/last-trade-price", params={"token_id": token}).json() == {"price": str(ask), "side": "BUY"}
    assert local.http.post("/last-trades-prices", json=[{"token_id": token}]).json()[0]["price"] == str(ask)


def test_market_lookups(local: Local) -> None:
    info = local.market()
    by_token = local.http.get(f"/markets-by-token/{info.no_token}").json()
    assert by_token == {"condition_id": info.condition_id, "primary_token_id": info.no_token,
                        "secondary_token_id": info.yes_token}
    short = local.http.get(f"/clob-markets/{info.condition_id}").json()
    assert [t["t"] for t in short["t"]] == [info.yes_token, info.no_token] and short["mos"] == 5
    assert ("nr" in short) is info.neg_risk
    assert local.http.get("/markets/0xdead").status_code == 404


def test_markets_paging_ends_with_lte() -> None:
    for local in make_local(markets_page_size=3):
        seen: list[str] = []
        cursor = "MA=="
        while cursor != END_CURSOR:
            resp = local.http.get("/markets", params={"next_cursor": cursor}).json()
            assert resp["count"] == len(resp["data"]) <= 3 and resp["limit"] == 3
            seen += [m["condition_id"] for m in resp["data"]]
            cursor = resp["next_cursor"]
        assert seen == list(local.ctx.engine.by_cid)
        assert local.http.get("/markets", params={"next_cursor": END_CURSOR}).json()["data"] == []


def test_gamma_and_data_api(local: Local) -> None:
    info = local.market()
    rows = local.http.get("/gamma/markets", params={"limit": 100}).json()
    assert len(rows) == 10
    row = next(r for r in rows if r["conditionId"] == info.condition_id)
    assert json.loads(row["clobTokenIds"]) == [info.yes_token, info.no_token]
    assert json.loads(row["outcomes"]) == ["Yes", "No"] and row["orderMinSize"] == 5
    assert row["question"].startswith("Will ") and row["question"].endswith("?")
    assert row["question"][1:] in info.question and row["endDate"] and row["orderPriceMinTickSize"] == 0.01
    assert local.http.get(f"/gamma/markets/{row['id']}").json() == row
    events = local.http.get("/gamma/events").json()
    assert events[0]["markets"][0]["conditionId"] == rows[0]["conditionId"]
    ask = local.book(info.yes_token).best_ask
    taker, _ = local.trader.order(info.yes_token, "BUY", ask, "5", order_type="FOK")
    assert local.post(taker).status_code == 200
    positions = local.http.get("/data-api/positions", params={"user": local.trader.address}).json()
    assert [(p["asset"], p["size"], p["outcome"]) for p in positions] == [(info.yes_token, 5.0, "Yes")]
    trades = local.http.get("/data-api/trades", params={"user": local.trader.address}).json()
    assert trades[0]["side"] == "BUY" and trades[0]["size"] == 5.0 and trades[0]["transactionHash"].startswith("0x")


@given(st.integers(min_value=0, max_value=10_000))
def test_cursor_round_trip(offset: int) -> None:
    assert decode_cursor(encode_cursor(offset)) == offset


@given(st.lists(st.integers(), max_size=50), st.integers(min_value=1, max_value=20))
def test_paging_visits_every_row_once(rows: list[int], limit: int) -> None:
    out: list[int] = []
    cursor = "MA=="
    while cursor != END_CURSOR:
        resp = page(rows, cursor, limit)
        out += resp["data"]
        cursor = resp["next_cursor"]
    assert out == rows


@given(st.text(max_size=40) | st.sampled_from(["PING", "ping", '{"type":"market","assets_ids":[]}',
                                               '{"operation":"subscribe","assets_ids":["1"]}',
                                               '{"operation":"drop"}', "[1,2]", '{"type":"other"}']))
def test_ws_message_classifier_never_raises(text: str) -> None:
    kind, msg = _kind(text)
    assert kind in ("ping", "subscribe", "operation", "invalid")
    if kind in ("subscribe", "operation"):
        assert isinstance(msg, dict)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
_KEY = ApiKey("k", "c2VjcmV0", "p", "0x0000000000000000000000000000000000000001", 0)


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["order", "owner", "orderType", "postOnly"]), _json) | _json)
def test_garbage_order_payloads_are_clean_400s(body: Any) -> None:
    with pytest.raises(ApiError) as refused:
        check_order(body, _KEY, lambda token: None, lambda token: Decimal("0.01"), 0, 137)
    assert refused.value.status in (400, 404)


_REQUIRED = ["salt", "maker", "signer", "tokenId", "makerAmount", "takerAmount", "side", "signatureType",
             "timestamp", "signature", "expiration", "metadata", "builder"]
_field = _json | st.sampled_from(["0x" + "11" * 20, "0x" + "ab" * 65, "BUY", "SELL", "1000000", "1", "0", "1e3"])


@settings(max_examples=300)
@given(st.fixed_dictionaries({name: _field for name in _REQUIRED}), _json, st.sampled_from(["GTC", "FOK", [], None]))
def test_orders_with_every_field_but_garbage_values_are_clean_400s(order: dict[str, Any], post_only: Any,
                                                                    order_type: Any) -> None:
    order["signer"] = _KEY.address
    info = MarketInfo("0xc", "Q?", "1", "2", Decimal("0.01"), Decimal(5), False, "open", "politics")
    body = {"order": order, "owner": _KEY.api_key, "orderType": order_type, "postOnly": post_only}
    with pytest.raises(ApiError) as refused:
        check_order(body, _KEY, lambda token: info, lambda token: Decimal("0.01"), 0, 137)
    assert refused.value.status in (400, 404)


def test_prices_history_from_trade_prints(local: Local) -> None:
    info = local.market()
    token = info.yes_token
    start = local.ctx.clock.now_ms() // 1000
    for minute in range(3):
        ask = local.book(token).best_ask
        taker, _ = local.trader.order(token, "BUY", ask, "5", order_type="FAK", salt=minute + 1)
        assert local.post(taker).json()["status"] == "matched"
        local.advance(60_000)
    resp = local.http.get("/prices-history", params={"market": token, "startTs": start, "endTs": start + 600,
                                                     "fidelity": 1}).json()
    times = [h["t"] for h in resp["history"]]
    assert times == sorted(times) and all(start <= t <= start + 600 for t in times)
    minutes = [t // 60 for t in times]
    assert len(set(minutes)) == len(minutes), "one point per fidelity bucket"
    assert {start // 60, (start + 60) // 60, (start + 120) // 60} <= set(minutes)
    assert all(0 < h["p"] < 1 for h in resp["history"])
    coarse = local.http.get("/prices-history", params={"market": token, "interval": "1h", "fidelity": 60}).json()
    hours = [h["t"] // 3600 for h in coarse["history"]]
    assert 1 <= len(hours) <= 2 and len(set(hours)) == len(hours)  # the hour may straddle a boundary
    assert coarse["history"][-1]["t"] >= start + 120
    assert local.http.get("/prices-history", params={"market": token}).status_code == 400
