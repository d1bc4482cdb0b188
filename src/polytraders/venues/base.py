"""The venue interface the Order Lifecycle Manager talks to.

What: plain immutable value types (orders, events, book snapshots, market metadata), the
transport-level ``VenueError`` and the ``Venue`` protocol.  Both the deterministic simulator
(``polytraders.venues.sim``) and the real Polymarket CLOB V2 adapter implement ``Venue``.

Why: the OLM must be testable offline against a simulator that speaks the same vocabulary as
the real exchange, so the vocabulary lives here, independent of either implementation.

Conventions:
- Prices and sizes are ``decimal.Decimal`` (never float).  Prices are per share in pUSD and
  satisfy ``tick <= price <= 1 - tick`` on the market's tick grid; sizes are shares.
- Time is an explicit ``now_ms: int`` argument (event time); a venue never reads the wall clock.
- A call returns the events *delivered* to the caller by that call, in order.  Under injected
  latency an event may be delivered by a later ``advance`` call; its ``ts_ms`` is still the time
  the venue produced it.
- ``VenueError`` means the request was NOT accepted (nothing changed at the venue).  A
  business-level refusal of an accepted request (tick violation, FOK not fillable, ...) is a
  ``reject`` event instead, carrying the venue's ``error_code``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal, Protocol

if TYPE_CHECKING:
    from polytraders.contracts.orders import SignedOrderRequest

Side = Literal["BUY", "SELL"]
VenueOrderType = Literal["GTC", "GTD", "FOK", "FAK"]
EventKind = Literal["ack", "fill", "cancel", "expire", "reject", "trade_status"]
TradeStatus = Literal["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"]
Liquidity = Literal["maker", "taker"]
MarketStatus = Literal["open", "halted", "resolved"]

# Order rejection codes, spelled as Polymarket's documented ``errorMsg`` values
# (polymarket-interfaces.md §1.7) so the real adapter can pass them through unchanged.
INVALID_ORDER_MIN_TICK_SIZE: Final = "INVALID_ORDER_MIN_TICK_SIZE"
INVALID_ORDER_MIN_SIZE: Final = "INVALID_ORDER_MIN_SIZE"
INVALID_ORDER_DUPLICATED: Final = "INVALID_ORDER_DUPLICATED"
INVALID_ORDER_NOT_ENOUGH_BALANCE: Final = "INVALID_ORDER_NOT_ENOUGH_BALANCE"
INVALID_ORDER_EXPIRATION: Final = "INVALID_ORDER_EXPIRATION"
INVALID_ORDER_ERROR: Final = "INVALID_ORDER_ERROR"
INVALID_POST_ONLY_ORDER_TYPE: Final = "INVALID_POST_ONLY_ORDER_TYPE"
INVALID_POST_ONLY_ORDER: Final = "INVALID_POST_ONLY_ORDER"
EXECUTION_ERROR: Final = "EXECUTION_ERROR"
ORDER_DELAYED: Final = "ORDER_DELAYED"
DELAYING_ORDER_ERROR: Final = "DELAYING_ORDER_ERROR"
FOK_ORDER_NOT_FILLED_ERROR: Final = "FOK_ORDER_NOT_FILLED_ERROR"
MARKET_NOT_READY: Final = "MARKET_NOT_READY"

DOCUMENTED_ORDER_ERRORS: Final[frozenset[str]] = frozenset(
    {
        INVALID_ORDER_MIN_TICK_SIZE,
        INVALID_ORDER_MIN_SIZE,
        INVALID_ORDER_DUPLICATED,
        INVALID_ORDER_NOT_ENOUGH_BALANCE,
        INVALID_ORDER_EXPIRATION,
        INVALID_ORDER_ERROR,
        INVALID_POST_ONLY_ORDER_TYPE,
        INVALID_POST_ONLY_ORDER,
        EXECUTION_ERROR,
        ORDER_DELAYED,
        DELAYING_ORDER_ERROR,
        FOK_ORDER_NOT_FILLED_ERROR,
        MARKET_NOT_READY,
    }
)

# Cancel refusals.  The real CLOB returns free text in ``not_canceled`` ("Order not found or
# already canceled", "Order already matched", ...); these are our normalised names for them.
CANCEL_ORDER_NOT_FOUND: Final = "ORDER_NOT_FOUND"
CANCEL_ALREADY_MATCHED: Final = "ORDER_ALREADY_MATCHED"
CANCEL_ALREADY_CANCELED: Final = "ORDER_ALREADY_CANCELED"

# Reason carried by the cancel events a venue emits when it cancels resting orders because the
# market resolved (the CLOB's CANCELED_MARKET_RESOLVED order status).
CANCELED_MARKET_RESOLVED: Final = "CANCELED_MARKET_RESOLVED"


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as the OLM hands it to a venue (already shaped, checked and signed).

    ``expires_at_ms`` is the wire expiration of a GTD order (None for other types).
    ``order_hash`` is the EIP-712 order hash when the caller has one; venues that key orders by
    hash (Polymarket does) use it as the venue order id so the caller knows the id in advance.
    ``maker_amount``/``taker_amount`` are the signed 6-decimal base-unit amounts when known; the
    CLOB judges a marketable order's precision and $1 minimum on them, not on price x size.
    ``signed`` is the exact signed CLOB V2 order (EIP-712 fields and signature) when the caller
    has one: a real venue POSTs it byte for byte (it cannot re-sign), a simulator ignores it.
    """

    client_order_id: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_type: VenueOrderType
    post_only: bool = False
    expires_at_ms: int | None = None
    order_hash: str = ""
    maker_amount: int | None = None
    taker_amount: int | None = None
    signed: SignedOrderRequest | None = None


@dataclass(frozen=True, slots=True)
class VenueEvent:
    """One thing the venue tells us about one of our orders.

    Field use per kind:
    - ``ack``: the order was accepted; ``side``/``price`` set, ``remaining`` = order size.
    - ``fill``: ``size`` = this fill's shares at ``price`` (the resting order's price),
      ``remaining`` = shares still open on our order after it, ``fee`` in pUSD, ``trade_id``,
      ``liquidity`` and ``trade_status="MATCHED"``.
    - ``cancel`` / ``expire``: ``remaining`` = shares that were still open and are now gone.
      ``error_code`` may carry a reason (e.g. ``CANCELED_MARKET_RESOLVED``).
    - ``reject``: ``error_code`` says why.  For a rejected submit nothing was created
      (``venue_order_id`` is "" unless the reject names an existing order, as
      ``INVALID_ORDER_DUPLICATED`` does).  For a refused cancel the order is unchanged.
    - ``trade_status``: settlement progress of an earlier fill (same ``trade_id``), with the
      fill's ``side``/``price``/``size``/``fee``/``liquidity`` repeated.
    """

    kind: EventKind
    venue_order_id: str
    client_order_id: str
    token_id: str
    ts_ms: int
    side: Side | None = None
    price: Decimal | None = None
    size: Decimal | None = None
    remaining: Decimal | None = None
    fee: Decimal | None = None
    trade_id: str | None = None
    liquidity: Liquidity | None = None
    trade_status: TradeStatus | None = None
    error_code: str | None = None


class VenueError(Exception):
    """A transport-level failure: the request was not accepted and nothing changed.

    Compare ``OutcomeUnknown``: a mutating request that may or may not have taken effect.

    ``status`` is the HTTP status (429 rate limited, 425 engine restarting, 503 trading
    disabled / cancel-only / post-only mode, 500 internal, 400 bad payload); ``code`` is a short
    machine-readable reason.
    """

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}" + (f": {message}" if message else ""))
        self.status = status
        self.code = code
        self.message = message


class OutcomeUnknown(Exception):
    """A mutating request (a submit) was sent and no answer came back: a 5xx after the send, a
    read timeout, a dropped connection.  The order may be live.  This is deliberately *not* a
    ``VenueError`` (which means "not accepted"): the caller must keep the order as submitted and
    let reconciliation (``open_orders`` and the venue's trade history) decide its fate.

    ``venue_order_id`` is the id the order would have (Polymarket: the EIP-712 hash), ``status``
    the HTTP status when there was one (0 for a timeout or a dropped connection).
    """

    def __init__(self, venue_order_id: str, status: int = 0, message: str = "") -> None:
        super().__init__(f"outcome unknown for {venue_order_id or 'order'}"
                         + (f" (HTTP {status})" if status else "") + (f": {message}" if message else ""))
        self.venue_order_id = venue_order_id
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class BookLevel:
    """Aggregate resting size at one price."""

    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class BookView:
    """A snapshot of one token's order book, best level first on both sides.

    ``book_hash`` is the sha256 of ``canonical_book_text`` (token id and levels, not the
    timestamp), so two snapshots of an unchanged book hash equal.
    """

    token_id: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    ts_ms: int
    tick: Decimal
    min_size: Decimal
    book_hash: str
    well_formed: bool = False
    """True only when the venue's own construction guarantees what ``OrderBookSnapshot`` checks
    (every price on ``tick`` and inside (0, 1), sizes positive, levels strictly best first):
    the simulator's books, never data parsed from outside.  The market feed skips re-checking
    such views; every other view is validated."""

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


@dataclass(frozen=True, slots=True)
class OpenOrderView:
    """One of our orders that is still resting at the venue."""

    venue_order_id: str
    client_order_id: str
    token_id: str
    side: Side
    price: Decimal
    original_size: Decimal
    remaining: Decimal
    order_type: VenueOrderType
    created_ms: int


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """Static-ish metadata of one binary market (status changes over time)."""

    condition_id: str
    question: str
    yes_token: str
    no_token: str
    tick: Decimal
    min_size: Decimal
    neg_risk: bool
    status: MarketStatus
    cluster: str


_TEXT_CACHE_LIMIT: Final = 1 << 16
_text_cache: dict[Decimal, str] = {}


def decimal_text(value: Decimal) -> str:
    """Canonical plain-decimal text: ``0.50`` and ``0.5`` render the same, no exponent."""
    # Equal Decimals (0.5, 0.50, 5E-1) have one canonical text, so the value itself is the
    # memo key; books repeat the same few hundred prices and sizes, and rendering costs ~1 us.
    try:
        return _text_cache[value]
    except KeyError:
        pass
    except TypeError:  # a signalling NaN is unhashable; render it uncached
        return _render(value)
    text = _render(value)
    if len(_text_cache) >= _TEXT_CACHE_LIMIT:
        _text_cache.clear()
    _text_cache[value] = text
    return text


def _render(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def levels_text(levels: tuple[BookLevel, ...]) -> str:
    """One side's part of ``canonical_book_text``: ``price@size`` per level, comma-separated."""
    return ",".join(f"{decimal_text(lv.price)}@{decimal_text(lv.size)}" for lv in levels)


def canonical_book_text(
    token_id: str, bids: tuple[BookLevel, ...], asks: tuple[BookLevel, ...]
) -> str:
    """The rendering ``book_hash`` is computed over; stable across Decimal spellings."""
    return f"{token_id}|B:{levels_text(bids)}|A:{levels_text(asks)}"


def book_hash_of_text(token_id: str, bid_text: str, ask_text: str) -> str:
    """``book_hash`` from each side's ``levels_text`` (for a venue that caches those)."""
    return hashlib.sha256(f"{token_id}|B:{bid_text}|A:{ask_text}".encode()).hexdigest()


def book_hash(token_id: str, bids: tuple[BookLevel, ...], asks: tuple[BookLevel, ...]) -> str:
    """sha256 hex of the canonical rendering of a book's levels."""
    return book_hash_of_text(token_id, levels_text(bids), levels_text(asks))


class Venue(Protocol):
    """What the Order Lifecycle Manager needs from an exchange."""

    def markets(self) -> tuple[MarketInfo, ...]:
        """All markets the venue lists, with their current status."""
        ...

    def submit(self, order: VenueOrder, now_ms: int) -> list[VenueEvent]:
        """Place an order: returns ack or reject plus any immediate fills (and, for FAK, the
        cancel of the unfilled rest).  Raises ``VenueError`` when the request was not accepted
        and ``OutcomeUnknown`` when it may have been (the order stays submitted until
        reconciliation).  A venue that pushes events may deliver fills later, via ``advance``."""
        ...

    def cancel(self, venue_order_id: str, now_ms: int) -> list[VenueEvent]:
        """Cancel one order: a ``cancel`` event, or a ``reject`` naming why it could not be."""
        ...

    def cancel_all(self, token_ids: frozenset[str] | None, now_ms: int) -> list[VenueEvent]:
        """Cancel all our resting orders (optionally only on these tokens)."""
        ...

    def open_orders(self) -> tuple[OpenOrderView, ...]:
        """Our resting orders, oldest first."""
        ...

    def book(self, token_id: str) -> BookView | None:
        """Current book snapshot, or None when the feed for that market is unavailable."""
        ...

    def advance(self, now_ms: int) -> list[VenueEvent]:
        """Move time forward to ``now_ms`` and return what happened to our orders meanwhile."""
        ...
