-- v_source_health_daily: did each source deliver what it usually does?  One row per
-- (source, day), from the source's first article to the last day with any data.
--   n_received       its articles that day (their trusted publication day, else the
--                    day they were fetched)
--   expected         its typical daily volume: the median of n_received over the 28
--                    days before (NULL until it has 7 days of history)
--   received_ratio   n_received / expected
--   n_fetches, n_fetches_ok   its feed and page fetch attempts that day (fetch_log), and
--                    how many worked; last_error_class of the day's failures
--   outage           why the source is counted as out that day, else NULL:
--                    'fetch_failed'  it was fetched, every attempt failed, and it
--                                    delivered under half its expected volume
--                    'silent'        nothing at all from a source expected to deliver at
--                                    least 4 items (a feed that answers but is stale);
--                                    complete (past) UTC days only
--                    (never when expected is NULL or under 1 item a day)
--   is_outage        outage IS NOT NULL
--   missing          expected - n_received on outage days (at least 0), else 0: the
--                    volume the trend views lack because of the outage
-- v_trend_volume_daily adds these up per day; source-health alerts read this view.
CREATE OR REPLACE VIEW v_source_health_daily AS
WITH received AS (
    SELECT
        source_id,
        CASE
            WHEN date_trusted THEN day
            ELSE CAST(timezone('UTC', fetched_at) AS DATE)
        END AS day,
        count(*) AS n_received,
        any_value(outlet) AS outlet
    FROM stg_articles
    WHERE source_id IS NOT NULL
    GROUP BY ALL
),
attempts AS (
    SELECT
        source_id,
        CAST(timezone('UTC', attempted_at) AS DATE) AS day,
        count(*) AS n_fetches,
        count(*) FILTER (WHERE ok) AS n_fetches_ok,
        arg_max(error_class, attempted_at) FILTER (WHERE NOT ok) AS last_error_class
    FROM fetch_log
    WHERE source_id IS NOT NULL AND attempted_at IS NOT NULL AND kind IN ('feed', 'page')
    GROUP BY ALL
),
per_source AS (
    SELECT source_id, min(day) AS first_day, any_value(outlet) AS outlet
    FROM received
    GROUP BY source_id
),
last_day AS (
    SELECT max(day) AS last_day
    FROM (SELECT day FROM received UNION ALL SELECT day FROM attempts)
),
calendar AS (
    SELECT
        p.source_id,
        p.outlet,
        CAST(unnest(generate_series(p.first_day, l.last_day, INTERVAL 1 DAY)) AS DATE) AS day
    FROM per_source AS p
    CROSS JOIN last_day AS l
),
dense AS (
    SELECT
        c.source_id,
        c.outlet,
        c.day,
        coalesce(r.n_received, 0) AS n_received,
        coalesce(a.n_fetches, 0) AS n_fetches,
        coalesce(a.n_fetches_ok, 0) AS n_fetches_ok,
        a.last_error_class
    FROM calendar AS c
    LEFT JOIN received AS r USING (source_id, day)
    LEFT JOIN attempts AS a USING (source_id, day)
),
history AS (
    SELECT
        *,
        count(*) OVER prior_28_days AS history_days,
        median(n_received) OVER prior_28_days AS trailing_median
    FROM dense
    WINDOW prior_28_days AS (
        PARTITION BY source_id ORDER BY day ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING
    )
),
judged AS (
    SELECT
        *,
        CASE WHEN history_days >= 7 THEN trailing_median END AS expected
    FROM history
),
flagged AS (
    SELECT
        *,
        CASE
            WHEN expected IS NULL OR expected < 1 THEN NULL
            WHEN n_fetches > 0 AND n_fetches_ok = 0 AND n_received < 0.5 * expected
                THEN 'fetch_failed'
            WHEN n_received = 0 AND expected >= 4
                AND day < CAST(timezone('UTC', now()) AS DATE)
                THEN 'silent'
        END AS outage
    FROM judged
)
SELECT
    f.source_id,
    coalesce(s.outlet, f.outlet) AS outlet,
    s.country,
    f.day,
    f.n_received,
    f.expected,
    round(f.n_received / nullif(f.expected, 0), 3) AS received_ratio,
    f.n_fetches,
    f.n_fetches_ok,
    f.last_error_class,
    f.outage,
    f.outage IS NOT NULL AS is_outage,
    CASE WHEN f.outage IS NOT NULL THEN greatest(f.expected - f.n_received, 0) ELSE 0 END
        AS missing
FROM flagged AS f
LEFT JOIN sources AS s USING (source_id);
