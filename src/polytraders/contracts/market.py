"""Market-data contracts: what Strategy and Risk read about a market and its book."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from polytraders.contracts.base import Bytes32, Contract, EpochMs, Price, Size, TokenId

MarketStatus = Literal["open", "halted", "resolved"]
ALLOWED_TICKS = (Decimal("0.1"), Decimal("0.01"), Decimal("0.001"), Decimal("0.0001"))


class BookLevel(Contract):
    kind: ClassVar[str] = "book_level"
    price: Price
    size: Size

    def to_json_dict(self) -> dict[str, Any]:
        # written out by hand (books are most of the journal); equal to model_dump(mode="json")
        return {"schema_version": self.schema_version, "price": str(self.price),
                "size": str(self.size)}


_LEVEL_JSON_LIMIT = 1 << 14
_level_json: dict[int, tuple[BookLevel, dict[str, Any]]] = {}


def _levels_json(levels: tuple[BookLevel, ...]) -> list[dict[str, Any]]:
    """``[lv.to_json_dict() for lv in levels]``, each level's dict built once per level object
    and handed out as a copy (the feed keeps an unchanged level's object across snapshots, and
    rendering two Decimals costs more than copying three keys).  Keyed by identity, holding the
    level so its id cannot be reused while the entry lives."""
    out: list[dict[str, Any]] = []
    memo = _level_json
    for lv in levels:
        hit = memo.get(id(lv))
        if hit is None or hit[0] is not lv:
            if len(memo) >= _LEVEL_JSON_LIMIT:
                memo.clear()
            hit = memo[id(lv)] = (lv, lv.to_json_dict())
        out.append(hit[1].copy())
    return out


class OrderBookSnapshot(Contract):
    """One token's book: best-first levels, timestamp and a hash of its canonical state."""

    kind: ClassVar[str] = "order_book"
    market_id: Bytes32
    token_id: TokenId
    ts_ms: EpochMs
    tick: Decimal
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()
    book_hash: str = Field(min_length=8, max_length=80)

    @model_validator(mode="after")
    def _well_formed(self) -> OrderBookSnapshot:
        if self.tick not in ALLOWED_TICKS:
            raise ValueError(f"tick {self.tick} is not one of {[str(t) for t in ALLOWED_TICKS]}")
        for level in (*self.bids, *self.asks):
            if level.price % self.tick != 0:
                raise ValueError(f"level price {level.price} is off the tick {self.tick}")
        if any(self.bids[i].price <= self.bids[i + 1].price for i in range(len(self.bids) - 1)):
            raise ValueError("bids must be strictly descending by price")
        if any(self.asks[i].price >= self.asks[i + 1].price for i in range(len(self.asks) - 1)):
            raise ValueError("asks must be strictly ascending by price")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        # written out by hand (the journal's most frequent payload); equal to
        # model_dump(mode="json"), which tests check
        return {
            "schema_version": self.schema_version,
            "market_id": self.market_id,
            "token_id": self.token_id,
            "ts_ms": self.ts_ms,
            "tick": str(self.tick),
            "bids": _levels_json(self.bids),
            "asks": _levels_json(self.asks),
            "book_hash": self.book_hash,
        }

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if self.bids and self.asks:
            return (self.bids[0].price + self.asks[0].price) / 2
        return None


class MarketSnapshot(Contract):
    """Normalised state of one binary market."""

    kind: ClassVar[str] = "market_snapshot"
    market_id: Bytes32
    question: str = Field(max_length=300)
    yes_token: TokenId
    no_token: TokenId
    tick: Decimal
    min_size: Size
    neg_risk: bool = False
    status: MarketStatus = "open"
    cluster: str = Field(default="default", max_length=60)
    observed_at_ms: EpochMs
    source: Literal["clob_v2", "sim"] = "sim"

    @model_validator(mode="after")
    def _tick_known(self) -> MarketSnapshot:
        if self.tick not in ALLOWED_TICKS:
            raise ValueError(f"tick {self.tick} is not one of {[str(t) for t in ALLOWED_TICKS]}")
        if self.yes_token == self.no_token:
            raise ValueError("yes_token and no_token must differ")
        return self
