"""The side surfaces without a whole run: which surfaces a deployment configures, refusing an unknown
one, a configured surface nobody samples staying `unknown` and blocking the restore, Gamma and
Data API calls reported with their HTTP status over real loopback HTTP, the chain reader's calls
sampled (a dead node fails fast, a reorg is the node answering), and probes off the loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from test_api_monitor import MIN, T0, api_system, hold_events, outage, run_minutes

from polytraders.bots.gov.api_degradation_monitor import ApiDegradationMonitor
from polytraders.chain.anvil import free_port
from polytraders.chain.base import ChainUnavailable
from polytraders.chain.rpc import RpcChainReader
from polytraders.errors import ConfigError
from polytraders.health.sampler import HealthSampler
from polytraders.health.surfaces import BackgroundProbes, SampledChainReader, configured_surfaces
from polytraders.runtime.config import build_config
from polytraders.state.api_health import ApiHealthProjection
from polytraders.venues.base import VenueError
from polytraders.venues.polymarket.data_api import DataApiClient
from polytraders.venues.polymarket.gamma import GammaClient
from polytraders.venues.sim.faults import FaultPlan


def test_only_the_surfaces_a_deployment_uses_are_configured() -> None:
    assert configured_surfaces("sim") == ["clob_rest", "clob_ws_market"]
    assert configured_surfaces("sim", rpc_url="http://127.0.0.1:8545") == ["clob_rest", "clob_ws_market", "rpc"]
    assert configured_surfaces("polymarket", gamma_url="g", data_url="d", rpc_url="r") == [
        "clob_rest", "clob_ws_market", "clob_ws_user", "gamma", "data_api", "rpc"]
    assert configured_surfaces("polymarket", gamma_url="g") == ["clob_rest", "clob_ws_market", "clob_ws_user",
                                                                "gamma"]


@pytest.mark.parametrize("surfaces", [("clob_rest", "gama"), ()])
def test_an_unknown_or_empty_surface_list_is_refused(surfaces: tuple[str, ...]) -> None:
    cfg, _ = build_config(ApiDegradationMonitor.bot_id, ApiDegradationMonitor.params, {"surfaces": surfaces})
    with pytest.raises(ConfigError) as err:
        ApiDegradationMonitor().init(cfg)
    assert err.value.code == "GOV_CONFIG_REFUSED" and "surfaces" in err.value.message


def test_a_configured_surface_with_no_samples_is_unknown_and_blocks_the_restore(tmp_path: Path) -> None:
    # gamma is configured but the simulator never calls it: it can never be ok, so the outage's
    # demotion stays until someone looks (the sampled surfaces alone recover within minutes)
    system = api_system(tmp_path, outage(FaultPlan(), 2, 3), green_s=60,
                        surfaces=("clob_rest", "clob_ws_market", "gamma"))
    run_minutes(system, 1, 8 * 60)
    health = system.state.typed("api_health", ApiHealthProjection)
    assert health.level["gamma"] == "unknown" and health.level["clob_rest"] == "ok"
    assert [a for _, a in hold_events(system)] == ["place"]
    assert system.api_health is not None and system.api_health.green_for_ms(T0 + 8 * MIN) is None


def _server(status: int) -> tuple[str, object]:
    """A real loopback HTTP server answering every GET with `status` and a JSON list."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]" if status == 200 else b'{"error": "injected"}')

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.mark.parametrize("status", [200, 429, 425, 503])
def test_gamma_and_data_api_calls_are_observed_with_their_status(status: int) -> None:
    url, server = _server(status)
    seen: list[tuple[str, int, bool, int]] = []
    try:
        gamma = GammaClient(url, observe=lambda ms, ok, st: seen.append(("gamma", ms, ok, st)))
        data = DataApiClient(url, observe=lambda ms, ok, st: seen.append(("data_api", ms, ok, st)))
        for call in (lambda: gamma.markets(condition_ids=["0x01"]), lambda: data.positions("0xabc")):
            if status == 200:
                assert call() == []
            else:
                with pytest.raises(VenueError):
                    call()
    finally:
        server.shutdown()  # type: ignore[attr-defined]
    assert [(s, ok, st) for s, _, ok, st in seen] == [("gamma", status == 200, status),
                                                       ("data_api", status == 200, status)]
    dead = GammaClient(f"http://127.0.0.1:{free_port()}", observe=lambda ms, ok, st: seen.append(("dead", ms, ok, st)))
    with pytest.raises(VenueError):
        dead.markets()
    assert seen[-1][0] == "dead" and seen[-1][2:] == (False, 0)  # no answer: status 0


def test_every_chain_call_is_an_rpc_sample_and_a_dead_node_fails_fast() -> None:
    sampler = HealthSampler()
    dead = RpcChainReader(f"http://127.0.0.1:{free_port()}", "0x" + "11" * 20, "0x" + "22" * 20, timeout_s=2)
    reader = SampledChainReader(dead, sampler, lambda: T0)
    reader.confirmations = 5
    assert dead.confirmations == 5
    for _ in range(3):
        t0 = time.monotonic()
        with pytest.raises(ChainUnavailable):
            reader.head()
        assert time.monotonic() - t0 < 2
    reader.lagging()
    f = sampler.summarise("rpc", T0, 60_000, 600_000)
    assert (f.samples_short, f.errors_short, f.last_success_ms) == (4, 4, None)


class _Reorging:
    confirmations = 0

    def head(self) -> object:
        raise ChainUnavailable("reorged", "block changed during the read")

    def balances(self, *a: object, **k: object) -> object:
        raise ChainUnavailable("unreachable", "down")


def test_a_reorg_is_the_node_answering_not_an_outage() -> None:
    sampler = HealthSampler()
    reader = SampledChainReader(_Reorging(), sampler, lambda: T0)  # type: ignore[arg-type]
    with pytest.raises(ChainUnavailable):
        reader.head()
    with pytest.raises(ChainUnavailable):
        reader.balances("0x", [], block=1)
    f = sampler.summarise("rpc", T0, 60_000, 600_000)
    assert (f.samples_short, f.errors_short) == (2, 1)


def test_background_probes_never_block_the_caller_and_one_hung_surface_starves_no_other() -> None:
    release = threading.Event()
    calls: list[str] = []
    probes = BackgroundProbes({"gamma": lambda: release.wait(5), "rpc": lambda: calls.append("rpc")})
    try:
        t0 = time.monotonic()
        for _ in range(5):
            probes.trigger()
            time.sleep(0.05)
        assert time.monotonic() - t0 < 1  # gamma hangs; the caller does not
        assert len(calls) >= 3  # rpc kept being probed meanwhile
    finally:
        release.set()
        probes.close()
