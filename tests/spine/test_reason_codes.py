"""Every code-like string in the source is registered; the registry itself is well formed."""

from __future__ import annotations

import re
from pathlib import Path

import polytraders
from polytraders.contracts.reasons import CODE_PATTERN, codes_for_family, registry, require_code

SRC = Path(polytraders.__file__).parent
CANDIDATE = re.compile(r"""["']((?:INTEL|DISC|STRAT|RISK|EXEC|SEC|GOV)_[A-Z0-9_]+)["']""")


def test_every_code_in_the_source_is_registered() -> None:
    reg = registry()
    missing: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        for code in CANDIDATE.findall(path.read_text(encoding="utf-8")):
            if code not in reg:
                missing.setdefault(code, []).append(str(path.relative_to(SRC)))
    assert not missing, f"unregistered reason codes used in source: {missing}"


def test_registry_entries_are_complete() -> None:
    for code in registry().values():
        assert CODE_PATTERN.match(code.code)
        assert code.meaning and code.operator_action and code.user_message
        assert code.user_message[0].isupper()


def test_families_partition_the_registry() -> None:
    total = sum(len(codes_for_family(f)) for f in ("INTEL", "DISC", "STRAT", "RISK", "EXEC", "SEC", "GOV"))
    assert total == len(registry())


def test_kill_switch_codes_follow_design() -> None:
    assert require_code("RISK_KILLSWITCH_TRIPPED").severity.value == "HARD_REJECT"
    assert require_code("RISK_KILLSWITCH_ACTIVE").severity.value == "HARD_REJECT"
