"""The SQL cookbook (docs/cookbook.md) and the analyst's commands, on the demo warehouse.

Every ```sql block of the cookbook runs against the warehouse the real pipeline builds
(``demo_warehouse``); each must return rows unless it is marked ``-- may be empty``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO, DemoWarehouse

pytestmark = pytest.mark.airflow

COOKBOOK = REPO / "docs" / "cookbook.md"
SQL_BLOCK = re.compile(r"^## (?P<title>.+?)\n.*?^```sql\n(?P<sql>.*?)^```", re.S | re.M)
MAY_BE_EMPTY = "-- may be empty"


def cookbook_queries() -> list[tuple[str, str]]:
    return [(m["title"], m["sql"]) for m in SQL_BLOCK.finditer(COOKBOOK.read_text("utf-8"))]


def test_the_cookbook_has_at_least_12_questions_and_the_readme_links_it() -> None:
    queries = cookbook_queries()
    assert len(queries) >= 12
    # every fenced sql block belongs to a question (none skipped by the parser)
    assert len(queries) == COOKBOOK.read_text("utf-8").count("```sql")
    assert "docs/cookbook.md" in (REPO / "README.md").read_text("utf-8")


@pytest.mark.parametrize(("title", "sql"), cookbook_queries(), ids=lambda v: v[:40])
def test_cookbook_query_runs_on_the_demo_warehouse(
    demo_warehouse: DemoWarehouse, title: str, sql: str
) -> None:
    with duckdb.connect(str(demo_warehouse.path), read_only=True) as con:
        cursor = con.execute(sql)
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description]
    assert columns, title
    if MAY_BE_EMPTY not in sql:
        assert rows, f"{title!r} returned no rows on the demo warehouse"


# -- the commands ------------------------------------------------------------------------


def test_sql_outputs_table_csv_json_and_parquet(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    query = "SELECT category, sum(n_signals) AS n FROM v_signals_daily GROUP BY 1 ORDER BY 1"
    with duckdb.connect(str(demo_warehouse.path), read_only=True) as con:
        expected = con.execute(query).fetchall()
    assert expected

    table = demo_warehouse.cli("sql", query)
    assert table.returncode == 0, table.stderr
    assert f"({len(expected)} rows)" in table.stdout

    as_csv = demo_warehouse.cli("sql", query, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    parsed = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert parsed[0] == ["category", "n"]
    assert [(c, int(n)) for c, n in parsed[1:]] == expected

    as_json = demo_warehouse.cli("sql", query, "--format", "json")
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(d["category"], d["n"]) for d in lines] == expected

    out = tmp_path / "out.parquet"
    no_output = demo_warehouse.cli("sql", query, "--format", "parquet")
    assert no_output.returncode == 2 and "--output" in no_output.stderr
    as_parquet = demo_warehouse.cli("sql", query, "--format", "parquet", "--output", str(out))
    assert as_parquet.returncode == 0, as_parquet.stderr
    assert f"wrote {len(expected)} rows" in as_parquet.stderr
    back = pq.read_table(out).to_pydict()
    assert list(zip(back["category"], back["n"], strict=True)) == expected

    to_file = tmp_path / "out.csv"
    written = demo_warehouse.cli("sql", query, "--format", "csv", "--output", str(to_file))
    assert written.returncode == 0 and to_file.read_text().startswith("category,n")


def test_sql_is_read_only(demo_warehouse: DemoWarehouse) -> None:
    refused = demo_warehouse.cli("sql", "DROP VIEW v_signals_daily")
    assert refused.returncode == 2 and "read-only" in refused.stderr.lower()
    bad = demo_warehouse.cli("sql", "SELECT nonsense FROM nowhere")
    assert bad.returncode == 2 and "query failed" in bad.stderr


def test_trends_by_day_and_week(demo_warehouse: DemoWarehouse) -> None:
    with duckdb.connect(str(demo_warehouse.path), read_only=True) as con:
        days = con.execute(
            "SELECT day, n_signals FROM v_signals_daily "
            "WHERE category = 'diplomacy' AND day >= DATE '2026-10-01' ORDER BY day"
        ).fetchall()
    assert days
    by_day = demo_warehouse.cli(
        "trends", "--category", "diplomacy", "--since", "2026-10-01", "--by", "day",
        "--format", "csv",
    )  # fmt: skip
    assert by_day.returncode == 0, by_day.stderr
    rows = list(csv.DictReader(io.StringIO(by_day.stdout)))
    assert [(r["period"], int(r["n_signals"])) for r in rows] == [
        (d.isoformat(), n) for d, n in days
    ]
    by_week = demo_warehouse.cli(
        "trends", "--category", "diplomacy", "--since", "2026-10-01", "--format", "csv"
    )
    weeks = list(csv.DictReader(io.StringIO(by_week.stdout)))
    assert sum(int(r["n_signals"]) for r in weeks) >= sum(n for _, n in days)
    assert {r["category"] for r in weeks} == {"diplomacy"}


def test_story_shows_articles_signals_evidence_and_places(demo_warehouse: DemoWarehouse) -> None:
    with duckdb.connect(str(demo_warehouse.path), read_only=True) as con:
        article_id, title, n_signals = con.execute(
            "SELECT article_id, title, n_signals FROM v_relevant_articles "
            "ORDER BY n_signals DESC, article_id LIMIT 1"
        ).fetchone()
        evidence = con.execute(
            "SELECT evidence FROM signals WHERE article_id = ? ORDER BY start LIMIT 1",
            [article_id],
        ).fetchone()[0]
        place = con.execute(
            "SELECT name FROM mentions WHERE article_id = ? AND kind = 'place' LIMIT 1",
            [article_id],
        ).fetchone()[0]
    shown = demo_warehouse.cli("story", article_id[:10], "--width", "10000")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert title in out and article_id in out
    assert f"Signals ({n_signals}):" in out
    assert " ".join(evidence.split()) in out
    assert place in out
    missing = demo_warehouse.cli("story", "no-such-story")
    assert missing.returncode == 1 and "no story" in missing.stderr


def test_export_writes_parquet_partitioned_by_month(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    done = demo_warehouse.cli("export", "--format", "parquet", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "100%]" in done.stderr  # progress
    with duckdb.connect(str(demo_warehouse.path), read_only=True) as con:
        months = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT strftime(day, '%Y-%m') FROM stg_articles"
            ).fetchall()
        }
        totals = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed)
            for t in ("articles", "signals", "mentions", "fetch_log", "sources")
        }
    assert {p.name for p in (out / "articles").iterdir()} == {f"month={m}" for m in months}
    with duckdb.connect() as con:
        for table in ("articles", "signals", "mentions", "fetch_log"):
            pattern = str(out / table / "*" / "*.parquet")
            n = con.execute(
                "SELECT count(*) FROM read_parquet(?, hive_partitioning = true)", [pattern]
            ).fetchone()[0]
            assert n == totals[table], table
        month_of_day = con.execute(
            "SELECT bool_and(strftime(CAST(coalesce(published_at, fetched_at) AT TIME ZONE "
            "'UTC' AS DATE), '%Y-%m') = month) "
            "FROM read_parquet(?, hive_partitioning = true)",
            [str(out / "articles" / "*" / "*.parquet")],
        ).fetchone()[0]
        assert month_of_day is True
        n_sources = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(out / "sources.parquet")]
        ).fetchone()[0]
        assert n_sources == totals["sources"]
