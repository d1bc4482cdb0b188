"""AlertTracker: confirm window boundaries, flapping, re-paging after it settles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polytraders.incidents.alerts import TRIP_CONFIRM_WINDOW_MS, AlertTracker, reason_code_for


@pytest.mark.parametrize(("held_ms", "expected"), [
    (999, "pending"),     # just under the window
    (1000, "confirmed"),  # exactly at the window
    (1001, "confirmed"),  # just over
])
def test_confirm_window_boundaries(held_ms: int, expected: str) -> None:
    t = AlertTracker("a", confirm_window_ms=1000)
    assert t.observe(True, 5_000) == "pending"
    assert t.observe(True, 5_000 + held_ms) == expected
    assert t.page_due is (expected == "confirmed")


def test_interruption_restarts_the_window() -> None:
    t = AlertTracker("a", confirm_window_ms=1000, flap_threshold=4)
    t.observe(True, 0)
    t.observe(True, 900)
    assert t.observe(False, 950) == "clear"
    assert t.observe(True, 1000) == "pending"
    assert t.observe(True, 1999) == "pending"  # 1999 ms since the first start, 999 since restart
    assert t.observe(True, 2000) == "confirmed"


def test_trip_window_zero_confirms_at_once() -> None:
    t = AlertTracker("ks", confirm_window_ms=TRIP_CONFIRM_WINDOW_MS)
    assert t.observe(True, 10) == "confirmed"
    assert t.page_due


def test_flapping_suppresses_pages_until_a_quiet_full_window() -> None:
    t = AlertTracker("a", confirm_window_ms=0, flap_window=10, flap_threshold=4)
    pages = 0
    now = 0
    states = []
    for i in range(6):  # 5 changes > threshold 4
        now += 1
        states.append(t.observe(i % 2 == 0, now))
        pages += t.page_due
    assert states[-1] == "flapping"
    pages_before = pages
    for i in range(21):  # keeps flapping, ends inactive: never re-paged
        now += 1
        assert t.observe(i % 2 == 1, now) == "flapping"
        assert not t.page_due
    assert pages == pages_before
    # settle: held active. It stays flapping until 10 evaluations in a row show no change.
    now += 1
    t.observe(True, now)
    for _ in range(9):
        now += 1
        assert t.observe(True, now) == "flapping"
        assert not t.page_due
    now += 1
    assert t.observe(True, now) == "confirmed"
    assert t.page_due  # re-paged once after settling
    now += 1
    assert t.observe(True, now) == "confirmed"
    assert not t.page_due


def test_exactly_threshold_changes_is_not_flapping() -> None:
    t = AlertTracker("a", confirm_window_ms=0, flap_window=10, flap_threshold=4)
    for i in range(5):  # 4 changes
        t.observe(i % 2 == 0, i)
    assert t.state in ("clear", "confirmed")


def test_codes_and_time_going_backwards() -> None:
    assert reason_code_for("pending") == "GOV_ALERT_UNCONFIRMED"
    assert reason_code_for("confirmed") == "GOV_ALERT_CONFIRMED"
    assert reason_code_for("flapping") == "GOV_ALERT_FLAPPING"
    assert reason_code_for("clear") is None
    t = AlertTracker("a", 0)
    t.observe(True, 10)
    with pytest.raises(ValueError):
        t.observe(True, 9)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2_000)), max_size=60),
       st.integers(0, 3_000))
def test_properties(steps: list[tuple[bool, int]], window: int) -> None:
    t = AlertTracker("p", confirm_window_ms=window, flap_window=6, flap_threshold=2)
    now = 0
    prev = "clear"
    for active, dt in steps:
        now += dt
        state = t.observe(active, now)
        if state == "confirmed":
            assert active  # never confirmed on an inactive observation
        if t.page_due:
            assert state == "confirmed" and prev != "confirmed"
        if state == "flapping":
            assert not t.page_due
        prev = state
