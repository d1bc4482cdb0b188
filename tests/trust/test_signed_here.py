"""A signature this process just made is not checked again by its own fold; anything else is."""

from __future__ import annotations

from polytraders.journal import signatures
from polytraders.journal.signatures import Signer, verify


def test_own_fresh_signatures_pass_and_everything_else_is_verified_in_full() -> None:
    signer, other = Signer.derive("here", 1), Signer.derive("here", 2)
    data = b"an entry's signing bytes"
    calls: list[tuple[str, bytes, str]] = []
    real = signatures._verify

    def counted(public_hex: str, message: bytes, signature_hex: str) -> bool:
        calls.append((public_hex, message, signature_hex))
        return real(public_hex, message, signature_hex)

    signatures._verify = counted  # type: ignore[assignment]
    try:
        sig = signer.sign(data)
        assert verify(signer.public_hex, data, sig) and calls == []  # valid by construction
        flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
        assert not verify(signer.public_hex, data, flipped)  # a changed signature: checked, refused
        assert not verify(signer.public_hex, data + b"!", sig)  # changed content: checked, refused
        assert not verify(other.public_hex, data, sig)  # another key claimed: checked, refused
        assert len(calls) == 3
        # a Signer whose public key was relabelled vouches only for the key it holds
        liar = Signer.generate()
        liar.public_hex = other.public_hex
        forged = liar.sign(b"forged")
        assert not verify(other.public_hex, b"forged", forged) and len(calls) == 4
        # only the newest few are remembered; older ones are verified again (and still pass)
        for i in range(signatures._SIGNED_HERE_KEPT):
            other.sign(b"filler %d" % i)
        assert verify(signer.public_hex, data, sig) and len(calls) == 5
    finally:
        signatures._verify = real  # type: ignore[assignment]
