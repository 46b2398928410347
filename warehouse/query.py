"""Read-only questions to the warehouse, for the CLI and for analysts' scripts."""

from __future__ import annotations

from datetime import date
from typing import Any

from dyadwatch.settings import Settings
from warehouse.db import WarehouseMissing, connect

TRENDS_BY_DAY = """
SELECT day AS period, category, n_signals, n_articles
FROM v_signals_daily
WHERE ($category IS NULL OR category = $category)
  AND ($since IS NULL OR day >= $since)
ORDER BY period, category
"""

TRENDS_BY_WEEK = """
SELECT week AS period, category, n_signals, n_articles
FROM v_signals_weekly
WHERE ($category IS NULL OR category = $category)
  AND ($since IS NULL OR week >= date_trunc('week', $since::DATE))
ORDER BY period, category
"""


__all__ = ["WarehouseMissing", "run_query", "trends"]


def _open(settings: Settings):
    return connect(settings.warehouse_path, read_only=True, lock_timeout=settings.lock_timeout)


def run_query(
    settings: Settings, sql: str, params: dict[str, Any] | list[Any] | None = None
) -> tuple[list[str], list[tuple]]:
    """Run one statement on a read-only connection; (column names, rows)."""
    with _open(settings) as con:
        cursor = con.execute(sql, params) if params else con.execute(sql)
        if cursor.description is None:
            return [], []
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()


def trends(
    settings: Settings, *, category: str | None = None, since: date | None = None, by: str = "week"
) -> tuple[list[str], list[tuple]]:
    """Signal counts per category per day or week (relevant articles only)."""
    sql = TRENDS_BY_DAY if by == "day" else TRENDS_BY_WEEK
    return run_query(settings, sql, {"category": category, "since": since})
