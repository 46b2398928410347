-- 0004_quotes_and_amounts: what the tagger finds besides signals and mentions.
--
-- quotes:  quotations with their speaker ('"...," Hussain said'), offsets of the quoted
--          words in articles.text; quote_id = stable_id(article_id|start|tagger_version).
-- amounts: money, power, volumes ("$5 billion", "Rs 2.5bn", "100MW") with an optional
--          target year ("by 2028"); amount_id = stable_id(article_id|start|tagger_version).
--
-- Both are written by the load for new articles (warehouse/load.py) and replaced, with
-- signals and mentions, when an article is re-tagged (warehouse/retag.py).
CREATE TABLE IF NOT EXISTS quotes (
    quote_id       VARCHAR PRIMARY KEY,
    article_id     VARCHAR NOT NULL,          -- -> articles.article_id
    speaker        VARCHAR NOT NULL,          -- as written: "Hussain", "a Foreign Office spokeswoman"
    text           VARCHAR NOT NULL,          -- the quoted words, without quotation marks
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL           -- the batch that brought the article
);

CREATE TABLE IF NOT EXISTS amounts (
    amount_id      VARCHAR PRIMARY KEY,
    article_id     VARCHAR NOT NULL,          -- -> articles.article_id
    kind           VARCHAR NOT NULL,          -- 'money' | 'power' | 'volume' | 'weight' | 'count'
    value          DOUBLE NOT NULL,           -- in unit, multipliers applied ($5 billion -> 5e9)
    unit           VARCHAR NOT NULL,          -- 'USD', 'PKR', 'IRR', 'MW', 'tonne', ...
    text           VARCHAR NOT NULL,          -- as written
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    target_year    INTEGER,                   -- "by 2028"
    tagger_version VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL
);
