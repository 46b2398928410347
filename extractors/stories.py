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

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

NUM_PERM = 128
SHINGLE_WORDS = 5
SEED = 1
SCHEME = "affine32"  # datasketch 2 default; stored signatures depend on it
SIMILARITY_THRESHOLD = 0.5
# bands x rows chosen by datasketch to balance false positives and negatives at 0.5
BANDS, ROWS = _optimal_param(SIMILARITY_THRESHOLD, NUM_PERM, 0.5, 0.5)
MIN_WORDS = 20  # shorter texts are too thin to call copies; each is its own story

_WORD = re.compile(r"\w+", re.UNICODE)
# One MinHash's permutations, built once (they depend only on NUM_PERM and SEED).
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


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
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_TEMPLATE.permutations)
    m.update_batch([s.encode("utf-8") for s in shingles(text)])
    return m


def signature_bytes(m: MinHash) -> bytes:
    return np.asarray(m.hashvalues, dtype="<u8").tobytes()


def from_bytes(data: bytes) -> MinHash:
    values = np.frombuffer(data, dtype="<u8").astype(_TEMPLATE.hashvalues.dtype)
    return MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        scheme=SCHEME,
        hashvalues=values,
        permutations=_TEMPLATE.permutations,
    )


def band_keys(m: MinHash) -> list[str]:
    """One key per band: ``'<band>:<hash of its rows>'``; equal keys mark candidates."""
    values = np.asarray(m.hashvalues, dtype="<u8")
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        keys.append(f"{band}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys


def similarity(a: MinHash, b: MinHash) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(a.jaccard(b))


def is_comparable(text: str) -> bool:
    """Whether a text is long enough to be matched against others."""
    return len(words(text)) >= MIN_WORDS
