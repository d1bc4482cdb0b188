"""gov.api_degradation_monitor — the level of each API surface, from journaled summaries.

Purpose: tell when Polymarket's APIs (CLOB REST, the market and user WebSockets, Gamma, the Data
API, chain RPC) are degraded, so the "API degraded" playbook can demote strategies, and when they
are healthy again. It only observes; the playbook acts.
Inputs: `ApiHealthSummary` — one surface's figures (error rate over a short and a long window,
latency p50/p99, throttles, restarts, unavailability, last success, last sample), journaled by
the runtime every `summary_interval_s` and at every level change; the `api_health` projection
holds the recent summaries and the current level per surface.
Outputs: `ApiDegraded` on a level change: GOV_API_DEGRADED (warning or hard), GOV_API_OK, or
GOV_API_UNKNOWN; otherwise a note (no change).
Level rules: a summary is `unknown` when it has fewer than `min_samples` samples in the short
window or its newest sample is older than `stale_ms` (silence is never ok); `hard` when the
short-window error rate reaches `hard_error_pct` or p99 reaches `hard_p99_ms`; `warning` at the
warning figures; else `ok`. Hysteresis: the level changes only when the last
`confirm_summaries` summaries all agree on the new one, so one bad sample (or one good one)
neither raises a level nor clears it.
Parameters (default / warning / hard):
  warn_error_pct 5 / 10 / 25 (%); hard_error_pct 20 / 35 / 50 (%) — warning must not exceed hard;
  warn_p99_ms 1500 / 3000 / 10000; hard_p99_ms 5000 / 10000 / 30000;
  min_samples 3 / 2 / 1 (a floor); stale_ms 30000 / 60000 / 120000;
  confirm_summaries 2 / 1 / 1 (a floor); summary_interval_s 10 / 30 / 60; probe_interval_s 5 / 15 / 30
  (active probes, so a demoted, silent surface still has samples);
  short_window_s 60 / 120 / 300 and long_window_s 600 / 1800 / 3600 — neither shorter than the
  summary interval; green_before_promote_s 600 / 300 / 5 (a floor: the continuous green time
  before the playbook restores); max_orderbook_age_ms 5000 / 10000 / 30000;
  surfaces (option): the surfaces this deployment uses, some of clob_rest, clob_ws_market,
  clob_ws_user, gamma, data_api, rpc — only those count; an unknown name is refused.
Reason codes: GOV_API_DEGRADED, GOV_API_OK, GOV_API_UNKNOWN, GOV_API_NO_CHANGE, GOV_CONFIG_REFUSED.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from polytraders.contracts import ApiDegraded, ApiHealthSummary, Note
from polytraders.errors import ConfigError
from polytraders.health.sampler import SURFACES
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer

Level = Literal["ok", "warning", "hard", "unknown"]
CODES: dict[str, str] = {"ok": "GOV_API_OK", "warning": "GOV_API_DEGRADED", "hard": "GOV_API_DEGRADED",
                         "unknown": "GOV_API_UNKNOWN"}


def raw_level(s: dict[str, Any], config: BotConfig, now_ms: int) -> Level:
    """The level one summary shows on its own (pure; the hysteresis is in `decide`)."""
    last = s.get("last_sample_ms")
    if int(s["samples_short"]) < config.integer("min_samples") or last is None or \
            now_ms - int(last) > config.integer("stale_ms"):
        return "unknown"
    rate = Decimal(str(s["error_rate_short_pct"]))
    p99 = s.get("p99_ms")
    if rate >= config.num("hard_error_pct") or (p99 is not None and p99 >= config.integer("hard_p99_ms")):
        return "hard"
    if rate >= config.num("warn_error_pct") or (p99 is not None and p99 >= config.integer("warn_p99_ms")):
        return "warning"
    return "ok"


class ApiDegradationMonitor(Bot[ApiHealthSummary, ApiDegraded | Note]):
    bot_id = "gov.api_degradation_monitor"
    version = "0.1.0"
    layer = Layer.GOVERNANCE
    bot_class = "Governance Service"
    authority = frozenset({Authority.OBSERVE, Authority.EXPLAIN})
    params = (
        Param("warn_error_pct", 5, 10, 25, unit="%"),
        Param("hard_error_pct", 20, 35, 50, unit="%"),
        Param("warn_p99_ms", 1500, 3000, 10000, unit="ms"),
        Param("hard_p99_ms", 5000, 10000, 30000, unit="ms"),
        Param("min_samples", 3, 2, 1, direction="min"),
        Param("stale_ms", 30000, 60000, 120000, unit="ms"),
        Param("confirm_summaries", 2, 1, 1, direction="min"),
        Param("summary_interval_s", 10, 30, 60, unit="s"),
        Param("probe_interval_s", 5, 15, 30, unit="s"),
        Param("short_window_s", 60, 120, 300, unit="s"),
        Param("long_window_s", 600, 1800, 3600, unit="s"),
        Param("green_before_promote_s", 600, 300, 5, direction="min", unit="s"),
        Param("max_orderbook_age_ms", 5000, 10000, 30000, unit="ms"),
        Option("surfaces", ("clob_rest", "clob_ws_market"), doc="The surfaces this deployment uses."),
    )
    reason_codes = ("GOV_API_DEGRADED", "GOV_API_OK", "GOV_API_UNKNOWN", "GOV_API_NO_CHANGE", "GOV_CONFIG_REFUSED")

    def on_init(self, config: BotConfig) -> None:
        problems = []
        if config.num("warn_error_pct") > config.num("hard_error_pct"):
            problems.append("warn_error_pct is above hard_error_pct")
        if config.integer("warn_p99_ms") > config.integer("hard_p99_ms"):
            problems.append("warn_p99_ms is above hard_p99_ms")
        for window in ("short_window_s", "long_window_s"):
            for cadence in ("summary_interval_s", "probe_interval_s"):
                if config.integer(window) < config.integer(cadence):
                    problems.append(f"{window} is shorter than {cadence}")
        unknown = sorted(set(config["surfaces"]) - set(SURFACES))
        if unknown or not config["surfaces"]:
            problems.append(f"surfaces {unknown} are not known (expected some of {', '.join(SURFACES)})" if unknown
                            else "no surfaces are configured")
        if problems:
            raise ConfigError(f"{self.bot_id}: " + "; ".join(problems) + ".", code="GOV_CONFIG_REFUSED")

    def decide(self, input: ApiHealthSummary, ctx: BotContext) -> Decision[ApiDegraded | Note]:
        proj = ctx.state.find("api_health")
        recent: list[dict[str, Any]] = proj.summaries(input.surface) if proj is not None else []  # type: ignore[attr-defined]
        current = proj.level.get(input.surface) if proj is not None else None  # type: ignore[attr-defined]
        n = ctx.config.integer("confirm_summaries")
        window = recent[-n:] if recent else [input.to_json_dict()]
        levels = {raw_level(s, ctx.config, int(s["at_ms"])) for s in window}
        new: Level = raw_level(input.to_json_dict(), ctx.config, input.at_ms)
        agreed = len(levels) == 1 and (len(window) >= n or current is None)
        if not agreed or new == current:
            return Decision(None, "GOV_API_NO_CHANGE", {"surface": input.surface, "level": current, "seen": new})
        out = ApiDegraded(surface=input.surface, level=new, previous=current or "none",
                          latency_p50_ms=input.p50_ms, latency_p99_ms=input.p99_ms,
                          error_rate_pct=input.error_rate_short_pct, last_success_ms=input.last_success_ms,
                          at_ms=input.at_ms)
        return Decision(out, CODES[new])
