"""``dyadwatch export``: the warehouse as Parquet files, partitioned by month, for other
tools (pandas, Spark, DuckDB elsewhere, a data lake).

Layout, Hive-style, so ``read_parquet('OUT/articles/*/*.parquet', hive_partitioning=true)``
gets the ``month`` column back::

    OUT/articles/month=2026-10/part-0.parquet      one folder per month of the
    OUT/signals/month=2026-10/part-0.parquet       article's day (published, else
    OUT/mentions/month=2026-10/part-0.parquet      fetched), for signals and mentions too
    OUT/fetch_log/month=2026-10/part-0.parquet     month of the attempt
    OUT/alerts/month=2026-10/part-0.parquet        month the alert fired
    OUT/sources.parquet  OUT/entities.parquet  OUT/feed_state.parquet   small, whole

Reads through a read-only connection; an existing table folder is replaced, so the
export of a month is always whole.  Progress goes to a callback (the CLI prints it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from dyadwatch.settings import Settings
from warehouse.db import connect

# Each partitioned table: the query of one month's rows ($month = 'YYYY-MM'), and the
# query listing its months.  Tables and their month expressions are fixed here.
MONTH_OF_ARTICLE = "strftime(a.day, '%Y-%m')"
PARTITIONED: dict[str, tuple[str, str]] = {
    "articles": (
        f"SELECT DISTINCT {MONTH_OF_ARTICLE} FROM stg_articles AS a ORDER BY 1",
        f"SELECT * EXCLUDE (day, week, day_from_fetch) FROM stg_articles AS a "
        f"WHERE {MONTH_OF_ARTICLE} = $month ORDER BY a.day, a.article_id",
    ),
    "signals": (
        f"SELECT DISTINCT {MONTH_OF_ARTICLE} FROM signals JOIN stg_articles AS a "
        "USING (article_id) ORDER BY 1",
        f"SELECT s.* FROM signals AS s JOIN stg_articles AS a USING (article_id) "
        f"WHERE {MONTH_OF_ARTICLE} = $month ORDER BY s.article_id, s.start, s.signal_id",
    ),
    "mentions": (
        f"SELECT DISTINCT {MONTH_OF_ARTICLE} FROM mentions JOIN stg_articles AS a "
        "USING (article_id) ORDER BY 1",
        f"SELECT m.* FROM mentions AS m JOIN stg_articles AS a USING (article_id) "
        f"WHERE {MONTH_OF_ARTICLE} = $month ORDER BY m.article_id, m.start, m.mention_id",
    ),
    "fetch_log": (
        "SELECT DISTINCT strftime(coalesce(attempted_at, TIMESTAMPTZ '1970-01-01'), '%Y-%m') "
        "FROM fetch_log ORDER BY 1",
        "SELECT * FROM fetch_log "
        "WHERE strftime(coalesce(attempted_at, TIMESTAMPTZ '1970-01-01'), '%Y-%m') = $month "
        "ORDER BY batch_id, row_no",
    ),
    "alerts": (
        "SELECT DISTINCT strftime(fired_at, '%Y-%m') FROM alerts ORDER BY 1",
        "SELECT * FROM alerts WHERE strftime(fired_at, '%Y-%m') = $month "
        "ORDER BY fired_at, alert_id",
    ),
}
WHOLE: dict[str, str] = {
    "sources": "SELECT * FROM sources ORDER BY source_id",
    "entities": "SELECT * FROM entities ORDER BY entity_id",
    "feed_state": "SELECT * FROM feed_state ORDER BY source_id",
}

Progress = Callable[[int, int, str], None]  # (steps done, steps in all, what was done)


@dataclass
class ExportSummary:
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written


def export_parquet(
    settings: Settings, out_dir: Path, *, progress: Progress | None = None
) -> ExportSummary:
    """Write the warehouse to ``out_dir`` as Parquet, partitioned by month (see above)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(out_dir=out_dir)
    con = connect(settings.warehouse_path, read_only=True, lock_timeout=settings.lock_timeout)
    with con:
        months = {
            table: [row[0] for row in con.execute(list_sql).fetchall()]
            for table, (list_sql, _) in PARTITIONED.items()
        }
        total = sum(len(m) for m in months.values()) + len(WHOLE)
        done = 0
        for table, (_, month_sql) in PARTITIONED.items():
            table_dir = out_dir / table
            if table_dir.exists():
                shutil.rmtree(table_dir)
            summary.rows[table] = 0
            for month in months[table]:
                arrow = con.execute(month_sql, {"month": month}).to_arrow_table()
                path = table_dir / f"month={month}" / "part-0.parquet"
                path.parent.mkdir(parents=True)
                pq.write_table(arrow, path)
                summary.files.append(path)
                summary.rows[table] += arrow.num_rows
                done += 1
                if progress:
                    progress(done, total, f"{table} {month}: {arrow.num_rows} rows")
        for table, sql in WHOLE.items():
            arrow = con.execute(sql).to_arrow_table()
            path = out_dir / f"{table}.parquet"
            pq.write_table(arrow, path)
            summary.files.append(path)
            summary.rows[table] = arrow.num_rows
            done += 1
            if progress:
                progress(done, total, f"{table}: {arrow.num_rows} rows")
    return summary
