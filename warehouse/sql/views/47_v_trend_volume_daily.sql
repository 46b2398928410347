-- v_trend_volume_daily: the day's total volume against what the sources usually deliver,
-- so a change can be told apart from a feed outage.  One row per calendar day.
--   n_articles, n_relevant  articles (relevant ones) with a trusted date that day
--   expected                the sources' expected volume that day, summed
--                           (v_source_health_daily.expected)
--   missing                 what the sources that were out failed to deliver
--   outage_share            missing / expected (0..1): the share of the expected volume
--                           lost to outages
--   n_sources_out, sources_out  which sources were out (outlet, else source id)
--   outage_explained        outage_share > 0.1: a change that day may be the feeds', not
--                           the news'; v_trend_anomalies reports no spike or drop then
CREATE OR REPLACE VIEW v_trend_volume_daily AS
WITH health AS (
    SELECT
        day,
        sum(expected) AS expected,
        sum(missing) AS missing,
        count(*) FILTER (WHERE is_outage) AS n_sources_out,
        list(coalesce(outlet, source_id) ORDER BY coalesce(outlet, source_id))
            FILTER (WHERE is_outage) AS sources_out
    FROM v_source_health_daily
    GROUP BY day
),
volume AS (
    SELECT
        day,
        count(*) AS n_articles,
        count(*) FILTER (WHERE coalesce(relevant, FALSE)) AS n_relevant
    FROM stg_articles
    WHERE date_trusted
    GROUP BY day
),
calendar AS (
    SELECT CAST(unnest(generate_series(min(day), max(day), INTERVAL 1 DAY)) AS DATE) AS day
    FROM (SELECT day FROM volume UNION ALL SELECT day FROM health)
)
SELECT
    c.day,
    coalesce(v.n_articles, 0) AS n_articles,
    coalesce(v.n_relevant, 0) AS n_relevant,
    round(h.expected, 2) AS expected,
    round(coalesce(h.missing, 0), 2) AS missing,
    round(coalesce(h.missing, 0) / nullif(h.expected, 0), 3) AS outage_share,
    coalesce(h.n_sources_out, 0) AS n_sources_out,
    coalesce(h.sources_out, []) AS sources_out,
    coalesce(h.missing / nullif(h.expected, 0) > 0.1, FALSE) AS outage_explained
FROM calendar AS c
LEFT JOIN volume AS v USING (day)
LEFT JOIN health AS h USING (day)
ORDER BY c.day;
