"""Deterministic CLOB V2-like exchange simulator: order book, synthetic markets, faults, venue."""

from polytraders.venues.fees import taker_fee
from polytraders.venues.sim.book import Fill, OrderBook, PlaceResult, RestingOrder
from polytraders.venues.sim.faults import FaultPlan
from polytraders.venues.sim.market_gen import market_ids
from polytraders.venues.sim.venue import DEFAULT_TAKER_FEE_BPS, SimVenue

__all__ = [
    "DEFAULT_TAKER_FEE_BPS",
    "FaultPlan",
    "Fill",
    "OrderBook",
    "PlaceResult",
    "RestingOrder",
    "SimVenue",
    "market_ids",
    "taker_fee",
]
