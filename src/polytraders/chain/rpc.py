"""`ChainReader` over JSON-RPC with web3.py: head at a confirmation depth, then pUSD
`balanceOf` and one `balanceOfBatch` for every token, all pinned to that block number, and the
block's hash checked again after the read so a reorg in the middle is caught.

Errors are translated once, here: whatever web3, the HTTP stack or the node raised becomes a
`ChainUnavailable` ('unreachable', 'lagging' or 'reorged'). Only loopback or configured URLs
are contacted; nothing else in the system talks to a node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from polytraders.chain.base import ChainBalances, ChainHead, ChainUnavailable, from_base_units
from polytraders.chain.contracts import CTF, PUSD, abi

T = TypeVar("T")


def connect(url: str, timeout_s: float = 5.0) -> Any:
    """A web3 client for `url` (http:// only: the reader does no subscriptions)."""
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(url, request_kwargs={"timeout": timeout_s}))


class RpcChainReader:
    def __init__(self, url: str, pusd_address: str, ctf_address: str, *, confirmations: int = 2,
                 timeout_s: float = 5.0) -> None:
        from web3 import Web3

        self.url = url
        self.confirmations = confirmations
        self.w3 = connect(url, timeout_s)
        self.pusd = self.w3.eth.contract(address=Web3.to_checksum_address(pusd_address), abi=abi(PUSD))
        self.ctf = self.w3.eth.contract(address=Web3.to_checksum_address(ctf_address), abi=abi(CTF))

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ChainUnavailable:
            raise
        except Exception as exc:  # the one place library errors are translated
            raise ChainUnavailable("unreachable", f"{what} failed at {self.url}: "
                                   f"{type(exc).__name__}: {str(exc)[:200]}") from exc

    def head(self) -> ChainHead:
        latest = self._call("eth_blockNumber", lambda: int(self.w3.eth.block_number))
        number = max(0, latest - self.confirmations)
        block = self._call("eth_getBlockByNumber", lambda: self.w3.eth.get_block(number))
        return ChainHead(number, "0x" + bytes(block["hash"]).hex(), int(block["timestamp"]) * 1000, latest)

    def _hash_at(self, number: int) -> str:
        block = self._call("eth_getBlockByNumber", lambda: self.w3.eth.get_block(number))
        return "0x" + bytes(block["hash"]).hex()

    def balances(self, address: str, token_ids: Sequence[str], *, block: int,
                 block_hash: str | None = None) -> ChainBalances:
        from web3 import Web3

        owner = Web3.to_checksum_address(address)
        ids = [int(t) for t in token_ids]
        pusd = self._call("pUSD balanceOf",
                          lambda: int(self.pusd.functions.balanceOf(owner).call(block_identifier=block)))
        units: list[int] = []
        if ids:
            units = self._call("balanceOfBatch", lambda: [int(u) for u in self.ctf.functions.balanceOfBatch(
                [owner] * len(ids), ids).call(block_identifier=block)])
        seen = self._hash_at(block)
        if block_hash is not None and seen != block_hash:
            raise ChainUnavailable("reorged", f"block {block} changed from {block_hash} to {seen} during the read")
        return ChainBalances(block, seen, address, from_base_units(pusd),
                             {t: from_base_units(u) for t, u in zip(token_ids, units, strict=True)})
