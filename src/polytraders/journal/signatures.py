"""Ed25519 signatures over journal entries: who wrote an entry, bound to where it sits.

A signature covers the entry's envelope (without the signature itself) together with the journal
id, the entry's seq and the previous entry's hash. Binding the position means a signed command
copied to another seq, or into another journal, no longer verifies: there is no replay to guard
against with nonces. Operators sign their commands with their own key; the running system signs
its session starts and its digests with the system key named in the genesis entry.

Keys are raw 32-byte Ed25519 keys, shown as 64 hex characters. Verification results are cached
by (key, message) so an entry is checked once however many projections look at it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from polytraders.journal.base import canonical_bytes

SIGNATURE_VERSION = "polytraders-entry-sig/1"


def signing_bytes(journal_id: str, seq: int, prev_hash: str, envelope: dict[str, Any]) -> bytes:
    """The exact bytes a signature covers (the envelope must not hold its own signature)."""
    return canonical_bytes({"v": SIGNATURE_VERSION, "journal_id": journal_id, "seq": seq,
                            "prev_hash": prev_hash, "envelope": envelope})


class Signer:
    """A private Ed25519 key. `repr` never shows the key."""

    __slots__ = ("_key", "_public", "public_hex")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_hex = self._public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_hex(cls, private_hex: str) -> Signer:
        raw = bytes.fromhex(private_hex.strip())
        if len(raw) != 32:
            raise ValueError("an Ed25519 private key is 32 bytes (64 hex characters)")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def derive(cls, *parts: object) -> Signer:
        """A reproducible key from public parts: for simulations only, never for live journals."""
        material = hashlib.sha256(":".join(["polytraders-sim-key/1", *map(str, parts)]).encode()).digest()
        return cls(Ed25519PrivateKey.from_private_bytes(material))

    def private_hex(self) -> str:
        return self._key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption()).hex()

    def sign(self, data: bytes) -> str:
        signature = self._key.sign(data).hex()
        # valid by construction: this process's own fold of the entry it signs need not check
        # it again (an operator's trip written through the running system: 0.1-0.35 ms on the
        # trip path). Every other process, and every later read, verifies it in full.
        if len(_SIGNED_HERE) >= _SIGNED_HERE_KEPT:
            with contextlib.suppress(KeyError):  # another thread may have made room already
                _SIGNED_HERE.popitem(last=False)  # one call: atomic under the GIL
        _SIGNED_HERE[(self._public, data)] = signature
        return signature

    def __repr__(self) -> str:
        return f"Signer(public={self.public_hex[:12]}…)"


# (public key, message) -> the signature a Signer of this process just made of it, newest last
_SIGNED_HERE: OrderedDict[tuple[str, bytes], str] = OrderedDict()
_SIGNED_HERE_KEPT = 64


def verify(public_hex: str, data: bytes, signature_hex: str) -> bool:
    """True when `signature_hex` is `public_hex`'s signature of `data`; never raises."""
    if _SIGNED_HERE.get((public_hex, data)) == signature_hex:
        return True  # made by that key's Signer in this process (Ed25519 signing is deterministic)
    return _verify(public_hex, data, signature_hex)


@lru_cache(maxsize=4096)
def _verify(public_hex: str, data: bytes, signature_hex: str) -> bool:
    try:
        _public_key(public_hex).verify(bytes.fromhex(signature_hex), data)
        return True
    except (InvalidSignature, ValueError):
        return False


@lru_cache(maxsize=256)
def _public_key(public_hex: str) -> Ed25519PublicKey:
    """The key object of a signer's public key: a journal has a handful of signers, and loading
    one cost about a fifth of a verification (an operator's trip is verified inside the trip
    window). A malformed key raises ValueError every time (exceptions are not cached)."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
