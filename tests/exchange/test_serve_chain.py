"""`exchange serve --chain URL` against a real anvil process: it deploys the stand-ins, prints
their addresses, mints each account's starting balance on chain, and settles a trade on chain at
MINED, so the chain agrees with the exchange's own ledger."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from polytraders.chain.anvil import AnvilMissing, AnvilNode
from polytraders.chain.rpc import RpcChainReader

from .helpers import ServerProcess, Trader

pytestmark = pytest.mark.slow


def test_serve_with_chain_settles_on_chain() -> None:
    try:
        node = AnvilNode()
    except AnvilMissing as exc:
        pytest.skip(f"anvil unavailable: {exc}")
    server = None
    try:
        server = ServerProcess("--chain", node.url, "--sim-time", "--seed", "11", "--markets", "4")
        assert server.proc.stdout is not None
        server.proc.stdout.readline()  # gamma/data/ws line
        chain_line = server.proc.stdout.readline().split()
        assert chain_line[0] == "chain:" and chain_line[1] == node.url
        pusd, ctf = chain_line[3], chain_line[5]
        reader = RpcChainReader(node.url, pusd, ctf, confirmations=0)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            trader = Trader.new()
            trader.login(http)
            # the starting balance (10000 pUSD) is on chain as soon as the account exists
            assert http.get("/balance-allowance", params={"asset_type": "COLLATERAL"},
                            headers=trader.l2_headers("GET", "/balance-allowance")).status_code == 200
            head = reader.head()
            assert reader.balances(trader.address, [], block=head.number).pusd == Decimal(10_000)
            market = next(m for m in http.get("/markets").json()["data"] if "sports" not in m["tags"])
            token, tick = market["tokens"][0]["token_id"], str(market["minimum_tick_size"])
            asks = http.get("/book", params={"token_id": token}).json()["asks"]
            best_ask = Decimal(asks[-1]["price"])
            body, _ = trader.order(token, "BUY", best_ask, "10", tick=tick, order_type="FAK")
            resp = trader.call(http, "POST", "/order", body).json()
            assert resp["success"] is True, resp
            for _ in range(20):  # settlement: MATCHED -> MINED -> CONFIRMED in simulated time
                assert http.post("/admin/time/advance", json={"ms": 5_000}).status_code == 200
            trades = trader.call(http, "GET", "/data/trades").json()
            rows = trades["data"] if isinstance(trades, dict) else trades
            assert rows and all(t["status"] == "CONFIRMED" for t in rows)
            bal = trader.call(http, "GET", "/balance-allowance", params={"asset_type": "COLLATERAL"}).json()
            shares = trader.call(http, "GET", "/balance-allowance",
                                 params={"asset_type": "CONDITIONAL", "token_id": token}).json()
        time.sleep(0.1)
        head = reader.head()
        onchain = reader.balances(trader.address, [token], block=head.number)
        assert int(onchain.pusd * 10**6) == int(bal["balance"]) < 10_000 * 10**6
        assert int(onchain.outcome[token] * 10**6) == int(shares["balance"]) > 0
    finally:
        if server is not None:
            server.stop()
        node.stop()


def test_serve_refuses_a_non_loopback_chain() -> None:
    import subprocess
    import sys

    from .helpers import SRC

    out = subprocess.run([sys.executable, "-m", "polytraders.cli.main", "exchange", "serve", "--port", "0",
                          "--chain", "http://192.0.2.1:8545"], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2 and "loopback" in out.stderr
