"""Keccak-256 (Ethereum's hash; not NIST SHA3-256) for order salts, struct hashes and digests.

safe-pysha3's C implementation: about 1 us a hash against about 6 us through eth-hash's default
backend (pycryptodome, which sets up a cffi state per call). Every order takes three (salt,
struct hash, digest). The tests cross-check it against eth-hash on random inputs.
"""

from __future__ import annotations

from sha3 import keccak_256  # type: ignore[import-untyped]

__all__ = ["keccak"]


def keccak(data: bytes) -> bytes:
    """The 32-byte Keccak-256 digest of ``data``."""
    digest: bytes = keccak_256(data).digest()
    return digest
