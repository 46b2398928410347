"""Benchmark the analyst views on a generated warehouse (NOT collected by pytest).

    .venv/bin/python -m tests.bench.bench_views [--articles N] [--signals N] [--keep PATH]
                                                [--repeat N] [--only VIEW ...] [--out PATH]

Builds a warehouse with the real schema (``warehouse.db.connect``: every migration and
view) and fills it with DuckDB SQL (``range`` + ``hash``, deterministic): by default
1,000,000 articles over three years from 40 outlets in four countries, 10,000,000
signals, 3,000,000 mentions of 200 gazetteer entities, 500,000 fetch_log rows, and the
per-article tables the load keeps (article_category_counts, article_signal_summary).
Then it times EVERY analyst view (each ``v_*`` view the warehouse has): the query an
analyst or the report runs on it (``BENCH_QUERIES``; a view not listed there is timed
as ``SELECT * FROM view``), the median of ``--repeat`` runs after one warm-up, results
fetched as Arrow so Python object conversion is not counted.  It prints a table and
writes the medians with the machine's core count to ``build/bench/views.json``; the
target is under one second each.  Exit status 1 if any median is slower.  It also
reports each view's CPU time (all DuckDB threads), which other work on the machine
does not inflate the way it inflates wall time.

``--keep PATH`` builds the warehouse there once and reuses it; a reused file is opened
read-write first, so new migrations (with their backfills) and view changes apply.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dyadwatch.watch import load_watch
from warehouse.db import connect

TARGET_SECONDS = 1.0
REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "build" / "bench" / "views.json"
# the watch file's signal categories, in its order
CATEGORIES = list(load_watch(REPO / "seeds" / "watch.toml").categories)

# $n_* are sizes; every random-looking value is hash(i, salt), so runs are repeatable.
FILL_SOURCES = """
INSERT INTO sources (source_id, kind, url, outlet, country, language, enabled, title,
                     first_seen_at, updated_at)
SELECT 'src' || i, 'feed', 'https://outlet' || i || '.example/feed.xml', 'Outlet ' || i,
       ['PK', 'IR', 'INT', 'AF'][1 + i % 4], 'en', TRUE, 'Outlet ' || i,
       TIMESTAMPTZ '2023-01-01 00:00:00+00', TIMESTAMPTZ '2025-12-31 00:00:00+00'
FROM range(40) AS t(i)
"""
FILL_FEED_STATE = """
INSERT INTO feed_state (source_id, last_status, last_success_at, consecutive_failures,
                        updated_at)
SELECT 'src' || i, CASE WHEN i % 7 = 0 THEN 503 ELSE 200 END,
       TIMESTAMPTZ '2025-12-30 00:00:00+00', CASE WHEN i % 7 = 0 THEN 3 ELSE 0 END,
       TIMESTAMPTZ '2025-12-31 00:00:00+00'
FROM range(40) AS t(i)
"""
FILL_ARTICLES = """
INSERT INTO articles (article_id, url, source_id, outlet, title, published_at, fetched_at,
                      language, text, text_hash, word_count, extractor_version,
                      outlet_country, relevant, relevance, tone_score, tone,
                      tagger_version, batch_id, loaded_at, story_id)
SELECT printf('a%015d', i), 'https://outlet' || (i % 40) || '.example/news/' || i,
       'src' || (i % 40), 'Outlet ' || (i % 40), 'Article ' || i,
       TIMESTAMPTZ '2023-01-01 00:00:00+00'
           + to_seconds((CAST(hash(i, 1) % (3 * 365 * 86400) AS BIGINT))),
       TIMESTAMPTZ '2026-01-01 00:00:00+00', 'en', 'text of article ' || i,
       printf('h%015d', i), 100 + i % 900, 'bench', ['PK', 'IR', 'INT', 'AF'][1 + i % 4],
       CAST(hash(i, 2) % 10 AS BIGINT) < 7, 0.5,
       (CAST(hash(i, 3) % 200 AS BIGINT)) / 10.0 - 10.0,
       ['cooperation', 'conflict', 'mixed', 'neutral'][1 + CAST(hash(i, 4) % 4 AS BIGINT)],
       'bench', 'b' || (i // 10000), TIMESTAMPTZ '2026-01-01 00:00:00+00',
       printf('a%015d', i - i % 3)
FROM range($n_articles) AS t(i)
"""
# direction and quad class as the load derives them (migration 0007)
FILL_SIGNALS = """
INSERT INTO signals (signal_id, article_id, category, score, tone_score, evidence, start,
                     "end", cue, tagger_version, batch_id, direction, quad_class)
SELECT *, signal_quad_class(category, tone_score)
FROM (
    SELECT printf('s%015d', i), printf('a%015d', i // $per_article),
           $categories[1 + CAST(hash(i, 5) % 14 AS BIGINT)] AS category, 1.0,
           (CAST(hash(i, 6) % 200 AS BIGINT)) / 10.0 - 10.0 AS tone_score,
           'evidence sentence', 0, 17, 'cue', 'bench', 'b0',
           ['IR->PK', 'PK->IR', 'joint', 'undirected'][1 + CAST(hash(i, 10) % 4 AS BIGINT)]
    FROM range($n_signals) AS t(i)
)
"""
# as the load does for each batch (warehouse/load.py, INSERT_ARTICLE_CATEGORY_COUNTS)
FILL_ARTICLE_CATEGORY_COUNTS = """
INSERT INTO article_category_counts (article_id, category, n_signals)
SELECT article_id, category, count(*) FROM signals GROUP BY article_id, category
"""
# as the load does for each batch (warehouse/load.py, UPSERT_ARTICLE_SIGNAL_SUMMARY)
FILL_ARTICLE_SIGNAL_SUMMARY = """
INSERT INTO article_signal_summary (article_id, categories, category_signals, n_signals)
SELECT article_id, list(category ORDER BY category), list(n_signals ORDER BY category),
       CAST(sum(n_signals) AS INTEGER)
FROM article_category_counts GROUP BY article_id
"""
FILL_MENTIONS = """
INSERT INTO mentions (mention_id, article_id, entity_id, kind, name, country, surface,
                      start, "end", tagger_version, batch_id)
SELECT printf('m%015d', i), printf('a%015d', i // 3), 'e' || (CAST(hash(i, 7) % 200 AS BIGINT)),
       CASE WHEN CAST(hash(i, 7) % 200 AS BIGINT) < 100 THEN 'actor' ELSE 'place' END,
       'Entity ' || (CAST(hash(i, 7) % 200 AS BIGINT)), 'PK', 'Entity', 0, 6, 'bench', 'b0'
FROM range($n_mentions) AS t(i)
"""
FILL_ENTITIES = """
INSERT INTO entities (entity_id, kind, name, country, lat, lon, updated_at)
SELECT 'e' || i, CASE WHEN i < 100 THEN 'actor' ELSE 'place' END, 'Entity ' || i, 'PK',
       CASE WHEN i >= 100 THEN 25 + i % 10 END, CASE WHEN i >= 100 THEN 60 + i % 10 END,
       TIMESTAMPTZ '2026-01-01 00:00:00+00'
FROM range(200) AS t(i)
"""
FILL_FETCH_LOG = """
INSERT INTO fetch_log (id, batch_id, row_no, url, kind, ok, source_id, status, error_class,
                       error_message, attempted_at)
SELECT 'b' || (i // 1000) || ':' || (i % 1000), 'b' || (i // 1000), i % 1000,
       'https://outlet.example/' || i, 'page', CAST(hash(i, 8) % 50 AS BIGINT) <> 0,
       'src' || (i % 40),
       CASE WHEN CAST(hash(i, 8) % 50 AS BIGINT) = 0 THEN 404 ELSE 200 END,
       CASE WHEN CAST(hash(i, 8) % 50 AS BIGINT) = 0 THEN 'http_status' END,
       CASE WHEN CAST(hash(i, 8) % 50 AS BIGINT) = 0 THEN 'HTTP 404 Not Found' END,
       TIMESTAMPTZ '2023-01-01 00:00:00+00'
           + to_seconds((CAST(hash(i, 9) % (3 * 365 * 86400) AS BIGINT)))
FROM range($n_fetch_log) AS t(i)
"""

# The queries an analyst (or the report) runs on each view.  Views that return one row
# per article or attempt are asked for a page of the newest rows, as one would.  Every
# other v_* view is timed as SELECT * (see analyst_views).
BENCH_QUERIES: dict[str, str] = {
    "v_signals_daily": "SELECT * FROM v_signals_daily",
    "v_signals_weekly": "SELECT * FROM v_signals_weekly",
    "v_signals_daily_by_outlet": "SELECT * FROM v_signals_daily_by_outlet",
    "v_signals_weekly_by_outlet": "SELECT * FROM v_signals_weekly_by_outlet",
    "v_signals_daily_by_country": "SELECT * FROM v_signals_daily_by_country",
    "v_signals_weekly_by_country": "SELECT * FROM v_signals_weekly_by_country",
    "v_cooperation_conflict_daily": "SELECT * FROM v_cooperation_conflict_daily",
    "v_tone_weekly_by_country": "SELECT * FROM v_tone_weekly_by_country",
    "v_signal_spikes": "SELECT * FROM v_signal_spikes WHERE is_spike",
    "v_top_entities": "SELECT * FROM v_top_entities",
    "v_top_entities_weekly": "SELECT * FROM v_top_entities_weekly WHERE rank <= 10",
    "v_top_entities_monthly": "SELECT * FROM v_top_entities_monthly WHERE rank <= 10",
    "v_first_seen_entities": "SELECT * FROM v_first_seen_entities",
    "v_story_clusters": "SELECT * FROM v_story_clusters LIMIT 100",
    "v_story_outlets": "SELECT * FROM v_story_outlets WHERE reporter_rank = 1 LIMIT 100",
    "v_stories_daily": "SELECT * FROM v_stories_daily",
    "v_relevant_articles": "SELECT * FROM v_relevant_articles LIMIT 100",
    "v_outlet_coverage": "SELECT * FROM v_outlet_coverage",
    "v_fetch_failures": "SELECT * FROM v_fetch_failures LIMIT 100",
    "v_source_health": "SELECT * FROM v_source_health",
}


def build(path: Path, n_articles: int, n_signals: int) -> None:
    con = connect(path)
    try:
        steps = [
            ("sources", FILL_SOURCES, {}),
            ("feed_state", FILL_FEED_STATE, {}),
            ("entities", FILL_ENTITIES, {}),
            ("articles", FILL_ARTICLES, {"n_articles": n_articles}),
            (
                "signals",
                FILL_SIGNALS,
                {
                    "n_signals": n_signals,
                    "per_article": max(n_signals // n_articles, 1),
                    "categories": CATEGORIES,
                },
            ),
            ("article_category_counts", FILL_ARTICLE_CATEGORY_COUNTS, {}),
            ("article_signal_summary", FILL_ARTICLE_SIGNAL_SUMMARY, {}),
            ("mentions", FILL_MENTIONS, {"n_mentions": 3 * n_articles}),
            ("fetch_log", FILL_FETCH_LOG, {"n_fetch_log": n_articles // 2}),
        ]
        for table, sql, params in steps:
            started = time.perf_counter()
            con.execute(sql, params) if params else con.execute(sql)
            took = time.perf_counter() - started
            print(f"  filled {table} in {took:.1f}s", file=sys.stderr, flush=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()


LIST_ANALYST_VIEWS = """
SELECT view_name FROM duckdb_views()
WHERE NOT internal AND schema_name = 'main' AND starts_with(view_name, 'v_')
ORDER BY view_name
"""


def analyst_views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every v_* view of the warehouse with its bench query: the listed ones first, in
    BENCH_QUERIES order, then the others (SELECT *) by name."""
    names = [row[0] for row in con.execute(LIST_ANALYST_VIEWS).fetchall()]
    queries = {name: sql for name, sql in BENCH_QUERIES.items() if name in names}
    for name in names:
        queries.setdefault(name, f"SELECT * FROM {name}")  # names from the catalog
    return queries


def time_queries(path: Path, repeat: int, only: list[str] | None = None) -> list[dict[str, object]]:
    """Per view: its query, the median, min and max of ``repeat`` timed runs, row count."""
    results: list[dict[str, object]] = []
    con = connect(path, read_only=True)
    try:
        queries = analyst_views(con)
        if only:
            unknown = sorted(set(only) - set(queries))
            if unknown:
                raise SystemExit(f"no such view: {', '.join(unknown)}")
            queries = {name: sql for name, sql in queries.items() if name in only}
        for name, sql in queries.items():
            con.sql(sql).to_arrow_table()  # warm-up
            times, cpu = [], []
            for _ in range(repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                rows = con.sql(sql).to_arrow_table().num_rows
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            median = statistics.median(times)
            results.append(
                {
                    "view": name,
                    "query": sql,
                    "median_s": round(median, 4),
                    "min_s": round(min(times), 4),
                    "max_s": round(max(times), 4),
                    # CPU seconds of all DuckDB threads: what the view costs, whatever else
                    # runs on the machine (wall time is about this / cores when idle)
                    "median_cpu_s": round(statistics.median(cpu), 4),
                    "rows": rows,
                    "under_target": median < TARGET_SECONDS,
                }
            )
            print(f"  timed {name}: {median:.3f}s", file=sys.stderr, flush=True)
    finally:
        con.close()
    return results


def table_sizes(path: Path) -> dict[str, int]:
    con = connect(path, read_only=True)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # fixed names
            for table in ("articles", "signals", "article_category_counts", "mentions")
        }
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--signals", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the warehouse here")
    parser.add_argument("--only", nargs="+", metavar="VIEW", help="time only these views")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dyadwatch-bench-") as tmp:
        path = args.keep or Path(tmp) / "bench.duckdb"
        if not path.exists():
            print(
                f"Generating {args.articles:,} articles and {args.signals:,} signals in {path}",
                file=sys.stderr,
            )
            started = time.perf_counter()
            build(path, args.articles, args.signals)
            print(f"  generated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        else:
            print(f"Reusing {path} (migrating it, recreating the views)", file=sys.stderr)
            connect(path).close()
        sizes = table_sizes(path)
        load_before = os.getloadavg()
        results = time_queries(path, args.repeat, args.only)
        load_after = os.getloadavg()

    width = max(len(str(r["view"])) for r in results)
    print(f"{'view':<{width}}  {'median s':>9}  {'cpu s':>7}  {'rows':>8}")
    for r in results:
        flag = "" if r["under_target"] else "  SLOW"
        print(
            f"{r['view']:<{width}}  {r['median_s']:>9.3f}  {r['median_cpu_s']:>7.3f}  "
            f"{r['rows']:>8}{flag}"
        )
    slow = [r["view"] for r in results if not r["under_target"]]
    cores = os.cpu_count()
    print(
        f"{len(results) - len(slow)}/{len(results)} under {TARGET_SECONDS:g}s (median of "
        f"{args.repeat}) on {cores} cores; {sizes['articles']:,} articles, "
        f"{sizes['signals']:,} signals"
    )
    print(
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after: "
        "other work on the machine slows every view"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": cores,
        "load_average_1min": {"before": load_before[0], "after": load_after[0]},
        "machine": platform.machine(),
        "duckdb": duckdb.__version__,
        "target_s": TARGET_SECONDS,
        "repeat": args.repeat,
        "sizes": sizes,
        "all_under_target": not slow,
        "views": results,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
