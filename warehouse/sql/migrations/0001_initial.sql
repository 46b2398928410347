-- 0001_initial: the dyadwatch warehouse (see DESIGN.md, "Data model").
--
-- Conventions: ids are short stable hashes (records.stable_id: sha256 hex, 16 chars);
-- times are TIMESTAMPTZ in UTC; no FOREIGN KEY constraints (DuckDB cannot update or
-- delete a referenced row), the relations are documented instead.

-- Every feed or seed that monitoring starts from.
CREATE TABLE sources (
    source_id     VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,          -- 'seed' | 'feed' | 'search'
    url           VARCHAR NOT NULL,
    outlet        VARCHAR,
    country       VARCHAR,                   -- 'PK', 'IR', 'INT', ...
    language      VARCHAR,
    enabled       BOOLEAN,
    title         VARCHAR,
    first_seen_at TIMESTAMPTZ NOT NULL,      -- load time of the first batch naming it
    updated_at    TIMESTAMPTZ NOT NULL       -- load time of the latest batch naming it
);

-- What we remember about a feed between runs (conditional GET, back-off).
CREATE TABLE feed_state (
    source_id            VARCHAR PRIMARY KEY, -- -> sources.source_id
    etag                 VARCHAR,
    last_modified        VARCHAR,
    last_status          INTEGER,
    last_success_at      TIMESTAMPTZ,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_due_at          TIMESTAMPTZ,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- One row per HTTP attempt or parse. id = '<batch_id>:<row number in the batch>'.
CREATE TABLE fetch_log (
    id            VARCHAR PRIMARY KEY,
    batch_id      VARCHAR NOT NULL,          -- -> loaded_batches.batch_id
    row_no        INTEGER NOT NULL,
    url           VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,          -- 'feed' | 'page' | 'seed'
    ok            BOOLEAN NOT NULL,
    source_id     VARCHAR,
    status        INTEGER,
    bytes         BIGINT,
    ms            BIGINT,
    error_class   VARCHAR,
    error_message VARCHAR,
    attempted_at  TIMESTAMPTZ,
    UNIQUE (batch_id, row_no)
);

-- Extracted articles, keyed by stable_id(canonical url).
CREATE TABLE articles (
    article_id        VARCHAR PRIMARY KEY,
    url               VARCHAR NOT NULL UNIQUE,
    source_id         VARCHAR,
    outlet            VARCHAR,
    title             VARCHAR,
    author            VARCHAR,
    published_at      TIMESTAMPTZ,
    fetched_at        TIMESTAMPTZ NOT NULL,
    language          VARCHAR,
    text              VARCHAR NOT NULL,
    text_hash         VARCHAR NOT NULL,       -- same hash = syndicated copy (v_story_clusters)
    word_count        INTEGER NOT NULL,
    extractor_version VARCHAR NOT NULL,
    site_name         VARCHAR,
    outlet_country    VARCHAR,
    relevant          BOOLEAN,
    relevance         DOUBLE,
    tone_score        DOUBLE,
    tone              VARCHAR,                -- 'cooperation' | 'conflict' | 'mixed' | 'neutral'
    tagger_version    VARCHAR,
    batch_id          VARCHAR NOT NULL,       -- the batch that first brought it
    loaded_at         TIMESTAMPTZ NOT NULL
);

-- Tagged signals; signal_id = stable_id(article_id|category|start|tagger_version).
CREATE TABLE signals (
    signal_id      VARCHAR PRIMARY KEY,
    article_id     VARCHAR NOT NULL,          -- -> articles.article_id
    category       VARCHAR NOT NULL,
    score          DOUBLE NOT NULL,
    tone_score     DOUBLE NOT NULL,           -- -10 (conflict) .. +10 (cooperation)
    evidence       VARCHAR NOT NULL,          -- the sentence
    start          INTEGER NOT NULL,          -- char offsets of the sentence in articles.text
    "end"          INTEGER NOT NULL,
    cue            VARCHAR NOT NULL,
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL
);

-- Actors and places found in articles; mention_id = stable_id(article_id|entity_id|start|tagger_version).
CREATE TABLE mentions (
    mention_id     VARCHAR PRIMARY KEY,
    article_id     VARCHAR NOT NULL,          -- -> articles.article_id
    entity_id      VARCHAR NOT NULL,          -- -> entities.entity_id
    kind           VARCHAR NOT NULL,          -- 'actor' | 'place'
    name           VARCHAR NOT NULL,
    country        VARCHAR,
    surface        VARCHAR NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL
);

-- The gazetteer (watch file) as a table; filled by warehouse.load.upsert_entities.
CREATE TABLE entities (
    entity_id  VARCHAR PRIMARY KEY,
    kind       VARCHAR NOT NULL,              -- 'actor' | 'place'
    name       VARCHAR NOT NULL,
    country    VARCHAR,
    type       VARCHAR,                       -- e.g. 'person', 'organisation', 'province', 'crossing'
    lat        DOUBLE,
    lon        DOUBLE,
    aliases    VARCHAR[],
    updated_at TIMESTAMPTZ NOT NULL
);

-- One alert per (rule, article), recorded before it is sent.
CREATE TABLE alerts (
    alert_id           VARCHAR PRIMARY KEY,   -- stable_id(rule_id|article_id)
    rule_id            VARCHAR NOT NULL,
    article_id         VARCHAR NOT NULL,      -- -> articles.article_id
    rule_description   VARCHAR,
    matched_categories VARCHAR[],
    channel            VARCHAR,               -- 'file:alerts.jsonl' or 'apprise:json,...' (no secrets)
    fired_at           TIMESTAMPTZ NOT NULL,
    status             VARCHAR NOT NULL DEFAULT 'pending',  -- 'pending' | 'delivered' | 'failed'
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         VARCHAR,
    delivered_at       TIMESTAMPTZ,
    message            VARCHAR,               -- title, blank line, body (as sent)
    UNIQUE (rule_id, article_id)
);

-- Which channel already has which alert, so a retry after a partial failure sends
-- only to the channels that missed it. channel_id = stable_id(full channel URL).
CREATE TABLE alert_deliveries (
    alert_id     VARCHAR NOT NULL,            -- -> alerts.alert_id
    channel_id   VARCHAR NOT NULL,
    channel      VARCHAR NOT NULL,            -- secret-free label
    delivered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (alert_id, channel_id)
);

-- What each run did (one row per loaded batch; a run stages one batch).
CREATE TABLE runs (
    batch_id        VARCHAR PRIMARY KEY,      -- -> loaded_batches.batch_id
    run_key         VARCHAR NOT NULL,
    run_id          VARCHAR,
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    staged_at       TIMESTAMPTZ,
    loaded_at       TIMESTAMPTZ NOT NULL,
    sources_read    INTEGER,
    entries_seen    INTEGER,
    fetch_attempts  INTEGER NOT NULL,
    fetch_failures  INTEGER NOT NULL,
    articles_staged INTEGER NOT NULL,
    articles_new    INTEGER NOT NULL,
    articles_seen   INTEGER NOT NULL,
    signals         INTEGER NOT NULL,
    mentions        INTEGER NOT NULL,
    meta            JSON                      -- the batch manifest's meta, whole
);

-- Which staged batches are in; alerts_evaluated_at NULL = rules not yet run on it.
CREATE TABLE loaded_batches (
    batch_id            VARCHAR PRIMARY KEY,
    run_key             VARCHAR NOT NULL,
    created_at          TIMESTAMPTZ,
    loaded_at           TIMESTAMPTZ NOT NULL,
    n_sources           INTEGER NOT NULL,
    n_feed_state        INTEGER NOT NULL,
    n_fetch_log         INTEGER NOT NULL,
    n_fetch_failures    INTEGER NOT NULL,
    n_articles_new      INTEGER NOT NULL,
    n_articles_seen     INTEGER NOT NULL,
    n_signals           INTEGER NOT NULL,
    n_mentions          INTEGER NOT NULL,
    alerts_evaluated_at TIMESTAMPTZ
);
