-- 0008_honest_dates: where each article's date came from and how sure we are
-- (extractors/dates.py), the year each outlet started, and held-back alerts.
--
--   articles.date_source      'page_metadata' | 'feed_entry' | 'url' | 'fetch_time'
--                             (NULL: stored before this migration with a date whose
--                             origin was not recorded)
--   articles.date_confidence  'high' (two sources agree) | 'medium' (one source, or
--                             sources disagree) | 'low' (fetch-time fallback, or flagged)
--   articles.date_flag        'future' (after the fetch + 1 day) | 'before_founded'
--                             (before sources.founded, else 1995) | NULL
--   sources.founded           year the outlet started (optional, from the feed list)
ALTER TABLE articles ADD COLUMN IF NOT EXISTS date_source VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS date_confidence VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS date_flag VARCHAR;
ALTER TABLE sources ADD COLUMN IF NOT EXISTS founded INTEGER;

-- Rows stored before: no published_at means the reports used the fetch time.
UPDATE articles
SET date_source = 'fetch_time', date_confidence = 'low'
WHERE published_at IS NULL AND date_source IS NULL;

UPDATE articles
SET date_confidence = 'medium'
WHERE published_at IS NOT NULL AND date_confidence IS NULL;

-- ... and dates that cannot be right are flagged as the extractor would flag them.
UPDATE articles
SET date_flag = CASE
        WHEN published_at > fetched_at + INTERVAL 1 DAY THEN 'future'
        ELSE 'before_founded'
    END,
    date_confidence = 'low'
WHERE date_flag IS NULL
  AND published_at IS NOT NULL
  AND (published_at > fetched_at + INTERVAL 1 DAY
       OR published_at < TIMESTAMPTZ '1995-01-01 00:00:00+00');
