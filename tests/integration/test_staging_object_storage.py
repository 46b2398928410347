"""Batches on object storage: staged and loaded through Airflow's ObjectStoragePath.

``memory://`` is a real fsspec filesystem that is not the local disk: what works here
through ``ObjectStoragePath`` works the same on ``s3://`` or ``gs://`` (docs/scaling.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import fsspec
import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import attach

from dyadwatch import records
from dyadwatch.settings import Settings
from extractors import stories
from tests.factories import make_article
from warehouse.load import load_pending_batches
from warehouse.staging import TABLES, batch_location, pending_batches, stage_batch

T0 = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
TEXT = (
    "Iran and Pakistan agreed on Tuesday to reopen the Taftan border crossing for trade, "
    "officials in Quetta said, after talks on security along the frontier and on the "
    "barter of goods between the two neighbours."
)


def article(url: str, text: str = TEXT, **kw: object) -> records.Article:
    return make_article(
        url,
        text,
        T0,
        source_id="src-dawn",
        extractor_version="test-1",
        relevant=True,
        tagger_version="tag-1",
        **kw,  # type: ignore[arg-type]
    )


def signal(a: records.Article, category: str) -> records.Signal:
    return records.Signal(
        article_id=a.article_id,
        category=category,
        score=1.0,
        tone_score=3.0,
        evidence=a.text,
        start=0,
        end=len(a.text),
        cue="border",
        tagger_version="tag-1",
    )


@pytest.fixture
def remote(settings: Settings) -> Iterator[Settings]:
    """The test settings with batches staged on ``memory://`` (a fresh bucket).

    Airflow knows the schemes its installed providers register (s3 with the amazon
    provider, gs with the google one); ``memory`` is attached here the same way."""
    attach("memory", fs=fsspec.filesystem("memory"))
    url = f"memory://dyadwatch-{uuid.uuid4().hex[:8]}/staging"
    yield settings.with_(staging_url=url)
    fsspec.filesystem("memory").rm(url.removeprefix("memory://").split("/")[0], recursive=True)


def test_a_url_opens_as_object_storage_and_a_directory_stays_a_path(tmp_path) -> None:
    assert isinstance(batch_location("memory://bucket/staging"), ObjectStoragePath)
    assert batch_location(tmp_path) == tmp_path
    assert batch_location(f"file://{tmp_path}") == tmp_path


def test_a_batch_stages_and_loads_through_memory_storage(remote: Settings) -> None:
    dawn = article("https://www.dawn.com/news/1")
    # a syndicated copy whose signature was computed upstream (the extraction step)
    copy = article(
        "https://tribune.example/story/2",
        minhash=stories.to_hex(stories.minhash(TEXT + " Additional reporting from Quetta.")),
    )
    tables = {
        "articles": [dawn, copy],
        "signals": [signal(dawn, "trade_economy"), signal(dawn, "border_security")],
    }
    batch_id = stage_batch(remote.staging_location, "run-1", tables, {"run_id": "r1"})

    memory = fsspec.filesystem("memory")
    bucket_path = str(remote.staging_url).removeprefix("memory://")
    staged = {p.rsplit("/", 1)[-1] for p in memory.ls(f"{bucket_path}/{batch_id}", detail=False)}
    assert staged == {"manifest.json"} | {f"{t}.parquet" for t in TABLES}
    assert not remote.staging_dir.exists()  # nothing went to the local disk
    pending = pending_batches(remote.staging_location)
    assert [p.name for p in pending] == [batch_id]
    assert isinstance(pending[0], ObjectStoragePath)

    summary = load_pending_batches(remote)
    assert (summary.articles_new, summary.signals, summary.failed) == (2, 2, {})
    assert pending_batches(remote.staging_location) == []  # loaded batches are deleted
    assert not memory.exists(f"{bucket_path}/{batch_id}/manifest.json")
    with duckdb.connect(str(remote.warehouse_path), read_only=True) as con:
        stories_of = dict(con.execute("SELECT url, story_id FROM articles").fetchall())
        loaded = con.execute("SELECT batch_id FROM loaded_batches").fetchall()
    assert stories_of == {dawn.url: dawn.article_id, copy.url: dawn.article_id}
    assert loaded == [(batch_id,)]

    # the same batch staged again (a retried task) loads nothing twice
    stage_batch(remote.staging_location, "run-1", tables, {"run_id": "r1"})
    again = load_pending_batches(remote)
    assert again.articles_new == 0 and again.signals == 0


def test_a_batch_without_its_manifest_is_not_pending(remote: Settings) -> None:
    half = ObjectStoragePath(f"{remote.staging_url}/run-9-0123456789")
    half.mkdir(parents=True, exist_ok=True)
    (half / "articles.parquet").write_bytes(b"not yet complete")
    assert pending_batches(remote.staging_location) == []
    assert load_pending_batches(remote).batches == []


def test_temporary_batches_a_killed_task_left_are_removed_later(remote: Settings) -> None:
    """A stage task killed mid-write leaves its temporary batch on the bucket; the next
    stage removes it once it is old enough that no live task can still be writing it."""
    now = int(time.time())
    old = ObjectStoragePath(f"{remote.staging_url}/.tmp-{now - 7 * 3600}-run-0-deadbeef")
    fresh = ObjectStoragePath(f"{remote.staging_url}/.tmp-{now - 60}-run-1-cafebabe")
    for left in (old, fresh):
        left.mkdir(parents=True, exist_ok=True)
        (left / "articles.parquet").write_bytes(b"half a batch")

    stage_batch(
        remote.staging_location, "run-2", {"articles": [article("https://a.example/1")]}, {}
    )

    assert not old.exists()  # left seven hours ago: removed
    assert (fresh / "articles.parquet").exists()  # a minute old: perhaps still being written
    assert [p.name for p in pending_batches(remote.staging_location)][0].startswith("run-2-")
