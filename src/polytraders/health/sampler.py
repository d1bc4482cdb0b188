"""Passive health samples, aggregated in memory (bots do no I/O, so the runtime collects them).

Every outbound call and every market-data read adds one sample: (time, latency, ok, HTTP
status). `HealthSampler.record` is on the hot path of every call, so it is an append to a
bounded deque under an uncontended lock and nothing else (see benchmarks/bench_health.py); the
lock is there because the adapter's background threads and active probes record too. `summarise` turns one
surface's samples into the figures the journal keeps: error rate over a short and a long
window, latency p50/p99 over the short window, throttles (429), engine restarts (425) and
unavailability (503) counted apart, and the time of the last success and last sample.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

SURFACES: Final = ("clob_rest", "clob_ws_market", "clob_ws_user", "gamma", "data_api", "rpc")
MAX_SAMPLES: Final = 20_000  # per surface: enough for the long window at any sane call rate


@dataclass(frozen=True, slots=True)
class SurfaceFigures:
    surface: str
    samples_short: int
    errors_short: int
    error_rate_short_pct: Decimal
    error_rate_long_pct: Decimal
    p50_ms: int | None
    p99_ms: int | None
    throttled: int
    restarting: int
    unavailable: int
    last_success_ms: int | None
    last_sample_ms: int | None


def _pct(part: int, whole: int) -> Decimal:
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.01")) if whole else Decimal(0)


class HealthSampler:
    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[int, int, bool, int]]] = {}
        self._errors: dict[str, int] = {}  # failed samples currently held, per surface
        self._last_success: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, surface: str, ts_ms: int, latency_ms: int, ok: bool, status: int = 0) -> None:
        with self._lock:
            q = self._samples.get(surface)
            if q is None:
                q = self._samples[surface] = deque()
                self._errors[surface] = 0
            if len(q) >= MAX_SAMPLES:
                self._errors[surface] -= not q.popleft()[2]
            q.append((ts_ms, latency_ms, ok, status))
            if ok:
                self._last_success[surface] = max(ts_ms, self._last_success.get(surface, ts_ms))
            else:
                self._errors[surface] += 1

    def summarise(self, surface: str, now_ms: int, short_ms: int, long_ms: int) -> SurfaceFigures:
        with self._lock:
            q = self._samples.get(surface, deque())
            while q and q[0][0] < now_ms - long_ms:
                self._errors[surface] -= not q.popleft()[2]
            held, errors_held, last_success = len(q), self._errors.get(surface, 0), self._last_success.get(surface)
            last_sample = q[-1][0] if q else None
            short = []
            for s in reversed(q):  # newest first; stop at the short window's edge
                if s[0] < now_ms - short_ms:
                    break
                short.append(s)
        lat = sorted(s[1] for s in short)
        errors = [s for s in short if not s[2]]
        return SurfaceFigures(
            surface=surface, samples_short=len(short), errors_short=len(errors),
            error_rate_short_pct=_pct(len(errors), len(short)),
            error_rate_long_pct=_pct(errors_held, held),
            p50_ms=lat[len(lat) // 2] if lat else None,
            p99_ms=lat[min(len(lat) - 1, (len(lat) * 99) // 100)] if lat else None,
            throttled=sum(1 for s in errors if s[3] == 429), restarting=sum(1 for s in errors if s[3] == 425),
            unavailable=sum(1 for s in errors if s[3] == 503),
            last_success_ms=last_success, last_sample_ms=last_sample)
