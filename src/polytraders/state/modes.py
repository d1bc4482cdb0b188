"""Bot live modes as a projection of `GOV_MODE_CHANGED` envelopes."""

from __future__ import annotations

from typing import Any

from polytraders.journal.base import JournalEntry


class ModesProjection:
    name = "modes"

    def __init__(self) -> None:
        self.modes: dict[str, str] = {}
        self.previous: dict[str, str] = {}

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        if env.reason_code != "GOV_MODE_CHANGED":
            return
        detail = env.payload.get("detail", {})
        bot_id = detail["bot_id"]
        if bot_id in self.modes:
            self.previous[bot_id] = self.modes[bot_id]
        self.modes[bot_id] = detail["mode"]

    def mode_of(self, bot_id: str) -> str | None:
        return self.modes.get(bot_id)

    def snapshot(self) -> dict[str, Any]:
        return {"modes": dict(self.modes), "previous": dict(self.previous)}

    def restore(self, data: dict[str, Any]) -> None:
        self.modes = dict(data["modes"])
        self.previous = dict(data["previous"])
