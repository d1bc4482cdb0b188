"""The trading engine: assembles projections, bots, venue and OLM, and runs the order path."""
