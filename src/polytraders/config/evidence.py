"""What-if evidence for a change request: replay-last-hour with the proposed values.

`GOV_REPLAY_MATCH` means nothing replay re-decides (kill-switch trips, the guardrails' votes)
would have changed in the last hour of trading. Otherwise the first divergences say which trips
or votes would have differed, and the books say what the fills would have become. When the
proposal diverges, the recording is also replayed unchanged: divergences the current code
shows anyway are reported apart, so the approver sees only what the change itself would do.
Only the bots replay re-runs (the kill switch and the guardrails) can be judged; for any other
bot the evidence says so plainly rather than claiming a match.
"""

from __future__ import annotations

from typing import Any

from polytraders.errors import BadInputError
from polytraders.journal.base import Journal
from polytraders.replay.sets import REPLAYED_BOTS

MAX_LISTED = 5


def _key(d: dict[str, Any] | None) -> str:
    return repr(sorted((d or {}).items()))


def whatif(journal: Journal, bot_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    from polytraders.replay.engine import replay

    if bot_id not in {b.bot_id for b in REPLAYED_BOTS}:
        return {"verdict": "not_replayable", "summary": f"replay re-runs only the kill switch and the guardrails; "
                f"what {bot_id} would have done differently cannot be replayed", "divergences": []}
    try:
        report = replay(journal, overrides={bot_id: dict(changes)})
    except BadInputError as exc:
        return {"verdict": "nothing_to_replay", "summary": exc.message, "divergences": []}
    data = report.to_json()
    out: dict[str, Any] = {"verdict": report.verdict, "window": data["window"], "inputs": report.inputs,
                           "votes_compared": report.votes_compared, "trips_recorded": len(report.trips_recorded),
                           "trips_replayed": len(report.trips_replayed), "books": data["books"],
                           "divergences": [], "baseline_divergences": 0}
    if report.verdict == "GOV_REPLAY_MATCH":
        out["summary"] = (f"GOV_REPLAY_MATCH: nothing would have changed ({report.inputs} inputs, "
                          f"{report.votes_compared} votes, {len(report.trips_recorded)} trips)")
        return out
    if report.inputs == 0:
        return {"verdict": "nothing_to_replay", "summary": "the last hour holds no inputs", "divergences": []}
    baseline = replay(journal, until_ms=report.window_end_ms, since_ms=report.window_start_ms)
    known = {(d.seq, d.what, _key(d.recorded), _key(d.replayed)) for d in baseline.divergences}
    caused = [d for d in report.divergences if (d.seq, d.what, _key(d.recorded), _key(d.replayed)) not in known]
    out["baseline_divergences"] = len(baseline.divergences)
    out["divergences"] = [{"seq": d.seq, "what": d.what, "recorded": d.recorded, "would_be": d.replayed}
                          for d in caused[:MAX_LISTED]]
    out["divergence_count"] = len(caused)
    if not caused:
        out["verdict"] = "GOV_REPLAY_MATCH"
        out["summary"] = (f"GOV_REPLAY_MATCH: the change alters nothing (the unchanged replay already differs "
                          f"from the recording in {len(baseline.divergences)} place(s))")
        return out
    first = caused[0]
    out["summary"] = (f"{report.verdict}: {len(caused)} decision(s) would have differed; first at seq {first.seq}: "
                      f"{first.what} recorded {first.recorded} would be {first.replayed}")
    return out
