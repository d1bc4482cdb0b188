"""The real Polymarket CLOB V2 adapter: what other packages may import.

    config = PolymarketConfig(markets=(condition_id, ...), funder=..., signature_type=...)
    key = load_key(config)                      # env var or encrypted keystore; never logged
    venue = connect(config, key)                # logs in, opens both channels, reconciles, beats
    events = venue.submit(VenueOrder(..., signed=signed_order_request), now_ms)
    events += venue.advance(now_ms)             # fills, cancels, settlement pushed by the venue
    venue.health()                              # heartbeat, sockets, snapshots, post-only window
    venue.close()

``PolymarketVenue`` implements ``venues.base.Venue``; ``OutcomeUnknown`` (re-exported from
``venues.base``) is what a submit raises when its answer was lost.  Wire types stay inside.
Modules: ``config`` (settings, keys), ``errors`` (the one translator), ``schemas`` (wire models),
``parse`` (pure wire -> domain), ``rest`` (official client, pacing), ``ws`` (channels),
``tracking`` (dedup, inbox), ``venue`` (the facade), ``gamma`` and ``data_api``.
"""

from polytraders.venues.base import OutcomeUnknown
from polytraders.venues.polymarket.config import KeyLoadError, PolymarketConfig, PrivateKey, load_key
from polytraders.venues.polymarket.data_api import DataApiClient, Position, PublicTrade
from polytraders.venues.polymarket.gamma import GammaClient, MarketMeta
from polytraders.venues.polymarket.venue import HEARTBEAT_LOST, PolymarketVenue, VenueHealth, connect

__all__ = [
    "HEARTBEAT_LOST",
    "DataApiClient",
    "GammaClient",
    "KeyLoadError",
    "MarketMeta",
    "OutcomeUnknown",
    "PolymarketConfig",
    "PolymarketVenue",
    "Position",
    "PrivateKey",
    "PublicTrade",
    "VenueHealth",
    "connect",
    "load_key",
]
