"""Demo scenarios: named, seeded situations the demo (and tests) can run.

A scenario may set a fault plan on the simulated venue, override bot config, and run scripted
actions at given minutes (e.g. an operator command). Later capabilities register more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polytraders.errors import BadInputError
from polytraders.venues.sim.faults import FaultPlan

if TYPE_CHECKING:
    from polytraders.engine.system import TradingSystem
    from polytraders.venues.sim import SimVenue


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    faults: Callable[[SimVenue, int], FaultPlan | None] = lambda venue, start_ms: None
    bot_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (minute offset, action) pairs run at the start of that minute
    script: tuple[tuple[int, Callable[[TradingSystem], None]], ...] = ()


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    SCENARIOS[scenario.name] = scenario
    return scenario


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise BadInputError(
            f"Unknown scenario {name!r}; available scenarios: {', '.join(sorted(SCENARIOS))}."
        ) from None


register(Scenario("calm", "Ordinary markets: mean-reverting prices, background flow, no faults."))
