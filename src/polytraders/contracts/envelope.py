"""The ReportEnvelope: the one typed wrapper every fact and decision travels in.

An envelope names its `kind` (which contract its payload is), the actor that produced it, a
registered reason code, the event time, the config version and the kill-switch state the actor
saw. The journal adds `seq`, `prev_hash` and `hash` when it appends the envelope; those are not
part of the envelope itself.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from polytraders.contracts.base import BUILDER_CODE, Contract, EpochMs
from polytraders.contracts.reasons import Severity, registered_code, registry

ActorKind = Literal["bot", "operator", "system"]


class Signature(BaseModel):
    """An Ed25519 signature over the entry (see `journal/signatures.py` for what it covers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    by: str = Field(pattern=r"^[0-9a-f]{64}$", description="the signer's public key")
    sig: str = Field(pattern=r"^[0-9a-f]{128}$")


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ActorKind
    id: str = Field(min_length=1, max_length=80)

    def label(self) -> str:
        return f"{self.kind}:{self.id}"


def _payload_kinds() -> dict[str, type[Contract]]:
    from polytraders.contracts import CONTRACTS

    return {c.kind: c for c in CONTRACTS}


class ReportEnvelope(BaseModel):
    """Universal envelope. Construct with `ReportEnvelope.wrap(contract, ...)`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal["1.0.0"] = "1.0.0"
    kind: str
    actor: Actor
    reason_code: str
    severity: Severity
    ts_ms: EpochMs
    correlation_id: str | None = Field(default=None, max_length=120)
    config_version: str = Field(default="0", max_length=40)
    mode: str | None = None
    kill_switch: Literal["armed", "tripped"] = "armed"
    builder_code: str = BUILDER_CODE
    config_warnings: tuple[str, ...] = ()
    payload: dict[str, Any] = Field(default_factory=dict)
    # present on operator commands and on system-signed entries (session starts, digests)
    signature: Signature | None = None
    # the typed payload this envelope was built from (or last decoded to); never serialised
    _contract: Contract | None = PrivateAttr(default=None)

    _registered = field_validator("reason_code")(registered_code)

    @model_validator(mode="after")
    def _known_kind(self) -> ReportEnvelope:
        if self.kind not in _kinds():
            raise ValueError(f"envelope kind {self.kind!r} is not a registered contract kind")
        return self

    @classmethod
    def wrap(
        cls,
        contract: Contract,
        *,
        actor: Actor,
        reason_code: str,
        ts_ms: int,
        correlation_id: str | None = None,
        config_version: str = "0",
        mode: str | None = None,
        kill_switch: Literal["armed", "tripped"] = "armed",
        severity: Severity | None = None,
        config_warnings: tuple[str, ...] = (),
        payload: dict[str, Any] | None = None,
    ) -> ReportEnvelope:
        """`payload` is `contract.to_json_dict()` when the caller has already built it (the
        market feed builds book payloads from levels it converted before); it must be equal."""
        entry = registry().get(reason_code)
        if entry is None:
            from polytraders.contracts.reasons import require_code

            require_code(reason_code)  # raises the readable error
            raise AssertionError  # pragma: no cover
        kind = contract.kind
        if kind not in (_KINDS or _kinds()) or ts_ms < 0:
            raise ValueError(f"cannot wrap a {type(contract).__name__} at ts {ts_ms}")
        # Everything here is already validated (the contract, the registered code, the actor),
        # so the envelope is assembled without a second validation pass: this is the hot path.
        # Set the fields directly, as `model_construct` would but without its per-field default
        # lookups (the same object, a third of the cost); the field order is the declared one.
        env = cls.__new__(cls)
        _set(env, "__dict__", {
            "schema_version": "1.0.0",
            "kind": kind,
            "actor": actor,
            "reason_code": reason_code,
            "severity": severity or entry.severity,
            "ts_ms": ts_ms,
            "correlation_id": correlation_id,
            "config_version": config_version,
            "mode": mode,
            "kill_switch": kill_switch,
            "builder_code": BUILDER_CODE,
            "config_warnings": tuple(config_warnings),
            "payload": contract.to_json_dict() if payload is None else payload,
            "signature": None,
        })
        _set(env, "__pydantic_fields_set__", set(_WRAP_FIELDS_SET))
        _set(env, "__pydantic_extra__", None)
        _set(env, "__pydantic_private__", {"_contract": contract})
        return env

    def __eq__(self, other: object) -> bool:
        # equal when the wire content is equal; the decode cache is not content
        if not isinstance(other, ReportEnvelope):
            return NotImplemented
        return self.to_json_dict() == other.to_json_dict()

    __hash__ = None  # type: ignore[assignment]

    def decode(self) -> Contract:
        """The typed payload (validated once, then cached)."""
        # the cache is read from pydantic's private dict, not as `self._contract`: that goes
        # through pydantic's `__getattr__`, whose descriptor probe raises and catches an
        # AttributeError on every read (about 2 µs; the markets projection asks for every book)
        private = self.__pydantic_private__
        contract = private.get("_contract") if private is not None else None
        if contract is None:
            contract = _kinds()[self.kind].model_validate(self.payload)
            self._contract = contract
        return contract

    def to_json_dict(self) -> dict[str, Any]:
        """The envelope as JSON-native data. Written out by hand because this is the journal's
        hot path; `payload` is already JSON-native (it is built by `wrap` or read from JSON).
        `signature` appears only when present, so unsigned entries stay small."""
        data = self.unsigned_json_dict()
        if self.signature is not None:
            data["signature"] = {"by": self.signature.by, "sig": self.signature.sig}
        return data

    def unsigned_json_dict(self) -> dict[str, Any]:
        """The envelope without its signature: what a signature covers."""
        # read the fields straight from the instance dict and the severity's `_value_`: the
        # attribute and enum-property lookups were a third of this method's cost
        f = self.__dict__
        actor = f["actor"]
        severity = f["severity"]
        return {
            "schema_version": f["schema_version"],
            "kind": f["kind"],
            "actor": {"kind": actor.kind, "id": actor.id},
            "reason_code": f["reason_code"],
            "severity": severity if type(severity) is str else severity._value_,
            "ts_ms": f["ts_ms"],
            "correlation_id": f["correlation_id"],
            "config_version": f["config_version"],
            "mode": f["mode"],
            "kill_switch": f["kill_switch"],
            "builder_code": f["builder_code"],
            "config_warnings": list(f["config_warnings"]),
            "payload": f["payload"],
        }


def _init_decode_cache(self: ReportEnvelope, context: Any, /) -> None:
    """What pydantic runs after validating an envelope, for the one private attribute here (the
    decode cache, empty). pydantic's generic version walks every private attribute's default
    and was a third of validating an envelope read back from the journal."""
    if self.__pydantic_private__ is None:
        _set(self, "__pydantic_private__", {"_contract": None})


# pydantic calls `model_post_init` by name after validation; replacing it here, once the class
# exists, keeps its own wrapper (which would run the generic set-up first) out of the way
ReportEnvelope.model_post_init = _init_decode_cache  # type: ignore[method-assign,assignment]

_KINDS: dict[str, type[Contract]] = {}


def _kinds() -> dict[str, type[Contract]]:
    """The registered contract kinds, filled on first use so contract modules can import this
    one without a cycle. A plain dict behind a function: every wrap and every read asks."""
    if not _KINDS:
        _KINDS.update(_payload_kinds())
    return _KINDS


_set = object.__setattr__
_WRAP_FIELDS_SET = frozenset({"kind", "actor", "reason_code", "severity", "ts_ms", "correlation_id",
                              "config_version", "mode", "kill_switch", "config_warnings", "payload"})
