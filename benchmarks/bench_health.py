"""Cost of the API health monitor on the hot path.

Run: python benchmarks/bench_health.py
- one sample: `HealthSampler.record` (an append to a bounded deque), paid by every outbound call
  and market-data read; target at most 5 µs;
- one sampled venue call: `SampledVenue.open_orders()` on the simulator, minus the same call
  unwrapped (the wrapper's own cost);
- one summary: `summarise` over a full short window (60 s of samples at 200/s).
Reports median and p99 over rounds.
"""

from __future__ import annotations

import statistics
import time

from polytraders.health import HealthSampler, SampledVenue
from polytraders.venues.sim import SimVenue

T0 = 1_767_571_200_000


def rounds(fn: object, n: int, k: int = 30) -> list[float]:
    out = []
    for _ in range(k):
        t = time.perf_counter_ns()
        for _ in range(n):
            fn()  # type: ignore[operator]
        out.append((time.perf_counter_ns() - t) / n / 1000)
    return out


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    sampler = HealthSampler()
    record = rounds(lambda: sampler.record("clob_rest", T0, 3, True, 200), 50_000)
    venue = SimVenue(7, 10, T0)
    sampled = SampledVenue(venue, HealthSampler(), lambda: T0)
    raw = rounds(venue.open_orders, 20_000)
    wrapped = rounds(sampled.open_orders, 20_000)
    for i in range(12_000):
        sampler.record("clob_ws_market", T0 + i * 5, 1, i % 20 != 0, 200)
    summary = rounds(lambda: sampler.summarise("clob_ws_market", T0 + 60_000, 60_000, 600_000), 50, 20)
    print(f"HealthSampler.record: median {statistics.median(record):.2f} us, p99 {pct(record, .99):.2f} us "
          f"(target <= 5 us)")
    print(f"SampledVenue wrapper cost: median {statistics.median(wrapped) - statistics.median(raw):.2f} us per call")
    print(f"summarise 60 s window (12,000 samples): median {statistics.median(summary):.0f} us, "
          f"p99 {pct(summary, .99):.0f} us")


if __name__ == "__main__":
    main()
