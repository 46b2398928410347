"""Near-duplicate detection: MinHash over word shingles, banded for LSH look-up.

Syndicated copies of one wire story differ in boilerplate (a byline, "Reporting by",
a related-links line) and small edits, so exact text hashes miss them.  Here an
article's text becomes the set of its 5-word shingles (lower-cased words, punctuation
dropped, any script); a 128-permutation MinHash estimates the Jaccard similarity of two
such sets; and the signature is cut into bands so that candidate copies are found by
equal band hashes (a database look-up) instead of comparing with every stored article.
Two articles whose estimated similarity reaches ``SIMILARITY_THRESHOLD`` are copies of
one story.

The signature is datasketch 2's ``MinHash(num_perm=128, seed=1, scheme='affine32')``
computed in numpy directly (the same values; ``tests/unit/test_stories.py`` checks it
against datasketch): each shingle's SHA-1 gives a 32-bit value, which is mixed with the
MurmurHash3 finalizer and put through 128 affine permutations ``a * h + b mod 2**32``;
the signature is each permutation's minimum.  Doing it here, all shingles at once,
takes a fifth of datasketch's time per article and does not import datasketch (and
through it scipy, a second of start-up in every extraction process).

This module is pure (no database); ``warehouse/stories.py`` assigns story ids at load.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache

import numpy as np

NUM_PERM = 128
SHINGLE_WORDS = 5
SEED = 1
SCHEME = "affine32"  # datasketch 2's default; stored signatures depend on it
SIMILARITY_THRESHOLD = 0.5
# bands x rows chosen by datasketch to balance false positives and negatives at 0.5:
# datasketch.lsh._optimal_param(0.5, 128, 0.5, 0.5), pinned here (tests/unit/test_stories.py
# checks it) because importing datasketch.lsh imports scipy
BANDS, ROWS = 25, 5
MIN_WORDS = 20  # shorter texts are too thin to call copies; each is its own story
# MurmurHash3's 32-bit finalizer: shift, multiplier, shift, multiplier, shift
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
_EMPTY = np.uint32(0xFFFFFFFF)  # a permutation's value before any shingle

_WORD = re.compile(r"\w+", re.UNICODE)


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The 128 affine permutations (odd ``a``, any ``b``), drawn as datasketch draws them."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _shingles_of(tokens: list[str], k: int = SHINGLE_WORDS) -> set[str]:
    if len(tokens) <= k:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """The set of ``k``-word shingles of ``text`` (the whole text when it is shorter)."""
    return _shingles_of(words(text), k)


def _signature(shingle_set: set[str]) -> np.ndarray:
    if not shingle_set:
        return np.full(NUM_PERM, _EMPTY, dtype=np.uint32)
    sha1 = hashlib.sha1
    # the first 4 bytes of each SHA-1, little-endian: datasketch's sha1_hash32
    digests = b"".join([sha1(s.encode("utf-8")).digest()[:4] for s in shingle_set])
    hv = np.frombuffer(digests, dtype="<u4").astype(np.uint32)
    s1, m1, s2, m2, s3 = _FMIX32
    hv ^= hv >> np.uint32(s1)
    hv *= np.uint32(m1)
    hv ^= hv >> np.uint32(s2)
    hv *= np.uint32(m2)
    hv ^= hv >> np.uint32(s3)
    a, b = _permutations()
    permuted = np.multiply.outer(hv, a)  # (shingles, 128); uint32 wraps: mod 2**32
    permuted += b  # in place: five times faster than ``hv[:, None] * a + b``
    return permuted.min(axis=0)


def minhash(text: str) -> np.ndarray:
    """The MinHash signature of ``text``'s shingles (128 values)."""
    return _signature(shingles(text))


def signature_if_comparable(text: str) -> np.ndarray | None:
    """``minhash(text)`` when the text is long enough to compare (``is_comparable``),
    else None; the text is split into words once for both."""
    tokens = words(text)
    return _signature(_shingles_of(tokens)) if len(tokens) >= MIN_WORDS else None


def _values(m: np.ndarray) -> np.ndarray:
    """A signature's values as stored (little-endian 64-bit)."""
    return np.asarray(m, dtype="<u8")


def signature_bytes(m: np.ndarray) -> bytes:
    return _values(m).tobytes()


def signature_values(data: bytes) -> np.ndarray:
    """A stored signature's values (what ``similarity`` and ``band_keys`` take), no
    datasketch needed; ``ValueError`` when ``data`` is no signature of this configuration."""
    if len(data) != 8 * NUM_PERM:
        raise ValueError(f"a signature of {len(data)} bytes, not {8 * NUM_PERM}")
    return np.frombuffer(data, dtype="<u8")


def to_hex(m: np.ndarray) -> str:
    """The signature as text (for the record types, which carry no bytes)."""
    return signature_bytes(m).hex()


def from_hex(text: str) -> np.ndarray:
    """The values of a signature written by ``to_hex``; ``ValueError`` when it is not one."""
    return signature_values(bytes.fromhex(text))


def band_keys(m: np.ndarray) -> list[str]:
    """One key per band: ``'<band>:<hash of its rows>'``; equal keys mark candidates."""
    data = _values(m).tobytes()  # one copy, then slices of bytes (cheaper than of arrays)
    width = 8 * ROWS
    blake2b = hashlib.blake2b
    return [
        f"{band}:{blake2b(data[band * width : (band + 1) * width], digest_size=8).hexdigest()}"
        for band in range(BANDS)
    ]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (the share of equal
    signature values, as datasketch's ``MinHash.jaccard`` computes it)."""
    values = _values(a)
    return float(np.count_nonzero(values == _values(b))) / float(len(values))


def is_comparable(text: str) -> bool:
    """Whether a text is long enough to be matched against others."""
    return len(words(text)) >= MIN_WORDS
