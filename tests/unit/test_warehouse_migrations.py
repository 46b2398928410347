"""Migrations run once on a fresh warehouse, never again; views exist and answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse import db
from warehouse.db import (
    WarehouseMissing,
    apply_migrations,
    connect,
    create_views,
    migrations,
    view_files,
)

TABLES = {
    "schema_migrations",
    "sources",
    "feed_state",
    "fetch_log",
    "articles",
    "signals",
    "mentions",
    "entities",
    "alerts",
    "alert_deliveries",
    "runs",
    "loaded_batches",
}
ANALYST_VIEWS = {
    "v_relevant_articles",
    "v_signals_daily",
    "v_signals_weekly",
    "v_cooperation_conflict_daily",
    "v_fetch_failures",
    "v_outlet_coverage",
    "v_signal_spikes",
    "v_top_entities",
    "v_story_clusters",
}


def _objects(con, kind: str) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = ?", [kind]
    ).fetchall()
    return {r[0] for r in rows}


def test_fresh_open_applies_every_migration_once(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    try:
        applied = con.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
        assert applied == [(m.version, m.name) for m in migrations()]
        assert applied[0] == (1, "initial")
        assert TABLES <= _objects(con, "BASE TABLE")
    finally:
        con.close()


def test_reopening_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    con = connect(path)
    try:
        first = con.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
        assert apply_migrations(con) == []
        assert con.execute("SELECT version, applied_at FROM schema_migrations").fetchall() == first
    finally:
        con.close()


def test_views_exist_and_answer_on_an_empty_warehouse(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    try:
        views = _objects(con, "VIEW")
        assert ANALYST_VIEWS <= views
        assert {"stg_articles", "stg_signals", "stg_mentions"} <= views
        for view in sorted(views):
            # names come from the catalog, not from input
            assert con.execute(f"SELECT * FROM {view}").fetchall() == []
    finally:
        con.close()


def test_every_view_file_documents_itself() -> None:
    for path in view_files():
        first = path.read_text(encoding="utf-8").lstrip()
        assert first.startswith("--"), f"{path.name} has no comment at the top"


def test_read_only_open_of_a_missing_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.duckdb"
    with pytest.raises(WarehouseMissing, match="no warehouse at"):
        connect(missing, read_only=True)
    assert not missing.exists()


def test_read_only_open_sees_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    con = connect(path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM v_signals_daily").fetchone() == (0,)
    finally:
        con.close()


def test_views_are_made_again_only_when_their_files_changed_or_one_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    con = connect(path)
    try:
        assert create_views(con, force=False) is False  # nothing changed: nothing made
        con.execute("DROP VIEW v_relevant_articles")
        assert create_views(con, force=False) is True  # a view went missing
        assert con.execute("SELECT count(*) FROM v_relevant_articles").fetchone() == (0,)
    finally:
        con.close()
    # a changed view file (here: one more) makes every view again at the next open
    views = tmp_path / "views"
    views.mkdir()
    for source in db.view_files():
        (views / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (views / "99_v_extra.sql").write_text(
        "-- extra\nCREATE OR REPLACE VIEW v_extra AS SELECT 1 AS one;\n"
    )
    monkeypatch.setattr(db, "VIEWS_DIR", views)
    with connect(path) as con:
        assert con.execute("SELECT one FROM v_extra").fetchone() == (1,)
