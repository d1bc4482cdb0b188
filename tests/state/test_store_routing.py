"""The store offers an entry only to the projections that declare they read it (`relevant`):
folding real demo journals that way must give exactly the state a fold offering every entry to
every projection gives, so a declaration that misses a kind or code its `apply` reads fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.journal.sqlite import open_journal
from polytraders.state.standard import build_full_state
from polytraders.state.store import Projection, StateStore


def _offer_everything(store: StateStore) -> StateStore:
    def route(kind: str, reason_code: str) -> tuple[Projection, ...]:
        return tuple(p for p in store._projections.values() if p is not store.trust)

    store._route = route  # type: ignore[method-assign]
    return store


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["reconcile-mismatch", "config-drift", "api-degraded"])
def test_routed_fold_equals_offering_every_entry_to_every_projection(tmp_path: Path, scenario: str) -> None:
    db = tmp_path / "j.db"
    run_demo(DemoArgs(minutes=_min(scenario), markets=2, seed=7, db=db, scenario=scenario, use_anvil=False))
    with open_journal(db, readonly=True) as journal:
        routed, everything = build_full_state(), _offer_everything(build_full_state())
        routed.rebuild(journal, use_checkpoint=False)
        everything.rebuild(journal, use_checkpoint=False)
    assert routed.last_seq == everything.last_seq > 1000
    snap = routed.snapshot()
    assert snap == everything.snapshot()
    assert routed.skipped == everything.skipped
    # the scenario exercised the projections whose routing is under test
    assert snap["incidents"]["incidents"] or scenario == "config-drift"
    assert snap["orders"]["orders"] and snap["portfolio"]["tokens"]


def _min(scenario: str) -> int:
    from polytraders.engine.scenarios import get_scenario

    return get_scenario(scenario).min_minutes
