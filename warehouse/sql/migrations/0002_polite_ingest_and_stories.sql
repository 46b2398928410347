-- 0002_polite_ingest_and_stories: feeds that are switched off, and stories.
--
-- feed_state: a feed answering 410 Gone, or failing feed_disable_after times in a row,
-- is disabled with the reason; it stays disabled until an operator clears the reason
-- (or changes the feed's URL).  next_due_at (0001) holds its back-off.
ALTER TABLE feed_state ADD COLUMN IF NOT EXISTS disabled_reason VARCHAR;
ALTER TABLE feed_state ADD COLUMN IF NOT EXISTS disabled_at TIMESTAMPTZ;

-- articles.story_id: syndicated copies of one story across outlets share it.  It is
-- the article_id of the story's first stored copy, assigned at load time by MinHash
-- over word shingles (extractors/stories.py; warehouse/stories.py).  NULL on articles
-- loaded before this migration: each of those is its own story.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS story_id VARCHAR;

-- One MinHash signature per stored article (num_perm unsigned 64-bit values, little
-- endian), kept so later copies can be compared against it without re-reading texts.
CREATE TABLE IF NOT EXISTS article_minhash (
    article_id    VARCHAR PRIMARY KEY,        -- -> articles.article_id
    story_id      VARCHAR NOT NULL,
    num_perm      INTEGER NOT NULL,
    shingle_words INTEGER NOT NULL,
    signature     BLOB NOT NULL,
    computed_at   TIMESTAMPTZ NOT NULL
);

-- LSH bands of the signatures: two articles sharing any band_key are candidates
-- (band_key = '<band number>:<hash of the band's values>').
CREATE TABLE IF NOT EXISTS article_lsh_bands (
    band_key   VARCHAR NOT NULL,
    article_id VARCHAR NOT NULL,              -- -> articles.article_id
    PRIMARY KEY (band_key, article_id)
);
