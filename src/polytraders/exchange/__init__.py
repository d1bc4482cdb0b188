"""A local Polymarket-compatible exchange: ``SimVenue`` behind the real CLOB V2 REST + WebSocket protocol.

The unmodified ``py-clob-client-v2`` works against it with ``host`` pointed at it.  Start it with
``polytraders exchange serve``; build it in-process with :func:`polytraders.exchange.app.create_app`.
"""

from polytraders.exchange.config import ExchangeConfig

__all__ = ["ExchangeConfig"]
