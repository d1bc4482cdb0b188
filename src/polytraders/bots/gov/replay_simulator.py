"""gov.replay_simulator — proves, after the fact, that the current code makes the recorded decisions.

Purpose: replay a recorded window (default the last hour) against the current bot code under the
recorded event times and say whether decisions match (`polytraders.replay.engine` does the work).
Inputs: a `ReplayReport` (window, trips recorded and replayed, votes compared, divergences).
Outputs: a Note with the verdict: GOV_REPLAY_MATCH, GOV_REPLAY_REGRESSION (naming the first
divergent input seq and both decisions) or GOV_REPLAY_NO_NETWORK_VIOLATION.
Parameters: window_minutes 60 / 240 / 1440 (longer windows take longer to replay).
Reason codes: GOV_REPLAY_MATCH, GOV_REPLAY_REGRESSION, GOV_REPLAY_NO_NETWORK_VIOLATION.
Governance never blocks: the verdict informs the incident and the operator, nothing else.
"""

from __future__ import annotations

from polytraders.contracts import Note
from polytraders.replay.engine import ReplayReport
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer


class ReplaySimulator(Bot[ReplayReport, Note]):
    bot_id = "gov.replay_simulator"
    version = "1.0.0"
    layer = Layer.GOVERNANCE
    bot_class = "Governance Service"
    authority = frozenset({Authority.SIMULATE, Authority.EXPLAIN})
    params = (Param("window_minutes", 60, 240, 1440, unit=" min"),)
    reason_codes = ("GOV_REPLAY_MATCH", "GOV_REPLAY_REGRESSION", "GOV_REPLAY_NO_NETWORK_VIOLATION")

    def decide(self, input: ReplayReport, ctx: BotContext) -> Decision[Note]:
        data = input.to_json()
        return Decision(None, input.verdict, {
            "verdict": data["verdict"], "window": data["window"],
            "inputs_replayed": data["inputs_replayed"], "votes_compared": data["votes_compared"],
            "trips_recorded": data["trips_recorded"], "trips_replayed": data["trips_replayed"],
            "first_divergence": data["first_divergence"],
            "network_violations": data["network_violations"],
        })
