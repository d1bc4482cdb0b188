"""DISC_* reason codes (Discovery layer: market scanning and ranking)."""

from polytraders.contracts.reasons import rc

CODES = [
    rc("DISC_MARKET_LISTED", "INFO", "A market was discovered and added to the tradeable universe.",
       "None.", "A market became available for strategies to consider."),
]
