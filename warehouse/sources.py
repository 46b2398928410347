"""Source health for ``dyadwatch sources``: read-only, from the warehouse.

One row per source (feed, sitemap or seed): the feeds file's entries not yet fetched
are listed too, as ``never_fetched``.  Columns: outlet, kind, url, health, last
success, success rate (fetch_log), items per day (articles loaded over the last 7 days),
current back-off (resting until / disabled with its reason) and the last error.
"""

from __future__ import annotations

from typing import Any

from dyadwatch.records import Source
from dyadwatch.settings import Settings
from warehouse.db import connect

COLUMNS = (
    "outlet",
    "kind",
    "url",
    "health",
    "last_success_at",
    "success_rate",
    "items_per_day",
    "backoff",
    "last_error",
)

SELECT_SOURCE_HEALTH = """
WITH recent AS (
    SELECT source_id, count(*) / 7.0 AS items_per_day
    FROM articles
    WHERE loaded_at >= now() - INTERVAL 7 DAY
    GROUP BY source_id
)
SELECT
    h.source_id,
    h.outlet,
    h.kind,
    h.url,
    CASE WHEN f.disabled_reason IS NOT NULL THEN 'disabled' ELSE h.health END AS health,
    h.last_success_at,
    h.success_rate,
    round(coalesce(r.items_per_day, 0), 2) AS items_per_day,
    CASE
        WHEN f.disabled_reason IS NOT NULL THEN 'disabled: ' || f.disabled_reason
        WHEN f.next_due_at > now() THEN
            'resting until ' || strftime(timezone('UTC', f.next_due_at), '%Y-%m-%d %H:%M UTC')
            || ' after ' || f.consecutive_failures || ' failure(s)'
        ELSE ''
    END AS backoff,
    CASE WHEN h.last_error_class IS NULL THEN NULL
         ELSE h.last_error_class || ': ' || h.last_error END AS last_error
FROM v_source_health AS h
LEFT JOIN feed_state AS f USING (source_id)
LEFT JOIN recent AS r USING (source_id)
"""


def source_health(settings: Settings, listed: list[Source]) -> tuple[tuple[str, ...], list]:
    """Health rows of every stored source plus the ``listed`` ones not stored yet."""
    rows: dict[str, tuple[Any, ...]] = {}
    if settings.warehouse_path.exists():
        with connect(settings.warehouse_path, read_only=True, lock_timeout=10) as con:
            for row in con.execute(SELECT_SOURCE_HEALTH).fetchall():
                rows[row[0]] = row[1:]
    for source in listed:
        if source.source_id not in rows:
            rows[source.source_id] = (
                source.outlet, source.kind, source.url, "never_fetched", None, None, 0.0, "", None
            )  # fmt: skip
    order = {"disabled": 0, "failing": 1, "never_fetched": 2}
    ordered = sorted(rows.values(), key=lambda r: (order.get(r[3], 3), str(r[0]), r[2]))
    return COLUMNS, ordered
