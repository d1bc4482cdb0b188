"""Which span of the journal a replay covers: `--window`, `--since` and `--until`, each meaning
what it says.

- none given: the `window` (default 1 h) ending at the last recorded input;
- `--until T`: the window ending at T;
- `--since T`: the window starting at T;
- `--since A --until B`: exactly [A, B]; a `--window` as well is a contradiction and refused.
Times are epoch milliseconds or ISO 8601 (a time without an offset is UTC); durations are
`90s`, `30m`, `1h`, `2h30m`, `1d` or plain milliseconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from polytraders.errors import BadInputError

HOUR_MS = 3_600_000
_UNITS = {"ms": 1, "s": 1_000, "m": 60_000, "h": HOUR_MS, "d": 24 * HOUR_MS}
_PART = re.compile(r"(\d{1,9})(ms|s|m|h|d)")
MAX_WINDOW_MS = 366 * 24 * HOUR_MS  # a year: anything longer is a typo, not a replay


def parse_time(option: str, text: str) -> int:
    """Epoch ms or ISO 8601 to epoch ms; a time with no offset is read as UTC."""
    text = text.strip()
    if text.isdigit() and len(text) <= 16:
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(f"{option} {text[:80]!r} is neither epoch milliseconds nor an ISO 8601 time "
                            f"such as 2026-01-05T00:30:00Z.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ms = int(parsed.timestamp() * 1000)
    if ms < 0:
        raise BadInputError(f"{option} {text!r} is before 1970.")
    return ms


def parse_duration(text: str) -> int:
    """`1h`, `30m`, `2h30m`, `90s`, `1d` or plain milliseconds, to milliseconds (> 0)."""
    raw = text.strip().lower()
    if raw.isdigit() and len(raw) <= 12:
        ms = int(raw)
    else:
        parts = _PART.findall(raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise BadInputError(f"--window {text[:80]!r} is not a duration; use for example 1h, 30m, 2h30m, "
                                f"90s or 1d.")
        ms = sum(int(n) * _UNITS[u] for n, u in parts)
    if not 0 < ms <= MAX_WINDOW_MS:
        raise BadInputError(f"--window {text[:80]!r} must be longer than 0 and at most 366 days.")
    return ms


def resolve_window(*, since: str | None, until: str | None, window: str | None,
                   last_input_ms: int | None) -> tuple[int, int]:
    """(start_ms, end_ms) of the replay, inclusive at both ends."""
    if since is not None and until is not None and window is not None:
        raise BadInputError("Give at most two of --since, --until and --window: with both ends given, the "
                            "window is already fixed.")
    span = parse_duration(window) if window is not None else HOUR_MS
    start = parse_time("--since", since) if since is not None else None
    end = parse_time("--until", until) if until is not None else None
    if start is not None and end is not None:
        if end <= start:
            raise BadInputError(f"--until ({fmt_utc(end)}) must be after --since ({fmt_utc(start)}).")
        return start, end
    if start is not None:
        return start, start + span
    if end is None:
        if last_input_ms is None:
            raise BadInputError("The journal holds no recorded inputs (market data, fills, orders): there is "
                                "nothing to replay.")
        end = last_input_ms
    return end - span, end


def fmt_utc(ms: int) -> str:
    """Epoch ms as ISO 8601 UTC to the second, as people read times at 3 a.m."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
