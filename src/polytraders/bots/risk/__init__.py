"""risk-family bots."""
