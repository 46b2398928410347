-- v_source_health: is each source (feed or seed) working?  One row per source, the
-- worst first.
--   n_attempts, n_ok   fetch_log rows of the source (feed fetches and parses)
--   success_rate       n_ok / n_attempts (0..1), NULL when never attempted
--   last_attempt_at    time of its latest attempt
--   last_success_at    feed_state's last success, else its latest ok fetch_log row
--   consecutive_failures  from feed_state (0 when it has no state yet)
--   last_status, last_error_class, last_error  of its latest failed attempt
--   next_due_at        when the fetcher will try it again (back-off), NULL = next run
--   disabled_reason    why the fetcher switched the feed off (410 Gone, too many
--                      failures; migration 0002), NULL while it is on
--   health             'disabled' | 'failing' (failures in a row, or the last attempt
--                      failed) | 'never_fetched' | 'ok'
CREATE OR REPLACE VIEW v_source_health AS
WITH attempts AS (
    SELECT
        source_id,
        count(*) AS n_attempts,
        count(*) FILTER (WHERE ok) AS n_ok,
        max(attempted_at) AS last_attempt_at,
        max(attempted_at) FILTER (WHERE ok) AS last_ok_at,
        arg_max(ok, attempted_at) AS last_ok,
        arg_max(error_class, attempted_at) FILTER (WHERE NOT ok) AS last_error_class,
        arg_max(error_message, attempted_at) FILTER (WHERE NOT ok) AS last_error
    FROM fetch_log
    WHERE source_id IS NOT NULL
    GROUP BY source_id
)
SELECT
    s.source_id,
    s.kind,
    s.outlet,
    s.country,
    s.url,
    s.enabled,
    coalesce(t.n_attempts, 0) AS n_attempts,
    coalesce(t.n_ok, 0) AS n_ok,
    round(t.n_ok / nullif(t.n_attempts, 0), 3) AS success_rate,
    t.last_attempt_at,
    coalesce(f.last_success_at, t.last_ok_at) AS last_success_at,
    coalesce(f.consecutive_failures, 0) AS consecutive_failures,
    f.last_status,
    t.last_error_class,
    t.last_error,
    f.next_due_at,
    f.disabled_reason,
    CASE
        WHEN f.disabled_reason IS NOT NULL THEN 'disabled'
        WHEN t.n_attempts IS NULL THEN 'never_fetched'
        WHEN coalesce(f.consecutive_failures, 0) > 0 OR NOT t.last_ok THEN 'failing'
        ELSE 'ok'
    END AS health
FROM sources AS s
LEFT JOIN feed_state AS f USING (source_id)
LEFT JOIN attempts AS t USING (source_id)
ORDER BY
    CASE health WHEN 'failing' THEN 0 WHEN 'disabled' THEN 1 WHEN 'never_fetched' THEN 2 ELSE 3 END,
    consecutive_failures DESC,
    s.outlet,
    s.source_id;
