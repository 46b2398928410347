"""Story ids at load time: syndicated copies across outlets share one ``story_id``.

The load is the one place that sees the whole warehouse, so it assigns them, inside the
batch's transaction, before the new articles are inserted:

1. the batch's new articles (the same choice ``INSERT_NEW_ARTICLES`` makes) get a
   MinHash of their text (``extractors.stories``);
2. their LSH band keys are looked up in ``article_lsh_bands``: every stored article
   sharing a band is a candidate, and the most similar candidate at or above the
   threshold gives its ``story_id``; none — the article starts its own story (its
   ``story_id`` is its ``article_id``);
3. its signature and band keys are stored (``article_minhash``, ``article_lsh_bands``)
   at once, so a later copy in the same batch finds it too.

Signatures are kept rather than recomputed: a look-up touches only the candidates'
rows, never every stored text.  Articles too short to compare (under
``extractors.stories.MIN_WORDS`` words) are their own story and are not indexed.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from extractors import stories

# The staged articles the load will insert: first row per id, then per url, not stored.
SELECT_NEW_STAGED_ARTICLES = """
WITH first_by_id AS (
    SELECT * FROM stage_articles
    QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY row_no) = 1
),
first_by_url AS (
    SELECT * FROM first_by_id
    QUALIFY row_number() OVER (PARTITION BY url ORDER BY row_no) = 1
)
SELECT article_id, text
FROM first_by_url AS s
WHERE NOT EXISTS (
    SELECT 1 FROM articles AS a WHERE a.article_id = s.article_id OR a.url = s.url
)
ORDER BY row_no
"""

SELECT_CANDIDATES = """
SELECT DISTINCT m.article_id, m.story_id, m.signature
FROM article_lsh_bands AS b
JOIN article_minhash AS m USING (article_id)
WHERE b.band_key IN (SELECT unnest(CAST(? AS VARCHAR[])))
  AND m.num_perm = ? AND m.shingle_words = ?
"""

INSERT_MINHASH = """
INSERT INTO article_minhash
    (article_id, story_id, num_perm, shingle_words, signature, computed_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""

INSERT_BANDS = """
INSERT INTO article_lsh_bands (band_key, article_id)
SELECT unnest(CAST(? AS VARCHAR[])), ?
ON CONFLICT DO NOTHING
"""

STORY_IDS_SCHEMA = pa.schema([("article_id", pa.string()), ("story_id", pa.string())])


def story_for(con: duckdb.DuckDBPyConnection, article_id: str, text: str, now: datetime) -> str:
    """The story of one new article (indexing it for the articles after it)."""
    if not stories.is_comparable(text):
        return article_id
    signature = stories.minhash(text)
    keys = stories.band_keys(signature)
    best: tuple[float, str] | None = None
    for _, story_id, blob in con.execute(
        SELECT_CANDIDATES, [keys, stories.NUM_PERM, stories.SHINGLE_WORDS]
    ).fetchall():
        score = stories.similarity(signature, stories.from_bytes(bytes(blob)))
        if score >= stories.SIMILARITY_THRESHOLD and (best is None or score > best[0]):
            best = (score, story_id)
    story_id = best[1] if best else article_id
    con.execute(
        INSERT_MINHASH,
        [
            article_id,
            story_id,
            stories.NUM_PERM,
            stories.SHINGLE_WORDS,
            stories.signature_bytes(signature),
            now,
        ],
    )
    con.execute(INSERT_BANDS, [keys, article_id])
    return story_id


def assign_stories(con: duckdb.DuckDBPyConnection, now: datetime) -> pa.Table:
    """Story ids of the new articles in ``stage_articles`` (article_id, story_id)."""
    rows = con.execute(SELECT_NEW_STAGED_ARTICLES).fetchall()
    pairs = [(article_id, story_for(con, article_id, text or "", now)) for article_id, text in rows]
    return pa.table(
        {"article_id": [a for a, _ in pairs], "story_id": [s for _, s in pairs]},
        schema=STORY_IDS_SCHEMA,
    )
