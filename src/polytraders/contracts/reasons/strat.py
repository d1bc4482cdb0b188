"""STRAT_* reason codes (Alpha Strategy layer)."""

from polytraders.contracts.reasons import rc

CODES = [
    rc("STRAT_EDGE_DETECTED", "INFO", "The strategy found an edge and proposed an order intent.",
       "None.", "The strategy proposed an order."),
    rc("STRAT_NO_EDGE", "INFO", "The strategy looked at the market and chose not to trade.",
       "None.", "The strategy saw no reason to trade this market right now."),
    rc("STRAT_QUOTE_REFRESHED", "INFO", "A market-making strategy re-priced its resting quotes.",
       "None.", "The strategy moved its quotes to follow the market."),
    rc("STRAT_RESHAPED_BY_RISK", "INFO", "Risk reshaped one of the strategy's intents before execution.",
       "Review the constraint Risk applied if it happens often.",
       "Your order was adjusted to stay within risk limits."),
    rc("STRAT_HALTED", "WARN", "The strategy is halted (kill switch or operator) and proposes nothing.",
       "See the kill-switch status and the open incident.",
       "Trading for this strategy is paused for safety."),
    rc("STRAT_INVENTORY_LIMIT", "INFO", "The strategy skipped one side because its inventory is at its declared limit.",
       "None; the strategy is respecting its own risk envelope.",
       "The strategy stopped adding to a position that is already at its limit."),
]
