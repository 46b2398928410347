-- v_top_entities_monthly: as v_top_entities_weekly, per calendar month (month = its
-- first day), ranked within (month, kind).
CREATE OR REPLACE VIEW v_top_entities_monthly AS
WITH per_month AS (
    SELECT
        CAST(date_trunc('month', day) AS DATE) AS month,
        kind,
        entity_id,
        any_value(name) AS name,
        any_value(country) AS country,
        any_value(lat) AS lat,
        any_value(lon) AS lon,
        count(DISTINCT article_id) AS n_articles,
        count(*) AS n_mentions
    FROM stg_mentions
    WHERE relevant AND date_trusted  -- trusted dates only (v_trend_exclusions)
    GROUP BY 1, kind, entity_id
)
SELECT
    *,
    rank() OVER (PARTITION BY month, kind ORDER BY n_articles DESC, n_mentions DESC) AS rank
FROM per_month
ORDER BY month, kind, rank, name;
