"""INTEL_* reason codes (Intelligence layer: sensors and typed signals)."""

from polytraders.contracts.reasons import rc

CODES = [
    rc("INTEL_FEED_STALE", "WARN", "A consumer's freshness budget for an input feed was exceeded.",
       "Check the upstream feed and its reconnect logic.",
       "Some market information was too old to use, so it was ignored."),
]
