"""Registry tests: catalogue, lifecycle, readiness, board and CLI."""
