"""`polytraders run --paper` on `polytraders exchange serve` as the real market: real processes on
loopback. The exchange runs without synthetic liquidity, so its books hold only what the test's
traders post there. The paper run quotes against that live book, its orders fill locally when
another trader's order crosses them on the exchange (also across a market-socket drop), a trip
from the CLI in another process halts it, and nothing of the run's ever reaches the exchange."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import journal_rows as rows

from .helpers import ServerProcess, Trader

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "polytraders.cli.main"]


def _env(tmp_path: Path, server: ServerProcess) -> dict[str, str]:
    db = tmp_path / "paper.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True)
    (tmp_path / "polytraders.toml").write_text(
        f'[venue]\nkind = "polymarket"\npaper = true\nclob_url = "{server.url}"\n'
        f'ws_url = "ws://127.0.0.1:{server.port}/ws"\ngamma_url = "{server.url}/gamma"\n'
        f'[run]\nstep_ms = 200\nstarting_pusd = "2500"\n[oncall]\ntrading_ops = ["ann"]\nrisk = ["ann"]\n',
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("POLYTRADERS_WALLET_KEY", "POLYTRADERS_PRIVATE_KEY")}
    return {**env, "POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"}


def _wait(db: Path, proc: subprocess.Popen[str], pick: Any, timeout: float = 40, after: int = 0) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    while True:
        for seq, code, env in rows(db):
            if seq > after and pick(code, env):
                return seq, env
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "never appeared"
        time.sleep(0.1)


def _resting(side: str) -> Any:
    return lambda code, env: code == "EXEC_RESTING" and env["payload"]["side"] == side


def test_paper_run_fills_locally_against_the_live_book_and_obeys_a_cli_trip(tmp_path: Path) -> None:
    server = ServerProcess("--seed", "17", "--markets", "1", "--no-background", "--taker-delay-ms", "0")
    http = httpx.Client(base_url=server.url, timeout=10)
    try:
        market = http.get("/markets").json()["data"][0]
        token = next(t["token_id"] for t in market["tokens"] if t["outcome"].lower() == "yes")
        tick = str(market["minimum_tick_size"])
        maker, taker = Trader.new(), Trader.new()
        salts = iter(range(1, 100))
        for trader in (maker, taker):
            trader.login(http)
            for body in ({"address": trader.address, "amount": "5000"},
                         {"address": trader.address, "amount": "5000", "token_id": token}):
                assert http.post("/admin/fund", json=body).status_code == 200

        def post(trader: Trader, side: str, price: str, size: str) -> None:
            body, _ = trader.order(token, side, price, size, tick=tick, salt=next(salts))
            resp = trader.call(http, "POST", "/order", body)
            assert resp.status_code == 200, resp.text

        post(maker, "BUY", "0.40", "100")  # a two-sided live book for the strategy to quote inside
        post(maker, "SELL", "0.60", "100")
        env = _env(tmp_path, server)
        db = Path(env["POLYTRADERS_DB"])
        proc = subprocess.Popen([*CLI, "run", "--json", "--duration", "90"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, bid = _wait(db, proc, _resting("BUY"))
            price, size = bid["payload"]["price"], bid["payload"]["size"]
            assert Decimal("0.40") < Decimal(price) < Decimal("0.60")
            # another trader's ask at our paper bid rests on the exchange: the live book crosses us
            post(taker, "SELL", price, size)
            fill_seq, fill = _wait(db, proc, lambda c, e: c == "EXEC_FILL" and "trade_id" in e["payload"])
            assert fill["payload"]["trade_id"].startswith("paper-")
            assert (fill["payload"]["price"], fill["payload"]["liquidity"]) == (price, "maker")
            # now long, the strategy offers; the market socket drops, and while it is down another
            # trader's bid crosses our paper ask on the exchange: the reconnect's snapshot fills it
            assert taker.call(http, "DELETE", "/cancel-all").status_code == 200
            cancelled_seq = max(s for s, _, _ in rows(db))
            _, ask = _wait(db, proc, _resting("SELL"), after=cancelled_seq)
            assert Decimal(ask["payload"]["price"]) < Decimal("0.59")
            http.post("/admin/faults", json={"ws": {"channel": "market", "kind": "drop", "seconds": 2}}
                      ).raise_for_status()
            time.sleep(0.5)
            post(taker, "BUY", "0.59", "60")
            _, sold = _wait(db, proc, lambda c, e: c == "EXEC_FILL" and e["payload"].get("side") == "SELL"
                            and "trade_id" in e["payload"], after=cancelled_seq)
            assert Decimal(sold["payload"]["price"]) < Decimal("0.59")  # a maker fills at its own price
            # a trip from the CLI, in another process, halts the paper run within a step
            _wait(db, proc, lambda c, e: c == "EXEC_RESTING", after=fill_seq, timeout=30)
            trip = subprocess.run([*CLI, "killswitch", "trip", "--scope", "global", "--reason", "drill", "--json"],
                                  env=env, capture_output=True, text=True, timeout=60)
            assert trip.returncode == 0, trip.stderr
            trip_seq = int(json.loads(trip.stdout)["trip_id"].split("_")[1])
            _wait(db, proc, lambda c, e: c == "EXEC_CANCEL_ALL", after=trip_seq, timeout=10)
            _wait(db, proc, lambda c, e: c == "GOV_INCIDENT_DECLARED", after=trip_seq, timeout=10)  # the commander
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        report = json.loads(out)
        assert (report["venue"], report["paper"]) == ("polymarket", True)
        assert any("no order was sent to the exchange" in n for n in report["notes"])
        statuses = [json.loads(line) for line in err.splitlines() if line.startswith('{"event": "status"')]
        assert statuses and all(s["paper"] is True for s in statuses)  # the structured log says paper too
        journal = rows(db)
        assert "EXEC_SUBMITTED" not in [c for s, c, _ in journal if s > trip_seq]
        started = [e["payload"]["detail"] for _, c, e in journal if c == "GOV_RUN_STARTED"]
        assert {"feed": "paper"}.items() <= started[-1].items() and started[0]["paper"] is True
        (balance,) = [e["payload"]["detail"] for _, c, e in journal if c == "GOV_WALLET_BALANCE"]
        assert balance == {"pusd": "2500", "source": "paper bankroll"}
        # nothing of ours reached the exchange: no login, no account, no trade but the test traders'
        ours = sorted(t.address.lower() for t in (maker, taker))
        state = http.get("/admin/state").json()
        assert sorted(a["address"].lower() for a in state["accounts"]) == ours
        trades = http.get("/data-api/trades", params={"limit": 1000}).json()
        assert {t["proxyWallet"].lower() for t in trades} <= set(ours)  # (none: every cross rested)
        # the paper run counts as paper-wallet evidence for the strategy that traded in it
        shown = subprocess.run([*CLI, "bots", "show", "strat.maker_tight", "--json"], env=env, capture_output=True,
                               text=True, timeout=60)
        gate = next(g for g in json.loads(shown.stdout)["gates"]["runtime_live"] if g["id"] == "paper_wallet")
        assert gate["passed"], gate
    finally:
        http.close()
        server.stop()


def test_paper_on_the_simulator_is_refused_as_bad_usage(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYTRADERS_")}
    db = tmp_path / "p.db"
    subprocess.run([*CLI, "init", "--admin", "ann", "--admin", "ben", "--db", str(db)], check=True,
                   capture_output=True, env=env)
    env |= {"POLYTRADERS_DB": str(db), "POLYTRADERS_KEY_FILE": f"{db}.keys/ann.key"}
    got = subprocess.run([*CLI, "run", "--paper", "--venue", "sim", "--json"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 2, got.stderr
    said = got.stdout + got.stderr
    assert "simulator" in said and "--paper" in said and "Traceback" not in said
    assert "POLYTRADERS_WALLET_KEY" not in said  # refused for what it is, not for a missing key
