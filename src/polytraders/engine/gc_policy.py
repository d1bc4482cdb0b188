"""Keep full garbage collections off the protective path of a running system.

A full (generation 2) collection walks every container object alive. On a warm 20-market
system that is about 76,000 objects and 37 ms of CPU, and CPython starts one whenever enough
objects have survived, wherever the program happens to be: inside a trip's cancel-all as
easily as anywhere. Almost all of those objects live for the whole run (modules, the state
rebuilt from the journal, bots, configs), so after start-up they are frozen out of the
collector (`gc.freeze`): a full collection then walks only what was made since, and costs
microseconds. Objects made later that live long are frozen in turn, in the idle time between
steps, after one collection has freed the garbage cycles among them.

Only cyclic garbage among frozen objects is never freed; everything else is freed by reference
counting as before. The collector itself stays on.
"""

from __future__ import annotations

import gc
import time
from typing import Final

REFREEZE_EVERY_S: Final = 600.0


class GcPolicy:
    def __init__(self, refreeze_every_s: float = REFREEZE_EVERY_S) -> None:
        self.refreeze_every_s = refreeze_every_s
        self._next: float | None = None

    def freeze(self) -> None:
        """Collect once, then freeze what is alive: call when warm and idle."""
        gc.collect()
        gc.freeze()
        self._next = time.monotonic() + self.refreeze_every_s

    def release(self) -> None:
        """The run is over: hand everything frozen back to the collector."""
        gc.unfreeze()
        self._next = None

    def idle(self) -> None:
        """Between steps: freeze again when due (the first call freezes the warm system)."""
        if self._next is None or time.monotonic() >= self._next:
            self.freeze()
