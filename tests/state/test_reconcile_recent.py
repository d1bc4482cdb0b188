"""The reconcile ledger's window of recently booked trades expires exactly the records a scan of
all of them would, in any time order, and keeps the same order; a restore keeps expiring them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.state.reconcile import RECENT_KEEP_MS, ReconcileProjection

HOUR = RECENT_KEEP_MS


def scan_reference(recent: dict[str, dict[str, Any]], key: str, ts: int, deltas: dict[str, str]) -> None:
    for old in [k for k, r in recent.items() if ts - int(r["at_ms"]) > RECENT_KEEP_MS]:
        del recent[old]
    recent[key] = {"at_ms": ts, "deltas": deltas}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 4 * HOUR)), max_size=60),
       st.integers(0, 60))
def test_expiry_matches_a_full_scan(steps: list[tuple[str, int]], cut: int) -> None:
    ledger, reference = ReconcileProjection(), {}
    for n, (key, ts) in enumerate(steps):
        if n == cut:  # a checkpoint restore part-way
            fresh = ReconcileProjection()
            fresh.restore(ledger.snapshot())
            ledger = fresh
        ledger._recent(key, ts, {"pusd": Decimal(n)})
        scan_reference(reference, key, ts, {"pusd": str(n)})
        assert list(ledger.recent.items()) == list(reference.items())
