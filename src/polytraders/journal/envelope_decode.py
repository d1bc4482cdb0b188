"""Validating envelopes read back from a journal, without validating the same header twice.

Reading a journal validates every row's envelope (`ReportEnvelope`'s pydantic validator). Of an
envelope's thirteen fields, ten (schema version, kind, actor, reason code, severity, config
version, mode, kill-switch state, builder code, config warnings) come back the same on
thousands of rows: one actor journals one kind under one code again and again. Only the event
time, the correlation id and the payload change from row to row.

`EnvelopeDecoder` validates each distinct header once, with the validator itself, on the first
row that carries it; a later row with an equal header has only its own three fields checked
here (the checks the validator makes of them: an int event time >= 0, a correlation id of at
most 120 characters or none, a payload that is an object) and is assembled from the validated
header, as `ReportEnvelope.wrap` assembles one. The result is the envelope the validator gives
for the same row: the same field values and types, the same fields set, an empty decode cache.

Anything of another shape goes through the validator, and fails there as before: a signed
envelope, a missing or extra key, a value of an unexpected type (a float time, a warning that
is not a string), an unhashable header. Header values a validated header holds are strings,
None or a tuple of strings, and a value equal to one of those has its type, so an equal header
is one the validator has already accepted.

It reads dicts parsed from JSON (`orjson.loads`), whose object keys are always strings.
"""

from __future__ import annotations

from typing import Any, Final

from polytraders.contracts.envelope import ReportEnvelope

# distinct headers remembered; past this the memo starts again (a demo hour has about 200)
MAX_HEADERS: Final = 4_096
MAX_CORRELATION_ID: Final = 120  # ReportEnvelope.correlation_id's max_length

_validate = ReportEnvelope.__pydantic_validator__.validate_python
_set = object.__setattr__
_new = object.__new__
# the keys an unsigned envelope is written with (`ReportEnvelope.to_json_dict`); the validator
# sets these as the fields set of an envelope read back
_UNSIGNED_FIELDS: Final = frozenset({
    "schema_version", "kind", "actor", "reason_code", "severity", "ts_ms", "correlation_id",
    "config_version", "mode", "kill_switch", "builder_code", "config_warnings", "payload"})
_N_UNSIGNED: Final = len(_UNSIGNED_FIELDS)
Header = tuple[Any, ...]


class EnvelopeDecoder:
    """`ReportEnvelope`'s validator for envelope dicts read back from a journal (see module
    docstring). Raises exactly what the validator raises."""

    def __init__(self) -> None:
        # header -> the validated envelope's values for the ten header fields
        self._headers: dict[Header, dict[str, Any]] = {}

    def __call__(self, raw: Any) -> ReportEnvelope:
        if type(raw) is not dict or len(raw) != _N_UNSIGNED:
            return _validate(raw)  # type: ignore[no-any-return]
        try:
            actor = raw["actor"]
            warnings = raw["config_warnings"]
            if type(actor) is not dict or len(actor) != 2 or type(warnings) is not list:
                return _validate(raw)  # type: ignore[no-any-return]
            key = (raw["schema_version"], raw["kind"], actor["kind"], actor["id"], raw["reason_code"],
                   raw["severity"], raw["config_version"], raw["mode"], raw["kill_switch"],
                   raw["builder_code"], tuple(warnings))
            header = self._headers.get(key)
            ts, corr, payload = raw["ts_ms"], raw["correlation_id"], raw["payload"]
        except (KeyError, TypeError):  # a missing key (13 keys, one of them another), an unhashable value
            return _validate(raw)  # type: ignore[no-any-return]
        if (header is None or type(ts) is not int or ts < 0 or type(payload) is not dict
                or (corr is not None and (type(corr) is not str or len(corr) > MAX_CORRELATION_ID))):
            env: ReportEnvelope = _validate(raw)
            if header is None:
                self._remember(key, env)
            return env
        env = _new(ReportEnvelope)
        _set(env, "__dict__", {
            "schema_version": header["schema_version"],
            "kind": header["kind"],
            "actor": header["actor"],
            "reason_code": header["reason_code"],
            "severity": header["severity"],
            "ts_ms": ts,
            "correlation_id": corr,
            "config_version": header["config_version"],
            "mode": header["mode"],
            "kill_switch": header["kill_switch"],
            "builder_code": header["builder_code"],
            "config_warnings": header["config_warnings"],
            "payload": payload,
            "signature": None,
        })
        _set(env, "__pydantic_fields_set__", set(_UNSIGNED_FIELDS))
        _set(env, "__pydantic_extra__", None)
        _set(env, "__pydantic_private__", {"_contract": None})
        return env

    def _remember(self, key: Header, env: ReportEnvelope) -> None:
        if env.signature is not None or env.model_fields_set != _UNSIGNED_FIELDS:
            return  # not reached for a 13-key dict, but never remember another shape
        if len(self._headers) >= MAX_HEADERS:
            self._headers.clear()
        f = env.__dict__
        self._headers[key] = {name: f[name] for name in (
            "schema_version", "kind", "actor", "reason_code", "severity", "config_version", "mode",
            "kill_switch", "builder_code", "config_warnings")}
