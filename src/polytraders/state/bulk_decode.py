"""Decoding journaled book snapshots in bulk (a reader's tail fold, replay), validated in full
but without validating the same book level twice.

Book snapshots are most of a journal, and most of the cost of reading one back is pydantic
validating each level of each book. From one snapshot of a token to the next only a level or
two changes, so the same level content comes back thousands of times. `BookDecoder` validates
each distinct level dict once with `BookLevel`'s own validator and hands the resulting (frozen)
level to `OrderBookSnapshot`'s validator, which still checks everything else: the market and
token ids, the tick, the levels on the tick and strictly ordered, the hash. Validation accepts
an already-validated frozen instance as is, so the snapshot is the one a plain
`model_validate` of the same payload gives, level for level. Content never validated (a
damaged or foreign level) is never cached: it goes through the validator and fails there.

The rest of a book is checked the same way: its header (schema version, market id, token id,
tick) is validated once, by the validator, on the first book that carries it; a later book
with an equal header, an int time >= 0, a book hash of 8-80 characters and level lists has the
snapshot's own rules checked here (each level's price on the tick, worked out once per price
and tick; bids strictly descending, asks strictly ascending) and is assembled from the
validated parts. Any other shape or value (a non-string header value, a missing or extra key,
a level that is not a validated level, a rule broken) goes through the validator, so the
result is the validator's snapshot, or the validator's refusal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from polytraders.contracts.base import assembled
from polytraders.contracts.envelope import ReportEnvelope
from polytraders.contracts.market import BookLevel, OrderBookSnapshot

# distinct levels remembered; past this the memo starts again (a few MB at most)
MAX_LEVELS: Final = 50_000
MAX_HEADERS: Final = 4_096  # distinct (market, token, tick) headers remembered
_BOOK_FIELDS: Final = frozenset(OrderBookSnapshot.model_fields)
_N_BOOK_FIELDS: Final = len(_BOOK_FIELDS)
# OrderBookSnapshot.book_hash's length bounds
_HASH_MIN: Final = OrderBookSnapshot.model_fields["book_hash"].metadata[0].min_length
_HASH_MAX: Final = OrderBookSnapshot.model_fields["book_hash"].metadata[1].max_length


class BookDecoder:
    """Decodes `order_book` envelopes into their cached contract (`ReportEnvelope.decode`)."""

    def __init__(self) -> None:
        self._levels: dict[tuple[tuple[str, Any], ...], BookLevel] = {}
        # (schema version, market id, token id, tick) as read -> the validated values
        self._headers: dict[tuple[str, str, str, str], tuple[str, str, str, Decimal]] = {}
        self._on_tick: dict[tuple[Decimal, Decimal], bool] = {}  # (price, tick) -> price % tick == 0

    def level(self, raw: Any) -> Any:
        """The validated level for this level dict; anything that is not a plain dict of
        hashable values is returned as is, for the snapshot's validator to judge."""
        if type(raw) is not dict:
            return raw
        try:
            key = tuple(raw.items())
            got = self._levels.get(key)
        except TypeError:  # an unhashable value: not a level we could have validated
            return raw
        if got is None:
            got = BookLevel.model_validate(raw)  # raises on a bad level, as a full decode would
            if len(self._levels) >= MAX_LEVELS:
                self._levels.clear()
            self._levels[key] = got
        return got

    def _levels_of(self, raws: list[Any]) -> list[Any]:
        """`[self.level(x) for x in raws]` with the lookup of a remembered level written in (six
        levels a book, most of them remembered); anything else goes through `level`."""
        get = self._levels.get
        out = []
        for raw in raws:
            got = None
            if type(raw) is dict:
                try:
                    got = get(tuple(raw.items()))
                except TypeError:  # an unhashable value: `level` hands it to the validator
                    got = None
            out.append(got if got is not None else self.level(raw))
        return out

    def predecode(self, env: ReportEnvelope) -> None:
        """Validate an `order_book` envelope's payload now, with the level memo, and leave the
        result where `decode()` finds it. Any other envelope, or a payload that fails, is left
        alone: its own `decode()` then validates (and fails) exactly as before."""
        # the decode cache read and written in the instance's private dict, as pydantic does,
        # without its attribute fallback (a third of this method's cost)
        private = env.__pydantic_private__
        if env.kind != OrderBookSnapshot.kind or private is None or private.get("_contract") is not None:
            return
        payload = env.payload
        bids, asks = payload.get("bids", ()), payload.get("asks", ())
        if type(bids) is not list or type(asks) is not list:
            return
        try:
            levels = self._levels_of(bids), self._levels_of(asks)
            book = self._by_hand(payload, *levels)
            if book is None:
                data = dict(payload)
                data["bids"], data["asks"] = levels
                book = OrderBookSnapshot.model_validate(data)
                self._remember(payload, book)
        except ValueError:  # pydantic's ValidationError too: decode() names the problem
            return
        private["_contract"] = book

    def _by_hand(self, payload: dict[str, Any], bids: list[Any], asks: list[Any]) -> OrderBookSnapshot | None:
        """The snapshot for a payload whose header was validated before and whose other values
        pass the snapshot's own checks; None for anything else (the validator judges it)."""
        if len(payload) != _N_BOOK_FIELDS:
            return None
        try:
            key = (payload["schema_version"], payload["market_id"], payload["token_id"], payload["tick"])
            ts, book_hash = payload["ts_ms"], payload["book_hash"]
            header = self._headers.get(key)  # every value in a remembered key is a str
        except (KeyError, TypeError):  # a missing key (8 keys, one of them another), an unhashable value
            return None
        if (header is None or type(ts) is not int or ts < 0 or type(book_hash) is not str
                or not _HASH_MIN <= len(book_hash) <= _HASH_MAX):
            return None
        tick = header[3]
        if not (self._in_order(bids, tick, descending=True) and self._in_order(asks, tick, descending=False)):
            return None
        if len(self._on_tick) >= MAX_LEVELS:
            self._on_tick.clear()
        return assembled(OrderBookSnapshot, _BOOK_FIELDS, {
            "schema_version": header[0], "market_id": header[1], "token_id": header[2], "ts_ms": ts,
            "tick": tick, "bids": tuple(bids), "asks": tuple(asks), "book_hash": book_hash})

    def _in_order(self, levels: list[Any], tick: Any, *, descending: bool) -> bool:
        """Every level a `BookLevel` on the tick, prices strictly descending (bids) or
        ascending (asks): the snapshot's own checks of one side."""
        on_tick = self._on_tick
        previous = None
        for level in levels:
            if type(level) is not BookLevel:
                return False
            price = level.price
            ok = on_tick.get((price, tick))
            if ok is None:
                ok = on_tick[(price, tick)] = price % tick == 0
            if not ok or (previous is not None and (previous <= price if descending else previous >= price)):
                return False
            previous = price
        return True

    def _remember(self, payload: dict[str, Any], book: OrderBookSnapshot) -> None:
        """Remember the header of a payload the validator accepted, when every key was given
        and every header value is a str (so an equal header has the same types)."""
        if len(payload) != _N_BOOK_FIELDS or book.model_fields_set != _BOOK_FIELDS:
            return
        key = (payload["schema_version"], payload["market_id"], payload["token_id"], payload["tick"])
        if any(type(v) is not str for v in key) or key in self._headers:
            return
        if len(self._headers) >= MAX_HEADERS:
            self._headers.clear()
        self._headers[key] = (book.schema_version, book.market_id, book.token_id, book.tick)
