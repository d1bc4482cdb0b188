"""The Polytraders bot catalogue, shipped as package data.

``catalogue.json`` (next to this module) holds one record per bot the specification names:
its canonical id in the settled ``<family>.<snake_name>`` form (DESIGN.md section 7), the other
spellings the guide and the demo wiring use (kept as aliases), its spec number, layer, class,
authority words, lifecycle tag, readiness text, a one-sentence purpose and the Polymarket API
surfaces it reads.

The guide's library has 109 slots (see ``SPEC_LAYER_COUNTS``) but only the bots that could be
identified by name are catalogued; unnamed slots are not invented.

A bot may run in a different layer from the one whose slot the guide files it under: the order
path runs WalletFundingGuard (guide slot 5.9, Security) as the Risk guardrail
``risk.wallet_funding_guard``. Such an entry records the guide's layer in ``spec_layer``; its
spec number is checked against that layer, and ``spec_layer_of`` gives the layer whose slot it
fills, so slot accounting against ``SPEC_LAYER_COUNTS`` stays right.

Public API:

* ``load_catalogue()`` -- every entry, validated and cached, in layer order.
* ``resolve_bot_id(name)`` -- canonical id for a canonical id or any alias (case-insensitive,
  ``-`` and ``_`` treated alike); raises ``UnknownBotError`` with suggestions otherwise.
* ``entries_by_layer()`` -- entries grouped by layer, in ``LAYER_ORDER``.
* ``parse_catalogue(raw)`` -- validate catalogue JSON bytes (used by ``load_catalogue``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Final, Literal

import orjson
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

__all__ = [
    "BOT_ID_PATTERN",
    "FAMILY_BY_LAYER",
    "LAYER_ORDER",
    "SPEC_LAYER_COUNTS",
    "SPEC_TOTAL",
    "BotClass",
    "CatalogueEntry",
    "CatalogueError",
    "Family",
    "Layer",
    "PolymarketSurface",
    "SpecStatus",
    "UnknownBotError",
    "entries_by_layer",
    "load_catalogue",
    "normalise_bot_id",
    "parse_catalogue",
    "resolve_bot_id",
]

Layer = Literal[
    "intelligence", "discovery", "strategy", "risk", "execution", "security", "governance"
]
Family = Literal["intel", "disc", "strat", "risk", "exec", "sec", "gov"]
BotClass = Literal[
    "Guardrail", "Execution Utility", "Alpha Strategy", "Signal Service", "Governance Service"
]
SpecStatus = Literal["live", "beta", "planned"]
PolymarketSurface = Literal[
    "gamma",
    "data",
    "clob_public",
    "clob_auth",
    "ws_market",
    "ws_user",
    "ws_sports",
    "ws_rtds",
    "bridge",
    "onchain",
]

LAYER_ORDER: Final[tuple[Layer, ...]] = (
    "intelligence",
    "discovery",
    "strategy",
    "risk",
    "execution",
    "security",
    "governance",
)
"""Layers in the order the catalogue lists them (pipeline order, sensors first)."""

FAMILY_BY_LAYER: Final[Mapping[Layer, Family]] = MappingProxyType(
    {
        "intelligence": "intel",
        "discovery": "disc",
        "strategy": "strat",
        "risk": "risk",
        "execution": "exec",
        "security": "sec",
        "governance": "gov",
    }
)

_SPEC_DIGIT_BY_LAYER: Final[Mapping[Layer, str]] = MappingProxyType(
    {
        "discovery": "0",
        "risk": "1",
        "execution": "2",
        "strategy": "3",
        "intelligence": "4",
        "security": "5",
        "governance": "6",
    }
)

SPEC_LAYER_COUNTS: Final[Mapping[Layer, int]] = MappingProxyType(
    {
        "intelligence": 17,
        "discovery": 6,
        "strategy": 24,
        "risk": 19,
        "execution": 15,
        "security": 9,
        "governance": 19,
    }
)
"""Slots per layer in the guide's frozen library; some slots have no identified bot yet."""

SPEC_TOTAL: Final[int] = sum(SPEC_LAYER_COUNTS.values())

BOT_ID_PATTERN: Final[str] = r"^(intel|disc|strat|risk|exec|sec|gov)\.[a-z0-9_]+$"
_ALIAS_PATTERN: Final[str] = r"^[a-z]+\.[a-z0-9_-]+$"
_NUMBER_PATTERN: Final[str] = r"^[0-6]\.[1-9][0-9]*$"

_BotId = Annotated[str, StringConstraints(pattern=BOT_ID_PATTERN)]
_Alias = Annotated[str, StringConstraints(pattern=_ALIAS_PATTERN)]
_Number = Annotated[str, StringConstraints(pattern=_NUMBER_PATTERN)]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

_CATALOGUE_RESOURCE: Final[str] = "catalogue.json"


class CatalogueError(ValueError):
    """The catalogue data is malformed or inconsistent."""


class UnknownBotError(ValueError):
    """A bot id or alias that the catalogue does not know."""

    def __init__(self, name: str, suggestions: tuple[str, ...]) -> None:
        self.name = name
        self.suggestions = suggestions
        if suggestions:
            hint = "did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
        else:
            hint = "no similar bot id is in the catalogue."
        super().__init__(f"Unknown bot id {name!r}; {hint}")


class CatalogueEntry(BaseModel):
    """One bot of the specification, as the registry knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _BotId
    aliases: tuple[_Alias, ...] = ()
    number: _Number | None = None
    spec_layer: Layer | None = None
    """The guide's layer when it differs from the layer the bot runs in (None: the same)."""
    name: _Text
    layer: Layer
    family: Family
    bot_class: BotClass
    authority: tuple[_Text, ...] = ()
    spec_status: SpecStatus
    spec_readiness: _Text
    purpose: _Text
    polymarket_inputs: tuple[PolymarketSurface, ...] = ()

    @model_validator(mode="after")
    def _check_consistency(self) -> CatalogueEntry:
        expected_family = FAMILY_BY_LAYER[self.layer]
        if self.family != expected_family:
            raise ValueError(
                f"{self.id}: family {self.family!r} does not match layer {self.layer!r} "
                f"(expected {expected_family!r})"
            )
        if self.id.split(".", 1)[0] != self.family:
            raise ValueError(f"{self.id}: id prefix must be the family {self.family!r}")
        if self.id in self.aliases:
            raise ValueError(f"{self.id}: the canonical id must not be listed as an alias")
        if len(set(self.aliases)) != len(self.aliases):
            raise ValueError(f"{self.id}: duplicate aliases")
        if self.spec_layer == self.layer:
            raise ValueError(f"{self.id}: spec_layer is only for a layer other than {self.layer!r}")
        slot_layer = self.spec_layer_of
        if self.number is not None and self.number[0] != _SPEC_DIGIT_BY_LAYER[slot_layer]:
            raise ValueError(
                f"{self.id}: spec number {self.number} is outside the {slot_layer} range"
            )
        return self

    @property
    def spec_layer_of(self) -> Layer:
        """The layer whose slot in the guide this bot fills."""
        return self.spec_layer if self.spec_layer is not None else self.layer


def normalise_bot_id(name: str) -> str:
    """Lookup key for a bot id: trimmed, lower-case, with ``-`` read as ``_``."""
    return name.strip().lower().replace("-", "_")


def _validate_catalogue(entries: tuple[CatalogueEntry, ...]) -> None:
    owner_by_key: dict[str, str] = {}
    for entry in entries:
        key = normalise_bot_id(entry.id)
        if key in owner_by_key:
            raise CatalogueError(f"duplicate bot id {entry.id!r}")
        owner_by_key[key] = entry.id
    for entry in entries:
        own_key = normalise_bot_id(entry.id)
        for alias in entry.aliases:
            key = normalise_bot_id(alias)
            if key == own_key:
                continue  # same id spelled with '-' instead of '_'; harmless
            owner = owner_by_key.get(key)
            if owner is not None and owner != entry.id:
                if normalise_bot_id(owner) == key:
                    raise CatalogueError(
                        f"alias {alias!r} of {entry.id!r} is the id of another bot"
                    )
                raise CatalogueError(
                    f"alias {alias!r} of {entry.id!r} is also an alias of {owner!r}"
                )
            owner_by_key[key] = entry.id


def parse_catalogue(raw: bytes | str) -> tuple[CatalogueEntry, ...]:
    """Parse and validate catalogue JSON (a list of bot objects).

    Raises ``CatalogueError`` when the JSON is malformed, an entry is invalid, or ids and
    aliases collide.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CatalogueError(f"catalogue is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise CatalogueError("catalogue must be a JSON list of bot objects")
    entries: list[CatalogueEntry] = []
    for position, item in enumerate(data):
        try:
            entries.append(CatalogueEntry.model_validate(item))
        except ValidationError as exc:
            label = item.get("id", f"#{position}") if isinstance(item, dict) else f"#{position}"
            raise CatalogueError(f"invalid catalogue entry {label}: {exc}") from exc
    result = tuple(entries)
    _validate_catalogue(result)
    return result


@cache
def load_catalogue() -> tuple[CatalogueEntry, ...]:
    """Every catalogued bot, validated, in the order of the packaged ``catalogue.json``."""
    raw = resources.files("polytraders.registry").joinpath(_CATALOGUE_RESOURCE).read_bytes()
    return parse_catalogue(raw)


@cache
def _index() -> Mapping[str, str]:
    index: dict[str, str] = {}
    for entry in load_catalogue():
        index[normalise_bot_id(entry.id)] = entry.id
        for alias in entry.aliases:
            index[normalise_bot_id(alias)] = entry.id
    return MappingProxyType(index)


def resolve_bot_id(name: str) -> str:
    """Canonical id for ``name``, which may be a canonical id or any known alias.

    Matching ignores case, surrounding whitespace and the ``-``/``_`` difference.
    Raises ``UnknownBotError`` (a ``ValueError``) naming close matches when nothing fits.
    """
    index = _index()
    key = normalise_bot_id(name)
    canonical = index.get(key)
    if canonical is not None:
        return canonical
    suggestions: list[str] = []
    for match in difflib.get_close_matches(key, list(index), n=10, cutoff=0.6):
        candidate = index[match]
        if candidate not in suggestions:
            suggestions.append(candidate)
    raise UnknownBotError(name, tuple(suggestions[:3]))


def entries_by_layer() -> dict[str, list[CatalogueEntry]]:
    """Catalogue entries grouped by layer; keys follow ``LAYER_ORDER`` (empty layers kept)."""
    grouped: dict[str, list[CatalogueEntry]] = {layer: [] for layer in LAYER_ORDER}
    for entry in load_catalogue():
        grouped[entry.layer].append(entry)
    return grouped
