"""A local anvil node (Foundry's EVM) on loopback, and the writes the stand-ins need: deploy,
mint, settle, a transfer made behind the system's back, snapshot/revert for reorgs.

anvil runs with `--chain-id 137` (the signing domain) and a fixed `--timestamp`; callers that
need deterministic block times set each block's time from the simulated clock
(`evm_setNextBlockTimestamp`). Its dev accounts are unlocked, and any other address can be
impersonated, so no private key is handled here.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from polytraders.chain.contracts import CTF, PUSD, abi, bytecode, find_tool
from polytraders.chain.rpc import RpcChainReader, connect

DEFAULT_TIMESTAMP_S = 1_767_571_200  # 2026-01-05T00:00:00Z, the demo's start


class AnvilMissing(RuntimeError):
    """anvil is not installed (run scripts/install-test-tools.sh)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilNode:
    """One anvil process on 127.0.0.1; `stop` ends it (and only it)."""

    def __init__(self, *, timestamp_s: int = DEFAULT_TIMESTAMP_S, chain_id: int = 137,
                 port: int | None = None) -> None:
        binary = find_tool("anvil")
        if binary is None:
            raise AnvilMissing("anvil is not installed; run scripts/install-test-tools.sh "
                               "(npm @foundry-rs/anvil)")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(chain_id),
             "--timestamp", str(timestamp_s), "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.w3 = connect(self.url)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"anvil exited at start: {err[:500]}")
            try:
                self.w3.eth.block_number  # noqa: B018 - the readiness probe
                break
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("anvil did not answer within 20 s") from None
                time.sleep(0.05)
        self.accounts: list[str] = list(self.w3.eth.accounts)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class Deployment:
    pusd: str
    ctf: str
    owner: str


class ChainAdmin:
    """Writes to the stand-ins on an anvil node (the deployer is the owner and minter)."""

    def __init__(self, url: str, deployment: Deployment) -> None:
        from web3 import Web3

        self.url = url
        self.w3 = connect(url)
        self.deployment = deployment
        self.pusd = self.w3.eth.contract(address=Web3.to_checksum_address(deployment.pusd), abi=abi(PUSD))
        self.ctf = self.w3.eth.contract(address=Web3.to_checksum_address(deployment.ctf), abi=abi(CTF))

    @classmethod
    def deploy(cls, url: str, owner: str | None = None, timestamp_s: int | None = None) -> ChainAdmin:
        """Deploy both stand-ins from `owner` (anvil's first account by default). With `timestamp_s`
        their blocks get times `timestamp_s + 1`, `+ 2` instead of anvil's wall-clock offset, so
        the chain's hashes are the same run to run."""
        w3 = connect(url)
        owner = owner or w3.eth.accounts[0]
        addresses = []
        for i, name in enumerate((PUSD, CTF), start=1):
            if timestamp_s is not None:
                w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp_s + i])
            contract = w3.eth.contract(abi=abi(name), bytecode=bytecode(name))
            tx = contract.constructor().transact({"from": owner})
            receipt = w3.eth.wait_for_transaction_receipt(tx)
            if receipt["status"] != 1:
                raise RuntimeError(f"deploying {name} failed")
            addresses.append(str(receipt["contractAddress"]))
        return cls(url, Deployment(addresses[0], addresses[1], owner))

    def reader(self, confirmations: int = 2) -> RpcChainReader:
        return RpcChainReader(self.url, self.deployment.pusd, self.deployment.ctf, confirmations=confirmations)

    def _send(self, fn: Any, sender: str) -> str:
        from web3 import Web3

        tx = fn.transact({"from": Web3.to_checksum_address(sender)})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise RuntimeError("transaction reverted")
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def _as(self, address: str, fn: Any) -> str:
        """Send from any address: impersonated, and funded with gas money if it has none."""
        from web3 import Web3

        who = Web3.to_checksum_address(address)
        if self.w3.eth.get_balance(who) == 0:
            self.w3.provider.make_request("anvil_setBalance", [who, hex(10**20)])
        self.w3.provider.make_request("anvil_impersonateAccount", [who])
        try:
            return self._send(fn, who)
        finally:
            self.w3.provider.make_request("anvil_stopImpersonatingAccount", [who])

    def set_next_timestamp(self, ts_ms: int) -> None:
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [ts_ms // 1000])

    def mine(self, blocks: int = 1, ts_ms: int | None = None) -> None:
        if ts_ms is not None:
            self.set_next_timestamp(ts_ms)
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])

    def mint_pusd(self, to: str, units: int) -> str:
        from web3 import Web3

        return self._send(self.pusd.functions.mint(Web3.to_checksum_address(to), units), self.deployment.owner)

    def mint_token(self, to: str, token_id: str, units: int) -> str:
        from web3 import Web3

        return self._send(self.ctf.functions.mint(Web3.to_checksum_address(to), int(token_id), units),
                          self.deployment.owner)

    def mint_tokens(self, to: str, token_ids: list[str], units: int) -> str:
        """Many positions in one transaction (mintBatch), for large fixtures."""
        from web3 import Web3

        return self._send(self.ctf.functions.mintBatch(Web3.to_checksum_address(to), [int(t) for t in token_ids],
                                                       [units] * len(token_ids)), self.deployment.owner)

    def transfer_pusd(self, frm: str, to: str, units: int) -> str:
        from web3 import Web3

        return self._as(frm, self.pusd.functions.transfer(Web3.to_checksum_address(to), units))

    def transfer_token(self, frm: str, to: str, token_id: str, units: int) -> str:
        from web3 import Web3

        return self._as(frm, self.ctf.functions.safeTransferFrom(
            Web3.to_checksum_address(frm), Web3.to_checksum_address(to), int(token_id), units, b""))

    def snapshot(self) -> str:
        return str(self.w3.provider.make_request("evm_snapshot", [])["result"])

    def revert(self, snapshot_id: str) -> None:
        result = self.w3.provider.make_request("evm_revert", [snapshot_id])
        if not result.get("result"):
            raise RuntimeError(f"evm_revert {snapshot_id} failed: {result}")
