"""Base class and exact scalar types shared by every contract.

Contracts are frozen pydantic models that refuse unknown fields. Money, prices and sizes are
`Decimal` (serialised as strings in JSON so no binary float ever touches them); times are integer
epoch milliseconds (`EpochMs`), because bots read time from their context, never the wall clock.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0.0"

_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DIGITS = re.compile(r"^[0-9]{1,80}$")


def _price(v: Decimal) -> Decimal:
    if not v.is_finite() or not (Decimal(0) < v < Decimal(1)):
        raise ValueError("price must be strictly between 0 and 1")
    if v != v.quantize(Decimal("0.0001")):
        raise ValueError("price has more than 4 decimal places")
    return v


def _positive(v: Decimal) -> Decimal:
    if not v.is_finite() or v <= 0:
        raise ValueError("must be a finite number greater than 0")
    return v


def _non_negative(v: Decimal) -> Decimal:
    if not v.is_finite() or v < 0:
        raise ValueError("must be a finite number of at least 0")
    return v


def _finite(v: Decimal) -> Decimal:
    if not v.is_finite():
        raise ValueError("must be a finite number")
    return v


def _hex32(v: str) -> str:
    if not _HEX32.match(v):
        raise ValueError("must be 0x followed by 64 hex digits (bytes32)")
    return v.lower()


def _address(v: str) -> str:
    if not _ADDRESS.match(v):
        raise ValueError("must be a 0x-prefixed 20-byte hex address")
    return v


def _token_id(v: str) -> str:
    if not _DIGITS.match(v):
        raise ValueError("must be a decimal token id string")
    return v


# Decimal fields accept str/int/Decimal but never float: a float would already have lost exactness.
_NoFloat = Field(strict=False, allow_inf_nan=False)

Price = Annotated[Decimal, AfterValidator(_price)]
"""Probability price, 0 < p < 1, at most 4 decimals; the market tick is checked where it is known."""
Size = Annotated[Decimal, AfterValidator(_positive)]
"""Shares (outcome tokens); strictly positive."""
Usd = Annotated[Decimal, AfterValidator(_finite)]
"""pUSD amount, may be negative (PnL)."""
NonNegUsd = Annotated[Decimal, AfterValidator(_non_negative)]
Bytes32 = Annotated[str, AfterValidator(_hex32)]
Address = Annotated[str, AfterValidator(_address)]
TokenId = Annotated[str, AfterValidator(_token_id)]
EpochMs = Annotated[int, Field(ge=0)]
Side = Literal["BUY", "SELL"]
Outcome = Literal["YES", "NO"]

BUILDER_CODE = "0xb000000000000000000000000000000000000000000000000000000000003f7a"
"""Our pinned builder code (full canonical 66 characters; never masked)."""


# a contract class -> the fields `trusted` needs (every field but `schema_version`)
_TRUSTED_NAMES: dict[type[Contract], frozenset[str]] = {}


_C = TypeVar("_C", bound="Contract")


def assembled(cls: type[_C], fields_set: frozenset[str], data: dict[str, Any]) -> _C:
    """An instance of `cls` holding `data` (every field, `schema_version` included) with no
    validation pass: for values already validated or built by our own code on a hot path (a
    vote, a decision step, a moved order record). The one place pydantic's instance slots are
    set by hand; each caller keeps whatever checks its values still need."""
    obj = cls.__new__(cls)
    _set_dict(obj, data)
    _set_fields_set(obj, set(fields_set))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


# pydantic's four instance slots, each set through its own descriptor: a third cheaper than
# `object.__setattr__`, which looks the name up along the class's MRO and unpacks an argument
# tuple for each of them (about 1.9k of the 8.7k instructions an `assembled` cost)
_SLOTS: dict[str, Any] = dict(vars(BaseModel))
_set_dict = _SLOTS["__dict__"].__set__
_set_fields_set = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__


class Contract(BaseModel):
    """A frozen, validated wire object with a schema version."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=False,
        ser_json_inf_nan="strings",
    )

    kind: ClassVar[str] = ""
    schema_version: Literal["1.0.0"] = "1.0.0"

    @classmethod
    def trusted(cls, **values: Any) -> Any:
        """An instance from values that were already validated (e.g. a level of the venue's own
        checked book), without validation or `model_construct`'s per-field default lookups.
        Every field must be given except `schema_version`; a missing one is a TypeError."""
        # one set comparison against the class's field names, worked out once per class: the
        # feed builds every book and each new level this way
        names = _TRUSTED_NAMES.get(cls)
        if names is None:
            names = _TRUSTED_NAMES[cls] = frozenset(cls.__pydantic_fields__) - {"schema_version"}
        if values.keys() != names:
            raise TypeError(f"{cls.__name__}.trusted needs exactly its fields, got {sorted(values)}")
        return assembled(cls, names, {"schema_version": SCHEMA_VERSION, **values})

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict: Decimals as strings, enums as values. `model_dump(mode="json")`,
        called on the serializer directly: every envelope's payload is built here, and the
        wrapper's argument handling was a quarter of the cost."""
        data: dict[str, Any] = self.__pydantic_serializer__.to_python(self, mode="json")
        return data
