-- v_signal_spikes: each category's daily signal count (relevant articles) against its
-- trailing 28-day baseline: the 28 calendar days before, days without signals counted
-- as 0 (the calendar runs from the first to the last day with any signal).
--   baseline_days               how many earlier days the baseline has (at most 28)
--   baseline_mean, baseline_sd  mean and population standard deviation of those days
--   z                           (n_signals - baseline_mean) / greatest(baseline_sd, 1):
--                               the sd is floored at one signal so a quiet category's
--                               first signals give a finite, modest z
--   is_spike                    z >= 2, with guards: at least 3 signals that day and
--                               at least 7 days of baseline
-- Trusted dates only (v_signals_daily).  Raw counts: for spikes and drops normalised by
-- the day's volume, with days that feed outages explain marked, see v_trend_anomalies.
CREATE OR REPLACE VIEW v_signal_spikes AS
WITH daily AS (
    SELECT day, category, n_signals FROM v_signals_daily
),
calendar AS (
    SELECT CAST(unnest(generate_series(min(day), max(day), INTERVAL 1 DAY)) AS DATE) AS day
    FROM daily
),
categories AS (
    SELECT DISTINCT category FROM daily
),
dense AS (
    SELECT c.day, k.category, coalesce(d.n_signals, 0) AS n_signals
    FROM calendar AS c
    CROSS JOIN categories AS k
    LEFT JOIN daily AS d ON d.day = c.day AND d.category = k.category
),
baseline AS (
    SELECT
        day,
        category,
        n_signals,
        count(*) OVER prior_28_days AS baseline_days,
        avg(n_signals) OVER prior_28_days AS baseline_mean,
        stddev_pop(n_signals) OVER prior_28_days AS baseline_sd
    FROM dense
    WINDOW prior_28_days AS (
        PARTITION BY category ORDER BY day ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING
    )
),
scored AS (
    SELECT
        *,
        (n_signals - baseline_mean) / greatest(baseline_sd, 1.0) AS z
    FROM baseline
)
SELECT
    day,
    category,
    n_signals,
    baseline_days,
    round(baseline_mean, 3) AS baseline_mean,
    round(baseline_sd, 3) AS baseline_sd,
    round(z, 2) AS z,
    coalesce(n_signals >= 3 AND baseline_days >= 7 AND z >= 2, FALSE) AS is_spike
FROM scored
ORDER BY day, category;
