"""OrderSigner's prepared libsecp256k1 key: the same signatures as eth-account's stock path, and a
recovery check that answers what eth-account's own recovery answers, for any 65 bytes."""

from __future__ import annotations

import pickle

import pytest
from eth_account import Account
from eth_keys.backends import get_backend
from eth_keys.datatypes import PrivateKey
from eth_typing import Hash32
from hypothesis import example, given, settings
from hypothesis import strategies as st

from polytraders.signing.order import OrderSigner, _backend_for, _KeptKeyBackend

from .helpers import make_key

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
DIGESTS = st.binary(min_size=32, max_size=32)


def _stock_recovers(signer: OrderSigner, digest: bytes, signature: bytes) -> bool:
    """eth-account's own answer: the signature recovers, and to the signer's address."""
    try:
        return bool(Account._recover_hash(Hash32(digest), signature=signature) == signer.address)
    except Exception:
        return False


def test_the_backend_holds_the_key_prepared() -> None:
    # the demo and the tests run with coincurve installed: the fast path is the one measured
    assert isinstance(_backend_for(bytes.fromhex(make_key(0)[2:])), _KeptKeyBackend)


@settings(max_examples=60, deadline=None)
@given(digest=DIGESTS, which=st.integers(0, 3))
def test_signatures_equal_eth_accounts_stock_signing(digest: bytes, which: int) -> None:
    key = make_key(which)
    signer = OrderSigner(key)
    stock = Account.unsafe_sign_hash(Hash32(digest), private_key=key).signature
    assert signer.sign_digest(digest) == bytes(stock)
    assert signer.recovers(digest, signer.sign_digest(digest))


def test_the_kept_backend_signs_any_other_key_the_stock_way() -> None:
    mine, other = bytes.fromhex(make_key(0)[2:]), bytes.fromhex(make_key(1)[2:])
    backend = _backend_for(mine)
    digest = bytes(range(32))
    theirs = PrivateKey(other, backend=backend).sign_msg_hash(digest)
    assert theirs == PrivateKey(other, backend=get_backend()).sign_msg_hash(digest)
    assert theirs != PrivateKey(mine, backend=backend).sign_msg_hash(digest)


@settings(max_examples=150, deadline=None)
@given(digest=DIGESTS, r=st.integers(0, 2**256 - 1), s=st.integers(0, 2**256 - 1),
       v=st.sampled_from([0, 1, 26, 27, 28, 29]))
@example(digest=bytes(32), r=0, s=1, v=27)
@example(digest=bytes(32), r=1, s=0, v=28)
@example(digest=bytes(32), r=SECP256K1_N, s=1, v=27)
@example(digest=bytes(32), r=1, s=SECP256K1_N, v=27)
def test_recovers_answers_what_eth_account_recovery_answers(digest: bytes, r: int, s: int,
                                                            v: int) -> None:
    signer = OrderSigner(make_key(0))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,))
    assert signer.recovers(digest, signature) is _stock_recovers(signer, digest, signature)


@settings(max_examples=60, deadline=None)
@given(digest=DIGESTS, flip=st.integers(0, 64 * 8 - 1))
def test_a_changed_bit_or_another_key_never_recovers(digest: bytes, flip: int) -> None:
    signer, other = OrderSigner(make_key(0)), OrderSigner(make_key(1))
    good = signer.sign_digest(digest)
    bad = bytearray(good)
    bad[flip // 8] ^= 1 << (flip % 8)
    assert not signer.recovers(digest, bytes(bad))
    assert not signer.recovers(digest, other.sign_digest(digest))
    flipped_v = good[:64] + bytes((55 - good[64],))  # 27 <-> 28: recovers someone else
    assert not signer.recovers(digest, flipped_v)
    assert _stock_recovers(signer, digest, good)


def test_the_backend_cannot_be_pickled() -> None:
    backend = _backend_for(bytes.fromhex(make_key(0)[2:]))
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(backend)
    assert make_key(0)[2:] not in repr(backend)
