"""Operator identities, roles and token authentication."""
