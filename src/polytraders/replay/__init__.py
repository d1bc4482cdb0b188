"""Replay: re-feed a recorded window to the current bot code and compare decisions."""
