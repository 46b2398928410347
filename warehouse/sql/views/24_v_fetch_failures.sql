-- v_fetch_failures: failed HTTP attempts and parses, newest first, with the
-- source's outlet (fetch_log rows where ok is false).
CREATE OR REPLACE VIEW v_fetch_failures AS
SELECT
    f.attempted_at,
    f.kind,
    f.url,
    f.status,
    f.error_class,
    f.error_message,
    f.source_id,
    s.outlet,
    f.bytes,
    f.ms,
    f.batch_id
FROM fetch_log AS f
LEFT JOIN sources AS s USING (source_id)
WHERE NOT f.ok
ORDER BY f.attempted_at DESC NULLS LAST, f.id;
