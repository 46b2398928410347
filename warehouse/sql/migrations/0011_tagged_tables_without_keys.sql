-- 0011_tagged_tables_without_keys: signals, mentions, quotes and amounts lose their
-- PRIMARY KEY constraints (the ids stay, as plain columns).
--
-- DuckDB keeps a primary key as an ART index that every insert updates and every
-- checkpoint writes; for these four tables, the bulk of each load, it made the batch's
-- insert and commit four times slower (41,606 signals and 112,000 mentions of the
-- 2,000-article benchmark: 0.54 s with the keys, 0.13 s without).  Nothing needs the
-- index: rows are written only by the load, for articles that are new in the same
-- transaction, and by the re-tag, after deleting the article's rows in the same
-- transaction; both keep one row per id of the rows they insert (QUALIFY on the id),
-- which is what ON CONFLICT DO NOTHING did.  tests/unit/test_warehouse_load.py checks
-- that reruns, retries and in-batch duplicates leave one row per id.
--
-- DuckDB cannot drop a primary key in place, so each table is rebuilt with the same
-- columns in the same order (migration 0007's direction and quad_class included) and
-- its rows copied.

CREATE TABLE signals_without_key (
    signal_id      VARCHAR NOT NULL,
    article_id     VARCHAR NOT NULL,
    category       VARCHAR NOT NULL,
    score          DOUBLE NOT NULL,
    tone_score     DOUBLE NOT NULL,
    evidence       VARCHAR NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    cue            VARCHAR NOT NULL,
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL,
    direction      VARCHAR DEFAULT 'undirected',
    quad_class     VARCHAR
);
INSERT INTO signals_without_key
SELECT signal_id, article_id, category, score, tone_score, evidence, start, "end", cue,
       tagger_version, batch_id, direction, quad_class
FROM signals;
DROP TABLE signals;
ALTER TABLE signals_without_key RENAME TO signals;

CREATE TABLE mentions_without_key (
    mention_id     VARCHAR NOT NULL,
    article_id     VARCHAR NOT NULL,
    entity_id      VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    country        VARCHAR,
    surface        VARCHAR NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL
);
INSERT INTO mentions_without_key
SELECT mention_id, article_id, entity_id, kind, name, country, surface, start, "end",
       tagger_version, batch_id
FROM mentions;
DROP TABLE mentions;
ALTER TABLE mentions_without_key RENAME TO mentions;

CREATE TABLE quotes_without_key (
    quote_id       VARCHAR NOT NULL,
    article_id     VARCHAR NOT NULL,
    speaker        VARCHAR NOT NULL,
    text           VARCHAR NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL
);
INSERT INTO quotes_without_key
SELECT quote_id, article_id, speaker, text, start, "end", tagger_version, batch_id
FROM quotes;
DROP TABLE quotes;
ALTER TABLE quotes_without_key RENAME TO quotes;

CREATE TABLE amounts_without_key (
    amount_id      VARCHAR NOT NULL,
    article_id     VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    value          DOUBLE NOT NULL,
    unit           VARCHAR NOT NULL,
    text           VARCHAR NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    target_year    INTEGER,
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL
);
INSERT INTO amounts_without_key
SELECT amount_id, article_id, kind, value, unit, text, start, "end", target_year,
       tagger_version, batch_id
FROM amounts;
DROP TABLE amounts;
ALTER TABLE amounts_without_key RENAME TO amounts;
