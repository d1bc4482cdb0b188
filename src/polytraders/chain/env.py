"""A chain for a simulated run: a real anvil node when it is installed, else the in-memory twin,
behind one small writer interface (fund, settle, a transfer behind the system's back, mine).

Block times follow the simulated clock (`evm_setNextBlockTimestamp` on anvil), and `tick` mines
an empty block every `block_every_ms` of simulated time, as a live chain keeps producing blocks,
so the head at the confirmation depth stays fresh and the journal stays deterministic.

The settler is the stand-in for the venue's on-chain settlement: when a fill of ours first
reaches CONFIRMED it moves shares and pUSD between the funder and the house (the counterparty
account that holds a float), exactly as the ledger books it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from polytraders.chain.base import SCALE, ChainReader, to_base_units
from polytraders.chain.memory import MemoryChain

HOUSE = "0x0000000000000000000000000000000000000b0b"  # the in-memory twin's counterparty account
HOUSE_FLOAT_UNITS = 10**15  # a billion pUSD: the house never runs short in a demo


class ChainEnv:
    def __init__(self, *, prefer_anvil: bool = True, start_ms: int, block_every_ms: int = 10_000,
                 confirmations: int = 2) -> None:
        self.kind = "memory"
        self.note = ""
        self.node: Any = None
        self.admin: Any = None
        self.block_every_ms = block_every_ms
        self._last_block_s = start_ms // 1000
        self._next_block_ms = start_ms + block_every_ms
        self._settled: set[str] = set()
        self.failures: list[str] = []
        if prefer_anvil:
            from polytraders.chain.anvil import AnvilMissing, AnvilNode, ChainAdmin

            try:
                self.node = AnvilNode(timestamp_s=start_ms // 1000)
                self.admin = ChainAdmin.deploy(self.node.url, timestamp_s=start_ms // 1000)
                self._last_block_s = start_ms // 1000 + 2
                self.kind = "anvil"
                self.note = (f"anvil at {self.node.url} (chain id 137); pUSD stand-in {self.admin.deployment.pusd}, "
                             f"conditional tokens {self.admin.deployment.ctf}")
            except AnvilMissing as exc:
                self.note = f"anvil is not available ({exc}); using the in-memory chain twin instead"
        if self.kind == "memory":
            self.memory = MemoryChain(confirmations=confirmations, start_ms=start_ms)
            self.note = self.note or "in-memory chain twin (anvil not requested)"
            self.reader: ChainReader = self.memory
        else:
            self.reader = self.admin.reader(confirmations)
        self.house = HOUSE if self.kind == "memory" else self.node.accounts[9]
        self._write("mint_pusd", self.house, HOUSE_FLOAT_UNITS, ts_ms=start_ms)

    # -- writes ----------------------------------------------------------------------------

    def _ts(self, ts_ms: int) -> int:
        """A block time from the simulated clock, strictly after the previous block."""
        self._last_block_s = max(ts_ms // 1000, self._last_block_s + 1)
        return self._last_block_s * 1000

    def _write(self, op: str, *args: Any, ts_ms: int) -> None:
        ts = self._ts(ts_ms)
        if self.kind == "memory":
            getattr(self.memory, op)(*args, timestamp_ms=ts)
        else:
            self.admin.set_next_timestamp(ts)
            getattr(self.admin, op)(*args)

    def fund(self, address: str, pusd: Decimal, ts_ms: int) -> None:
        self._write("mint_pusd", address, to_base_units(pusd), ts_ms=ts_ms)

    def transfer_pusd(self, frm: str, to: str, pusd: Decimal, ts_ms: int) -> None:
        self._write("transfer_pusd", frm, to, to_base_units(pusd), ts_ms=ts_ms)

    def tick(self, now_ms: int) -> None:
        while now_ms >= self._next_block_ms:
            ts = self._ts(self._next_block_ms)
            if self.kind == "memory":
                self.memory.mine(1, ts)
            else:
                self.admin.mine(1, ts)
            self._next_block_ms += self.block_every_ms

    def settle(self, payload: dict[str, Any], funder: str, ts_ms: int) -> None:
        """Settle one fill of ours on chain the first time it is CONFIRMED."""
        trade_id = str(payload["trade_id"])
        if payload.get("settlement") != "CONFIRMED" or trade_id in self._settled:
            return
        self._settled.add(trade_id)
        try:
            self._settle(payload, funder, ts_ms)
        except Exception as exc:  # a settlement that cannot land is a finding for the reconciler, not a crash
            self.failures.append(f"{trade_id}: {type(exc).__name__}: {str(exc)[:120]}")

    def _settle(self, payload: dict[str, Any], funder: str, ts_ms: int) -> None:
        size, price, fee = Decimal(str(payload["size"])), Decimal(str(payload["price"])), \
            Decimal(str(payload.get("fee_pusd", "0")))
        token, shares = str(payload["token_id"]), to_base_units(size)
        if payload["side"] == "BUY":
            self._write("transfer_pusd", funder, self.house, _units(size * price + fee), ts_ms=ts_ms)
            self._write("mint_token", funder, token, shares, ts_ms=ts_ms)
        else:
            self._write("transfer_token", funder, self.house, token, shares, ts_ms=ts_ms)
            self._write("transfer_pusd", self.house, funder, _units(size * price - fee), ts_ms=ts_ms)

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()


def _units(amount: Decimal) -> int:
    """Whole base units: the chain holds no fractions, so exact ledger amounts round (half even)."""
    return int((amount * SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
