"""gov-family bots."""
