"""Execution services outside the bots: the signing hand-off."""
