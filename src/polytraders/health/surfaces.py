"""The side surfaces: chain RPC samples, and active probes that run off the event loop.

`SampledChainReader` wraps the one `ChainReader` the system has (the reconciler's reads, every
incident snapshot's block height, the active probe), so each JSON-RPC round is an `rpc` sample:
latency, success, and the HTTP status when the node answered with one (429 / 503 counted apart).
A reorg during a read is the node answering correctly, so it is a successful sample; a lagging
head is judged by `gov.reconciler` and reported by the reconcile driver as a failed sample.

`BackgroundProbes` runs each surface's probe (one real call: Gamma metadata, Data API positions,
the chain head) on its own daemon thread when the monitor's cadence triggers it, so a node or an
API that hangs until its timeout never delays a step, and a hung surface never starves another
of fresh samples. Triggers that arrive while a probe is still running are coalesced.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from polytraders.chain.base import ChainBalances, ChainHead, ChainReader, ChainUnavailable
from polytraders.health.sampler import HealthSampler
from polytraders.runtime.bot import Bot

log = logging.getLogger(__name__)


def _http_status(exc: BaseException) -> int:
    """The HTTP status a JSON-RPC failure carried (web3 raises the HTTP stack's error), else 0."""
    seen: BaseException | None = exc
    while seen is not None:
        status = getattr(getattr(seen, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
        seen = seen.__cause__ or seen.__context__
    return 0


class SampledChainReader:
    def __init__(self, reader: ChainReader, sampler: HealthSampler, now_ms: Callable[[], int]) -> None:
        self.inner = reader
        self.sampler = sampler
        self._now = now_ms

    @property
    def confirmations(self) -> int:
        return self.inner.confirmations

    @confirmations.setter
    def confirmations(self, value: int) -> None:
        self.inner.confirmations = value

    def _sample(self, t0: int, ok: bool, status: int) -> None:
        self.sampler.record("rpc", self._now(), (time.perf_counter_ns() - t0) // 1_000_000, ok, status)

    def head(self) -> ChainHead:
        t0 = time.perf_counter_ns()
        try:
            out = self.inner.head()
        except ChainUnavailable as exc:
            self._sample(t0, exc.kind == "reorged", _http_status(exc))
            raise
        self._sample(t0, True, 200)
        return out

    def balances(self, address: str, token_ids: Sequence[str], *, block: int,
                 block_hash: str | None = None) -> ChainBalances:
        t0 = time.perf_counter_ns()
        try:
            out = self.inner.balances(address, token_ids, block=block, block_hash=block_hash)
        except ChainUnavailable as exc:
            self._sample(t0, exc.kind == "reorged", _http_status(exc))
            raise
        self._sample(t0, True, 200)
        return out

    def probe(self) -> None:
        self.head()

    def lagging(self) -> None:
        """The node answered, but its head is too old: a failed sample all the same."""
        self.sampler.record("rpc", self._now(), 0, False, 0)


class BackgroundProbes:
    def __init__(self, probes: Mapping[str, Callable[[], object]]) -> None:
        self.surfaces = tuple(sorted(probes))
        self._probes = dict(probes)
        self._due = {s: threading.Event() for s in probes}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def trigger(self, now_ms: int = 0) -> None:
        if not self._threads and not self._stop.is_set():
            for surface in self.surfaces:
                t = threading.Thread(target=self._loop, args=(surface,), name=f"probe-{surface}", daemon=True)
                t.start()
                self._threads.append(t)
        for event in self._due.values():
            event.set()

    def _loop(self, surface: str) -> None:
        due, probe = self._due[surface], self._probes[surface]
        while True:
            due.wait()
            due.clear()
            if self._stop.is_set():
                return
            try:
                probe()  # sampled by the call itself; a failure is a sample, nothing more
            except Exception as exc:  # a probe must never kill its thread
                log.info("probe %s failed: %s", surface, type(exc).__name__)

    def close(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        for event in self._due.values():
            event.set()
        for t in self._threads:
            t.join(timeout_s)


def side_surfaces(monitor: Bot[Any, Any] | None, sampler: HealthSampler | None, venue: object,
                  reader: ChainReader | None, now_ms: Callable[[], int]
                  ) -> tuple[ChainReader | None, BackgroundProbes | None]:
    """The chain reader the system should use (sampled when the monitor watches `rpc`) and the
    background probes of the configured side surfaces (None when there are none)."""
    if monitor is None or sampler is None:
        return reader, None
    surfaces = set(monitor.config["surfaces"])
    probes: dict[str, Callable[[], object]] = {}
    if reader is not None and "rpc" in surfaces:
        reader = SampledChainReader(reader, sampler, now_ms)
        probes["rpc"] = reader.probe
    inner = getattr(venue, "inner", venue)
    venue_probes = getattr(inner, "surface_probes", None)
    if venue_probes is not None:
        probes.update({s: fn for s, fn in venue_probes().items() if s in surfaces})
    return reader, (BackgroundProbes(probes) if probes else None)


def probe_all(venue_probe: Callable[[int], None] | None,
              background: BackgroundProbes | None) -> Callable[[int], None] | None:
    """The monitor's one probe hook: the venue's own (on the loop) and the side surfaces' (off it)."""
    if background is None:
        return venue_probe

    def probe(now_ms: int) -> None:
        background.trigger(now_ms)  # first: a failing venue probe raises
        if venue_probe is not None:
            venue_probe(now_ms)

    return probe


def configured_surfaces(venue_kind: str, *, gamma_url: str = "", data_url: str = "",
                        rpc_url: str = "") -> list[str]:
    """The surfaces a deployment actually uses (only those count, and each must stay fresh): the
    CLOB REST and market-data surfaces always; on Polymarket the user channel, and Gamma and the
    Data API when their URLs are set; chain RPC when on-chain reconciliation is configured."""
    surfaces = ["clob_rest", "clob_ws_market"]
    if venue_kind == "polymarket":
        surfaces.append("clob_ws_user")
        surfaces += [s for s, url in (("gamma", gamma_url), ("data_api", data_url)) if url]
    if rpc_url:
        surfaces.append("rpc")
    return surfaces
