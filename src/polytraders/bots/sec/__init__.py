"""sec-family bots."""
