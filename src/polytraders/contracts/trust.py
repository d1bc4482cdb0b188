"""Contracts of the trust model: the genesis entry, operator identities and journal digests.

- `Genesis` is seq 1 of every journal made by `polytraders init` (live) or `demo` (simulation).
  It fixes the journal id (the signature domain), the mode, the system key that signs digests and
  session starts, and the first two admins.
- `OperatorRecord` registers or revokes an operator. A registration is written by the approving
  admin and names the requesting admin (`registered_by`), so provenance is in the journal.
- `JournalDigest` is signed by the system key; its signature binds the hash of the entry before
  it, so it vouches for every entry up to there. `final` marks a clean shutdown.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from polytraders.contracts.base import Contract, EpochMs

FREE_TEXT_MAX = 2048  # bytes of operator-entered text (reasons, notes, RCAs) kept in the journal
OPERATOR_NAME = r"^[A-Za-z0-9_.@\-]+$"
PUBLIC_KEY = r"^[0-9a-f]{64}$"
Role = Literal["admin", "operator", "approver", "reviewer", "readonly"]


class OperatorKey(Contract):
    kind: ClassVar[str] = "operator_key"
    name: str = Field(min_length=1, max_length=60, pattern=OPERATOR_NAME)
    public_key: str = Field(pattern=PUBLIC_KEY)


class Genesis(Contract):
    """Seq 1: what this journal is and who may act on it."""

    kind: ClassVar[str] = "genesis"
    format: Literal["polytraders-journal/2"] = "polytraders-journal/2"
    journal_mode: Literal["simulation", "live"]
    journal_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    system_key: str = Field(pattern=PUBLIC_KEY)
    admins: tuple[OperatorKey, ...] = Field(min_length=2)
    created_ms: EpochMs


class OperatorRecord(Contract):
    """An operator registered (two admins) or revoked (one admin)."""

    kind: ClassVar[str] = "operator"
    name: str = Field(min_length=1, max_length=60, pattern=OPERATOR_NAME)
    role: Role
    public_key: str = Field(pattern=PUBLIC_KEY)
    active: bool = True
    registered_by: str = Field(min_length=1, max_length=60)
    request_seq: int | None = Field(default=None, ge=1)


class JournalDigest(Contract):
    """A signed statement by the system: every entry before this one is as the chain says."""

    kind: ClassVar[str] = "journal_digest"
    prev_digest_seq: int = Field(ge=0)
    at_ms: EpochMs
    final: bool = False
    rejected: tuple[int, ...] = ()  # seqs in its range that the trust gate refused
    # Set on the digest a new session writes over a crashed session's tail: the signer did not
    # see those entries written, so it closes them without vouching that they are the system's.
    adopted: bool = False
