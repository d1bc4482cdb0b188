"""Chain reads over JSON-RPC (web3.py): the funder's pUSD and conditional-token balances, pinned
to one block at a confirmation depth. `base.py` is the contract, `rpc.py` the node client,
`memory.py` the in-memory twin (demo, replay, tests), `anvil.py` the local node used by tests,
the demo and `exchange serve --chain`."""

from polytraders.chain.base import ChainBalances, ChainHead, ChainReader, ChainUnavailable, read_balances

__all__ = ["ChainBalances", "ChainHead", "ChainReader", "ChainUnavailable", "read_balances"]
