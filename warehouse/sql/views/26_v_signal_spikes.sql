-- v_signal_spikes: each category's daily signal count against its trailing 28-day
-- baseline (the 28 days before, days without signals counted as 0).
--   baseline_mean, baseline_sd  mean and standard deviation of those 28 days
--   z                           (n_signals - baseline_mean) / baseline_sd
--   is_spike                    at least 3 signals and above mean + 2 sd
CREATE OR REPLACE VIEW v_signal_spikes AS
WITH bounds AS (
    SELECT min(day) AS first_day, max(day) AS last_day FROM v_signals_daily
),
calendar AS (
    SELECT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) AS day
    FROM bounds
    WHERE first_day IS NOT NULL
),
categories AS (
    SELECT DISTINCT category FROM v_signals_daily
),
dense AS (
    SELECT c.day, k.category, coalesce(d.n_signals, 0) AS n_signals
    FROM calendar AS c
    CROSS JOIN categories AS k
    LEFT JOIN v_signals_daily AS d ON d.day = c.day AND d.category = k.category
),
baseline AS (
    SELECT
        day,
        category,
        n_signals,
        avg(n_signals) OVER prior_28_days AS baseline_mean,
        stddev_pop(n_signals) OVER prior_28_days AS baseline_sd
    FROM dense
    WINDOW prior_28_days AS (
        PARTITION BY category ORDER BY day ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING
    )
)
SELECT
    day,
    category,
    n_signals,
    round(baseline_mean, 3) AS baseline_mean,
    round(baseline_sd, 3) AS baseline_sd,
    round((n_signals - baseline_mean) / nullif(baseline_sd, 0), 2) AS z,
    n_signals >= 3 AND n_signals > coalesce(baseline_mean, 0) + 2 * coalesce(baseline_sd, 0)
        AS is_spike
FROM baseline
ORDER BY day, category;
