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
"""

from __future__ import annotations

from typing import Any, Final

from polytraders.contracts.envelope import ReportEnvelope
from polytraders.contracts.market import BookLevel, OrderBookSnapshot

# distinct levels remembered; past this the memo starts again (a few MB at most)
MAX_LEVELS: Final = 50_000


class BookDecoder:
    """Decodes `order_book` envelopes into their cached contract (`ReportEnvelope.decode`)."""

    def __init__(self) -> None:
        self._levels: dict[tuple[tuple[str, Any], ...], BookLevel] = {}

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
            data = dict(payload)
            data["bids"] = [self.level(x) for x in bids]
            data["asks"] = [self.level(x) for x in asks]
            book = OrderBookSnapshot.model_validate(data)
        except ValueError:  # pydantic's ValidationError too: decode() names the problem
            return
        private["_contract"] = book
