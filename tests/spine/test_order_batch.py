"""The order batch contract: its hand-written JSON equals pydantic's, it round-trips through the
journal's envelope, reading one back validates every record, and hostile payloads are refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from polytraders.contracts import BatchedOrderRecord, OrderBatch, OrderRecord
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.contracts.order_batch import order_records, record_json
from polytraders.journal.base import JournalEntry

HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map(lambda s: "0x" + s)
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40)
STATUSES = st.sampled_from(["created", "signed", "submitted", "live", "partially_filled", "filled",
                            "cancel_pending", "cancelled", "expired", "rejected"])
# exponents vary on purpose: '5', '5.000', '1E+2' and '0E-8' must come out as pydantic writes them
AMOUNTS = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1e9"), allow_nan=False,
                      allow_infinity=False)

records = st.builds(
    OrderRecord,
    client_order_id=IDS, venue_order_id=st.none() | IDS, intent_id=IDS, strategy_id=IDS, market_id=HEX64,
    token_id=st.integers(min_value=0, max_value=2**256 - 1).map(str), side=st.sampled_from(["BUY", "SELL"]),
    price=st.integers(min_value=1, max_value=9999).map(lambda n: Decimal(n).scaleb(-4)),
    size=AMOUNTS, filled=st.just(Decimal(0)) | AMOUNTS | st.just(Decimal("0E-8")),
    order_type=st.sampled_from(["GTC", "GTD", "FOK", "FAK"]), status=STATUSES,
    previous=st.none() | STATUSES, venue_error=st.none() | IDS,
)
OLM = Actor(kind="bot", id="exec.order_lifecycle_manager")


def _batch(recs: list[OrderRecord], corrs: list[str | None]) -> OrderBatch:
    items = tuple(BatchedOrderRecord.of(r, "EXEC_CANCELLED", c) for r, c in zip(recs, corrs, strict=True))
    batch: OrderBatch = OrderBatch.trusted(cause="cancel_all", records=items)
    return batch


@settings(max_examples=60, deadline=None)
@given(st.lists(records, min_size=1, max_size=5), st.data())
def test_batch_json_equals_pydantic_and_round_trips(recs: list[OrderRecord], data: st.DataObject) -> None:
    corrs = data.draw(st.lists(st.none() | IDS, min_size=len(recs), max_size=len(recs)))
    for r in recs:
        assert record_json(r) == r.to_json_dict()
    batch = _batch(recs, corrs)
    wire = batch.to_json_dict()
    back = OrderBatch.model_validate(wire)  # what reading it from the journal does
    assert back == OrderBatch.model_validate(batch.model_dump(mode="json"))
    assert [i.record for i in back.records] == recs
    assert back.to_json_dict() == wire
    env = ReportEnvelope.wrap(batch, actor=OLM, reason_code="EXEC_CANCELLED", ts_ms=1)
    entry = JournalEntry(7, "", "", ReportEnvelope.model_validate(env.to_json_dict()))
    views = list(order_records(entry))
    assert [(v.label, dict(v.payload), v.reason_code, v.correlation_id) for v in views] == [
        (f"7.{i + 1}", r.to_json_dict(), "EXEC_CANCELLED", c) for i, (r, c) in enumerate(zip(recs, corrs, strict=True))]


def _wire() -> dict[str, Any]:
    rec = OrderRecord(client_order_id="co_1", intent_id="oi_1", strategy_id="strat.maker_tight",
                      market_id="0x" + "ab" * 32, token_id="7", side="BUY", price=Decimal("0.5"),
                      size=Decimal(5), order_type="GTC", status="cancelled", previous="live")
    return _batch([rec], ["corr_1"]).to_json_dict()


@pytest.mark.parametrize("damage", [
    lambda w: w.update(records=[]),  # an empty answer is not a batch
    lambda w: w.update(cause="cancel_everything"),
    lambda w: w["records"][0].update(reason_code="EXEC_NOT_A_CODE"),
    lambda w: w["records"][0]["record"].update(price="1.5"),
    lambda w: w["records"][0]["record"].update(size="NaN"),
    lambda w: w["records"][0]["record"].update(status="vanished"),
    lambda w: w["records"][0]["record"].pop("client_order_id"),
    lambda w: w["records"][0].update(extra="field"),
    lambda w: w["records"][0].update(correlation_id="x" * 201),
])
def test_a_damaged_batch_is_refused_when_read(damage: Any) -> None:
    wire = _wire()
    OrderBatch.model_validate(wire)
    damage(wire)
    with pytest.raises(ValidationError):
        OrderBatch.model_validate(wire)


def test_an_order_record_envelope_reads_as_one_record() -> None:
    rec = OrderBatch.model_validate(_wire()).records[0].record
    env = ReportEnvelope.wrap(rec, actor=OLM, reason_code="EXEC_CANCELLED", ts_ms=1, correlation_id="corr_1")
    [view] = order_records(JournalEntry(3, "", "", env))
    assert (view.label, dict(view.payload), view.reason_code, view.correlation_id) == (
        "3", rec.to_json_dict(), "EXEC_CANCELLED", "corr_1")
