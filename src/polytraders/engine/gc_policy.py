"""Keep full garbage collections off the protective path of a running system.

A full (generation 2) collection walks every container object alive. On a warm 20-market
system that is about 76,000 objects and 37 ms of CPU, and CPython starts one whenever enough
objects have survived, wherever the program happens to be: inside a trip's cancel-all as
easily as anywhere (the trip benchmark caught one there, 25-31 ms of CPU, even with the warm
heap frozen). So a running system:

- freezes what start-up made out of the collector (`gc.freeze`): modules, the state rebuilt
  from the journal, bots and configs live for the whole run;
- never starts a full collection by itself (the third threshold is out of reach);
- collects the young generations between steps too, before they are due: a step leaves about 65
  more young objects than it freed (1,150 at most, measured at 20 markets), and with CPython's
  700 a young collection used to start inside one step in ten, wherever that step was, a trip's
  cancel-all included (0.3-0.7 ms for the youngest generation there, 1.4-2 ms when the middle
  one was due). The first threshold is raised to `YOUNG_THRESHOLD` and the idle time collects
  once half of it is reached, so a step would have to leave 5,000 young objects before one
  starts inside it;
- collects fully between steps (in the idle time when there is some), every `refreeze_every_s`,
  then freezes what survived, so the next full collection again walks only what was made since.

Only cyclic garbage among frozen objects is never freed; everything else is freed by reference
counting as before, and cycles among young objects by the young collections.
"""

from __future__ import annotations

import gc
import time
from typing import Final

REFREEZE_EVERY_S: Final = 600.0
NO_AUTOMATIC_FULL_COLLECTION: Final = 1_000_000_000
YOUNG_THRESHOLD: Final = 10_000  # gen-0 allocations over frees before CPython collects by itself
YOUNG_COLLECT_AT: Final = YOUNG_THRESHOLD // 2  # ... and before the idle time does it


class GcPolicy:
    def __init__(self, refreeze_every_s: float = REFREEZE_EVERY_S) -> None:
        self.refreeze_every_s = refreeze_every_s
        self._next: float | None = None
        self._thresholds: tuple[int, int, int] | None = None

    def freeze(self) -> None:
        """Collect fully once, then freeze what is alive: call when warm and idle."""
        gc.collect()
        gc.freeze()
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            _, middle, _ = self._thresholds
            gc.set_threshold(YOUNG_THRESHOLD, middle, NO_AUTOMATIC_FULL_COLLECTION)
        self._next = time.monotonic() + self.refreeze_every_s

    def idle(self) -> None:
        """Between steps: collect fully and freeze again when due (the first call freezes the
        warm system); else collect the young generations once half their threshold is reached."""
        if self._next is None or time.monotonic() >= self._next:
            self.freeze()
        elif gc.get_count()[0] >= YOUNG_COLLECT_AT:
            gc.collect(1)

    def release(self) -> None:
        """The run is over: hand everything frozen back to the collector, thresholds as they were."""
        gc.unfreeze()
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        self._next = None
