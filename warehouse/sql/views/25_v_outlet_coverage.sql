-- v_outlet_coverage: who covers the dyad. Per outlet: relevant articles, their share of
-- all relevant articles (0..1), all articles stored from it, first and last day seen.
CREATE OR REPLACE VIEW v_outlet_coverage AS
WITH per_outlet AS (
    SELECT
        coalesce(outlet, site_name, '(unknown)') AS outlet,
        any_value(outlet_country) AS outlet_country,
        count(*) FILTER (WHERE relevant) AS n_articles,
        count(*) AS n_articles_all,
        min(day) FILTER (WHERE relevant) AS first_day,
        max(day) FILTER (WHERE relevant) AS last_day
    FROM stg_articles
    GROUP BY 1
)
SELECT
    outlet,
    outlet_country,
    n_articles,
    round(n_articles / nullif(sum(n_articles) OVER (), 0), 4) AS share,
    n_articles_all,
    first_day,
    last_day
FROM per_outlet
ORDER BY n_articles DESC, outlet;
