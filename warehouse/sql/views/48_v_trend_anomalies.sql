-- v_trend_anomalies: outage-aware spikes and drops.  One row per (day, category) for
-- every signal category, plus category '(all)' for the day's total relevant volume;
-- trusted dates only, relevant articles only.
--   n                 relevant articles that day (carrying the category)
--   total             relevant articles that day (all categories)
--   baseline_days     earlier days in the baseline: the 28 days before, leaving out days
--                     whose change outages explain
--   expected          a category: total x its pooled share of the baseline's articles
--                     (normalised by the day's volume: a quiet day expects fewer);
--                     '(all)': the baseline's mean daily total
--   z                 (n - expected) / sd, sd floored at 1: a category's binomial sd
--                     sqrt(expected x (1 - share)); '(all)': the baseline's population sd
--   change            'spike' (z >= 2, n >= 3) or 'drop' (z <= -2, expected >= 3, a
--                     complete UTC day), with at least 7 baseline days; else NULL
--   outage_share, sources_out   from v_trend_volume_daily
--   explained_by_outage  a change on a day when outages took over 10% of the expected
--                     volume: the feeds, not the news, may explain it
--   is_spike, is_drop the news changes: change, not explained by an outage
CREATE OR REPLACE VIEW v_trend_anomalies AS
WITH days AS (
    SELECT day, n_relevant, outage_share, outage_explained, sources_out
    FROM v_trend_volume_daily
),
categories AS (
    SELECT DISTINCT category FROM v_signals_daily
),
dense AS (
    SELECT
        d.day,
        k.category,
        coalesce(s.n_articles, 0) AS n,
        d.n_relevant AS total,
        d.outage_share,
        d.outage_explained,
        d.sources_out
    FROM days AS d
    CROSS JOIN categories AS k
    LEFT JOIN v_signals_daily AS s ON s.day = d.day AND s.category = k.category
    UNION ALL
    SELECT day, '(all)', n_relevant, n_relevant, outage_share, outage_explained, sources_out
    FROM days
),
baseline AS (
    SELECT
        *,
        count(*) FILTER (WHERE NOT outage_explained) OVER prior_28_days AS baseline_days,
        sum(n) FILTER (WHERE NOT outage_explained) OVER prior_28_days AS base_n,
        sum(total) FILTER (WHERE NOT outage_explained) OVER prior_28_days AS base_total,
        avg(n) FILTER (WHERE NOT outage_explained) OVER prior_28_days AS base_mean,
        stddev_pop(n) FILTER (WHERE NOT outage_explained) OVER prior_28_days AS base_sd
    FROM dense
    WINDOW prior_28_days AS (
        PARTITION BY category ORDER BY day ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING
    )
),
shares AS (
    SELECT *, base_n / nullif(base_total, 0) AS base_share FROM baseline
),
scored AS (
    SELECT
        *,
        CASE WHEN category = '(all)' THEN base_mean ELSE total * base_share END AS expected,
        CASE
            WHEN category = '(all)' THEN greatest(base_sd, 1.0)
            ELSE greatest(sqrt(total * base_share * (1 - base_share)), 1.0)
        END AS sd
    FROM shares
),
changed AS (
    SELECT
        *,
        (n - expected) / sd AS z,
        CASE
            WHEN baseline_days < 7 OR expected IS NULL THEN NULL
            WHEN n >= 3 AND (n - expected) / sd >= 2 THEN 'spike'
            WHEN expected >= 3 AND (n - expected) / sd <= -2
                AND day < CAST(timezone('UTC', now()) AS DATE) THEN 'drop'
        END AS change
    FROM scored
)
SELECT
    day,
    category,
    n,
    total,
    baseline_days,
    round(expected, 3) AS expected,
    round(z, 2) AS z,
    change,
    outage_share,
    sources_out,
    change IS NOT NULL AND outage_explained AS explained_by_outage,
    coalesce(change = 'spike' AND NOT outage_explained, FALSE) AS is_spike,
    coalesce(change = 'drop' AND NOT outage_explained, FALSE) AS is_drop
FROM changed
ORDER BY day, category;
