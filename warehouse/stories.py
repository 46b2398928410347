"""Story ids at load time: syndicated copies across outlets share one ``story_id``.

The load is the one place that sees the whole warehouse, so it assigns them, inside the
batch's transaction, before the new articles are inserted:

1. the batch's new articles (the load's choice, kept in ``batch_new_articles``) get a
   MinHash of their text (``extractors.stories``);
2. their LSH band keys are looked up in ``article_lsh_bands``: every stored article
   sharing a band is a candidate, and the most similar candidate at or above the
   threshold gives its ``story_id``; none — the article starts its own story (its
   ``story_id`` is its ``article_id``);
3. its signature and band keys are stored (``article_minhash``, ``article_lsh_bands``)
   at once, so a later copy in the same batch finds it too.

Signatures are kept rather than recomputed: a look-up touches only the candidates'
rows, never every stored text.  The whole batch is looked up in one query (its band
keys joined with ``article_lsh_bands``) and indexed with two bulk inserts; copies within
the batch are found in memory, in the batch's order.  A staged article may carry its
signature already (``Article.minhash``, computed in the parallel extraction step);
otherwise it is computed here.  Articles too short to compare (under
``extractors.stories.MIN_WORDS`` words) are their own story and are not indexed.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from extractors import stories

# The batch's new articles, as the load chose them (its temporary table
# batch_new_articles), with the signature computed upstream; the text only where there is
# none.  (stage_articles has every column of the Article record: minhash is NULL in a
# batch staged before the extraction step computed it.)
SELECT_NEW_STAGED_ARTICLES = """
SELECT article_id, CASE WHEN minhash IS NULL THEN text END AS text, minhash
FROM stage_articles
SEMI JOIN batch_new_articles USING (row_no, article_id)
ORDER BY row_no
"""

STORY_IDS_SCHEMA = pa.schema([("article_id", pa.string()), ("story_id", pa.string())])
NEW_MINHASH_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("story_id", pa.string()), ("signature", pa.binary())]
)

# The batch's band keys (registered as new_band_keys) against the stored ones.
SELECT_STORED_CANDIDATES = """
SELECT DISTINCT k.article_id AS new_id, m.article_id, m.story_id, m.signature
FROM new_band_keys AS k
JOIN article_lsh_bands AS b ON b.band_key = k.band_key
JOIN article_minhash AS m ON m.article_id = b.article_id
WHERE m.num_perm = ? AND m.shingle_words = ?
"""

INSERT_MINHASH_BATCH = """
INSERT INTO article_minhash
    (article_id, story_id, num_perm, shingle_words, signature, computed_at)
SELECT article_id, story_id, ?, ?, signature, ? FROM new_minhash
ON CONFLICT DO NOTHING
"""

# the articles are new in this transaction, each with distinct band keys: no row can be
# there already (the table has no key since migration 0013)
INSERT_BANDS_BATCH = """
INSERT INTO article_lsh_bands (band_key, article_id)
SELECT band_key, article_id FROM new_band_keys
"""


def _signature(text: str, stored: str | None) -> np.ndarray | None:
    """An article's signature: the one computed upstream (only ever for a comparable
    text), else one computed here; None for a text too short to compare (or a stored
    signature of another configuration whose text the select left out)."""
    if stored:
        try:
            return stories.from_hex(stored)
        except ValueError:
            pass  # not a signature of this configuration: compute it
    return stories.signature_if_comparable(text)


def assign_stories(con: duckdb.DuckDBPyConnection, now: datetime) -> pa.Table:
    """Story ids of the new articles in ``stage_articles`` (article_id, story_id), each
    new comparable article indexed for later ones (see the module docstring)."""
    new: list[tuple[str, np.ndarray | None, list[str]]] = []
    for article_id, text, stored in con.execute(SELECT_NEW_STAGED_ARTICLES).fetchall():
        signature = _signature(text or "", stored)
        bands = stories.band_keys(signature) if signature is not None else []
        new.append((article_id, signature, bands))

    keys = pa.table(
        {
            "band_key": [k for _, _, ks in new for k in ks],
            "article_id": [a for a, _, ks in new for _ in ks],
        }
    )
    con.register("new_band_keys", keys)
    try:
        found: dict[str, list[tuple[str, bytes]]] = {}
        for new_id, _, story_id, blob in con.execute(
            SELECT_STORED_CANDIDATES, [stories.NUM_PERM, stories.SHINGLE_WORDS]
        ).fetchall():
            found.setdefault(new_id, []).append((story_id, bytes(blob)))

        in_batch: dict[str, list[tuple[str, np.ndarray]]] = {}  # band key -> earlier articles
        pairs: list[tuple[str, str]] = []
        indexed: dict[str, list] = {"article_id": [], "story_id": [], "signature": []}
        for article_id, signature, band_keys in new:
            if signature is None:
                pairs.append((article_id, article_id))
                continue
            candidates = [(s, stories.signature_values(b)) for s, b in found.get(article_id, [])]
            seen = set()
            for key in band_keys:
                for story_id, other in in_batch.get(key, []):
                    if id(other) not in seen:
                        seen.add(id(other))
                        candidates.append((story_id, other))
            best: tuple[float, str] | None = None
            for story_id, other in candidates:
                score = stories.similarity(signature, other)
                if score >= stories.SIMILARITY_THRESHOLD and (best is None or score > best[0]):
                    best = (score, story_id)
            story_id = best[1] if best else article_id
            pairs.append((article_id, story_id))
            for key in band_keys:
                in_batch.setdefault(key, []).append((story_id, signature))
            indexed["article_id"].append(article_id)
            indexed["story_id"].append(story_id)
            indexed["signature"].append(stories.signature_bytes(signature))

        con.register("new_minhash", pa.table(indexed, schema=NEW_MINHASH_SCHEMA))
        try:
            con.execute(INSERT_MINHASH_BATCH, [stories.NUM_PERM, stories.SHINGLE_WORDS, now])
            con.execute(INSERT_BANDS_BATCH)
        finally:
            con.unregister("new_minhash")
    finally:
        con.unregister("new_band_keys")
    return pa.table(
        {"article_id": [a for a, _ in pairs], "story_id": [s for _, s in pairs]},
        schema=STORY_IDS_SCHEMA,
    )
