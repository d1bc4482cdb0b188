"""One order-path decision as one journaled record: every step's vote, plan or note, in order.

The order path (kill switch → guardrails → router → security checks) used to journal one envelope
per step. It now journals one `DecisionRecord` per decision, written when the path ends (a
rejection, no plan, a security block) or, write-ahead, just before signing and submission. Each
`DecisionStep` keeps what the step's own envelope carried: the bot, its mode, config version and
config warnings, the registry reason code, the typed output (a `RiskVote`, an `ExecutionPlan`, or a
`Note` for GOV_BOT_ERROR / GOV_AUTHORITY_VIOLATION) and whether the step blocked the path.
`trace`, replay and the registry's per-bot evidence read the steps.

Records are built by the runtime from outputs it has already checked, so they are assembled
without a second validation pass (`to_json_dict` is written by hand: the hot path); reading one
back from the journal (`decode`) validates it in full.

Compact form: a step's `output` leaves out what the record already says, so ten votes do not
repeat the intent id ten times. `ELIDED` lists those fields; a field is left out only when its
value equals the record's (so `full_output` restores it exactly), and only fields the output's
contract has are restored. A step's own `schema_version` and empty `config_warnings` are left out
of its JSON for the same reason (they are the defaults).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from polytraders.contracts.base import SCHEMA_VERSION, Contract, assembled
from polytraders.contracts.orders import RiskVote
from polytraders.contracts.reasons import registered_code

DecisionResult = Literal["passed", "rejected", "no_plan", "blocked_by_security", "aborted"]
"""How the path ended for this record: `passed` means it went on to signing and submission;
`aborted` means an unexpected error ended it (the steps taken so far are still recorded)."""


ELIDED = ("schema_version", "guard_id", "intent_id", "reason_code")
"""Output fields a step leaves out when equal to, in order: the schema version, the step's bot
id, the record's intent id, the step's reason code."""


def compact_output(output: dict[str, Any], bot_id: str, reason_code: str,
                   intent_id: str | None) -> dict[str, Any]:
    """Drop (in place) the `ELIDED` fields of a step's output that the step and record say."""
    if output.get("schema_version") == SCHEMA_VERSION:
        del output["schema_version"]
    if output.get("guard_id") == bot_id:
        del output["guard_id"]
    if intent_id is not None and output.get("intent_id") == intent_id:
        del output["intent_id"]
    if output.get("reason_code") == reason_code:
        del output["reason_code"]
    return output


def full_output(output_kind: str, output: dict[str, Any], bot_id: str, reason_code: str,
                intent_id: str) -> dict[str, Any]:
    """A step's output with its elided fields restored (a new dict): the output's JSON form."""
    from polytraders.contracts.envelope import _KINDS

    fields = _KINDS[output_kind].model_fields if output_kind in _KINDS else {}
    full = dict(output)
    for name, value in zip(ELIDED, (SCHEMA_VERSION, bot_id, intent_id, reason_code), strict=True):
        if name in fields and name not in full:
            full[name] = value
    return full


class DecisionStep(Contract):
    """One bot's part in an order-path decision (what its own envelope used to hold)."""

    kind: ClassVar[str] = "decision_step"
    bot_id: str = Field(min_length=1, max_length=80)
    mode: str = Field(max_length=20)
    config_version: str = Field(max_length=40)
    config_warnings: tuple[str, ...] = ()
    reason_code: str
    output_kind: str = Field(min_length=1, max_length=40)
    """The contract kind of `output`: `risk_vote`, `execution_plan` or `note`."""
    output: dict[str, Any]
    """The output's JSON form in compact form (see `ELIDED`; `full_output` restores it)."""
    blocked: bool = False

    _registered = field_validator("reason_code")(registered_code)

    @classmethod
    def of(cls, bot_id: str, mode: str, config_version: str, config_warnings: tuple[str, ...],
           reason_code: str, output_kind: str, output: dict[str, Any], blocked: bool) -> DecisionStep:
        """A step the runtime built from a decision it has already checked (the code is
        registered, the output is a validated contract's JSON form): no validation pass."""
        return assembled(cls, _STEP_FIELDS, {
            "schema_version": SCHEMA_VERSION, "bot_id": bot_id, "mode": mode, "config_version": config_version,
            "config_warnings": config_warnings, "reason_code": reason_code, "output_kind": output_kind,
            "output": output, "blocked": blocked})

    @classmethod
    def of_vote(cls, bot_id: str, config_version: str, config_warnings: tuple[str, ...], reason_code: str,
                vote: RiskVote, intent_id: str | None) -> DecisionStep:
        """The step of an enforced vote that passes as it is (most of the order path's steps):
        `of(bot_id, "enforced", ..., "risk_vote", vote.compact_json_dict(...), False)`, the same
        step. When the vote names the step's bot, code and intent (as every vote of our own
        guards does) its compact form is built in one dict display, in `compact_json_dict`'s
        key order."""
        f = vote.__dict__
        if (f["guard_id"] == bot_id and f["reason_code"] == reason_code and intent_id is not None
                and f["intent_id"] == intent_id and f["schema_version"] == SCHEMA_VERSION):
            constraints = f["constraints"]
            output = {"decision": f["decision"], "severity": f["severity"], "message": f["message"],
                      "constraints": None if constraints is None else constraints.to_json_dict(),
                      "observed": dict(f["observed"])}
        else:
            output = vote.compact_json_dict(bot_id, reason_code, intent_id)
        return assembled(cls, _STEP_FIELDS, {
            "schema_version": SCHEMA_VERSION, "bot_id": bot_id, "mode": "enforced", "config_version": config_version,
            "config_warnings": config_warnings, "reason_code": reason_code, "output_kind": "risk_vote",
            "output": output, "blocked": False})

    def decoded(self, intent_id: str) -> Contract:
        """The step's output as its typed contract (validated); `intent_id` is the record's."""
        from polytraders.contracts.envelope import _KINDS

        return _KINDS[self.output_kind].model_validate(
            full_output(self.output_kind, self.output, self.bot_id, self.reason_code, intent_id))

    def to_json_dict(self) -> dict[str, Any]:
        # by hand (the hot path: ten steps a record); the defaults `schema_version` and empty
        # `config_warnings` are left out, as `model_dump(exclude_defaults=True)` would. A copy of
        # the instance dict (the fields in declared order) costs a third of reading each field
        # through pydantic's attribute hook into a new dict; the keys come out in the same order.
        data = self.__dict__.copy()
        del data["schema_version"]
        warnings = data.pop("config_warnings")
        if warnings:
            data["config_warnings"] = list(warnings)
        return data


class DecisionRecord(Contract):
    """Every step of one order-path decision for one intent, in the order they ran."""

    kind: ClassVar[str] = "decision_record"
    intent_id: str = Field(min_length=1, max_length=120)
    result: DecisionResult
    steps: tuple[DecisionStep, ...] = Field(min_length=1)

    @classmethod
    def of(cls, intent_id: str, result: DecisionResult, steps: tuple[DecisionStep, ...]) -> DecisionRecord:
        """A record the runtime assembles from steps it built itself (`DecisionStep.of`): no
        validation pass. At least one step, as the field requires."""
        if not steps:
            raise ValueError("a decision record holds at least one step")
        return assembled(cls, _RECORD_FIELDS, {"schema_version": SCHEMA_VERSION, "intent_id": intent_id,
                                               "result": result, "steps": steps})

    def outputs(self) -> list[Contract]:
        """Every step's output as its typed contract (validated), in order."""
        return [s.decoded(self.intent_id) for s in self.steps]

    def to_json_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "intent_id": self.intent_id, "result": self.result,
                "steps": [s.to_json_dict() for s in self.steps]}


_STEP_FIELDS = frozenset(DecisionStep.model_fields) - {"schema_version"}
_RECORD_FIELDS = frozenset(DecisionRecord.model_fields) - {"schema_version"}
