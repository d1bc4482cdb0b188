"""Envelopes read back with each distinct header validated once (`EnvelopeDecoder`): the same
envelope as `ReportEnvelope`'s validator gives for any dict, or the same refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from polytraders.contracts.envelope import ReportEnvelope
from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.journal.codec import canonical
from polytraders.journal.envelope_decode import EnvelopeDecoder

_validate = ReportEnvelope.__pydantic_validator__.validate_python
BUILDER = "0xb000000000000000000000000000000000000000000000000000000000003f7a"


def _base(kind: str = "order_book", code: str = "GOV_MARKET_DATA", actor_id: str = "feed.sim") -> dict[str, Any]:
    return {"schema_version": "1.0.0", "kind": kind, "actor": {"id": actor_id, "kind": "system"},
            "reason_code": code, "severity": "INFO", "ts_ms": 1_767_572_715_000, "correlation_id": None,
            "config_version": "0", "mode": None, "kill_switch": "armed", "builder_code": BUILDER,
            "config_warnings": [], "payload": {"bids": [], "tick": "0.01"}}


HEADERS = [_base(), _base("note", "STRAT_NO_EDGE", "strategy.mm"), _base("note", "GOV_CONFIG_LOADED", "gov.x")]

# values a field may be handed: the good one most of the time (so most examples take the
# remembered header's path), else something of another type or out of range
_odd = st.sampled_from([None, True, 1, 1.0, -1, "", "x" * 130, "1.0.0", "armed", "tripped", "INFO", "WARN",
                        "bot", "NOPE", [], ["w"], [1], [["w"]], {}, {"id": "a", "kind": "bot"},
                        {"id": "a", "kind": "bot", "x": 1}, {"id": "", "kind": "bot"}, {"kind": "bot"},
                        "GOV_MARKET_DATA", "order_book", "not_a_kind", 2 ** 64 - 1, "c" * 120, "c" * 121])


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    raw = dict(draw(st.sampled_from(HEADERS)))
    raw["actor"] = dict(raw["actor"])
    for key in list(raw):
        if draw(st.integers(0, 11)) == 0:
            raw[key] = draw(_odd)
        if draw(st.integers(0, 40)) == 0:
            del raw[key]
    if draw(st.integers(0, 30)) == 0:
        raw[draw(st.sampled_from(["signature", "extra"]))] = draw(_odd)
    if draw(st.integers(0, 5)) == 0:
        raw["correlation_id"] = draw(st.text(max_size=125))
    if draw(st.integers(0, 5)) == 0:
        raw["ts_ms"] = draw(st.integers(-5, 2 ** 63))
    return raw


def _same(a: ReportEnvelope, b: ReportEnvelope) -> None:
    assert a.__dict__ == b.__dict__
    assert [type(v) for v in a.__dict__.values()] == [type(v) for v in b.__dict__.values()]
    assert a.model_fields_set == b.model_fields_set
    assert a.__pydantic_private__ == b.__pydantic_private__ == {"_contract": None}
    assert a.__pydantic_extra__ is b.__pydantic_extra__ is None
    assert a.to_json_dict() == b.to_json_dict()


def _outcome(fn: Any, raw: dict[str, Any]) -> ReportEnvelope | str:
    try:
        env: ReportEnvelope = fn(orjson.loads(orjson.dumps(raw)))
        return env
    except ValidationError as exc:
        return str(exc)


@settings(max_examples=600, deadline=None)
@given(envelopes())
def test_the_same_envelope_or_the_same_refusal(raw: dict[str, Any]) -> None:
    decode = EnvelopeDecoder()
    for header in HEADERS:  # every base header remembered: a changed field takes the fast path
        decode(orjson.loads(orjson.dumps(header)))
    want, got = _outcome(_validate, raw), _outcome(decode, raw)
    if isinstance(want, str):
        assert got == want
    else:
        assert isinstance(got, ReportEnvelope)
        _same(got, want)


def test_a_header_is_remembered_only_once_valid() -> None:
    decode = EnvelopeDecoder()
    bad = _base()
    bad["ts_ms"] = -1
    with pytest.raises(ValidationError):
        decode(bad)
    assert not decode._headers
    bad["ts_ms"] = 5
    bad["reason_code"] = "NOT_A_CODE"
    for _ in range(2):  # a refused header is refused again, by the validator
        with pytest.raises(ValidationError):
            decode(dict(bad))


def test_every_row_of_a_demo_journal_decodes_as_the_validator_gives(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "demo.db"
    run_demo(DemoArgs(minutes=2, markets=2, seed=7, db=db))
    decode = EnvelopeDecoder()
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT body FROM journal ORDER BY seq").fetchall()
    for (body,) in rows:
        env = orjson.loads(canonical(body))["envelope"]
        _same(decode(dict(env)), _validate(dict(env)))
    assert 0 < len(decode._headers) < len(rows) / 5
