"""The signing keccak (safe-pysha3) is Ethereum's Keccak-256, as eth-hash computes it."""

from __future__ import annotations

from eth_hash.auto import keccak as eth_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.signing.keccak import keccak


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_keccak_is_eth_hashs(data: bytes) -> None:
    assert keccak(data) == eth_keccak(data)


def test_keccak_is_not_nist_sha3() -> None:
    # the empty-input digests tell the two apart
    assert keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
