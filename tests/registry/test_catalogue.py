"""Tests for the packaged bot catalogue and bot-id resolution."""

from __future__ import annotations

import re
from collections import Counter

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polytraders.registry.catalogue import (
    BOT_ID_PATTERN,
    FAMILY_BY_LAYER,
    LAYER_ORDER,
    SPEC_LAYER_COUNTS,
    SPEC_TOTAL,
    CatalogueEntry,
    CatalogueError,
    UnknownBotError,
    entries_by_layer,
    load_catalogue,
    normalise_bot_id,
    parse_catalogue,
    resolve_bot_id,
)

# Bots the spec tables identify by name, per layer. The guide's library has 109 slots
# (SPEC_LAYER_COUNTS); ten of them have no identified bot in the reference digest
# (Execution 2.3 and three of 2.8-2.13, Strategy 3.5, 3.17 and two of 3.20/3.21/3.23,
# two original-era Governance slots), so they are not catalogued.
EXPECTED_LAYER_COUNTS: dict[str, int] = {
    "intelligence": 17,
    "discovery": 6,
    "strategy": 20,
    "risk": 20,  # includes WalletFundingGuard, which runs as a Risk guardrail
    "execution": 11,
    "security": 8,  # the guide files WalletFundingGuard here (slot 5.9)
    "governance": 17,
}
# Slots filled per layer of the guide, counting each bot under the layer the guide files it in.
EXPECTED_SPEC_SLOT_COUNTS: dict[str, int] = {
    **EXPECTED_LAYER_COUNTS,
    "risk": 19,
    "security": 9,
}
EXPECTED_TOTAL = 99

DESIGN_IDS = (
    # DESIGN.md section 7
    "risk.kill_switch",
    "exec.order_lifecycle_manager",
    "exec.smart_router",
    "strat.maker_tight",
    "gov.api_degradation_monitor",
    "gov.reconciler",
    "gov.config_drift_detector",
    "gov.incident_commander",
    # settled in the registry brief
    "risk.drawdown_guard",
    "gov.replay_simulator",
    "risk.stale_book_guard",
    "risk.market_halt_guard",
    "risk.compliance_gate",
    "risk.exposure_guard",
    "risk.wallet_funding_guard",
)

KNOWN_ALIASES = {
    "risk.killswitch": "risk.kill_switch",
    "risk.drawdownguard": "risk.drawdown_guard",
    "risk.portfolioguard": "risk.drawdown_guard",
    "risk.portfolio_guard": "risk.drawdown_guard",
    "risk.compliancegate": "risk.compliance_gate",
    "risk.markethaltguard": "risk.market_halt_guard",
    "risk.market_halt_detector": "risk.market_halt_guard",
    "risk.stalebookguard": "risk.stale_book_guard",
    "risk.exposureguard": "risk.exposure_guard",
    "risk.settlementexposureguard": "risk.exposure_guard",
    "risk.marketqualityguard": "disc.market_quality_ranker",
    "sec.wallet_funding_guard": "risk.wallet_funding_guard",
    "exec.smartrouter": "exec.smart_router",
    "exec.orderlifecyclemanager": "exec.order_lifecycle_manager",
    "strat.maker-tight": "strat.maker_tight",
    "gov.incidentcommander": "gov.incident_commander",
    "gov.portfolio-sync": "gov.reconciler",
    "intel.sportsfeed_adapter": "intel.sports_feed_adapter",
}

_IDS = tuple(entry.id for entry in load_catalogue())


def _entry_dict(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "risk.example_guard",
        "aliases": ["risk.exampleguard"],
        "number": "1.1",
        "name": "ExampleGuard",
        "layer": "risk",
        "family": "risk",
        "bot_class": "Guardrail",
        "authority": ["Reject"],
        "spec_status": "planned",
        "spec_readiness": "Planned",
        "purpose": "Exists only for tests.",
        "polymarket_inputs": ["clob_public"],
    }
    base.update(overrides)
    return base


def test_total_count() -> None:
    assert len(load_catalogue()) == EXPECTED_TOTAL
    assert sum(SPEC_LAYER_COUNTS.values()) == SPEC_TOTAL == 109


def test_per_layer_counts() -> None:
    counts = Counter(entry.layer for entry in load_catalogue())
    assert dict(counts) == EXPECTED_LAYER_COUNTS
    slots = Counter(entry.spec_layer_of for entry in load_catalogue())
    assert dict(slots) == EXPECTED_SPEC_SLOT_COUNTS
    for layer, count in slots.items():
        assert count <= SPEC_LAYER_COUNTS[layer]


def test_wallet_funding_guard_runs_as_risk_guardrail() -> None:
    entry = next(e for e in load_catalogue() if e.id == "risk.wallet_funding_guard")
    assert (entry.layer, entry.family, entry.bot_class) == ("risk", "risk", "Guardrail")
    assert entry.spec_layer == "security"
    assert entry.spec_layer_of == "security"
    assert entry.number == "5.9"
    assert "sec.wallet_funding_guard" in entry.aliases
    assert resolve_bot_id("sec.wallet_funding_guard") == "risk.wallet_funding_guard"
    # only this documented exception runs outside its guide layer
    assert [e.id for e in load_catalogue() if e.spec_layer is not None] == [entry.id]


def test_spec_layer_exception_is_validated() -> None:
    ok = _entry_dict(number="5.9", spec_layer="security")
    assert parse_catalogue(orjson.dumps([ok]))[0].spec_layer_of == "security"
    with pytest.raises(CatalogueError, match="outside the security range"):
        parse_catalogue(orjson.dumps([_entry_dict(number="1.1", spec_layer="security")]))
    with pytest.raises(CatalogueError, match="spec_layer is only for"):
        parse_catalogue(orjson.dumps([_entry_dict(spec_layer="risk")]))


def test_ids_unique_and_well_formed() -> None:
    assert len(set(_IDS)) == len(_IDS)
    assert len({normalise_bot_id(i) for i in _IDS}) == len(_IDS)
    for entry in load_catalogue():
        assert re.fullmatch(BOT_ID_PATTERN, entry.id), entry.id
        assert entry.id.split(".", 1)[0] == entry.family == FAMILY_BY_LAYER[entry.layer]
        assert entry.id not in entry.aliases


def test_aliases_unique_and_never_another_bots_id() -> None:
    ids = {normalise_bot_id(i): i for i in _IDS}
    seen: dict[str, str] = {}
    for entry in load_catalogue():
        for alias in entry.aliases:
            key = normalise_bot_id(alias)
            assert ids.get(key, entry.id) == entry.id, alias
            assert seen.setdefault(key, entry.id) == entry.id, alias


def test_every_alias_resolves_to_its_bot() -> None:
    for entry in load_catalogue():
        assert resolve_bot_id(entry.id) == entry.id
        for alias in entry.aliases:
            assert resolve_bot_id(alias) == entry.id


@pytest.mark.parametrize("bot_id", DESIGN_IDS)
def test_design_ids_exist(bot_id: str) -> None:
    assert bot_id in _IDS
    assert resolve_bot_id(bot_id) == bot_id


@pytest.mark.parametrize(("alias", "canonical"), sorted(KNOWN_ALIASES.items()))
def test_known_aliases(alias: str, canonical: str) -> None:
    assert resolve_bot_id(alias) == canonical


def test_entries_are_frozen() -> None:
    entry = load_catalogue()[0]
    assert isinstance(entry, CatalogueEntry)
    with pytest.raises(ValueError):
        entry.name = "changed"  # type: ignore[misc]
    assert isinstance(entry.authority, tuple)
    assert isinstance(entry.aliases, tuple)


def test_load_catalogue_is_cached() -> None:
    assert load_catalogue() is load_catalogue()


def test_entries_by_layer_order_and_content() -> None:
    grouped = entries_by_layer()
    assert tuple(grouped) == LAYER_ORDER
    assert LAYER_ORDER == (
        "intelligence",
        "discovery",
        "strategy",
        "risk",
        "execution",
        "security",
        "governance",
    )
    for layer, entries in grouped.items():
        assert len(entries) == EXPECTED_LAYER_COUNTS[layer]
        assert all(entry.layer == layer for entry in entries)
    assert sum(len(v) for v in grouped.values()) == len(load_catalogue())


def test_strategies_are_trade_only_alpha() -> None:
    for entry in entries_by_layer()["strategy"]:
        assert entry.bot_class == "Alpha Strategy"
        assert entry.authority == ("Trade",)


def test_unknown_id_raises_with_suggestion() -> None:
    with pytest.raises(UnknownBotError) as info:
        resolve_bot_id("risk.kil_switch")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.name == "risk.kil_switch"
    assert err.suggestions[0] == "risk.kill_switch"
    message = str(err)
    assert "risk.kil_switch" in message
    assert "did you mean" in message
    assert "risk.kill_switch" in message


def test_unknown_id_without_close_match() -> None:
    with pytest.raises(UnknownBotError, match="Unknown bot id 'zzzz'") as info:
        resolve_bot_id("zzzz")
    assert info.value.suggestions == ()


def test_parse_rejects_duplicate_ids() -> None:
    raw = orjson.dumps([_entry_dict(), _entry_dict(aliases=[])])
    with pytest.raises(CatalogueError, match="duplicate bot id"):
        parse_catalogue(raw)


def test_parse_rejects_alias_equal_to_other_id() -> None:
    other = _entry_dict(id="risk.other_guard", aliases=["risk.example-guard"], number="1.2")
    with pytest.raises(CatalogueError, match="id of another bot"):
        parse_catalogue(orjson.dumps([_entry_dict(), other]))


def test_parse_rejects_shared_alias() -> None:
    other = _entry_dict(id="risk.other_guard", aliases=["risk.exampleguard"], number="1.2")
    with pytest.raises(CatalogueError, match="also an alias"):
        parse_catalogue(orjson.dumps([_entry_dict(), other]))


@pytest.mark.parametrize(
    "overrides",
    [
        {"id": "risk.Bad-Id"},
        {"id": "alpha.example_guard"},
        {"id": "exec.example_guard"},  # prefix does not match family
        {"family": "exec"},  # family does not match layer
        {"aliases": ["risk.example_guard"]},  # canonical id listed as alias
        {"number": "2.1"},  # number outside the risk range
        {"spec_status": "shadow"},
        {"polymarket_inputs": ["twitter"]},
        {"unexpected": 1},
    ],
)
def test_parse_rejects_invalid_entries(overrides: dict[str, object]) -> None:
    with pytest.raises(CatalogueError):
        parse_catalogue(orjson.dumps([_entry_dict(**overrides)]))


def test_parse_rejects_non_list() -> None:
    with pytest.raises(CatalogueError):
        parse_catalogue(b'{"id": "risk.example_guard"}')
    with pytest.raises(CatalogueError):
        parse_catalogue(b"not json")


def _variants(draw: st.DrawFn, bot_id: str) -> str:
    chars = []
    for ch in bot_id:
        if ch == "_":
            chars.append(draw(st.sampled_from("_-")))
        elif ch.isalpha():
            chars.append(ch.upper() if draw(st.booleans()) else ch)
        else:
            chars.append(ch)
    return "".join(chars)


@st.composite
def _spelled_ids(draw: st.DrawFn) -> tuple[str, str]:
    bot_id = draw(st.sampled_from(_IDS))
    return bot_id, _variants(draw, bot_id)


@given(st.sampled_from(_IDS))
def test_resolve_is_idempotent_on_canonical_ids(bot_id: str) -> None:
    resolved = resolve_bot_id(bot_id)
    assert resolved == bot_id
    assert resolve_bot_id(resolved) == resolved


@given(_spelled_ids())
def test_resolve_tolerates_case_and_separator(pair: tuple[str, str]) -> None:
    bot_id, spelling = pair
    assert resolve_bot_id(spelling) == bot_id
    assert resolve_bot_id(resolve_bot_id(spelling)) == bot_id


def test_catalogue_is_listed_in_layer_order() -> None:
    positions = [LAYER_ORDER.index(entry.layer) for entry in load_catalogue()]
    assert positions == sorted(positions)
