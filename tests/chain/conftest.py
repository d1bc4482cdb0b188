"""The chain fixtures live in chain_helpers.py (a unique module name: several test folders have a
conftest, and `from conftest import` would find whichever was imported first)."""

from chain_helpers import anvil  # noqa: F401 - the fixture, registered here for this folder
