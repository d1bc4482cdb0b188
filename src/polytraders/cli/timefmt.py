"""Times as people read them at 3 a.m.: ISO 8601 UTC to the second, with how long ago (or how
long until) next to it; never raw epoch milliseconds in human output (`--json` keeps them)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def relative(ms: int, now_ms: int) -> str:
    """`3 min ago`, `in 12 min`, `just now`; coarse on purpose."""
    delta = (now_ms - ms) // 1000
    ahead = delta < 0
    secs = abs(delta)
    if secs < 5:
        return "just now"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        if secs >= size:
            amount = f"{secs // size} {unit}"
            return f"in {amount}" if ahead else f"{amount} ago"
    return "just now"  # pragma: no cover - secs >= 5 always matches "s"


def when(ms: int | None, now_ms: int | None = None) -> str:
    """`2026-01-05T00:10:00Z (3 min ago)`, or `-` when there is no time."""
    if ms is None:
        return "-"
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{iso_utc(ms)} ({relative(ms, now)})"
