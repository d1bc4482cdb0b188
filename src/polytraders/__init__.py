"""Polytraders: a governed trading spine for Polymarket."""
__version__ = "0.1.0"
