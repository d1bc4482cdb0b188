"""Bot catalogue, lifecycle stages and readiness for the Polytraders registry."""
