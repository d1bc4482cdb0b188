"""The in-memory twin of a chain: the same `ChainReader` contract with no node behind it, for
the demo without anvil, replay and tests. Every write mines one block whose hash is derived from
its parent and contents, so the same writes give the same hashes; `snapshot`/`revert` make a
reorg, and `down` makes the node unreachable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from polytraders.chain.base import ChainBalances, ChainHead, ChainUnavailable, from_base_units


@dataclass(slots=True)
class _Block:
    number: int
    hash: str
    timestamp_ms: int
    pusd: dict[str, int] = field(default_factory=dict)
    tokens: dict[tuple[str, str], int] = field(default_factory=dict)


class MemoryChain:
    def __init__(self, *, confirmations: int = 2, start_ms: int = 0) -> None:
        self.confirmations = confirmations
        self.blocks = [_Block(0, "0x" + hashlib.sha256(b"polytraders-memory-chain").hexdigest(), start_ms)]
        self.down = False  # the node does not answer while set

    # -- writes (each mines a block) --------------------------------------------------------

    def _mine(self, what: str, timestamp_ms: int | None) -> _Block:
        parent = self.blocks[-1]
        ts = parent.timestamp_ms + 2_000 if timestamp_ms is None else timestamp_ms
        digest = hashlib.sha256(f"{parent.hash}|{parent.number + 1}|{ts}|{what}".encode()).hexdigest()
        block = _Block(parent.number + 1, "0x" + digest, ts, dict(parent.pusd), dict(parent.tokens))
        self.blocks.append(block)
        return block

    def mine(self, count: int = 1, timestamp_ms: int | None = None) -> None:
        for _ in range(count):
            self._mine("empty", timestamp_ms)

    def mint_pusd(self, to: str, units: int, timestamp_ms: int | None = None) -> None:
        b = self._mine(f"mint-pusd:{to}:{units}", timestamp_ms)
        b.pusd[to.lower()] = b.pusd.get(to.lower(), 0) + units

    def transfer_pusd(self, frm: str, to: str, units: int, timestamp_ms: int | None = None) -> None:
        b = self._mine(f"pusd:{frm}:{to}:{units}", timestamp_ms)
        if b.pusd.get(frm.lower(), 0) < units:
            self.blocks.pop()
            raise ValueError("balance")
        b.pusd[frm.lower()] -= units
        b.pusd[to.lower()] = b.pusd.get(to.lower(), 0) + units

    def mint_token(self, to: str, token_id: str, units: int, timestamp_ms: int | None = None) -> None:
        b = self._mine(f"mint-ctf:{to}:{token_id}:{units}", timestamp_ms)
        key = (to.lower(), token_id)
        b.tokens[key] = b.tokens.get(key, 0) + units

    def transfer_token(self, frm: str, to: str, token_id: str, units: int, timestamp_ms: int | None = None) -> None:
        b = self._mine(f"ctf:{frm}:{to}:{token_id}:{units}", timestamp_ms)
        src, dst = (frm.lower(), token_id), (to.lower(), token_id)
        if b.tokens.get(src, 0) < units:
            self.blocks.pop()
            raise ValueError("balance")
        b.tokens[src] -= units
        b.tokens[dst] = b.tokens.get(dst, 0) + units

    def snapshot(self) -> int:
        return len(self.blocks)

    def revert(self, snapshot: int) -> None:
        """Drop every block after the snapshot: a reorg onto the parent chain."""
        del self.blocks[snapshot:]

    # -- ChainReader ------------------------------------------------------------------------

    def head(self) -> ChainHead:
        if self.down:
            raise ChainUnavailable("unreachable", "memory chain is down")
        latest = self.blocks[-1].number
        block = self.blocks[max(0, latest - self.confirmations)]
        return ChainHead(block.number, block.hash, block.timestamp_ms, latest)

    def balances(self, address: str, token_ids: Sequence[str], *, block: int,
                 block_hash: str | None = None) -> ChainBalances:
        if self.down:
            raise ChainUnavailable("unreachable", "memory chain is down")
        if block >= len(self.blocks):
            raise ChainUnavailable("reorged", f"block {block} is no longer on the chain")
        b = self.blocks[block]
        if block_hash is not None and b.hash != block_hash:
            raise ChainUnavailable("reorged", f"block {block} changed hash during the read")
        addr = address.lower()
        outcome = {t: from_base_units(b.tokens.get((addr, t), 0)) for t in token_ids}
        return ChainBalances(b.number, b.hash, address, from_base_units(b.pusd.get(addr, 0)), outcome)

    def pusd_of(self, address: str) -> Decimal:
        return from_base_units(self.blocks[-1].pusd.get(address.lower(), 0))
