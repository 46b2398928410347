-- 0013_derived_tables_without_keys: article_lsh_bands and article_category_counts lose
-- their PRIMARY KEY constraints (the columns stay), as the tagged tables did in 0011.
--
-- Both tables are derived: rows are written only by the load, for articles that are new
-- in the same transaction (their band keys, 25 distinct ones per article; their counts,
-- one row per category from the batch's deduplicated signals), and by the re-tag, after
-- deleting the article's counts in the same transaction.  Nothing reads them through the
-- index: the candidate look-up and the trend views join and aggregate (hash joins).  The
-- keys cost every batch their ART inserts and their share of the checkpoint: on the
-- 2,000-article benchmark (50,025 band keys, 17,931 counts) 60-120 ms of a 0.9 s load;
-- and at a million articles the band index alone would hold 25 million keys.
-- tests/unit/test_warehouse_load.py checks that reruns, retries and in-batch duplicates
-- leave one row per key.
--
-- DuckDB cannot drop a primary key in place, so each table is rebuilt with the same
-- columns in the same order and its rows copied.

CREATE TABLE article_lsh_bands_without_key (
    band_key   VARCHAR NOT NULL,
    article_id VARCHAR NOT NULL               -- -> articles.article_id
);
INSERT INTO article_lsh_bands_without_key
SELECT band_key, article_id FROM article_lsh_bands;
DROP TABLE article_lsh_bands;
ALTER TABLE article_lsh_bands_without_key RENAME TO article_lsh_bands;

CREATE TABLE article_category_counts_without_key (
    article_id VARCHAR NOT NULL,              -- -> articles.article_id
    category   VARCHAR NOT NULL,
    n_signals  INTEGER NOT NULL               -- signals of that category in the article
);
INSERT INTO article_category_counts_without_key
SELECT article_id, category, n_signals FROM article_category_counts;
DROP TABLE article_category_counts;
ALTER TABLE article_category_counts_without_key RENAME TO article_category_counts;
