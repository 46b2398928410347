"""Source health for ``dyadwatch sources``, and disabling / re-enabling a feed by hand.

:func:`source_health` (read-only): one row per source (feed, sitemap or seed); the feeds
file's entries not yet fetched are listed too, as ``never_fetched``.  Columns: outlet,
kind, url, health, last success, success rate (fetch_log), items per day (articles
loaded over the last 7 days), current back-off (resting until / disabled with its
reason) and the last error.

:func:`disable_feed` / :func:`enable_feed` (``dyadwatch sources disable|enable URL``)
change the feed's ``feed_state`` row in one short write transaction: the same columns a
410 or a run of failures sets, which the next run's ``read_feed_state`` reads.  A run
already past ``read_feed_state`` when the change is made still loads the state it read,
so the change counts from the next run that starts after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dyadwatch.records import Source
from dyadwatch.settings import Settings
from warehouse.db import connect, transaction

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
    disabled: dict[str, str] = {}  # also feeds disabled by hand before their first fetch
    if settings.warehouse_path.exists():
        with connect(settings.warehouse_path, read_only=True, lock_timeout=10) as con:
            for row in con.execute(SELECT_SOURCE_HEALTH).fetchall():
                rows[row[0]] = row[1:]
            disabled = dict(con.execute(SELECT_DISABLED_FEEDS).fetchall())
    for source in listed:
        if source.source_id not in rows:
            reason = disabled.get(source.source_id)
            health = "disabled" if reason else "never_fetched"
            backoff = f"disabled: {reason}" if reason else ""
            rows[source.source_id] = (
                source.outlet, source.kind, source.url, health, None, None, 0.0, backoff, None
            )  # fmt: skip
    order = {"disabled": 0, "failing": 1, "never_fetched": 2}
    ordered = sorted(rows.values(), key=lambda r: (order.get(r[3], 3), str(r[0]), r[2]))
    return COLUMNS, ordered


SELECT_DISABLED_FEEDS = """
SELECT source_id, disabled_reason FROM feed_state WHERE disabled_reason IS NOT NULL
"""

SELECT_FEED_STATE_OF = """
SELECT disabled_reason, consecutive_failures, next_due_at
FROM feed_state
WHERE source_id = $source_id
"""

ENABLE_FEED = """
UPDATE feed_state
SET disabled_reason = NULL, disabled_at = NULL, consecutive_failures = 0,
    next_due_at = NULL, updated_at = $now
WHERE source_id = $source_id
"""

DISABLE_FEED = """
INSERT INTO feed_state (source_id, consecutive_failures, updated_at, disabled_reason, disabled_at)
VALUES ($source_id, 0, $now, $reason, $now)
ON CONFLICT (source_id) DO UPDATE SET
    disabled_reason = excluded.disabled_reason,
    disabled_at = excluded.disabled_at,
    next_due_at = NULL,
    updated_at = excluded.updated_at
"""


@dataclass(frozen=True)
class FeedStateBefore:
    """What a feed's state was before a hand-made change (None: no state stored)."""

    disabled_reason: str | None
    consecutive_failures: int
    next_due_at: datetime | None


def _state_before(con: Any, source_id: str) -> FeedStateBefore | None:
    row = con.execute(SELECT_FEED_STATE_OF, {"source_id": source_id}).fetchone()
    return None if row is None else FeedStateBefore(row[0], int(row[1] or 0), row[2])


def enable_feed(settings: Settings, source_id: str) -> FeedStateBefore | None:
    """Clear a feed's disabled reason and back-off; returns the state it had."""
    with connect(settings.warehouse_path, lock_timeout=settings.lock_timeout) as con:
        with transaction(con):
            before = _state_before(con, source_id)
            if before is not None:
                con.execute(ENABLE_FEED, {"source_id": source_id, "now": datetime.now(UTC)})
    return before


def disable_feed(settings: Settings, source_id: str, reason: str) -> FeedStateBefore | None:
    """Disable a feed with ``reason`` (the next runs skip it); returns the state it had."""
    with connect(settings.warehouse_path, lock_timeout=settings.lock_timeout) as con:
        with transaction(con):
            before = _state_before(con, source_id)
            con.execute(
                DISABLE_FEED,
                {"source_id": source_id, "reason": reason, "now": datetime.now(UTC)},
            )
    return before
