"""Every payload the local exchange sent (recorded by ``record_fixtures.py``) parses with the
adapter's wire schemas, and ``parse`` turns them into the domain values the contract expects."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytraders.venues.base import VenueOrder
from polytraders.venues.polymarket import parse
from polytraders.venues.polymarket.data_api import DataApiClient
from polytraders.venues.polymarket.errors import HttpStatus, OrderRefused, order_error_code, venue_errors
from polytraders.venues.polymarket.gamma import market_meta
from polytraders.venues.polymarket.schemas import (
    WireBook,
    WireCancelReply,
    WireClobMarket,
    WireDataPosition,
    WireDataTrade,
    WireGammaMarket,
    WireOpenOrder,
    WireSendOrderReply,
    WireTrade,
    WireUserOrder,
    WireUserTrade,
    decode_market,
    decode_user,
)

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "venues" / "polymarket"


def load(kind: str, name: str) -> Any:
    return json.loads((ROOT / kind / f"{name}.json").read_text())


def all_of(kind: str) -> list[tuple[str, Any]]:
    return [(p.stem, json.loads(p.read_text())) for p in sorted((ROOT / kind).glob("*.json"))]


def test_fixtures_exist_for_every_channel() -> None:
    for kind in ("rest", "ws_market", "ws_user", "gamma", "data_api"):
        assert all_of(kind), kind
    assert DataApiClient  # the client reading data_api/ payloads is part of the surface


@pytest.mark.parametrize(("name", "frame"), all_of("ws_user"))
def test_every_user_frame_decodes(name: str, frame: dict[str, Any]) -> None:
    msg = decode_user(frame)
    assert isinstance(msg, WireUserOrder | WireUserTrade)
    if isinstance(msg, WireUserTrade):
        legs = parse.our_fills(msg, {m.order_id for m in msg.maker_orders} | {msg.taker_order_id}, 0)
        assert sum(leg.size for leg in legs if leg.liquidity == "taker") in (0, msg.size)
        assert all(leg.ts_ms == int(frame["match_time_nano"]) // 1_000_000 for leg in legs)
    else:
        assert parse.order_update(msg).kind in ("ack", "cancel", "none")


@pytest.mark.parametrize(("name", "frame"), all_of("ws_market"))
def test_every_market_frame_decodes(name: str, frame: Any) -> None:
    for item in frame if isinstance(frame, list) else [frame]:
        decode_market(item)


def test_book_snapshot_is_sorted_best_first_whatever_the_wire_order() -> None:
    dump = load("ws_market", "initial_dump")
    wire = WireBook.model_validate(dump[0])
    bids, asks = parse.levels_of(wire)
    view = parse.book_view(wire.asset_id, bids, asks, 0, Decimal("0.01"), Decimal(5))
    assert [lv.price for lv in view.bids] == sorted((lv.price for lv in view.bids), reverse=True)
    assert [lv.price for lv in view.asks] == sorted(lv.price for lv in view.asks)
    rest = WireBook.model_validate(load("rest", "book"))
    assert rest.asset_id and rest.tick_size == Decimal("0.01")


def test_rest_answers_parse() -> None:
    order = VenueOrder("cid-fixture", "1", "BUY", Decimal("0.5"), Decimal(10), "GTC", order_hash="0xabc")
    live = WireSendOrderReply.model_validate(load("rest", "post_order_live"))
    (ack,) = parse.post_reply(live, order, 5)
    assert (ack.kind, ack.venue_order_id, ack.remaining) == ("ack", live.orderID, Decimal(10))
    matched = WireSendOrderReply.model_validate(load("rest", "post_order_matched"))
    assert parse.post_reply(matched, order, 5)[0].kind == "ack" and matched.tradeIDs
    for row in load("rest", "open_orders")["data"]:
        view = parse.open_order_view(WireOpenOrder.model_validate(row), "cid")
        assert view.remaining == view.original_size - Decimal(row["size_matched"])
    for row in load("rest", "trades")["data"]:
        WireTrade.model_validate(row)
    assert WireCancelReply.model_validate(load("rest", "cancel_again")).not_canceled
    assert WireCancelReply.model_validate(load("rest", "cancel_all_empty")).canceled == ()
    infos = [parse.market_info(WireClobMarket.model_validate(m)) for m in load("rest", "markets_page")["data"]]
    assert all(i is not None and i.yes_token != i.no_token for i in infos)
    assert parse.market_info(WireClobMarket.model_validate(load("rest", "market"))) is not None


def test_refusals_translate_once() -> None:
    dup = load("rest", "post_order_duplicate_400")
    with pytest.raises(OrderRefused) as refused, venue_errors(mutating=True, order_id="0xmine"):
        raise HttpStatus(400, dup, None)
    assert refused.value.code == "INVALID_ORDER_DUPLICATED" and refused.value.venue_order_id == dup["orderID"]
    assert order_error_code(load("rest", "post_order_min_size_400")) == "INVALID_ORDER_MIN_SIZE"


def test_gamma_and_data_api_payloads() -> None:
    metas = [market_meta(WireGammaMarket.model_validate(row)) for row in load("gamma", "markets")]
    for meta in metas:
        assert meta.question and len(meta.outcomes) == 2 and {n for n, _ in meta.outcomes} == {"Yes", "No"}
        assert meta.outcome_of(meta.outcomes[0][1]) == "Yes"
    for row in load("data_api", "positions"):
        WireDataPosition.model_validate(row)
    for row in load("data_api", "trades"):
        WireDataTrade.model_validate(row)
