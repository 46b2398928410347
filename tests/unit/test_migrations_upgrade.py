"""A warehouse made by an earlier schema version opens, upgrades in place, keeps its data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from warehouse.db import CREATE_SCHEMA_MIGRATIONS, INSERT_MIGRATION, connect, migrations

T0 = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)

OLD_ROWS = [
    (
        "INSERT INTO sources (source_id, kind, url, outlet, country, first_seen_at, updated_at) "
        "VALUES ('src1', 'feed', 'https://dawn.example/rss', 'Dawn', 'PK', $t, $t)"
    ),
    (
        "INSERT INTO feed_state (source_id, etag, last_status, last_success_at, updated_at) "
        "VALUES ('src1', '\"e1\"', 200, $t, $t)"
    ),
    (
        "INSERT INTO articles (article_id, url, source_id, outlet, title, published_at, "
        "fetched_at, text, text_hash, word_count, extractor_version, outlet_country, relevant, "
        "tone_score, tone, batch_id, loaded_at) VALUES "
        "('a1', 'https://dawn.example/1', 'src1', 'Dawn', 'Border talks', $t, $t, "
        "'Iran and Pakistan held border talks.', 'h1', 6, 'x1', 'PK', TRUE, 2.0, "
        "'cooperation', 'b1', $t)"
    ),
    (
        "INSERT INTO signals (signal_id, article_id, category, score, tone_score, evidence, "
        'start, "end", cue, tagger_version, batch_id) VALUES '
        "('s1', 'a1', 'border_security', 0.8, 2, 'Iran and Pakistan held border talks.', 0, "
        "36, 'border', 't1', 'b1'), "
        "('s2', 'a1', 'border_security', 0.5, 1, 'again', 0, 5, 'border', 't1', 'b1'), "
        "('s3', 'a1', 'diplomacy', 0.6, 2, 'talks', 0, 5, 'talks', 't1', 'b1')"
    ),
    (
        "INSERT INTO mentions (mention_id, article_id, entity_id, kind, name, country, surface, "
        'start, "end", tagger_version, batch_id) VALUES '
        "('m1', 'a1', 'iran', 'actor', 'Iran', 'IR', 'Iran', 0, 4, 't1', 'b1')"
    ),
    (
        "INSERT INTO loaded_batches (batch_id, run_key, loaded_at, n_sources, n_feed_state, "
        "n_fetch_log, n_fetch_failures, n_articles_new, n_articles_seen, n_signals, "
        "n_mentions) VALUES ('b1', 'run-1', $t, 1, 1, 0, 0, 1, 0, 3, 1)"
    ),
]
OLD_ALERT = (
    "INSERT INTO alerts (alert_id, rule_id, article_id, fired_at, status, message) "
    "VALUES ('al1', 'border', 'a1', $t, 'delivered', 'Border talks')"
)


def make_old_warehouse(path: Path, up_to: int) -> set[str]:
    """A warehouse file at schema version ``up_to`` (no later migration, no views), with
    rows written as that version's code wrote them; returns the tables it has."""
    with duckdb.connect(str(path)) as con:
        con.execute(CREATE_SCHEMA_MIGRATIONS)
        for migration in migrations():
            if migration.version > up_to:
                break
            con.execute(migration.sql)
            con.execute(INSERT_MIGRATION, [migration.version, migration.name])
        for sql in OLD_ROWS:
            con.execute(sql, {"t": T0}) if "$t" in sql else con.execute(sql)
        if up_to >= 5:  # from 0005 on, the load keeps the per-article counts
            con.execute(
                "INSERT INTO article_category_counts SELECT article_id, category, count(*) "
                "FROM signals GROUP BY ALL"
            )
        if up_to >= 9:  # from 0009 on, it keeps the per-article summary too
            con.execute(
                "INSERT INTO article_signal_summary SELECT article_id, "
                "list(category ORDER BY category), list(n_signals ORDER BY category), "
                "sum(n_signals) "
                "FROM article_category_counts GROUP BY ALL"
            )
        if up_to < 6:  # 0006 changed the alerts table
            con.execute(OLD_ALERT, {"t": T0})
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


OLDER_VERSIONS = [m.version for m in migrations()][:-1]


@pytest.mark.parametrize("version", OLDER_VERSIONS)
def test_an_older_warehouse_upgrades_in_place_and_keeps_its_data(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "old.duckdb"
    make_old_warehouse(path, version)

    con = connect(path)  # read-write: applies what is missing, recreates the views
    try:
        applied = [
            r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        ]
        assert applied == [m.version for m in migrations()]
        assert con.execute("SELECT article_id, title, tone FROM articles").fetchall() == [
            ("a1", "Border talks", "cooperation")
        ]
        assert con.execute("SELECT count(*) FROM signals").fetchone() == (3,)
        assert con.execute("SELECT etag FROM feed_state").fetchone() == ('"e1"',)
        # the views answer on the old rows (the per-article counts and summaries were
        # backfilled)
        assert con.execute(
            "SELECT category, n_signals, n_articles FROM v_signals_daily ORDER BY 1"
        ).fetchall() == [("border_security", 2, 1), ("diplomacy", 1, 1)]
        assert con.execute(
            "SELECT title, categories, n_signals FROM v_relevant_articles"
        ).fetchall() == [("Border talks", ["border_security", "diplomacy"], 3)]
        if version < 6:
            alert = con.execute("SELECT rule_id, article_id, status FROM alerts").fetchall()
            assert alert == [("border", "a1", "delivered")]
    finally:
        con.close()

    # and it stays upgraded: reopening (read-only too) changes nothing
    con = connect(path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (1,)
    finally:
        con.close()


def test_a_version_1_warehouse_opened_read_only_is_not_changed(tmp_path: Path) -> None:
    """Read-only never migrates: the analyst sees the old schema until the writer opens it."""
    path = tmp_path / "old.duckdb"
    make_old_warehouse(path, 1)
    con = connect(path, read_only=True)
    try:
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (1,)
    finally:
        con.close()
