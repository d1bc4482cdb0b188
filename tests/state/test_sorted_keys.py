"""`_SortedKeys`: the portfolio checkpoint's incrementally sorted ids equal a fresh sort."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.state.portfolio import _SortedKeys

_ids = st.text(alphabet="abc0129-", max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(_ids, max_size=5)), max_size=12))
def test_incremental_sort_equals_a_fresh_sort_as_keys_come_and_go(steps: list[tuple[bool, list[str]]]) -> None:
    keys: set[str] = set()
    sk = _SortedKeys()
    for remove, ids in steps:
        if remove:
            keys.difference_update(ids)
        else:
            keys.update(ids)
        got = sk.of(keys)
        assert got == sorted(keys)
        got.append("zzz")  # the caller's list is its own
        assert sk.of(keys) == sorted(keys)
    d = {k: "s" for k in sorted(keys, reverse=True)}
    assert sk.of(d.keys()) == sorted(d)
