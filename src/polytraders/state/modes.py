"""Bot live modes as a projection: each bot's base mode (`GOV_MODE_CHANGED`) and its holds.

Modes are holds. A hold is placed and released by one source only (each playbook as
`playbook:<name>`, or an operator), journaled as `GOV_MODE_HOLD`, so every process agrees. A
bot's effective mode is the most restrictive of its base mode and its active holds: a playbook's
restore releases only its own hold and can never undo a kill-switch halt, and a kill-switch reset
can never undo a playbook's demotion.

The kill switch's hold is not journaled as a note: it follows from the kill-switch projection
(`kill_switch_halt`). A Trade-authority bot is held `off` exactly while an active trip covers it
as a whole (global, strategy, family or bot scope; a cluster or market trip rejects its own
intents and halts no bot), so it is placed by the trip and released by the reset, in every
process, with nothing kept twice. Journals from before this still hold `kill_switch` hold
notes; they fold as they always did (and the guardian releases such a hold on reset).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from polytraders.journal.base import JournalEntry

if TYPE_CHECKING:
    from polytraders.state.kill_switch import ActiveTrip, KillSwitchProjection

# The source under which the kill switch's halt is shown (and under which older journals hold it).
KILL_SWITCH_SOURCE = "kill_switch"
# Trip scopes that stop only intents in their cluster or market: they halt no bot as a whole (any
# other scope does, an unknown one too: fail closed).
_INTENT_ONLY_SCOPES = frozenset({"cluster", "market"})

# How restrictive each mode is: the effective mode is the highest-ranked of base and holds.
RANK = {"enforced": 0, "advisory": 1, "quarantine": 2, "shadow": 3, "off": 4}


def most_restrictive(modes: list[str]) -> str:
    return max(modes, key=lambda m: RANK.get(m, max(RANK.values())))


class ModesProjection:
    name = "modes"
    # every entry `apply` reads (for `StateStore.rebuild(only=...)`)
    relevant = (frozenset[str](), frozenset({"GOV_MODE_HOLD", "GOV_MODE_CHANGED"}))

    def __init__(self) -> None:
        self.modes: dict[str, str] = {}  # base mode per bot
        self.previous: dict[str, str] = {}
        self.holds: dict[str, dict[str, str]] = {}  # bot id -> source -> held mode

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.reason_code == "GOV_MODE_HOLD":
            d = env.payload["detail"]
            held = self.holds.setdefault(str(d["bot_id"]), {})
            if d["action"] == "place":
                if d["mode"] not in RANK:
                    raise ValueError(f"unknown mode {d['mode']!r}")
                held[str(d["source"])] = str(d["mode"])
            else:
                held.pop(str(d["source"]), None)
            return
        if env.reason_code != "GOV_MODE_CHANGED":
            return
        detail = env.payload.get("detail", {})
        bot_id, mode = detail.get("bot_id"), detail.get("mode")
        if not isinstance(bot_id, str) or not isinstance(mode, str) or mode not in RANK:
            # (skipped by the store, as any payload a projection cannot apply: a mode keyed by
            # anything but a bot id would also make every later checkpoint unwritable)
            raise ValueError(f"a mode change names a bot id and a known mode, not {bot_id!r} and {mode!r}")
        if bot_id in self.modes:
            self.previous[bot_id] = self.modes[bot_id]
        self.modes[bot_id] = mode

    def mode_of(self, bot_id: str) -> str | None:
        return self.modes.get(bot_id)

    def holds_of(self, bot_id: str) -> dict[str, str]:
        return dict(self.holds.get(bot_id, {}))

    def effective(self, bot_id: str, base: str | None = None) -> str | None:
        """The most restrictive of the base mode and every active hold."""
        base = base if base is not None else self.modes.get(bot_id)
        held = self.holds.get(bot_id)
        if not held:
            return base
        return most_restrictive(([base] if base is not None else []) + list(held.values()))

    def snapshot(self) -> dict[str, Any]:
        return {"modes": dict(self.modes), "previous": dict(self.previous),
                "holds": {k: dict(v) for k, v in self.holds.items() if v}}

    def restore(self, data: dict[str, Any]) -> None:
        self.modes = dict(data["modes"])
        self.previous = dict(data["previous"])
        self.holds = {k: dict(v) for k, v in data.get("holds", {}).items()}


def kill_switch_halt(kill_switch: KillSwitchProjection, bot_id: str) -> ActiveTrip | None:
    """The trip that halts a Trade-authority bot `bot_id` as a whole (or the in-memory halt of a
    halt file or of tampering, before its trip is journaled), or None. The caller knows whether
    the bot has Trade authority; no other bot is ever halted by the kill switch."""
    if kill_switch.external_halt is not None:
        return kill_switch.trip_covering(strategy_id=bot_id, cluster="", bot_id=bot_id)
    for trip in kill_switch.active.values():
        if trip.scope in _INTENT_ONLY_SCOPES:
            continue
        if trip.covers(strategy_id=bot_id, cluster="", bot_id=bot_id):
            return trip
    return None


def with_kill_switch_holds(snapshot: dict[str, Any], halted: Iterable[str]) -> dict[str, Any]:
    """A modes snapshot (`ModesProjection.snapshot`) with the kill switch's derived hold shown on
    each halted bot, as the holds journaled before it was derived were shown: for pictures and
    summaries, never for checkpoints (the hold is not state of this projection)."""
    holds = snapshot["holds"]
    for bot_id in halted:
        holds[bot_id] = {**holds.get(bot_id, {}), KILL_SWITCH_SOURCE: "off"}
    return snapshot
