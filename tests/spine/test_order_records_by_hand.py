"""The OLM's records and the signer's request, checked and serialised by hand: the same object as
pydantic's validation gives (or the same refusal), and the same JSON as pydantic's serializer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from polytraders.contracts.orders import (
    FillRecord,
    OrderRecord,
    SignedOrderRequest,
    fill_record,
    moved_record,
    order_record,
    settled_fill,
    signed_order_request,
)

HEX = "0123456789abcdef"
MARKET = "0x" + "ab" * 32

# values a field may be handed: mostly good ones (so most examples take the path by hand), plus
# each kind of bad or unusual one


def _mostly(good: st.SearchStrategy[Any], *bad: Any) -> st.SearchStrategy[Any]:
    """`good` 19 times in 20, else one of `bad`."""
    return st.integers(0, 19).flatmap(lambda i: good if i else st.sampled_from(bad))


_texts = _mostly(st.sampled_from(["c-0001", "0xdead", "x" * 90, "Ü"]), "", 5, None)
_prices = _mostly(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.9999"), places=4),
                  Decimal("0"), Decimal("1"), Decimal("0.12345"), Decimal("NaN"), "0.5", 0.5, None,
                  Decimal("-0.5"), Decimal("5E-1"))
_amounts = _mostly(st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=6),
                   Decimal("-1"), Decimal("-0"), Decimal("1E+1"), Decimal("Infinity"), Decimal("NaN"),
                   "3", 3, True, 2.5, None)
_hex32 = _mostly(st.text(HEX, min_size=64, max_size=64).map(lambda t: "0x" + t),
                 MARKET.upper().replace("0X", "0x"), "0x12", MARKET + "\n", 5, None)
_token = _mostly(st.sampled_from(["123", "0", "7" * 77]), "12a", "", "1" * 81, 5, "12\n")
_maybe_text = st.one_of(st.none(), _texts)


def _same(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    assert fast.__dict__ == slow.__dict__
    assert {k: type(v) for k, v in fast.__dict__.items()} == {k: type(v) for k, v in slow.__dict__.items()}
    assert fast.to_json_dict() == slow.to_json_dict() == slow.model_dump(mode="json")
    assert list(fast.to_json_dict()) == list(slow.model_dump(mode="json"))


def _agree(build: Any, cls: Any, data: dict[str, Any]) -> None:
    try:
        slow = cls.model_validate(data)
    except ValidationError:
        with pytest.raises(ValidationError):
            build(data)
        return
    _same(build(data), slow)


@settings(max_examples=400, deadline=None)
@given(cid=_texts, venue_order_id=_maybe_text, market=_hex32, token=_token,
       side=_mostly(st.sampled_from(["BUY", "SELL"]), "buy", 1), price=_prices, size=_amounts,
       filled=_amounts, order_type=_mostly(st.sampled_from(["GTC", "GTD", "FOK", "FAK"]), "LIMIT"),
       status=_mostly(st.sampled_from(["created", "live", "filled", "cancelled"]), "bogus"),
       previous=st.sampled_from([None, "submitted", "live", "bogus"]), venue_error=_maybe_text,
       drop=_mostly(st.none(), "filled", "previous", "intent_id"),
       extra=_mostly(st.sampled_from([{}, {"schema_version": "1.0.0"}]), {"schema_version": "2.0.0"},
                     {"surprise": 1}))
def test_order_record_by_hand_is_pydantics(cid: Any, venue_order_id: Any, market: Any, token: Any,
                                           side: Any, price: Any, size: Any, filled: Any,
                                           order_type: Any, status: Any, previous: Any,
                                           venue_error: Any, drop: Any, extra: Any) -> None:
    data = {"client_order_id": cid, "venue_order_id": venue_order_id, "intent_id": "i-0001",
            "strategy_id": "strat.maker_tight", "market_id": market, "token_id": token, "side": side,
            "price": price, "size": size, "filled": filled, "order_type": order_type,
            "status": status, "previous": previous, "venue_error": venue_error, **extra}
    if drop is not None:
        data.pop(drop)
    _agree(order_record, OrderRecord, data)


@settings(max_examples=400, deadline=None)
@given(trade=_texts, market=_hex32, token=_token, side=_mostly(st.sampled_from(["BUY", "SELL"]), "x"),
       price=_prices, size=_amounts, fee=_amounts,
       liquidity=_mostly(st.sampled_from(["maker", "taker"]), "both"),
       settlement=_mostly(st.sampled_from(["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"]),
                          "matched"),
       ts=_mostly(st.sampled_from([0, 1_767_225_600_000]), -1, True, "5", 2.0),
       drop=_mostly(st.none(), "fee_pusd", "settlement", "trade_id"))
def test_fill_record_by_hand_is_pydantics(trade: Any, market: Any, token: Any, side: Any, price: Any,
                                          size: Any, fee: Any, liquidity: Any, settlement: Any,
                                          ts: Any, drop: Any) -> None:
    data = {"trade_id": trade, "client_order_id": "c-0001", "market_id": market, "token_id": token,
            "side": side, "price": price, "size": size, "fee_pusd": fee, "liquidity": liquidity,
            "settlement": settlement, "ts_ms": ts}
    if drop is not None:
        data.pop(drop)
    _agree(fill_record, FillRecord, data)


_RECORD = order_record({
    "client_order_id": "c-0001", "venue_order_id": "0x" + "cd" * 32, "intent_id": "i-0001",
    "strategy_id": "strat.maker_tight", "market_id": MARKET, "token_id": "7" * 77, "side": "SELL",
    "price": Decimal("0.4321"), "size": Decimal("25"), "filled": Decimal("2.5"), "order_type": "GTC",
    "status": "live", "previous": "submitted", "venue_error": None})


@settings(max_examples=300, deadline=None)
@given(status=_mostly(st.sampled_from(["partially_filled", "filled", "cancelled", "live"]), "bogus", 5),
       filled=_amounts, venue_order_id=_maybe_text, venue_error=_maybe_text)
def test_a_moved_record_is_the_record_validated(status: Any, filled: Any, venue_order_id: Any,
                                                venue_error: Any) -> None:
    """Only the moved values are checked by hand: the result (or the refusal) is the one
    validating the whole moved record gives."""
    data = {**_RECORD.__dict__, "status": status, "previous": _RECORD.status, "filled": filled,
            "venue_order_id": venue_order_id, "venue_error": venue_error}
    _agree(lambda d: moved_record(_RECORD, status, filled, venue_order_id, venue_error), OrderRecord, data)


@settings(max_examples=100, deadline=None)
@given(settlement=_mostly(st.sampled_from(["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"]),
                          "matched", "", 3, None))
def test_a_settled_fill_is_the_fill_validated(settlement: Any) -> None:
    fill = fill_record({"trade_id": "t-0001", "client_order_id": "c-0001", "market_id": MARKET,
                        "token_id": "123", "side": "BUY", "price": Decimal("0.25"), "size": Decimal("4"),
                        "fee_pusd": Decimal("0.01"), "liquidity": "taker", "settlement": "MATCHED",
                        "ts_ms": 1_767_225_600_000})
    _agree(lambda d: settled_fill(fill, settlement), FillRecord, {**fill.__dict__, "settlement": settlement})


_ADDR = "0x" + "Ab" * 20
_SIG = "0x" + "1f" * 65


@settings(max_examples=400, deadline=None)
@given(order_hash=_hex32, maker=_mostly(st.sampled_from([_ADDR, _ADDR.lower()]), "0x12", _ADDR + "\n", 7),
       token=_token, salt=_mostly(st.sampled_from([0, 5, 2**60]), -1, True),
       amounts=_mostly(st.just((1, 2)), (0, 2), (1, -1), (1.0, 2), ("1", 2)),
       side=_mostly(st.sampled_from(["BUY", "SELL"]), "HOLD"),
       signature_type=_mostly(st.sampled_from([0, 1, 2]), 3, 4, -1),
       signature=_mostly(st.just(_SIG), _SIG + "ab" * 10, _SIG[:-2], "nothex", _SIG + "\n"),
       order_type=_mostly(st.sampled_from(["GTC", "GTD"]), "IOC"),
       post_only=_mostly(st.booleans(), 1),
       expiration=_mostly(st.sampled_from([0, 1_800_000_000]), -5),
       domain_version=_mostly(st.just("2"), "1"), drop=_mostly(st.none(), "salt", "domain_version"))
def test_signed_order_request_by_hand_is_pydantics(order_hash: Any, maker: Any, token: Any, salt: Any,
                                                   amounts: Any, side: Any, signature_type: Any,
                                                   signature: Any, order_type: Any, post_only: Any,
                                                   expiration: Any, domain_version: Any,
                                                   drop: Any) -> None:
    data = {"plan_id": "p-0001", "client_order_id": "c-0001", "order_hash": order_hash, "salt": salt,
            "maker": maker, "signer": _ADDR, "token_id": token, "maker_amount": amounts[0],
            "taker_amount": amounts[1], "side": side, "signature_type": signature_type,
            "timestamp_ms": 1_767_225_600_000, "metadata": "0x" + "00" * 32, "builder": MARKET,
            "expiration_s": expiration, "signature": signature, "order_type": order_type,
            "post_only": post_only, "chain_id": 137, "verifying_contract": _ADDR,
            "domain_version": domain_version}
    if drop is not None:
        data.pop(drop)
    _agree(signed_order_request, SignedOrderRequest, data)


def test_a_record_built_by_hand_refuses_what_pydantic_refuses() -> None:
    good = {"client_order_id": "c-0001", "venue_order_id": None, "intent_id": "i-0001",
            "strategy_id": "s", "market_id": MARKET, "token_id": "123", "side": "BUY",
            "price": Decimal("0.5"), "size": Decimal("10"), "filled": Decimal("0"),
            "order_type": "GTC", "status": "created", "previous": None, "venue_error": None}
    assert order_record(good).price == Decimal("0.5")
    for field, bad in (("price", Decimal("1")), ("size", Decimal("0")), ("filled", Decimal("-1")),
                       ("price", Decimal("0.12345")), ("status", "lost"), ("market_id", "0x12")):
        with pytest.raises(ValidationError):
            order_record({**good, field: bad})
