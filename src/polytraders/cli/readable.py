"""Values as a person reads them at 3 a.m.: prices on the market's tick, sizes and money to
2 decimals, token ids abbreviated, markets by question and outcome name. `--json` keeps the exact
values; only tables go through here.

Market names come from the journaled `market_snapshot` envelopes (the simulator generates the
questions; the live feed journals the venue's market metadata), so a reader needs no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def price(value: Any, tick: Any = None) -> str:
    """On the tick when it is known (0.001 tick: `0.369`), else to the cent; `-` when absent."""
    d = _dec(value)
    if d is None:
        return "-"
    step = _dec(tick) or CENT
    return str(d.quantize(step, rounding=ROUND_HALF_EVEN))


def amount(value: Any) -> str:
    """A size or a sum of money: 2 decimals with thousands separators (`10,008.68`)."""
    d = _dec(value)
    if d is None:
        return "-"
    return f"{d.quantize(CENT, rounding=ROUND_HALF_EVEN):,}"


def short_id(value: Any, keep: int = 6) -> str:
    """`4310055…7433`: long ids (token ids, hashes) abbreviated, short ones as they are."""
    text = "" if value is None else str(value)
    if len(text) <= 2 * keep + 3:
        return text
    tail = 4
    return f"{text[:keep]}…{text[-tail:]}"


@dataclass(frozen=True, slots=True)
class MarketName:
    question: str
    tick: Decimal | None


class MarketNames:
    """Token and market ids -> `question · outcome`, from the journal's market snapshots."""

    def __init__(self) -> None:
        self._markets: dict[str, MarketName] = {}
        self._tokens: dict[str, tuple[str, str]] = {}  # token -> (market id, outcome name)

    @classmethod
    def from_journal(cls, journal: Any) -> MarketNames:
        names = cls()
        for entry in journal.read(kinds=["market_snapshot"]):
            names.add(entry.envelope.payload)
        return names

    def add(self, snap: dict[str, Any]) -> None:
        market_id = str(snap.get("market_id", ""))
        self._markets[market_id] = MarketName(str(snap.get("question", "")), _dec(snap.get("tick")))
        for key, outcome in (("yes_token", "Yes"), ("no_token", "No")):
            if snap.get(key):
                self._tokens[str(snap[key])] = (market_id, outcome)

    def tick_of(self, market_id: str | None = None, token_id: str | None = None) -> Decimal | None:
        if market_id is None and token_id in self._tokens:
            market_id = self._tokens[str(token_id)][0]
        known = self._markets.get(str(market_id))
        return known.tick if known else None

    def market(self, market_id: str, width: int = 48) -> str:
        known = self._markets.get(market_id)
        if known is None or not known.question:
            return short_id(market_id)
        return _clip(known.question, width)

    def token(self, token_id: str, width: int = 48) -> str:
        """`Will the bill pass? · Yes (4310055…7433)`; an unknown token is just abbreviated."""
        found = self._tokens.get(token_id)
        if found is None:
            return short_id(token_id)
        market_id, outcome = found
        return f"{self.market(market_id, width)} · {outcome} ({short_id(token_id)})"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def add_columns(table: Any, columns: tuple[str, ...], *, ids: tuple[str, ...] = (), values: Any = ()) -> None:
    """Add ``columns`` to a rich table; an id column is never folded or cut (a person copies it into
    the next command), so it gets the width of its longest value and the others give way."""
    values = list(values)
    for i, col in enumerate(columns):
        if col in ids:
            width = max([len(col), *(len(str(row[i])) for row in values)])
            table.add_column(col, no_wrap=True, min_width=width)
        else:
            table.add_column(col, overflow="fold")
