"""Local exchange benchmarks: order posts per second with signature checks, and fill -> user-WS latency.

Run: python benchmarks/bench_exchange.py [--orders 3000] [--rounds 3] [--fills 300] [--concurrency 32]

- The server (`polytraders exchange serve`, no background flow) runs in its own process pinned to
  core 0 with taskset; this script is the second process, pinned to core 1.
- Throughput: N post-only orders are signed *before* timing (EIP-712, our signing code), then
  POSTed over keep-alive HTTP/1.1 connections with L2 headers made at send time.  Every order is
  fully checked by the server: HMAC, EIP-712 hash recomputed, signer recovered, tick, size,
  balance.  Reports orders/s per round (median, worst) and per-request latency (median, p99).
- Fill latency: a maker rests a post-only BUY, a taker sells into it with a FAK; we time from the
  taker's POST to the maker's `trade` event on /ws/user (an upper bound of fill -> WS, since it
  includes the POST itself), and from the event's match timestamp to its arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from exchange.helpers import Trader, free_port  # noqa: E402


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def start_server(port: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "polytraders.cli.main", "exchange", "serve", "--port", str(port), "--markets", "4",
           "--no-background", "--taker-delay-ms", "0", "--log-level", "error"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    proc.stdout.readline()
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


async def _raw_post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: str,
                    headers: dict[str, str]) -> tuple[int, bytes]:
    """One HTTP/1.1 keep-alive POST with hand-built bytes: keeps the load generator cheap."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    data = body.encode()
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(data)}\r\n\r\n".encode()
                 + data)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return int(status_line.split()[1]), await reader.readexactly(length)


async def throughput(url: str, n: int, concurrency: int, round_no: int) -> tuple[float, list[float]]:
    port = int(url.rsplit(":", 1)[1])
    async with httpx.AsyncClient(base_url=url) as http:
        trader = Trader.new()
        resp = await http.post("/auth/api-key", headers=trader.l1_headers())
        body = resp.json()
        trader.api_key, trader.secret, trader.passphrase = body["apiKey"], body["secret"], body["passphrase"]
        token = (await http.get("/markets")).json()["data"][0]["tokens"][0]["token_id"]
        bodies = [json.dumps(trader.order(token, "BUY", "0.01", "5", post_only=True, salt=round_no * 10**6 + i)[0],
                             separators=(",", ":")) for i in range(n)]
        latencies: list[float] = []
        queue: asyncio.Queue[str] = asyncio.Queue()
        for b in bodies:
            queue.put_nowait(b)

        async def worker() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while not queue.empty():
                b = queue.get_nowait()
                t0 = time.perf_counter()
                status, reply = await _raw_post(reader, writer, "/order", b, trader.l2_headers("POST", "/order", b))
                latencies.append(time.perf_counter() - t0)
                assert status == 200 and json.loads(reply)["status"] == "live", reply
            writer.close()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        cancel = await http.delete("/cancel-all", headers=trader.l2_headers("DELETE", "/cancel-all"))
        assert len(cancel.json()["canceled"]) == n
        return n / elapsed, latencies


async def fill_latency(url: str, fills: int) -> tuple[list[float], list[float]]:
    async with httpx.AsyncClient(base_url=url) as http:
        maker, taker = Trader.new(), Trader.new()
        for t in (maker, taker):
            body = (await http.post("/auth/api-key", headers=t.l1_headers())).json()
            t.api_key, t.secret, t.passphrase = body["apiKey"], body["secret"], body["passphrase"]
        market = (await http.get("/markets")).json()["data"][0]
        token = market["tokens"][0]["token_id"]
        await http.post("/admin/fund", json={"address": taker.address, "amount": str(5 * fills + 5), "token_id": token})
        post_to_ws: list[float] = []
        match_to_ws: list[float] = []
        async with websockets.connect(url.replace("http", "ws") + "/ws/user") as ws:
            await ws.send(json.dumps({"auth": {"apiKey": maker.api_key, "secret": maker.secret,
                                               "passphrase": maker.passphrase}, "type": "user"}))
            await ws.send("PING")
            assert await ws.recv() == "PONG"
            for i in range(fills):
                rest = json.dumps(maker.order(token, "BUY", "0.50", "5", post_only=True, salt=i + 1)[0],
                                  separators=(",", ":"))
                assert (await http.post("/order", content=rest,
                                        headers=maker.l2_headers("POST", "/order", rest))).status_code == 200
                sell = json.dumps(taker.order(token, "SELL", "0.50", "5", order_type="FAK", salt=i + 1)[0],
                                  separators=(",", ":"))
                t0 = time.perf_counter()
                resp = await http.post("/order", content=sell, headers=taker.l2_headers("POST", "/order", sell))
                assert resp.json()["status"] == "matched", resp.text
                wanted = set(resp.json()["tradeIDs"])
                while True:  # skip placements, updates and later settlement steps of older trades
                    msg: Any = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if msg.get("event_type") == "trade" and msg["id"] in wanted and msg["status"] == "MATCHED":
                        break
                post_to_ws.append(time.perf_counter() - t0)
                match_to_ws.append(max(0.0, time.time() - int(msg["timestamp"]) / 1000))
        return post_to_ws, match_to_ws


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fills", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    port = free_port()
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        rates: list[float] = []
        latencies: list[float] = []
        for r in range(args.rounds):
            rate, lat = asyncio.run(throughput(url, args.orders, args.concurrency, r))
            rates.append(rate)
            latencies += lat
            print(f"round {r + 1}: {rate:,.0f} orders/s")
        print(f"order posts with signature checks (server on 1 core, {args.concurrency} connections): "
              f"median {statistics.median(rates):,.0f}/s, worst {min(rates):,.0f}/s; "
              f"request latency median {statistics.median(latencies) * 1e3:.2f} ms, "
              f"p99 {pct(latencies, 0.99) * 1e3:.2f} ms")
        post_ws, match_ws = asyncio.run(fill_latency(url, args.fills))
        print(f"taker POST -> maker trade event on /ws/user ({args.fills} fills): "
              f"median {statistics.median(post_ws) * 1e3:.2f} ms, p99 {pct(post_ws, 0.99) * 1e3:.2f} ms")
        print(f"match timestamp -> WS arrival (ms clock resolution): "
              f"median {statistics.median(match_ws) * 1e3:.1f} ms, p99 {pct(match_ws, 0.99) * 1e3:.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
