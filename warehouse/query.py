"""Read-only questions to the warehouse, for the CLI and for analysts' scripts.

- ``run_query`` / ``run_query_arrow``: any read-only SQL (rows, or an Arrow table);
- ``trends``: signal counts per category by day or week;
- ``story``: one story (or article) with its copies, outlets, signals and mentions.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

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


# A story is found by its story key (v_story_clusters.cluster_id), by the id or url of
# any of its articles, or by an article id prefix of at least 6 characters.
SELECT_STORY_KEY = """
SELECT story_key
FROM stg_stories
WHERE story_key = $ident OR article_id = $ident OR url = $ident
   OR (length($ident) >= 6 AND starts_with(article_id, $ident))
ORDER BY (story_key = $ident) DESC, (article_id = $ident) DESC, reported_at
LIMIT 1
"""

SELECT_STORY_ARTICLES = """
SELECT a.article_id, a.day, a.published_at, a.outlet, a.outlet_country, a.title, a.url,
       a.relevant, round(a.relevance, 3) AS relevance, a.tone, round(a.tone_score, 2) AS tone_score,
       a.word_count
FROM stg_stories AS s
JOIN stg_articles AS a USING (article_id)
WHERE s.story_key = $story_key
ORDER BY s.reported_at, a.article_id
"""

SELECT_STORY_SIGNALS = """
SELECT s.article_id, s.category, round(s.score, 2) AS score, round(s.tone_score, 2) AS tone,
       s.cue, s.evidence, s.start, s."end"
FROM signals AS s
JOIN stg_stories AS st USING (article_id)
WHERE st.story_key = $story_key
ORDER BY s.category, s.article_id, s.start
"""

SELECT_STORY_MENTIONS = """
SELECT m.kind, m.name, m.country, count(*) AS n_mentions,
       list_sort(list_distinct(list(m.surface))) AS surfaces
FROM mentions AS m
JOIN stg_stories AS st USING (article_id)
WHERE st.story_key = $story_key
GROUP BY m.kind, m.name, m.country
ORDER BY m.kind, n_mentions DESC, m.name
"""


@dataclass
class Story:
    """One story: its articles (earliest first), signals with evidence, mentions."""

    story_key: str
    columns: dict[str, list[str]] = field(default_factory=dict)
    articles: list[tuple] = field(default_factory=list)
    signals: list[tuple] = field(default_factory=list)
    mentions: list[tuple] = field(default_factory=list)

    @property
    def outlets(self) -> list[str]:
        """Outlets in the order they carried the story (first reporter first)."""
        index = self.columns["articles"].index("outlet")
        seen: list[str] = []
        for row in self.articles:
            outlet = row[index] or "(unknown)"
            if outlet not in seen:
                seen.append(outlet)
        return seen


__all__ = [
    "Story",
    "WarehouseMissing",
    "format_story",
    "run_query",
    "run_query_arrow",
    "story",
    "trends",
    "write_query_parquet",
]


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


def run_query_arrow(settings: Settings, sql: str) -> pa.Table:
    """Run one statement on a read-only connection; the result as an Arrow table."""
    with _open(settings) as con:
        return con.sql(sql).to_arrow_table()


def write_query_parquet(settings: Settings, sql: str, path: Path | str) -> int:
    """Run one read-only statement and write its result to a Parquet file; rows written."""
    table = run_query_arrow(settings, sql)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, str(path))
    return table.num_rows


def story(settings: Settings, ident: str) -> Story | None:
    """The story named by ``ident`` (story key, article id or prefix, or url); None if none."""
    with _open(settings) as con:
        row = con.execute(SELECT_STORY_KEY, {"ident": ident}).fetchone()
        if row is None:
            return None
        found = Story(story_key=row[0])
        params = {"story_key": found.story_key}
        for name, sql in (
            ("articles", SELECT_STORY_ARTICLES),
            ("signals", SELECT_STORY_SIGNALS),
            ("mentions", SELECT_STORY_MENTIONS),
        ):
            cursor = con.execute(sql, params)
            found.columns[name] = [d[0] for d in cursor.description]
            setattr(found, name, cursor.fetchall())
        return found


def trends(
    settings: Settings, *, category: str | None = None, since: date | None = None, by: str = "week"
) -> tuple[list[str], list[tuple]]:
    """Signal counts per category per day or week (relevant articles only)."""
    sql = TRENDS_BY_DAY if by == "day" else TRENDS_BY_WEEK
    return run_query(settings, sql, {"category": category, "since": since})


def format_story(found: Story, *, width: int = 100) -> str:
    """A story as plain text: its copies (first reporter first), signals with evidence,
    and the actors and places named."""
    art = [dict(zip(found.columns["articles"], row, strict=True)) for row in found.articles]
    first = art[0]
    lines = [
        f"Story {found.story_key}: {first['title'] or first['url']}",
        f"First reported {first['published_at'] or first['day']} by {first['outlet']}; "
        f"{len(art)} article(s) from {len(found.outlets)} outlet(s): " + ", ".join(found.outlets),
        "",
        "Articles:",
    ]
    for a in art:
        relevant = "relevant" if a["relevant"] else "not relevant"
        lines.append(
            f"  {a['article_id']}  {a['day']}  {a['outlet']} ({a['outlet_country']})  "
            f"{relevant}, tone {a['tone']} {a['tone_score']}"
        )
        lines.append(f"      {a['title']}")
        lines.append(f"      {a['url']}")
    lines += ["", f"Signals ({len(found.signals)}):"]
    cols = found.columns["signals"]
    for row in found.signals:
        sig = dict(zip(cols, row, strict=True))
        lines.append(
            f"  [{sig['category']}] cue {sig['cue']!r}, score {sig['score']}, tone "
            f"{sig['tone']}  ({sig['article_id']} @{sig['start']}-{sig['end']})"
        )
        evidence = " ".join(str(sig["evidence"]).split())
        lines += textwrap.wrap(evidence, width, initial_indent="      ", subsequent_indent="      ")
    lines += ["", "Actors and places:"]
    for kind, name, country, n, surfaces in found.mentions:
        lines.append(f"  {kind:<6} {name} ({country or '-'}): {n}x as " + ", ".join(surfaces))
    return "\n".join(lines)
