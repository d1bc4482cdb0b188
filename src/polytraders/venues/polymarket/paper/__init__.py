"""Paper trading: Polymarket's live market data, our orders matched locally (``run --paper``).

    venue = connect_paper(PaperConfig(clob_url=..., ws_url=..., gamma_url=..., markets=(...)))
    events = venue.submit(order, now_ms)    # ack/reject + taker fills against the live book
    events += venue.advance(now_ms)         # resting fills as the live book crosses or trades through
    venue.close()

No key is loaded and nothing is sent to the exchange but public GETs and the market channel.
Other packages import these names from ``polytraders.venues.polymarket``.
Modules: ``feed`` (public REST and Gamma), ``matcher`` (the local book), ``venue`` (the facade).
"""

from polytraders.venues.polymarket.paper.matcher import PaperBook, PaperFill, PaperOrder
from polytraders.venues.polymarket.paper.venue import PaperConfig, PaperFeedHealth, PaperVenue, connect_paper

__all__ = ["PaperBook", "PaperConfig", "PaperFeedHealth", "PaperFill", "PaperOrder", "PaperVenue", "connect_paper"]
