"""Venue interface and venue implementations (simulated and, later, Polymarket CLOB V2)."""
