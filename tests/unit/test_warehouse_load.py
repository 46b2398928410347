"""Staging and the single-writer load: idempotent, transactional, patient with locks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dyadwatch import records
from dyadwatch.settings import Settings
from tests.factories import make_article
from warehouse.db import WarehouseLocked, connect, known_article_urls
from warehouse.load import (
    ROW_GROUP_ROWS,
    BatchLoadError,
    load_pending_batches,
    load_threads,
    upsert_entities,
)
from warehouse.staging import SCHEMAS, TABLES, pending_batches, read_manifest, stage_batch

T0 = datetime(2024, 1, 17, 9, 30, tzinfo=UTC)


def article(url: str, **kw: object) -> records.Article:
    text = str(kw.pop("text", f"Iran and Pakistan agreed on border trade at {url}."))
    fields: dict[str, object] = dict(
        source_id="src-dawn",
        extractor_version="test-1",
        outlet_country="PK",
        relevant=True,
        relevance=0.8,
        tone_score=3.0,
        tone="cooperation",
        tagger_version="tag-1",
    )
    fields.update(kw)
    return make_article(url, text, T0, **fields)


def signal(a: records.Article, category: str = "trade_economy", start: int = 0) -> records.Signal:
    return records.Signal(
        article_id=a.article_id,
        category=category,
        score=1.0,
        tone_score=4.0,
        evidence=a.text,
        start=start,
        end=len(a.text),
        cue="border trade",
        tagger_version="tag-1",
    )


def mention(a: records.Article, name: str = "Taftan", kind: str = "place") -> records.Mention:
    return records.Mention(
        article_id=a.article_id,
        entity_id=f"{kind}:{name.lower()}",
        kind=kind,
        name=name,
        country="PK",
        surface=name,
        start=0,
        end=len(name),
        tagger_version="tag-1",
    )


def batch_tables(*articles: records.Article, failed_fetches: int = 0) -> dict[str, list[dict]]:
    source = records.Source("src-dawn", "feed", "https://www.dawn.com/feeds/world", "Dawn", "PK")
    fetches = [
        records.FetchAttempt(url=a.url, kind="page", ok=True, status=200, attempted_at=T0)
        for a in articles
    ] + [
        records.FetchAttempt(
            url=f"https://x.example/broken/{i}",
            kind="page",
            ok=False,
            status=500,
            error_class="http_status",
            error_message="HTTP 500",
            attempted_at=T0,
        )
        for i in range(failed_fetches)
    ]
    return {
        "sources": [source.to_row()],
        "feed_state": [records.FeedState("src-dawn", etag='"abc"', last_status=200).to_row()],
        "fetch_log": [f.to_row() for f in fetches],
        "articles": [a.to_row() for a in articles],
        "signals": [signal(a).to_row() for a in articles],
        "mentions": [mention(a).to_row() for a in articles],
    }


def counts(settings: Settings) -> dict[str, int]:
    con = connect(settings.warehouse_path)
    try:
        tables = ["sources", "feed_state", "fetch_log", "articles", "signals", "mentions"]
        tables += ["runs", "loaded_batches", "article_category_counts", "article_lsh_bands"]
        # table names are constants of this test
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        con.close()


# -- staging ---------------------------------------------------------------------------


def test_stage_batch_writes_parquet_and_manifest_atomically(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    a = article("https://www.dawn.com/news/1")
    batch_id = stage_batch(staging, "run-1", batch_tables(a), {"run_id": "manual__1"})
    assert batch_id.startswith("run-1-") and len(batch_id) == len("run-1-") + 10
    batch = staging / batch_id
    assert sorted(p.name for p in batch.iterdir()) == sorted(
        ["manifest.json"] + [f"{t}.parquet" for t in TABLES]
    )
    manifest = read_manifest(batch)
    assert manifest["run_key"] == "run-1"
    assert manifest["row_counts"]["articles"] == 1
    assert manifest["meta"] == {"run_id": "manual__1"}
    assert [p.name for p in staging.iterdir()] == [batch_id]  # no temp dir left
    assert pq.read_table(batch / "articles.parquet").column("url").to_pylist() == [a.url]


def test_empty_tables_still_have_their_columns(tmp_path: Path) -> None:
    batch_id = stage_batch(tmp_path, "run-empty", {}, {})
    for table in TABLES:
        schema = pq.read_schema(tmp_path / batch_id / f"{table}.parquet")
        assert schema.names == SCHEMAS[table].names


def test_restaging_identical_content_is_a_no_op(tmp_path: Path) -> None:
    tables = batch_tables(article("https://www.dawn.com/news/1"))
    first = stage_batch(tmp_path, "run-1", tables, {"try": 1})
    created = read_manifest(tmp_path / first)["created_at"]
    again = stage_batch(tmp_path, "run-1", tables, {"try": 2})
    assert again == first
    assert read_manifest(tmp_path / first)["created_at"] == created
    assert len(pending_batches(tmp_path)) == 1
    other = stage_batch(tmp_path, "run-1", batch_tables(article("https://x.example/2")), {})
    assert other != first
    assert pending_batches(tmp_path) == [tmp_path / first, tmp_path / other]


def test_pending_batches_ignores_temp_and_incomplete_dirs(tmp_path: Path) -> None:
    (tmp_path / ".tmp-run-x-123").mkdir()
    (tmp_path / "half-written").mkdir()
    batch_id = stage_batch(tmp_path, "run-1", {}, {})
    assert pending_batches(tmp_path) == [tmp_path / batch_id]
    assert pending_batches(tmp_path / "absent") == []


def test_stage_batch_rejects_unknown_tables_and_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown table"):
        stage_batch(tmp_path, "run-1", {"artikles": []}, {})
    with pytest.raises(ValueError, match="unknown column"):
        stage_batch(tmp_path, "run-1", {"sources": [{"source_id": "s", "colour": "red"}]}, {})
    assert pending_batches(tmp_path) == []


# -- loading ---------------------------------------------------------------------------


def test_stage_and_load_a_batch(settings: Settings) -> None:
    a1, a2 = article("https://www.dawn.com/news/1"), article("https://www.dawn.com/news/2")
    meta = {"run_id": "manual__1", "sources_read": 1, "entries_seen": 7}
    batch_id = stage_batch(
        settings.staging_dir, "run-1", batch_tables(a1, a2, failed_fetches=1), meta
    )

    summary = load_pending_batches(settings)

    assert summary.to_dict() | {"per_batch": None} == {
        "batches": 1,
        "articles_new": 2,
        "articles_seen": 0,
        "signals": 2,
        "mentions": 2,
        "fetch_failures": 1,
        "already_loaded": [],
        "failed": {},
        "per_batch": None,
    }
    assert not (settings.staging_dir / batch_id).exists()
    assert counts(settings) == {
        "sources": 1,
        "feed_state": 1,
        "fetch_log": 3,
        "articles": 2,
        "signals": 2,
        "mentions": 2,
        "runs": 1,
        "loaded_batches": 1,
        "article_category_counts": 2,
        "article_lsh_bands": 0,  # texts too short to compare are not indexed
    }
    con = connect(settings.warehouse_path, read_only=True)
    try:
        run = con.execute(
            "SELECT run_key, run_id, sources_read, entries_seen, articles_new FROM runs"
        ).fetchone()
        assert run == ("run-1", "manual__1", 1, 7, 2)
        row = con.execute("SELECT batch_id, alerts_evaluated_at FROM loaded_batches").fetchone()
        assert row == (batch_id, None)
        stored = con.execute(
            "SELECT published_at, batch_id FROM articles WHERE article_id = ?", [a1.article_id]
        ).fetchone()
        assert stored == (T0, batch_id)
        assert con.execute("SELECT count(*) FROM v_fetch_failures").fetchone() == (1,)
    finally:
        con.close()
    assert known_article_urls(settings, [a1.url, "https://x.example/new"]) == {a1.url}


LONG_TEXT = (
    "Iran and Pakistan agreed on Tuesday to reopen two border markets in Balochistan and "
    "Sistan-Baluchestan, officials said, after a meeting of the joint border commission "
    "in Quetta that also discussed fuel smuggling and the fencing of the frontier."
)


def test_loading_twice_adds_nothing(settings: Settings) -> None:
    # a text long enough to be indexed for near-duplicates (article_lsh_bands)
    tables = batch_tables(article("https://www.dawn.com/news/1", text=LONG_TEXT), failed_fetches=2)
    stage_batch(settings.staging_dir, "run-1", tables, {})
    load_pending_batches(settings)
    before = counts(settings)
    # the derived tables have no key (migration 0013): one row per key all the same
    assert (before["article_category_counts"], before["article_lsh_bands"]) == (1, 25)

    assert load_pending_batches(settings).to_dict()["batches"] == 0
    # a retried stage task writes the same batch again after it was loaded
    batch_id = stage_batch(settings.staging_dir, "run-1", tables, {})
    summary = load_pending_batches(settings)

    assert summary.already_loaded == [batch_id]
    assert summary.articles_new == 0
    assert not (settings.staging_dir / batch_id).exists()
    assert counts(settings) == before
    # the batch's stage_* views were temporary: none is left in the file
    con = connect(settings.warehouse_path, read_only=True)
    try:
        left = "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'stage_%'"
        assert con.execute(left).fetchone() == (0,)
    finally:
        con.close()


def test_a_known_article_counts_as_seen_and_keeps_its_signals(settings: Settings) -> None:
    known = article("https://www.dawn.com/news/1")
    stage_batch(settings.staging_dir, "run-1", batch_tables(known), {})
    load_pending_batches(settings)

    fresh = article("https://www.dawn.com/news/2")
    tables = batch_tables(known, fresh)
    # the known article comes back with an extra signal: it must not be added
    tables["signals"].append(signal(known, "diplomacy", start=5).to_row())
    stage_batch(settings.staging_dir, "run-2", tables, {})
    summary = load_pending_batches(settings)

    assert (summary.articles_new, summary.articles_seen) == (1, 1)
    assert (summary.signals, summary.mentions) == (1, 1)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        signals = con.execute(
            "SELECT category FROM signals WHERE article_id = ?", [known.article_id]
        ).fetchall()
        assert signals == [("trade_economy",)]
        assert con.execute(
            "SELECT n_articles_new, n_articles_seen FROM loaded_batches WHERE run_key = 'run-2'"
        ).fetchone() == (1, 1)
    finally:
        con.close()


def test_duplicate_rows_inside_one_batch_are_stored_once(settings: Settings) -> None:
    a = article("https://www.dawn.com/news/1")
    tables = batch_tables(a, a)
    tables["sources"] *= 2
    # the same signal id twice with other values (the tables have no key: the load keeps
    # the first row of an id itself)
    later = signal(a)
    later.score = 0.25
    tables["signals"].append(later.to_row())
    stage_batch(settings.staging_dir, "run-1", tables, {})
    summary = load_pending_batches(settings)
    assert (summary.articles_new, summary.articles_seen, summary.signals) == (1, 0, 1)
    assert summary.mentions == 1
    con = connect(settings.warehouse_path, read_only=True)
    try:
        assert con.execute("SELECT count(*), min(score) FROM signals").fetchone() == (1, 1.0)
        assert con.execute("SELECT count(*) FROM mentions").fetchone() == (1,)
        # counted from the signals kept, once (the table has no key since migration 0013)
        counted = "SELECT count(*), sum(n_signals) FROM article_category_counts"
        assert con.execute(counted).fetchone() == (1, 1)
    finally:
        con.close()


def test_row_ids_from_the_tag_step_are_the_ones_the_load_would_compute(
    settings: Settings,
) -> None:
    # one article's rows carry their ids (TagResult.set_row_ids, as the tag step's workers
    # set them), the other's do not (a batch staged before they did): every stored id must
    # be the load's own formula either way
    with_ids, without = article("https://www.dawn.com/news/1"), article("https://x.ir/خبر/2")
    tables = batch_tables(with_ids, without)
    tagged = {}
    for a in (with_ids, without):
        result = records.TagResult(True, 0.8, 3.0, "cooperation", "tag-1")
        result.signals = [signal(a), signal(a, "energy", start=5)]
        result.mentions = [mention(a), mention(a, "زاهدان")]
        result.quotes = [records.Quote(a.article_id, "Dar", "we agreed", 3, 12, "tag-1")]
        result.amounts = [
            records.Amount(a.article_id, "money", 5e9, "USD", "$5 billion", 20, 30, 2028, "tag-1")
        ]
        if a is with_ids:
            result.set_row_ids()
            assert result.signals[0].signal_id and result.amounts[0].amount_id
        tagged[a.article_id] = result
    for table in ("signals", "mentions", "quotes", "amounts"):
        tables[table] = [row.to_row() for r in tagged.values() for row in getattr(r, table)]
    stage_batch(settings.staging_dir, "run-1", tables, {})
    assert load_pending_batches(settings).signals == 4
    formulas = {
        "signals": ("signal_id", "article_id || '|' || category || '|' || start"),
        "mentions": ("mention_id", "article_id || '|' || entity_id || '|' || start"),
        "quotes": ("quote_id", "article_id || '|' || start"),
        "amounts": ("amount_id", "article_id || '|' || start"),
    }
    con = connect(settings.warehouse_path, read_only=True)
    try:
        for table, (id_column, key) in formulas.items():
            # table and column names are constants of this test
            rows, wrong = con.execute(
                f"SELECT count(*), count(*) FILTER ({id_column} <> substr(sha256({key} "
                f"|| '|' || tagger_version), 1, 16)) FROM {table}"
            ).fetchone()
            assert (rows, wrong) == (4 if table in ("signals", "mentions") else 2, 0), table
        # the per-article counts the load keeps are those of the stored signals
        recount = (
            "SELECT article_id, category, count(*) FROM signals GROUP BY ALL "
            "EXCEPT SELECT article_id, category, n_signals FROM article_category_counts"
        )
        assert con.execute(recount).fetchall() == []
        summaries = con.execute(
            "SELECT article_id, categories, category_signals, n_signals "
            "FROM article_signal_summary ORDER BY article_id"
        ).fetchall()
        assert summaries == sorted(
            (a.article_id, ["energy", "trade_economy"], [1, 1], 2) for a in (with_ids, without)
        )
    finally:
        con.close()


def test_a_corrupt_batch_leaves_the_warehouse_unchanged_and_stays_staged(
    settings: Settings,
) -> None:
    stage_batch(settings.staging_dir, "run-1", batch_tables(article("https://x.example/1")), {})
    load_pending_batches(settings)
    before = counts(settings)

    bad = stage_batch(
        settings.staging_dir, "run-2", batch_tables(article("https://x.example/2")), {}
    )
    (settings.staging_dir / bad / "articles.parquet").write_bytes(b"PAR1 this is not parquet")

    with pytest.raises(BatchLoadError, match=bad) as caught:
        load_pending_batches(settings)
    assert bad in caught.value.summary.failed
    assert counts(settings) == before
    assert pending_batches(settings.staging_dir) == [settings.staging_dir / bad]


def test_a_failure_inside_the_transaction_rolls_everything_back(settings: Settings) -> None:
    connect(settings.warehouse_path).close()
    before = counts(settings)
    tables = batch_tables(article("https://x.example/1"), failed_fetches=1)
    tables["articles"][0]["text"] = None  # articles.text is NOT NULL
    bad = stage_batch(settings.staging_dir, "run-1", tables, {})
    good = stage_batch(
        settings.staging_dir, "run-2", batch_tables(article("https://x.example/2")), {}
    )

    with pytest.raises(BatchLoadError, match="NOT NULL") as caught:
        load_pending_batches(settings)

    # the good batch loaded, nothing of the bad one did (not even its sources/fetch_log)
    assert [b.batch_id for b in caught.value.summary.batches] == [good]
    after = counts(settings)
    assert after["articles"] == before["articles"] + 1
    assert after["fetch_log"] == before["fetch_log"] + 1
    assert after["loaded_batches"] == 1
    assert pending_batches(settings.staging_dir) == [settings.staging_dir / bad]


# -- the write lock ----------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


def hold_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that opens the warehouse read-write and sleeps."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_held_lock_makes_the_load_give_up_and_the_batch_stays(settings: Settings) -> None:
    connect(settings.warehouse_path).close()
    batch_id = stage_batch(
        settings.staging_dir, "run-1", batch_tables(article("https://x.example/1")), {}
    )
    holder = hold_lock(settings.warehouse_path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked, match=rf"PID {holder.pid}"):
            load_pending_batches(settings.with_(lock_timeout=1.0))
        assert 0.9 <= time.monotonic() - started < 10
        assert pending_batches(settings.staging_dir) == [settings.staging_dir / batch_id]
        assert known_article_urls(settings, ["https://x.example/1"]) == set()
    finally:
        holder.kill()
        holder.wait()

    summary = load_pending_batches(settings)
    assert (summary.articles_new, len(summary.batches)) == (1, 1)
    assert load_pending_batches(settings).to_dict()["batches"] == 0
    assert counts(settings)["articles"] == 1


def test_connect_waits_for_the_lock_to_be_released(settings: Settings) -> None:
    connect(settings.warehouse_path).close()
    stage_batch(settings.staging_dir, "run-1", batch_tables(article("https://x.example/1")), {})
    holder = hold_lock(settings.warehouse_path, 1.5)
    try:
        started = time.monotonic()
        summary = load_pending_batches(settings.with_(lock_timeout=30.0))
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert waited >= 0.5
    assert summary.articles_new == 1
    assert counts(settings)["loaded_batches"] == 1


def test_upsert_entities(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    try:
        taftan = {
            "entity_id": "place:taftan",
            "kind": "place",
            "name": "Taftan",
            "country": "PK",
            "type": "crossing",
            "lat": 29.0,
            "lon": 61.5,
            "aliases": ["Taftan", "تفتان"],
        }
        assert upsert_entities(con, [taftan, {**taftan, "lat": 28.96}]) == 1
        assert upsert_entities(con, [{**taftan, "lat": 28.96}]) == 1
        row = con.execute("SELECT name, lat, aliases FROM entities").fetchall()
        assert row == [("Taftan", 28.96, ["Taftan", "تفتان"])]
        with pytest.raises(ValueError, match="lacks"):
            upsert_entities(con, [{"entity_id": "x"}])
    finally:
        con.close()


def test_a_batch_gets_a_thread_per_row_group_of_its_largest_table_up_to_the_cores() -> None:
    small = {"articles": 2000, "signals": 45_000, "mentions": 112_000}
    assert load_threads(small, cores=8) == 1
    assert load_threads({"mentions": ROW_GROUP_ROWS + 1, "articles": 10}, cores=8) == 2
    assert load_threads({"mentions": 1_100_000}, cores=16) == 9
    assert load_threads({"mentions": 1_100_000}, cores=2) == 2
    assert load_threads({}, cores=4) == 1
