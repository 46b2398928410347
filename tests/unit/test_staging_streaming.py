"""Staging as it reads (row groups, JSON-lines files) and loading straight from Parquet."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from dyadwatch.settings import Settings
from extractors.runfiles import RunFiles
from tests.unit.test_warehouse_load import article, batch_tables, mention, signal
from warehouse import staging
from warehouse.db import connect
from warehouse.load import BatchLoadError, load_pending_batches, refresh_entities
from warehouse.staging import TABLES, StagingError, read_manifest, stage_batch

# what a load writes, row by row, minus the columns that name the batch or the load time
WAREHOUSE_ROWS = {
    "articles": "SELECT * EXCLUDE (batch_id, loaded_at) FROM articles ORDER BY article_id",
    "signals": "SELECT * EXCLUDE (batch_id) FROM signals ORDER BY signal_id",
    "mentions": "SELECT * EXCLUDE (batch_id) FROM mentions ORDER BY mention_id",
    "fetch_log": "SELECT * EXCLUDE (id, batch_id) FROM fetch_log ORDER BY row_no",
    "sources": "SELECT * EXCLUDE (first_seen_at, updated_at) FROM sources ORDER BY source_id",
    "stories": "SELECT article_id, story_id FROM article_minhash ORDER BY article_id",
    "counts": "SELECT * FROM article_category_counts ORDER BY article_id, category",
    "summary": "SELECT * FROM article_signal_summary ORDER BY article_id",
}


def many_articles(n: int) -> dict[str, list[dict]]:
    """A batch of ``n`` articles, two signals and a mention each, some fields empty."""
    articles = [
        article(f"https://www.dawn.com/news/{i}", author=None if i % 3 else "Staff")
        for i in range(n)
    ]
    tables = batch_tables(*articles, failed_fetches=2)
    tables["signals"] += [signal(a, "diplomacy", start=3).to_row() for a in articles]
    tables["mentions"] += [mention(a, "Iran", kind="actor").to_row() for a in articles]
    return tables


def warehouse_rows(settings: Settings) -> dict[str, list[tuple]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in WAREHOUSE_ROWS.items()}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Rows as a run's task writes them (extractors.runfiles), plus a blank line."""
    files = RunFiles(path.parent, "run")
    files.write(path.stem, rows)
    written = files.path(path.stem)
    written.write_text(written.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    return written


def test_a_batch_in_several_row_groups_loads_as_one_in_a_single_group(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = many_articles(7)
    whole = stage_batch(settings.staging_dir, "run-1", tables, {})
    load_pending_batches(settings)
    expected = warehouse_rows(settings)

    small = settings.with_(home=tmp_path / "small")
    monkeypatch.setattr(staging, "CHUNK_ROWS", 4)
    monkeypatch.setattr(staging, "CHUNK_ROWS_BY_TABLE", {"articles": 2})
    chunked = stage_batch(small.staging_dir, "run-1", tables, {})
    batch = small.staging_dir / chunked
    assert pq.ParquetFile(batch / "articles.parquet").metadata.num_row_groups == 4
    assert pq.ParquetFile(batch / "signals.parquet").metadata.num_row_groups == 4
    counts = read_manifest(batch)["row_counts"]
    assert (counts["articles"], counts["signals"], counts["fetch_log"]) == (7, 14, 9)
    # the id hashes the chunks: other chunks, another id; the same chunks, the same id
    assert chunked != whole
    assert stage_batch(small.staging_dir, "run-1", tables, {}) == chunked

    summary = load_pending_batches(small)
    assert (summary.articles_new, summary.signals, summary.mentions) == (7, 14, 14)
    assert summary.fetch_failures == 2
    assert warehouse_rows(small) == expected


def test_a_json_lines_file_stages_the_same_batch_as_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "CHUNK_ROWS", 5)  # several chunks, the last one short
    tables = many_articles(6)
    # times as other writers give them: an offset, no zone (read as UTC), a date
    tables["fetch_log"][0]["attempted_at"] = "2024-01-17T14:30:00+05:00"
    tables["fetch_log"][1]["attempted_at"] = "2024-01-17T09:30:00"
    tables["fetch_log"][2]["attempted_at"] = "2024-01-17"
    rows = json.loads(json.dumps(tables, default=str))  # what a run file holds
    from_rows = stage_batch(tmp_path / "rows", "run-1", rows, {})
    files = {t: write_jsonl(tmp_path / "work" / f"{t}.jsonl", r) for t, r in rows.items()}
    files["quotes"] = tmp_path / "work" / "absent.jsonl"  # no file: no rows
    from_files = stage_batch(tmp_path / "files", "run-1", files, {})

    assert from_files == from_rows
    for table in TABLES:
        a = pq.read_table(tmp_path / "rows" / from_rows / f"{table}.parquet")
        b = pq.read_table(tmp_path / "files" / from_files / f"{table}.parquet")
        assert a.equals(b), table
    stamps = pq.read_table(tmp_path / "files" / from_files / "fetch_log.parquet")
    assert stamps.column("attempted_at").to_pylist()[:3] == [
        datetime(2024, 1, 17, 9, 30, tzinfo=UTC),
        datetime(2024, 1, 17, 9, 30, tzinfo=UTC),
        datetime(2024, 1, 17, 0, 0, tzinfo=UTC),
    ]


def test_a_json_lines_file_arrow_refuses_takes_the_row_path(tmp_path: Path) -> None:
    a = article("https://www.dawn.com/news/1")
    row = json.loads(json.dumps(a.to_row(), default=str))
    row["published_at"] = ""  # an empty time: Arrow's reader refuses it, staging reads None
    path = write_jsonl(tmp_path / "work" / "articles.jsonl", [row])
    batch_id = stage_batch(tmp_path / "staging", "run-1", {"articles": path}, {})
    assert batch_id == stage_batch(tmp_path / "again", "run-1", {"articles": [row]}, {})
    staged = pq.read_table(tmp_path / "staging" / batch_id / "articles.parquet")
    assert staged.column("published_at").to_pylist() == [None]

    row["colour"] = "red"
    bad = write_jsonl(tmp_path / "work" / "bad.jsonl", [row])
    with pytest.raises(StagingError, match=r"articles row 0: unknown column\(s\) \['colour'\]"):
        stage_batch(tmp_path / "staging", "run-2", {"articles": bad}, {})
    assert [p.name for p in (tmp_path / "staging").iterdir()] == [batch_id]  # no temp left


def test_a_batch_staged_before_columns_were_added_still_loads(settings: Settings) -> None:
    a = article("https://www.dawn.com/news/1")
    batch_id = stage_batch(settings.staging_dir, "run-1", batch_tables(a), {})
    batch = settings.staging_dir / batch_id
    # as an older version wrote it: no date_* columns, int32 word counts, no quotes/amounts
    old = pq.read_table(batch / "articles.parquet")
    old = old.drop_columns(["date_source", "date_confidence", "date_flag"])
    old = old.set_column(
        old.schema.get_field_index("word_count"),
        "word_count",
        old.column("word_count").cast("int32"),
    )
    pq.write_table(old, batch / "articles.parquet")
    (batch / "quotes.parquet").unlink()
    (batch / "amounts.parquet").unlink()

    summary = load_pending_batches(settings)
    assert (summary.articles_new, summary.signals, summary.failed) == (1, 1, {})
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "SELECT word_count, date_source, date_flag FROM articles"
        ).fetchone() == (a.word_count, None, None)


def test_a_batch_with_a_required_column_missing_stays_staged(settings: Settings) -> None:
    batch_id = stage_batch(
        settings.staging_dir, "run-1", batch_tables(article("https://x.example/1")), {}
    )
    batch = settings.staging_dir / batch_id
    pq.write_table(
        pq.read_table(batch / "signals.parquet").drop_columns(["cue"]), batch / "signals.parquet"
    )
    with pytest.raises(BatchLoadError, match="columns .* are not"):
        load_pending_batches(settings)
    assert batch.exists()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (0,)


def test_the_entities_are_refreshed_only_when_the_watch_file_changes(
    settings: Settings, tmp_path: Path
) -> None:
    watch = tmp_path / "watch.toml"
    watch.write_bytes(settings.watch_file.read_bytes())
    con = connect(settings.warehouse_path)
    try:
        n = refresh_entities(con, watch)
        assert n and n == con.execute("SELECT count(*) FROM entities").fetchone()[0]
        con.execute("UPDATE entities SET name = 'edited'")
        assert refresh_entities(con, watch) is None  # the same bytes: not read again
        assert con.execute("SELECT count(*) FROM entities WHERE name = 'edited'").fetchone()[0]

        original = watch.read_bytes()
        watch.write_bytes(original + b"\n# a comment\n")
        assert refresh_entities(con, watch) == n
        assert con.execute("SELECT count(*) FROM entities WHERE name = 'edited'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM entity_refreshes").fetchone() == (1,)

        # going back to the first file (a rolled-back edit) refreshes them again
        con.execute("UPDATE entities SET name = 'edited'")
        watch.write_bytes(original)
        assert refresh_entities(con, watch) == n
        assert con.execute("SELECT count(*) FROM entities WHERE name = 'edited'").fetchone() == (0,)
    finally:
        con.close()
