"""strat-family bots."""
