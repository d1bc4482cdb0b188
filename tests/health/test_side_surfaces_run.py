"""Gamma, the Data API and chain RPC as sampled surfaces of the API degradation monitor, under
`polytraders run` against `polytraders exchange serve --chain` (real processes, a real anvil).

One run; three faults injected one after the other through the exchange's fault board: Gamma
answers 503, the Data API 429, the chain RPC (through the exchange's `/rpc` pass-through) 503.
Each surface must reach warning or hard only after `confirm_summaries` summaries agree
(hysteresis), counted under the right status; the playbook must demote the strategy; and the
restore must come only after every surface has been green for `green_before_promote_s`.
`polytraders health --json` lists all six surfaces. A surface the deployment does not use is not
configured, so it never counts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from factories import journal_rows as rows
from live_chain import FAST_MONITOR, Exchange, Miner, live_setup, tear_down, wait_for

from polytraders.bots.gov.api_degradation_monitor import ApiDegradationMonitor, raw_level
from polytraders.chain.anvil import AnvilMissing, AnvilNode
from polytraders.runtime.config import build_config

pytestmark = pytest.mark.slow
SIX = {"clob_rest", "clob_ws_market", "clob_ws_user", "gamma", "data_api", "rpc"}
FAULTS = (  # (exchange fault surface, status, monitor surface, the summary counter it must show)
    ("gamma", 503, "gamma", "unavailable"),
    ("data", 429, "data_api", "throttled"),
    ("rpc", 503, "rpc", "unavailable"),
)


def test_gamma_data_api_and_rpc_faults_degrade_demote_and_restore_under_run(tmp_path: Path) -> None:
    try:
        node = AnvilNode(timestamp_s=int(time.time()))
    except AnvilMissing as exc:
        pytest.skip(f"anvil unavailable: {exc}")
    exchange: Exchange | None = None
    miner: Miner | None = None
    proc = None
    cfg, _ = build_config(ApiDegradationMonitor.bot_id, ApiDegradationMonitor.params,
                          {"summary_interval_s": 2, "probe_interval_s": 1, "short_window_s": 6, "long_window_s": 60,
                           "green_before_promote_s": 5, "warn_p99_ms": 10000, "hard_p99_ms": 30000})
    try:
        exchange = Exchange(node.url)
        miner = Miner(node.url)
        live = live_setup(tmp_path, exchange, f"{exchange.url}/rpc", FAST_MONITOR)
        db = live.db
        proc = live.start_run(200)

        def all_ok(after: int) -> None:
            for surface in sorted(SIX):
                wait_for(db, proc, lambda s, c, e, x=surface: c == "GOV_API_OK" and s > after
                         and e["payload"]["surface"] == x, f"{surface} ok", 60)

        all_ok(0)
        code, health = live.cli("ann", "health")
        assert code == 0, health
        assert {s["surface"] for s in health["surfaces"]} == SIX
        mark = max(s for s, _, _ in rows(db))
        for fault, status, surface, counter in FAULTS:
            window: dict[str, Any] = {"status": status, "surfaces": [fault], "seconds": 8}
            if status == 503:
                window["mode"] = "disabled"
            exchange.faults({"window": window})
            degraded = wait_for(db, proc, lambda s, c, e, x=surface, m=mark: c == "GOV_API_DEGRADED"
                                and s > m and e["payload"]["surface"] == x, f"{surface} degraded", 40)
            journal = rows(db)
            level = next(e for s, _, e in journal if s == degraded)["payload"]["level"]
            assert level in ("warning", "hard")
            summaries = [e["payload"] for s, c, e in journal if c == "GOV_API_SUMMARY" and mark < s < degraded
                         and e["payload"]["surface"] == surface]
            bad = [p for p in summaries if raw_level(p, cfg, int(p["at_ms"])) in ("warning", "hard")]
            assert len(bad) >= 2, summaries  # hysteresis: one bad summary did not raise the level
            assert any(p[counter] > 0 for p in bad), bad  # 429 / 503 counted apart
            others = [e["payload"]["surface"] for s, c, e in journal if c == "GOV_API_DEGRADED" and s > mark]
            assert set(others) == {surface}, others  # only the faulted surface
            # the playbook demotes the strategy (or it is still demoted by an earlier fault's incident)
            demoted = wait_for(db, proc, lambda s, c, e, m=mark: c == "GOV_MODE_HOLD" and s > m
                               and e["actor"]["id"] == "playbook:api_degraded"
                               and e["payload"]["detail"]["action"] == "place", "the demotion", 20)
            restored = wait_for(db, proc, lambda s, c, e, d=degraded: c == "GOV_API_RESTORED" and s > d,
                                f"the restore after {surface}", 90)
            journal = rows(db)
            back = max(e["payload"]["at_ms"] for s, c, e in journal if c == "GOV_API_OK" and degraded < s < restored
                       and e["payload"]["surface"] == surface)
            restored_at = next(e["ts_ms"] for s, _, e in journal if s == restored)
            assert restored_at - back >= 5_000  # green for green_before_promote_s before the restore
            releases = [s for s, c, e in journal if c == "GOV_MODE_HOLD" and demoted < s <= restored + 5
                        and e["actor"]["id"] == "playbook:api_degraded"
                        and e["payload"]["detail"]["action"] == "release"]
            assert releases, "the demotion was never released"
            mark = max(releases)
        code, health = live.cli("ann", "health")
        assert code == 0 and {s["surface"] for s in health["surfaces"]} == SIX
        assert not health["demoted_by_playbook"], health
        # the chain surface's faults never looked like a reconcile mismatch
        assert not [s for s, c, _ in rows(db) if c in ("GOV_RECONCILE_MISMATCH", "RISK_KILLSWITCH_TRIPPED")]
    finally:
        tear_down(node, exchange, miner, proc)
