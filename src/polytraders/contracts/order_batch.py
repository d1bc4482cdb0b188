"""One venue answer that moved several orders, journaled as one record.

Polymarket answers a cancel-all with one message (`{canceled: [...], not_canceled: {...}}`).
The Order Lifecycle Manager used to journal that answer as one `order_record` envelope per
order, each with its own hash, insert, projection fold and kill-switch trigger check; on the
kill switch's trip path that was most of the time between the trip and the next rejected
intent. It now journals the orders the answer cancelled as one `OrderBatch`: every order's new
`OrderRecord` in full, in the order the venue listed them, each with the reason code and
correlation id its own envelope used to carry. Whatever else the answer held (a refusal, an
event the OLM cannot apply) is journaled on its own as before.

The kill switch checks its triggers once after the batch (as one order-record input), where it
checked after each record. The two agree: a batch holds only cancels of resting orders, which
are not answers to submissions (the reject rate's inputs do not move inside it) and only lower
the pUSD reserved for open orders (wallet funding can only get better inside it). They could
differ only if the wallet were already short when the answer came without a trip, i.e. cash fell
through a non-input since the last input; then one record checked alone would trip where the
whole answer does not: the answer is one message, and the state it leaves is the one judged.

Readers that look at order transitions (the orders projection, `trace`, tests) go through
`order_records`, so a batch and the older one-envelope-per-order journals read the same.
Records are built by the OLM from values it has already validated, so a batch is assembled
without a second validation pass; reading one back from the journal (`decode`) validates every
record in full.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from polytraders.contracts.base import SCHEMA_VERSION, Contract, assembled
from polytraders.contracts.orders import OrderRecord
from polytraders.contracts.reasons import registered_code

BatchCause = Literal["cancel_all"]
"""What the venue answered: so far only a cancel-all."""


class BatchedOrderRecord(Contract):
    """One order's transition inside a batch: what its own `order_record` envelope carried."""

    kind: ClassVar[str] = "batched_order_record"
    record: OrderRecord
    reason_code: str
    correlation_id: str | None = Field(default=None, max_length=200)

    _registered = field_validator("reason_code")(registered_code)

    @classmethod
    def of(cls, record: OrderRecord, reason_code: str, correlation_id: str | None) -> BatchedOrderRecord:
        """An item of a record the OLM already holds validated and a registered code: no
        validation pass (one per cancelled order, on the trip path)."""
        return assembled(cls, _ITEM_FIELDS, {"schema_version": SCHEMA_VERSION, "record": record,
                                             "reason_code": reason_code, "correlation_id": correlation_id})

    def to_json_dict(self) -> dict[str, Any]:
        # the item's own schema_version is the default and left out (the record keeps its own)
        return {"record": record_json(self.record), "reason_code": self.reason_code,
                "correlation_id": self.correlation_id}


def record_json(record: OrderRecord) -> dict[str, Any]:
    """`record.to_json_dict()` written out by hand (a batch serialises one record per cancelled
    order on the trip path): the fields in declared order, Decimals as `str` gives them, as
    pydantic's JSON mode does (a test holds the two equal)."""
    f = record.__dict__
    return {"schema_version": f["schema_version"], "client_order_id": f["client_order_id"],
            "venue_order_id": f["venue_order_id"], "intent_id": f["intent_id"], "strategy_id": f["strategy_id"],
            "market_id": f["market_id"], "token_id": f["token_id"], "side": f["side"], "price": str(f["price"]),
            "size": str(f["size"]), "filled": str(f["filled"]), "order_type": f["order_type"],
            "status": f["status"], "previous": f["previous"], "venue_error": f["venue_error"]}


_ITEM_FIELDS = frozenset({"record", "reason_code", "correlation_id"})


class OrderBatch(Contract):
    """Several orders' transitions from one venue answer, in the venue's order."""

    kind: ClassVar[str] = "order_batch"
    cause: BatchCause
    records: tuple[BatchedOrderRecord, ...] = Field(min_length=1)

    def to_json_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "cause": self.cause,
                "records": [r.to_json_dict() for r in self.records]}


_RECORD_FIELDS = ("schema_version", "client_order_id", "venue_order_id", "intent_id", "strategy_id", "market_id",
                  "token_id", "side", "price", "size", "filled", "order_type", "status", "previous", "venue_error")
if tuple(OrderRecord.model_fields) != _RECORD_FIELDS:  # pragma: no cover - a new field must be written out
    raise ImportError("OrderRecord's fields changed: update record_json in contracts/order_batch.py")


@dataclass(frozen=True, slots=True)
class RecordView:
    """One order transition as the journal holds it: an `order_record` envelope (``index`` None)
    or one record of an `order_batch` (``index`` its place in the batch). ``payload`` is the
    record's JSON form."""

    seq: int
    index: int | None
    payload: Mapping[str, Any]
    reason_code: str
    correlation_id: str | None

    @property
    def label(self) -> str:
        """``seq``, or ``seq.n`` (1-based) for a batch's record."""
        return str(self.seq) if self.index is None else f"{self.seq}.{self.index + 1}"


def order_records(entry: Any) -> Iterator[RecordView]:
    """Every order transition a `JournalEntry` holds, whichever shape it was journaled in;
    nothing for any other entry."""
    env = entry.envelope
    if env.kind == OrderRecord.kind:
        yield RecordView(entry.seq, None, env.payload, env.reason_code, env.correlation_id)
    elif env.kind == OrderBatch.kind:
        for i, item in enumerate(env.payload.get("records") or ()):
            yield RecordView(entry.seq, i, item["record"], str(item["reason_code"]), item.get("correlation_id"))
