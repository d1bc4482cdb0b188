"""exec-family bots."""
