"""Deterministic throwaway keys and sample values for the signing tests."""

from __future__ import annotations

from eth_hash.auto import keccak

# Fixed 32-byte seed -> throwaway test keys.  ``Account.create()`` mixes os.urandom into its
# entropy, so it is not reproducible; ``Account.from_key`` on a seed-derived value is.
TEST_SEED = bytes.fromhex("5eed" * 16)
TIMESTAMP_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TOKEN_ID = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def make_key(index: int = 0) -> str:
    """A deterministic throwaway private key (0x hex) for ``index``."""
    return "0x" + keccak(TEST_SEED + index.to_bytes(4, "big")).hex()
