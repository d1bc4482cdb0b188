"""The real Polymarket CLOB V2 adapter: what other packages may import.

    config = PolymarketConfig(markets=(condition_id, ...), funder=..., signature_type=...)
    key = load_key(config)                      # env var or encrypted keystore; never logged
    venue = connect(config, key)                # logs in, opens both channels, reconciles, beats
    events = venue.submit(VenueOrder(..., signed=signed_order_request), now_ms)
    events += venue.submit_batch([...], now_ms) # POST /orders, 15 per request (not in Venue)
    events += venue.advance(now_ms)             # fills, cancels, settlement pushed by the venue
    venue.health()                              # heartbeat, sockets, snapshots, post-only window
    venue.close()                               # leaves orders resting: the dead-man cancels them

After a restart, before ``start`` (or via ``connect(..., remembered=...)``), tell the adapter the
client order id of every order the journal holds as open or in flight:
``venue.remember(venue_order_id, client_order_id, token_id, side, price, size)``; orders it does
not know are reported by ``open_orders`` under their venue id (the OLM treats them as orphans).

``PolymarketVenue`` implements ``venues.base.Venue``; ``OutcomeUnknown`` (re-exported from
``venues.base``) is what a submit raises when its answer was lost.  Wire types stay inside.
Modules: ``config`` (settings, keys), ``errors`` (the one translator), ``schemas`` (wire models),
``parse`` (pure wire -> domain), ``rest`` (official client, pacing), ``ws`` (channels),
``tracking`` (dedup, inbox), ``orders`` (submit/cancel), ``books`` (market data),
``heartbeat`` (the interlock), ``venue`` (the facade), ``gamma`` and ``data_api``.

Paper trading (``run --paper``): ``connect_paper(PaperConfig(...))`` reads the same public market
data with no key and matches our orders locally against it (``paper/``: ``feed``, ``matcher``,
``venue``); nothing is ever sent to the exchange.
"""

from polytraders.venues.base import OutcomeUnknown
from polytraders.venues.polymarket.config import KeyLoadError, PolymarketConfig, PrivateKey, load_key
from polytraders.venues.polymarket.data_api import DataApiClient, Position, PublicTrade
from polytraders.venues.polymarket.gamma import GammaClient, MarketMeta
from polytraders.venues.polymarket.paper import PaperConfig, PaperVenue, connect_paper
from polytraders.venues.polymarket.venue import HEARTBEAT_LOST, PolymarketVenue, VenueHealth, connect

__all__ = [
    "HEARTBEAT_LOST",
    "DataApiClient",
    "GammaClient",
    "KeyLoadError",
    "MarketMeta",
    "OutcomeUnknown",
    "PaperConfig",
    "PaperVenue",
    "PolymarketConfig",
    "PolymarketVenue",
    "Position",
    "PrivateKey",
    "PublicTrade",
    "VenueHealth",
    "connect",
    "connect_paper",
    "load_key",
]
