"""What every handler reaches through ``request.app.state.ctx``: one object, built once."""

from __future__ import annotations

from dataclasses import dataclass, field

from polytraders.exchange.clock import ExchangeClock
from polytraders.exchange.config import ExchangeConfig
from polytraders.exchange.engine import Exchange
from polytraders.exchange.faults import FaultBoard
from polytraders.exchange.feed import MarketFeed
from polytraders.exchange.hub import Hub
from polytraders.exchange.limits import RateLimiter


@dataclass(slots=True)
class Ctx:
    cfg: ExchangeConfig
    clock: ExchangeClock
    engine: Exchange
    faults: FaultBoard
    limits: RateLimiter
    hub: Hub = field(default_factory=Hub)
    feed: MarketFeed = field(default_factory=MarketFeed)

    @classmethod
    def build(cls, cfg: ExchangeConfig) -> Ctx:
        clock = ExchangeClock(simulated=cfg.sim_time, start_ms=cfg.start_ms)
        limits = RateLimiter({"order": cfg.order_limit, "cancel": cfg.cancel_limit})
        return cls(cfg=cfg, clock=clock, engine=Exchange(cfg, clock), faults=FaultBoard(cfg.seed), limits=limits)

    def flush(self) -> None:
        """Push what the last call produced to the WebSocket sessions."""
        self.feed.flush(self.engine, self.hub, self.faults)

    def tick(self) -> None:
        self.engine.step()
        self.flush()
