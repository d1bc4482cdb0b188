"""Books decoded with their header remembered (`BookDecoder`): for any payload, the snapshot
`OrderBookSnapshot`'s validator gives (the same values, types and fields set), or a refusal
where the validator refuses."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.contracts import OrderBookSnapshot
from polytraders.contracts.envelope import ReportEnvelope
from polytraders.state.bulk_decode import BookDecoder

MARKET = "0x" + "ab" * 32


def _book(**over: Any) -> dict[str, Any]:
    book = {"schema_version": "1.0.0", "market_id": MARKET, "token_id": "123", "ts_ms": 5, "tick": "0.01",
            "bids": [{"price": "0.5", "size": "10", "schema_version": "1.0.0"},
                     {"price": "0.49", "size": "3", "schema_version": "1.0.0"}],
            "asks": [{"price": "0.52", "size": "1", "schema_version": "1.0.0"}],
            "book_hash": "h" * 16}
    book.update(over)
    return book


def _env(payload: dict[str, Any]) -> ReportEnvelope:
    return ReportEnvelope.model_validate({
        "kind": OrderBookSnapshot.kind, "actor": {"kind": "system", "id": "test"},
        "reason_code": "GOV_MARKET_DATA", "severity": "INFO", "ts_ms": 1,
        "payload": orjson.loads(orjson.dumps(payload))})


HEADERS = [_book(), _book(tick="0.001", token_id="7"), _book(market_id=MARKET.upper().replace("0X", "0x"))]
_odd = st.sampled_from([None, True, 0, 1, 1.5, -1, "", "h" * 7, "h" * 8, "h" * 80, "h" * 81, "0.01", "0.001",
                        "0.05", "1.0.0", "2.0.0", "123", "12a", MARKET, MARKET.upper(), [], {}, 2 ** 63])
_prices = st.sampled_from(["0.5", "0.51", "0.505", "0.49", "0.48", "0.50", "0.52", "0.5E0", "1", "0", "x"])
_level = st.one_of(
    st.fixed_dictionaries({"price": _prices, "size": st.sampled_from(["10", "1", "0", "-1"])}),
    st.fixed_dictionaries({"price": _prices, "size": st.just("5"), "schema_version": st.just("1.0.0")}),
    st.just("not a level"))


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    book = dict(draw(st.sampled_from(HEADERS)))
    for key in list(book):
        if draw(st.integers(0, 9)) == 0:
            book[key] = draw(_odd)
        if draw(st.integers(0, 40)) == 0:
            del book[key]
    if draw(st.integers(0, 30)) == 0:
        book["extra"] = 1
    if draw(st.integers(0, 2)) == 0:
        book["bids"] = draw(st.lists(_level, max_size=4))
    if draw(st.integers(0, 2)) == 0:
        book["asks"] = draw(st.lists(_level, max_size=4))
    if draw(st.integers(0, 5)) == 0:
        book["ts_ms"] = draw(st.integers(-3, 2 ** 63))
    return book


def _same(a: OrderBookSnapshot, b: OrderBookSnapshot) -> None:
    assert a.__dict__ == b.__dict__
    assert [type(v) for v in a.__dict__.values()] == [type(v) for v in b.__dict__.values()]
    assert [type(v) for v in (*a.bids, *a.asks)] == [type(v) for v in (*b.bids, *b.asks)]
    assert a.model_fields_set == b.model_fields_set
    assert (a.__pydantic_private__, a.__pydantic_extra__) == (b.__pydantic_private__, b.__pydantic_extra__)
    assert a.to_json_dict() == b.to_json_dict()


@settings(max_examples=500, deadline=None)
@given(payloads())
def test_the_validators_snapshot_or_its_refusal(payload: dict[str, Any]) -> None:
    books = BookDecoder()
    for header in HEADERS:  # each header remembered, so most examples take the path by hand
        env = _env(header)
        books.predecode(env)
        _same(env.decode(), OrderBookSnapshot.model_validate(header))  # type: ignore[arg-type]
    try:
        want: OrderBookSnapshot | None = OrderBookSnapshot.model_validate(orjson.loads(orjson.dumps(payload)))
    except ValueError:
        want = None
    for _ in range(2):  # the second time, its own header and levels are remembered too
        env = _env(payload)
        books.predecode(env)
        try:
            got: OrderBookSnapshot | None = env.decode()  # type: ignore[assignment]
        except ValueError:
            got = None
        if want is None:
            assert got is None
        else:
            assert got is not None
            _same(got, want)
