"""The stored form of an entry body: canonical JSON, zstd-compressed with a fixed dictionary.

The hash rule does not change: an entry's hash is the SHA-256 of its canonical JSON bytes
(`journal/base.py`), never of what is stored. Only the `body` column holds a compact form:

- a zstd frame (it starts with the zstd magic `28 b5 2f fd`) made with the dictionary
  `zdict_v1.bin` and naming that dictionary's id in its header; it decompresses to the
  canonical bytes. A typical entry shrinks from about 1,250 B to about 200 B;
- or the canonical JSON itself (it starts with `{`): every journal written before this form,
  and anything an older build appends, still opens and verifies.

Reading never trusts the stored form: `canonical` returns bytes whose hash is then checked
against the stored hash, so a frame that does not decompress, or decompresses to anything
else, is damage at that seq like any flipped byte. A frame that claims more than
`MAX_BODY_BYTES` is refused before anything is allocated.

The dictionary was trained once (zstandard's `train_dictionary`, 16 KiB, level 3) on entry
bodies of two calm simulation journals, and is part of the format: it is never retrained or
edited, since stored frames need the exact bytes to decompress. A better dictionary would be
a `zdict_v2.bin` with its own id, added beside this one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from importlib import resources

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# level 1, not 3: on demo bodies its frames are about 3 % larger (166 B against 162 B on
# average) and it costs about 8 % less per append (benchmarks/bench_journal.py). Any level
# decompresses with the same dictionary, so this is no format change.
LEVEL = 1
MAX_BODY_BYTES = 256 * 1024 * 1024
_DICT_V1_SHA256 = "d22b9b3f58522bd2d696fc0c19199306915c5868acf4a38e2a74ef1d4e5d69c3"


class StoredFormError(ValueError):
    """A stored body that is not a readable compact form."""


@cache
def _dictionary() -> zstandard.ZstdCompressionDict:
    raw = resources.files("polytraders.journal").joinpath("zdict_v1.bin").read_bytes()
    if hashlib.sha256(raw).hexdigest() != _DICT_V1_SHA256:
        raise RuntimeError("polytraders/journal/zdict_v1.bin is not the dictionary journals were written with; "
                           "reinstall polytraders")
    return zstandard.ZstdCompressionDict(raw)


@cache
def _compressor() -> zstandard.ZstdCompressor:
    return zstandard.ZstdCompressor(level=LEVEL, dict_data=_dictionary(), write_checksum=False,
                                    write_content_size=True, write_dict_id=True)


@cache
def _decompressor() -> zstandard.ZstdDecompressor:
    return zstandard.ZstdDecompressor(dict_data=_dictionary())


def stored(canonical_bytes: bytes) -> bytes:
    """The form written to the `body` column."""
    return _compressor().compress(canonical_bytes)


def compressor() -> Callable[[bytes], bytes]:
    """`stored` as one bound method, for a loop over many bodies."""
    compress: Callable[[bytes], bytes] = _compressor().compress
    return compress


def decompressor() -> Callable[..., bytes]:
    """The dictionary's bound `decompress` (it takes `max_output_size=`), for a scan that checks
    each frame's claimed size itself (as `canonical` does) before calling it."""
    decompress: Callable[..., bytes] = _decompressor().decompress
    return decompress


def canonical(stored_bytes: bytes) -> bytes:
    """The canonical bytes a stored body holds. Raises `StoredFormError` for a zstd frame that
    does not decompress (callers report that as damage at the row's seq)."""
    if stored_bytes[:4] != ZSTD_MAGIC:
        return stored_bytes
    try:
        size = zstandard.frame_content_size(stored_bytes)
        if size < 0 or size > MAX_BODY_BYTES:
            raise StoredFormError("a compressed body without a plausible size")
        out = _decompressor().decompress(stored_bytes, max_output_size=size)
    except zstandard.ZstdError as exc:
        raise StoredFormError(f"a compressed body that does not decompress ({exc})") from None
    if len(out) != size:
        raise StoredFormError("a compressed body shorter than it claims")
    return out


def canonical_or_stored(stored_bytes: bytes) -> bytes:
    """`canonical`, or the stored bytes unchanged when they do not decompress: their hash then
    cannot match the stored hash, so `verify` names the row as damaged. The same steps as
    `canonical`, without raising on the way (replay and `verify` call this for every row)."""
    if stored_bytes[:4] != ZSTD_MAGIC:
        return stored_bytes
    try:
        size = zstandard.frame_content_size(stored_bytes)
        if not 0 <= size <= MAX_BODY_BYTES:
            return stored_bytes
        out = _decompressor().decompress(stored_bytes, max_output_size=size)
    except zstandard.ZstdError:
        return stored_bytes
    return out if len(out) == size else stored_bytes
