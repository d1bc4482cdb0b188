"""Bot live modes as a projection: each bot's base mode (`GOV_MODE_CHANGED`) and its holds.

Modes are holds. A hold is placed and released by one source only (`kill_switch`, each playbook
as `playbook:<name>`, or an operator), journaled as `GOV_MODE_HOLD`, so every process agrees. A
bot's effective mode is the most restrictive of its base mode and its active holds: a playbook's
restore releases only its own hold and can never undo a kill-switch halt, and a kill-switch reset
can never undo a playbook's demotion.
"""

from __future__ import annotations

from typing import Any

from polytraders.journal.base import JournalEntry

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
        held = list(self.holds.get(bot_id, {}).values())
        if base is None and not held:
            return None
        return most_restrictive(([base] if base is not None else []) + held)

    def snapshot(self) -> dict[str, Any]:
        return {"modes": dict(self.modes), "previous": dict(self.previous),
                "holds": {k: dict(v) for k, v in self.holds.items() if v}}

    def restore(self, data: dict[str, Any]) -> None:
        self.modes = dict(data["modes"])
        self.previous = dict(data["previous"])
        self.holds = {k: dict(v) for k, v in data.get("holds", {}).items()}
