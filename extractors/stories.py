"""Near-duplicate detection: MinHash over word shingles, banded for LSH look-up.

Syndicated copies of one wire story differ in boilerplate (a byline, "Reporting by",
a related-links line) and small edits, so exact text hashes miss them.  Here an
article's text becomes the set of its 5-word shingles (lower-cased words, punctuation
dropped, any script); a 128-permutation MinHash (datasketch) estimates the Jaccard
similarity of two such sets; and the signature is cut into bands so that candidate
copies are found by equal band hashes (a database look-up) instead of comparing with
every stored article.  Two articles whose estimated similarity reaches
``SIMILARITY_THRESHOLD`` are copies of one story.

This module is pure (no database); ``warehouse/stories.py`` assigns story ids at load.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM = 128
SHINGLE_WORDS = 5
SEED = 1
SCHEME = "affine32"  # datasketch 2 default; stored signatures depend on it
SIMILARITY_THRESHOLD = 0.5
# bands x rows chosen by datasketch to balance false positives and negatives at 0.5:
# datasketch.lsh._optimal_param(0.5, 128, 0.5, 0.5), pinned here (tests/unit/test_stories.py
# checks it) because importing datasketch.lsh imports scipy, a second of start-up that
# the load step need not pay: datasketch is imported only to compute a signature
BANDS, ROWS = 25, 5
MIN_WORDS = 20  # shorter texts are too thin to call copies; each is its own story

_WORD = re.compile(r"\w+", re.UNICODE)


@cache
def _template() -> MinHash:
    """One MinHash's permutations, built once (they depend only on NUM_PERM and SEED)."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """The set of ``k``-word shingles of ``text`` (the whole text when it is shorter)."""
    tokens = words(text)
    if len(tokens) <= k:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


def minhash(text: str) -> MinHash:
    """The MinHash of ``text``'s shingles."""
    from datasketch import MinHash

    template = _template()
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=template.permutations)
    m.update_batch([s.encode("utf-8") for s in shingles(text)])
    return m


def _values(m: Any) -> np.ndarray:
    """A signature's values, from a MinHash or an array of them."""
    return np.asarray(getattr(m, "hashvalues", m), dtype="<u8")


def signature_bytes(m: MinHash | np.ndarray) -> bytes:
    return _values(m).tobytes()


def signature_values(data: bytes) -> np.ndarray:
    """A stored signature's values (what ``similarity`` and ``band_keys`` take), no
    datasketch needed; ``ValueError`` when ``data`` is no signature of this configuration."""
    if len(data) != 8 * NUM_PERM:
        raise ValueError(f"a signature of {len(data)} bytes, not {8 * NUM_PERM}")
    return np.frombuffer(data, dtype="<u8")


def from_bytes(data: bytes) -> MinHash:
    from datasketch import MinHash

    template = _template()
    return MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        scheme=SCHEME,
        hashvalues=signature_values(data).astype(template.hashvalues.dtype),
        permutations=template.permutations,
    )


def to_hex(m: MinHash) -> str:
    """The signature as text (for the record types, which carry no bytes)."""
    return signature_bytes(m).hex()


def from_hex(text: str) -> np.ndarray:
    """The values of a signature written by ``to_hex``; ``ValueError`` when it is not one."""
    return signature_values(bytes.fromhex(text))


def band_keys(m: MinHash | np.ndarray) -> list[str]:
    """One key per band: ``'<band>:<hash of its rows>'``; equal keys mark candidates."""
    values = _values(m)
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        keys.append(f"{band}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys


def similarity(a: MinHash | np.ndarray, b: MinHash | np.ndarray) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (the share of equal
    signature values, as ``MinHash.jaccard`` computes it)."""
    values = _values(a)
    return float(np.count_nonzero(values == _values(b))) / float(len(values))


def is_comparable(text: str) -> bool:
    """Whether a text is long enough to be matched against others."""
    return len(words(text)) >= MIN_WORDS
