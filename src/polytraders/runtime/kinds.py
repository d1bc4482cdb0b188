"""Vocabularies the runtime enforces: layers, live modes and authority kinds."""

from __future__ import annotations

from enum import StrEnum


class Layer(StrEnum):
    INTELLIGENCE = "intelligence"
    DISCOVERY = "discovery"
    STRATEGY = "strategy"
    RISK = "risk"
    EXECUTION = "execution"
    SECURITY = "security"
    GOVERNANCE = "governance"


FAMILY_OF_LAYER = {
    Layer.INTELLIGENCE: "intel",
    Layer.DISCOVERY: "disc",
    Layer.STRATEGY: "strat",
    Layer.RISK: "risk",
    Layer.EXECUTION: "exec",
    Layer.SECURITY: "sec",
    Layer.GOVERNANCE: "gov",
}


class Mode(StrEnum):
    """Live modes in increasing effect (the spec's meanings)."""

    OFF = "off"  # decide() is not called
    SHADOW = "shadow"  # runs and is journaled; output discarded
    ADVISORY = "advisory"  # shown downstream; never blocks or submits
    ENFORCED = "enforced"  # acted on up to the bot's authority
    QUARANTINE = "quarantine"  # rejects only what touches its quarantined scope


class Authority(StrEnum):
    READ_ONLY = "Read-only"
    RECOMMEND = "Recommend"
    OBSERVE = "Observe"
    EXPLAIN = "Explain"
    ANNOTATE = "Annotate"
    SIMULATE = "Simulate"
    PAUSE = "Pause"
    REJECT = "Reject"
    RESHAPE = "Reshape"
    VETO = "Veto"
    AMEND_CANCEL = "AmendCancel"
    TRADE = "Trade"


BLOCKING = frozenset({Authority.PAUSE, Authority.REJECT, Authority.VETO})
RESHAPING = frozenset({Authority.RESHAPE, Authority.VETO})
