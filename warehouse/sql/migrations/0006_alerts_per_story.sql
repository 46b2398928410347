-- 0006_alerts_per_story: alerts fire once per (rule, subject), where the subject is a
-- story (syndicated copies of one story share it) or a spike (category + day); later
-- articles of the same story are attached to the alert, not sent again.  Failed
-- deliveries are retried with back-off; every attempt is recorded.

-- articles.story_id is filled by the near-duplicate step (migration 0002); until an
-- article has one, it is its own story.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS story_id VARCHAR;

CREATE TABLE alerts_v2 (
    alert_id           VARCHAR PRIMARY KEY,   -- stable_id(rule_id|subject_id)
    rule_id            VARCHAR NOT NULL,
    subject_id         VARCHAR NOT NULL,      -- story id, or 'spike:<category>:<day>'
    kind               VARCHAR NOT NULL DEFAULT 'article',  -- 'article' | 'spike'
    article_id         VARCHAR,               -- the article that triggered it (NULL: spike)
    rule_description   VARCHAR,
    matched_categories VARCHAR[],
    mode               VARCHAR NOT NULL DEFAULT 'immediate',  -- 'immediate' | 'digest'
    channel            VARCHAR,               -- secret-free labels of the channels used
    fired_at           TIMESTAMPTZ NOT NULL,
    status             VARCHAR NOT NULL DEFAULT 'pending',  -- 'pending' | 'delivered' | 'failed' | 'gave_up'
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TIMESTAMPTZ,           -- failed: not retried before this
    last_error         VARCHAR,
    delivered_at       TIMESTAMPTZ,
    digest_id          VARCHAR,               -- the digest message that carried it
    message            VARCHAR,               -- plain text: title, blank line, body
    message_markdown   VARCHAR,               -- the same as Markdown
    UNIQUE (rule_id, subject_id)
);

INSERT INTO alerts_v2
    (alert_id, rule_id, subject_id, kind, article_id, rule_description, matched_categories,
     mode, channel, fired_at, status, attempts, last_error, delivered_at, message)
SELECT alert_id, rule_id, article_id, 'article', article_id, rule_description,
       matched_categories, 'immediate', channel, fired_at, status, attempts, last_error,
       delivered_at, message
FROM alerts;

DROP TABLE alerts;
ALTER TABLE alerts_v2 RENAME TO alerts;

-- Every article an alert links to: the trigger, and later copies of its story.
CREATE TABLE alert_articles (
    alert_id    VARCHAR NOT NULL,             -- -> alerts.alert_id
    article_id  VARCHAR NOT NULL,             -- -> articles.article_id
    role        VARCHAR NOT NULL,             -- 'trigger' | 'update' | 'spike'
    attached_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (alert_id, article_id)
);

INSERT INTO alert_articles (alert_id, article_id, role, attached_at)
SELECT alert_id, article_id, 'trigger', fired_at FROM alerts WHERE article_id IS NOT NULL;

-- One row per delivery attempt to one channel, successful or not.
CREATE TABLE alert_attempts (
    alert_id     VARCHAR NOT NULL,            -- -> alerts.alert_id
    channel      VARCHAR NOT NULL,            -- secret-free label
    attempted_at TIMESTAMPTZ NOT NULL,
    ok           BOOLEAN NOT NULL,
    error        VARCHAR
);
