-- v_trend_exclusions: what the trend views leave out, and why.  The trend views
-- (v_signals_daily/_weekly, v_cooperation_conflict_daily, v_signal_spikes,
-- v_signals_*_by_outlet/_by_country, v_tone_weekly_by_country, v_top_entities_weekly/
-- _monthly, v_stories_daily, v_trend_anomalies) count only articles whose date we trust
-- (stg_articles.date_trusted).  One row per reason:
--   reason             'fetch_time'      no date in the page, feed entry or URL: the only
--                                        day known is the fetch day, which would pile
--                                        every undated page of a backfill onto one day
--                      'future'          dated after its fetch (+1 day of clock skew)
--                      'before_founded'  dated before the outlet existed (sources.founded,
--                                        else 1995)
--   n_relevant         relevant articles left out (what the trend views would have shown)
--   n_articles         all articles left out
--   share_of_relevant  n_relevant / all relevant articles (0..1)
--   first_fetched_day, last_fetched_day  when the excluded articles were fetched
-- The excluded rows themselves: stg_articles WHERE NOT date_trusted (docs/cookbook.md).
CREATE OR REPLACE VIEW v_trend_exclusions AS
WITH excluded AS (
    SELECT
        coalesce(date_flag, 'fetch_time') AS reason,
        coalesce(relevant, FALSE) AS relevant,
        CAST(timezone('UTC', fetched_at) AS DATE) AS fetched_day
    FROM stg_articles
    WHERE NOT date_trusted
),
totals AS (
    SELECT count(*) FILTER (WHERE relevant) AS n_relevant_all FROM stg_articles
)
SELECT
    e.reason,
    count(*) FILTER (WHERE e.relevant) AS n_relevant,
    count(*) AS n_articles,
    round(count(*) FILTER (WHERE e.relevant) / nullif(any_value(t.n_relevant_all), 0), 4)
        AS share_of_relevant,
    min(e.fetched_day) AS first_fetched_day,
    max(e.fetched_day) AS last_fetched_day
FROM excluded AS e
CROSS JOIN totals AS t
GROUP BY e.reason
ORDER BY n_relevant DESC, e.reason;
