"""The chain reader contract (STYLE E6): read the head at a confirmation depth, then every
balance *at that block*. The reader only returns values; the `gov.reconciler` driver journals
them as a `chain_read` envelope and the bot decides from state, so replay never calls RPC.

Amounts are exact Decimals in token units (pUSD and outcome shares both have 6 decimals);
`to_base_units` / `from_base_units` convert at the wire. Every failure to read, whatever the
library raised, reaches callers as one `ChainUnavailable` with a plain reason: an unreachable or
lagging node is reported as such, never as a balance of zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

DECIMALS = 6
SCALE = Decimal(10) ** DECIMALS


def from_base_units(units: int) -> Decimal:
    return Decimal(units) / SCALE


def to_base_units(amount: Decimal) -> int:
    scaled = amount * SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {DECIMALS} decimals")
    return int(scaled)


class ChainUnavailable(Exception):
    """The node could not answer (down, timed out, refused, behind, or the block vanished
    mid-read). `kind` is 'unreachable', 'lagging' or 'reorged'."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The block reads are pinned to (`number`, `hash`, `timestamp_ms`), and the node's latest."""

    number: int
    hash: str
    timestamp_ms: int
    latest: int


@dataclass(frozen=True, slots=True)
class ChainBalances:
    block_number: int
    block_hash: str
    address: str
    pusd: Decimal
    outcome: Mapping[str, Decimal] = field(default_factory=dict)


class ChainReader(Protocol):
    confirmations: int

    def head(self) -> ChainHead:
        """The block `confirmations` below the latest; raises ChainUnavailable."""
        ...

    def balances(self, address: str, token_ids: Sequence[str], *, block: int,
                 block_hash: str | None = None) -> ChainBalances:
        """pUSD and each token's balance at `block`; when `block_hash` is given and the block at
        that height no longer has it (a reorg during the read), raises ChainUnavailable."""
        ...


def read_balances(reader: ChainReader, address: str, token_ids: Sequence[str]) -> tuple[ChainHead, ChainBalances]:
    """Head first, then every balance at that block (the only way the system reads the chain)."""
    head = reader.head()
    return head, reader.balances(address, token_ids, block=head.number, block_hash=head.hash)
