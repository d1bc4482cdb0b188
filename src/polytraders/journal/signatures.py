"""Ed25519 signatures over journal entries: who wrote an entry, bound to where it sits.

A signature covers the entry's envelope (without the signature itself) together with the journal
id, the entry's seq and the previous entry's hash. Binding the position means a signed command
copied to another seq, or into another journal, no longer verifies: there is no replay to guard
against with nonces. Operators sign their commands with their own key; the running system signs
its session starts and its digests with the system key named in the genesis entry.

Keys are raw 32-byte Ed25519 keys, shown as 64 hex characters. Verification results are cached
by (key, message) so an entry is checked once however many projections look at it.

The Ed25519 is libsodium's, through PyNaCl: it verifies in about two thirds of the time OpenSSL
took (an operator's trip is verified inside the trip window) and imports in less than half
(every CLI command loads this module). Signing is deterministic (RFC 8032), so a key signs
exactly the bytes it signed before and every journal written earlier verifies unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from polytraders.journal.base import canonical_bytes

SIGNATURE_VERSION = "polytraders-entry-sig/1"


def signing_bytes(journal_id: str, seq: int, prev_hash: str, envelope: dict[str, Any]) -> bytes:
    """The exact bytes a signature covers (the envelope must not hold its own signature)."""
    return canonical_bytes({"v": SIGNATURE_VERSION, "journal_id": journal_id, "seq": seq,
                            "prev_hash": prev_hash, "envelope": envelope})


class Signer:
    """A private Ed25519 key. `repr` never shows the key."""

    __slots__ = ("_key", "_public", "public_hex")

    def __init__(self, key: SigningKey) -> None:
        self._key = key
        self.public_hex = self._public = key.verify_key.encode().hex()

    @classmethod
    def generate(cls) -> Signer:
        return cls(SigningKey.generate())

    @classmethod
    def from_hex(cls, private_hex: str) -> Signer:
        raw = bytes.fromhex(private_hex.strip())
        if len(raw) != 32:
            raise ValueError("an Ed25519 private key is 32 bytes (64 hex characters)")
        return cls(SigningKey(raw))

    @classmethod
    def derive(cls, *parts: object) -> Signer:
        """A reproducible key from public parts: for simulations only, never for live journals."""
        material = hashlib.sha256(":".join(["polytraders-sim-key/1", *map(str, parts)]).encode()).digest()
        return cls(SigningKey(material))

    def private_hex(self) -> str:
        return bytes(self._key).hex()

    def sign(self, data: bytes) -> str:
        signature = self._key.sign(data).signature.hex()
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
        _public_key(public_hex).verify(data, bytes.fromhex(signature_hex))
        return True
    except (CryptoError, ValueError, TypeError):  # a bad signature, or a key or signature of the wrong shape
        return False


@lru_cache(maxsize=256)
def _public_key(public_hex: str) -> VerifyKey:
    """The key object of a signer's public key, made once (a journal has a handful of signers).
    A malformed key raises every time (exceptions are not cached)."""
    return VerifyKey(bytes.fromhex(public_hex))
