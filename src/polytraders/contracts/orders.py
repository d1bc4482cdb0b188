"""The order path's contracts: intent, risk vote, execution plan, signed request, records.

Strategy emits an `OrderIntent`; every guardrail answers with a `RiskVote`; Execution produces an
`ExecutionPlan`; Security and the signer produce a `SignedOrderRequest`; the Order Lifecycle
Manager records `OrderRecord` transitions and `FillRecord`s; accounting derives `PositionRecord`s.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from polytraders.contracts.base import (
    _ADDRESS,
    _DIGITS,
    _HEX32,
    BUILDER_CODE,
    SCHEMA_VERSION,
    Address,
    Bytes32,
    Contract,
    EpochMs,
    NonNegUsd,
    Outcome,
    Price,
    Side,
    Size,
    TokenId,
    Usd,
    assembled,
)

IntentOrderType = Literal["LIMIT", "MARKET", "POST_ONLY", "GTC", "GTD", "FOK", "IOC"]
VenueOrderType = Literal["GTC", "GTD", "FOK", "FAK"]
RiskDecision = Literal["APPROVE", "RESHAPE_REQUIRED", "REJECT", "WARNING_ONLY"]
VoteSeverity = Literal["INFO", "WARN", "P1", "P0"]


class OrderIntent(Contract):
    """What a Trade-authority strategy wants: one order, before any risk check."""

    kind: ClassVar[str] = "order_intent"
    intent_id: str = Field(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_:\-]+$")
    correlation_id: str = Field(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_:\-]+$")
    strategy_id: str = Field(min_length=1, max_length=80)
    market_id: Bytes32
    token_id: TokenId
    outcome: Outcome
    side: Side
    order_type: IntentOrderType = "GTC"
    price: Price
    size: Size
    time_in_force_s: int | None = Field(default=None, ge=1, le=30 * 24 * 3600)
    reduce_only: bool = False
    builder_code: Bytes32 = BUILDER_CODE
    emitted_at_ms: EpochMs
    expires_at_ms: EpochMs | None = None

    @model_validator(mode="after")
    def _gtd_needs_tif(self) -> OrderIntent:
        if self.order_type == "GTD" and self.time_in_force_s is None:
            raise ValueError("order_type GTD needs time_in_force_s")
        return self

    @property
    def notional(self) -> Decimal:
        return self.price * self.size


class RiskConstraints(Contract):
    """What a RESHAPE_REQUIRED vote demands of Execution."""

    kind: ClassVar[str] = "risk_constraints"
    max_size: Size | None = None
    max_price: Price | None = None
    min_price: Price | None = None
    passive_only: bool = False
    close_only: bool = False


class RiskVote(Contract):
    """One guardrail's answer to one intent."""

    kind: ClassVar[str] = "risk_vote"
    guard_id: str
    intent_id: str
    decision: RiskDecision
    severity: VoteSeverity = "INFO"
    reason_code: str
    message: str = Field(max_length=400)
    constraints: RiskConstraints | None = None
    observed: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _reshape_has_constraints(self) -> RiskVote:
        if self.decision == "RESHAPE_REQUIRED" and self.constraints is None:
            raise ValueError("RESHAPE_REQUIRED needs constraints")
        return self

    @classmethod
    def own(cls, *, guard_id: str, intent_id: str, decision: RiskDecision, reason_code: str,
            message: str, severity: VoteSeverity = "INFO", constraints: RiskConstraints | None = None,
            observed: dict[str, str] | None = None) -> RiskVote:
        """A vote built by one of our own guardrails from values it already holds typed (the
        decision and severity are literals at the call site, `observed` is str to str): built
        without a validation pass, which costs more than the guard's own logic. The checks a
        typed call site cannot make are still made here."""
        return own_vote(guard_id, intent_id, decision, severity, reason_code, message, constraints,
                        {} if observed is None else observed)

    def to_json_dict(self) -> dict[str, Any]:
        # by hand, in the declared field order (what `model_dump(mode="json")` gives): every
        # vote is serialised on the order path
        return {"schema_version": self.schema_version, "guard_id": self.guard_id,
                "intent_id": self.intent_id, "decision": self.decision, "severity": self.severity,
                "reason_code": self.reason_code, "message": self.message,
                "constraints": None if self.constraints is None else self.constraints.to_json_dict(),
                "observed": dict(self.observed)}

    def compact_json_dict(self, bot_id: str, reason_code: str, intent_id: str | None) -> dict[str, Any]:
        """`compact_output(self.to_json_dict(), bot_id, reason_code, intent_id)` in one pass (the
        same dict, key order included): the form every vote takes inside a decision record."""
        # the fields read from the instance dict: an attribute read of a pydantic model goes
        # through its `__getattr__` hook first, and a decision reads nine per vote
        f = self.__dict__
        data: dict[str, Any] = {}
        if f["schema_version"] != SCHEMA_VERSION:
            data["schema_version"] = f["schema_version"]
        if f["guard_id"] != bot_id:
            data["guard_id"] = f["guard_id"]
        if intent_id is None or f["intent_id"] != intent_id:
            data["intent_id"] = f["intent_id"]
        data["decision"] = f["decision"]
        data["severity"] = f["severity"]
        if f["reason_code"] != reason_code:
            data["reason_code"] = f["reason_code"]
        data["message"] = f["message"]
        constraints = f["constraints"]
        data["constraints"] = None if constraints is None else constraints.to_json_dict()
        data["observed"] = dict(f["observed"])
        return data


_VOTE_FIELDS = frozenset(RiskVote.model_fields) - {"schema_version"}


def own_vote(guard_id: str, intent_id: str, decision: RiskDecision, severity: VoteSeverity, reason_code: str,
             message: str, constraints: RiskConstraints | None, observed: dict[str, str]) -> RiskVote:
    """`RiskVote.own` with every field given in order (the guardrails' hot path: no keyword
    binding); the same checks."""
    if decision == "RESHAPE_REQUIRED" and constraints is None:
        raise ValueError("RESHAPE_REQUIRED needs constraints")
    if len(message) > 400:
        raise ValueError("a vote's message is at most 400 characters")
    return assembled(RiskVote, _VOTE_FIELDS, {
        "schema_version": SCHEMA_VERSION, "guard_id": guard_id, "intent_id": intent_id, "decision": decision,
        "severity": severity, "reason_code": reason_code, "message": message, "constraints": constraints,
        "observed": observed})


class PlannedOrder(Contract):
    """One child order of an execution plan."""

    kind: ClassVar[str] = "planned_order"
    client_order_id: str = Field(min_length=8, max_length=80)
    token_id: TokenId
    side: Side
    price: Price
    size: Size
    order_type: VenueOrderType
    post_only: bool = False
    expires_at_ms: EpochMs | None = None

    def to_json_dict(self) -> dict[str, Any]:
        # by hand (every plan is serialised on the order path), as `model_dump(mode="json")`
        # gives it: a Decimal is its str(); anything unusual goes to the serializer
        # (the fields read from the instance dict: a pydantic attribute read costs several times more)
        f = self.__dict__
        price, size = f["price"], f["size"]
        if type(price) is not Decimal or type(size) is not Decimal:
            return super().to_json_dict()
        return {"schema_version": f["schema_version"], "client_order_id": f["client_order_id"],
                "token_id": f["token_id"], "side": f["side"], "price": str(price), "size": str(size),
                "order_type": f["order_type"], "post_only": f["post_only"], "expires_at_ms": f["expires_at_ms"]}


def planned_order(client_order_id: str, token_id: str, side: str, price: Decimal, size: Decimal,
                  order_type: str, post_only: bool, expires_at_ms: int | None) -> PlannedOrder:
    """`PlannedOrder.trusted` with every field given in order, for the router, which has checked
    each value (the order path's hot path: no keyword binding, no key check)."""
    return assembled(PlannedOrder, _PLANNED_FIELDS, {
        "schema_version": SCHEMA_VERSION, "client_order_id": client_order_id, "token_id": token_id, "side": side,
        "price": price, "size": size, "order_type": order_type, "post_only": post_only,
        "expires_at_ms": expires_at_ms})


class ExecutionPlan(Contract):
    """How an approved intent will be sent: type, price on tick, slicing, timing."""

    kind: ClassVar[str] = "execution_plan"
    plan_id: str
    intent_id: str
    market_id: Bytes32
    steps: tuple[PlannedOrder, ...] = Field(min_length=1)
    tick: Decimal
    estimated_fees_pusd: NonNegUsd = Decimal(0)
    estimated_slippage_bps: int = Field(default=0, ge=0)
    constraints_applied: tuple[str, ...] = ()
    expires_at_ms: EpochMs | None = None

    def to_json_dict(self) -> dict[str, Any]:
        # by hand, as `model_dump(mode="json")` gives it (see PlannedOrder.to_json_dict)
        # (read from the instance dict, and the steps checked in the loop that serialises them: the
        # router's every plan is serialised into its decision record)
        f = self.__dict__
        tick, fees = f["tick"], f["estimated_fees_pusd"]
        if type(tick) is not Decimal or type(fees) is not Decimal:
            return super().to_json_dict()
        steps = []
        for step in f["steps"]:
            if type(step) is not PlannedOrder:
                return super().to_json_dict()
            steps.append(step.to_json_dict())
        return {"schema_version": f["schema_version"], "plan_id": f["plan_id"], "intent_id": f["intent_id"],
                "market_id": f["market_id"], "steps": steps, "tick": str(tick), "estimated_fees_pusd": str(fees),
                "estimated_slippage_bps": f["estimated_slippage_bps"],
                "constraints_applied": list(f["constraints_applied"]), "expires_at_ms": f["expires_at_ms"]}


def execution_plan(plan_id: str, intent_id: str, market_id: str, steps: tuple[PlannedOrder, ...], tick: Decimal,
                   estimated_fees_pusd: Decimal, estimated_slippage_bps: int, constraints_applied: tuple[str, ...],
                   expires_at_ms: int | None) -> ExecutionPlan:
    """`ExecutionPlan.trusted` with every field given in order, for the router (see
    `planned_order`); a plan still has at least one step."""
    if not steps:
        raise ValueError("an execution plan has at least one step")
    return assembled(ExecutionPlan, _PLAN_FIELDS, {
        "schema_version": SCHEMA_VERSION, "plan_id": plan_id, "intent_id": intent_id, "market_id": market_id,
        "steps": steps, "tick": tick, "estimated_fees_pusd": estimated_fees_pusd,
        "estimated_slippage_bps": estimated_slippage_bps, "constraints_applied": constraints_applied,
        "expires_at_ms": expires_at_ms})


class SignedOrderRequest(Contract):
    """A CLOB V2 order signed with EIP-712 (domain version "2"), ready for the venue."""

    kind: ClassVar[str] = "signed_order"
    plan_id: str
    client_order_id: str
    order_hash: Bytes32
    salt: int = Field(ge=0)
    maker: Address
    signer: Address
    token_id: TokenId
    maker_amount: int = Field(gt=0)
    taker_amount: int = Field(gt=0)
    side: Side
    signature_type: int = Field(ge=0, le=3)
    timestamp_ms: EpochMs
    metadata: Bytes32
    builder: Bytes32
    expiration_s: int = Field(default=0, ge=0)
    # 65 bytes (types 0-2), or the longer ERC-7739 envelope of a deposit wallet (type 3).
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}(?:[0-9a-fA-F]{2}){0,512}$")
    order_type: VenueOrderType
    post_only: bool = False
    chain_id: int
    verifying_contract: Address
    domain_version: Literal["2"] = "2"

    @model_validator(mode="after")
    def _signature_length(self) -> SignedOrderRequest:
        plain = len(self.signature) == 132
        if plain != (self.signature_type != 3):
            raise ValueError("signature must be 65 bytes, or the longer envelope for signature_type 3")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        # by hand, as `model_dump(mode="json")` gives it: every field is a str, int or bool
        # (each order is serialised once); anything unusual goes to the serializer
        f = self.__dict__
        if any(type(f[name]) is not int for name in _SIGNED_INTS) or type(f["post_only"]) is not bool:
            return super().to_json_dict()
        return {name: f[name] for name in _SIGNED_ORDER}


OrderStatus = Literal[
    "created",
    "signed",
    "submitted",
    "live",
    "partially_filled",
    "filled",
    "cancel_pending",
    "cancelled",
    "expired",
    "rejected",
]
SettlementStatus = Literal["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"]


class OrderRecord(Contract):
    """An order as the Order Lifecycle Manager knows it after one transition."""

    kind: ClassVar[str] = "order_record"
    client_order_id: str
    venue_order_id: str | None = None
    intent_id: str
    strategy_id: str
    market_id: Bytes32
    token_id: TokenId
    side: Side
    price: Price
    size: Size
    filled: NonNegUsd = Decimal(0)
    order_type: VenueOrderType
    status: OrderStatus
    previous: OrderStatus | None = None
    venue_error: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        # by hand, as `model_dump(mode="json")` gives it (a Decimal is its str()): an order's
        # every transition is serialised; anything unusual goes to the serializer
        f = self.__dict__
        price, size, filled = f["price"], f["size"], f["filled"]
        if type(price) is not Decimal or type(size) is not Decimal or type(filled) is not Decimal:
            return super().to_json_dict()
        return {"schema_version": f["schema_version"], "client_order_id": f["client_order_id"],
                "venue_order_id": f["venue_order_id"], "intent_id": f["intent_id"],
                "strategy_id": f["strategy_id"], "market_id": f["market_id"], "token_id": f["token_id"],
                "side": f["side"], "price": str(price), "size": str(size), "filled": str(filled),
                "order_type": f["order_type"], "status": f["status"], "previous": f["previous"],
                "venue_error": f["venue_error"]}


class FillRecord(Contract):
    """A fill of one of our orders, with the fee read from the match event."""

    kind: ClassVar[str] = "fill"
    trade_id: str
    client_order_id: str
    market_id: Bytes32
    token_id: TokenId
    side: Side
    price: Price
    size: Size
    fee_pusd: NonNegUsd = Decimal(0)
    liquidity: Literal["maker", "taker"]
    settlement: SettlementStatus = "MATCHED"
    ts_ms: EpochMs

    def to_json_dict(self) -> dict[str, Any]:
        # by hand, as `model_dump(mode="json")` gives it (see OrderRecord.to_json_dict)
        f = self.__dict__
        price, size, fee = f["price"], f["size"], f["fee_pusd"]
        if type(price) is not Decimal or type(size) is not Decimal or type(fee) is not Decimal:
            return super().to_json_dict()
        return {"schema_version": f["schema_version"], "trade_id": f["trade_id"],
                "client_order_id": f["client_order_id"], "market_id": f["market_id"],
                "token_id": f["token_id"], "side": f["side"], "price": str(price), "size": str(size),
                "fee_pusd": str(fee), "liquidity": f["liquidity"], "settlement": f["settlement"],
                "ts_ms": f["ts_ms"]}


class PositionRecord(Contract):
    """A position in one outcome token, as accounting derives it."""

    kind: ClassVar[str] = "position"
    market_id: Bytes32
    token_id: TokenId
    size: Decimal
    avg_price: Decimal
    cost_basis_pusd: Usd
    realised_pnl_pusd: Usd
    mark_price: Decimal | None = None
    unrealised_pnl_pusd: Usd = Decimal(0)


_PLANNED_FIELDS = frozenset(PlannedOrder.model_fields) - {"schema_version"}
_PLAN_FIELDS = frozenset(ExecutionPlan.model_fields) - {"schema_version"}


_SIGNED_ORDER: tuple[str, ...] = tuple(SignedOrderRequest.model_fields)
_SIGNED_INTS: tuple[str, ...] = ("salt", "maker_amount", "taker_amount", "signature_type", "timestamp_ms",
                                 "expiration_s", "chain_id")
_SIGNED_FIELDS = frozenset(_SIGNED_ORDER) - {"schema_version"}
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}(?:[0-9a-fA-F]{2}){0,512}")


def signed_order_request(data: dict[str, Any]) -> SignedOrderRequest:
    """`SignedOrderRequest.model_validate(data)` for a dict holding every field but
    `schema_version`, for the signer, whose values come from an order it built and checked: the
    same request, or the same ValidationError (each field is checked by hand as its declared type
    checks it; anything else goes through pydantic)."""
    try:
        ints = [data[name] for name in _SIGNED_INTS]
        signature, signature_type = data["signature"], data["signature_type"]
        plain = (
            data.keys() == _SIGNED_FIELDS
            and all(type(v) is int for v in ints)
            and data["salt"] >= 0 and data["maker_amount"] > 0 and data["taker_amount"] > 0
            and 0 <= signature_type <= 3 and data["timestamp_ms"] >= 0 and data["expiration_s"] >= 0
            and type(data["plan_id"]) is str and type(data["client_order_id"]) is str
            and all(_plain_hex32(data[name]) for name in ("order_hash", "metadata", "builder"))
            and all(type(data[name]) is str and _ADDRESS.fullmatch(data[name]) is not None
                    for name in ("maker", "signer", "verifying_contract"))
            and type(data["token_id"]) is str and _DIGITS.match(data["token_id"]) is not None
            and type(data["side"]) is str and data["side"] in _SIDES
            and type(signature) is str and _SIGNATURE.fullmatch(signature) is not None
            and (len(signature) == 132) == (signature_type != 3)
            and type(data["order_type"]) is str and data["order_type"] in _VENUE_ORDER_TYPES
            and type(data["post_only"]) is bool
            and data["domain_version"] == "2" and type(data["domain_version"]) is str
        )
    except (KeyError, TypeError):
        plain = False
    if not plain:
        return SignedOrderRequest.model_validate(data)
    return assembled(SignedOrderRequest, _SIGNED_FIELDS, {"schema_version": SCHEMA_VERSION, **data})


# -- the OLM's records, checked by hand ---------------------------------------------------------
# The Order Lifecycle Manager builds an `OrderRecord` for every transition and a `FillRecord` for
# every fill and settlement change. Pydantic's validation pass costs more than the checks it makes
# on these few plain fields, so they are made here by hand, the same checks with the same
# validators; a value of any other type, or one a check refuses, goes through pydantic, which
# gives the result (or the error) it always did.

_ORDER_STATUSES: frozenset[str] = frozenset(OrderStatus.__args__)  # type: ignore[attr-defined]
_SETTLEMENTS: frozenset[str] = frozenset(SettlementStatus.__args__)  # type: ignore[attr-defined]
_VENUE_ORDER_TYPES: frozenset[str] = frozenset(VenueOrderType.__args__)  # type: ignore[attr-defined]
_SIDES: frozenset[str] = frozenset({"BUY", "SELL"})
_LIQUIDITY: frozenset[str] = frozenset({"maker", "taker"})
_RECORD_FIELDS = frozenset(OrderRecord.model_fields) - {"schema_version"}
_FILL_FIELDS = frozenset(FillRecord.model_fields) - {"schema_version"}


_RECORD_KEYS = _RECORD_FIELDS | {"schema_version"}
_FILL_KEYS = _FILL_FIELDS | {"schema_version"}
_ZERO = Decimal(0)
_ONE = Decimal(1)
_PRICE_GRID = Decimal("0.0001")


def _plain_hex32(v: object) -> bool:
    """A bytes32 string the `Bytes32` validator keeps as it is (lowercase already)."""
    return type(v) is str and _HEX32.match(v) is not None and v == v.lower()


def _price_ok(v: Decimal) -> bool:
    """`_price(v)` passes (the same tests in the same order, on a plain Decimal): the hand checks
    below run for every order record and fill, and `_price` builds its three constants per call."""
    return v.is_finite() and _ZERO < v < _ONE and v == v.quantize(_PRICE_GRID)


def _keys_are(data: dict[str, Any], fields: frozenset[str], keys: frozenset[str]) -> bool:
    """`data.keys() - {"schema_version"} == fields`, without building that set."""
    return data.keys() in (fields, keys)


def order_record(data: dict[str, Any]) -> OrderRecord:
    """`OrderRecord.model_validate(data)` for a dict holding every field (`schema_version` may be
    left out): the same record, or the same ValidationError."""
    try:
        price, size, filled = data["price"], data["size"], data["filled"]
        venue_order_id, previous, venue_error = data["venue_order_id"], data["previous"], data["venue_error"]
        token_id, side, order_type, status = data["token_id"], data["side"], data["order_type"], data["status"]
        plain = (
            _keys_are(data, _RECORD_FIELDS, _RECORD_KEYS)
            and data.get("schema_version", SCHEMA_VERSION) == SCHEMA_VERSION
            and type(data["client_order_id"]) is str and type(data["intent_id"]) is str
            and type(data["strategy_id"]) is str
            and (venue_order_id is None or type(venue_order_id) is str)
            and (venue_error is None or type(venue_error) is str)
            and _plain_hex32(data["market_id"])
            and type(token_id) is str and _DIGITS.match(token_id) is not None
            and type(side) is str and side in _SIDES
            and type(order_type) is str and order_type in _VENUE_ORDER_TYPES
            and type(status) is str and status in _ORDER_STATUSES
            and (previous is None or (type(previous) is str and previous in _ORDER_STATUSES))
            and type(price) is Decimal and type(size) is Decimal and type(filled) is Decimal
            and _price_ok(price)
            and size.is_finite() and size > _ZERO
            and filled.is_finite() and filled >= _ZERO
        )
    except (KeyError, ValueError, ArithmeticError, TypeError):
        plain = False
    if not plain:
        return OrderRecord.model_validate(data)
    return assembled(OrderRecord, _RECORD_FIELDS, {"schema_version": SCHEMA_VERSION, **data})


def moved_record(rec: OrderRecord, status: str, filled: Decimal, venue_order_id: str | None,
                 venue_error: str | None) -> OrderRecord:
    """`order_record` of `rec` moved to `status` with these values (its old status becomes
    `previous`), for the Order Lifecycle Manager's transitions. `rec` is a validated record (the
    orders projection holds nothing else), so only the values that change are checked here, each
    as its declared type checks it (a status of the table, a plain non-negative `filled`, str or
    None for the venue's id and error); anything else goes through `order_record`, which gives
    the same record or the same ValidationError."""
    f = rec.__dict__
    if (type(status) is str and status in _ORDER_STATUSES
            and type(filled) is Decimal and filled.is_finite() and filled >= _ZERO
            and (venue_order_id is None or type(venue_order_id) is str)
            and (venue_error is None or type(venue_error) is str)):
        return assembled(OrderRecord, _RECORD_FIELDS, {
            **f, "status": status, "previous": f["status"], "filled": filled,
            "venue_order_id": venue_order_id, "venue_error": venue_error})
    return order_record({**f, "status": status, "previous": f["status"], "filled": filled,
                         "venue_order_id": venue_order_id, "venue_error": venue_error})


def fill_record(data: dict[str, Any]) -> FillRecord:
    """`FillRecord.model_validate(data)` for a dict holding every field (`schema_version` may be
    left out): the same record, or the same ValidationError."""
    try:
        price, size, fee, ts_ms = data["price"], data["size"], data["fee_pusd"], data["ts_ms"]
        token_id, side, liquidity, settlement = data["token_id"], data["side"], data["liquidity"], data["settlement"]
        plain = (
            _keys_are(data, _FILL_FIELDS, _FILL_KEYS)
            and data.get("schema_version", SCHEMA_VERSION) == SCHEMA_VERSION
            and type(data["trade_id"]) is str and type(data["client_order_id"]) is str
            and _plain_hex32(data["market_id"])
            and type(token_id) is str and _DIGITS.match(token_id) is not None
            and type(side) is str and side in _SIDES
            and type(liquidity) is str and liquidity in _LIQUIDITY
            and type(settlement) is str and settlement in _SETTLEMENTS
            and type(ts_ms) is int and ts_ms >= 0
            and type(price) is Decimal and type(size) is Decimal and type(fee) is Decimal
            and _price_ok(price)
            and size.is_finite() and size > _ZERO
            and fee.is_finite() and fee >= _ZERO
        )
    except (KeyError, ValueError, ArithmeticError, TypeError):
        plain = False
    if not plain:
        return FillRecord.model_validate(data)
    return assembled(FillRecord, _FILL_FIELDS, {"schema_version": SCHEMA_VERSION, **data})


def settled_fill(fill: FillRecord, settlement: str) -> FillRecord:
    """`fill_record` of `fill` with a new settlement status, for the Order Lifecycle Manager's
    settlement updates: `fill` is a validated record (the orders projection holds nothing
    else), so only the status is checked; anything else goes through `fill_record`."""
    if type(settlement) is str and settlement in _SETTLEMENTS:
        return assembled(FillRecord, _FILL_FIELDS, {**fill.__dict__, "settlement": settlement})
    return fill_record({**fill.__dict__, "settlement": settlement})
