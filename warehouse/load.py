"""The one writer: load staged batches into the warehouse, idempotently.

For each pending batch not yet in ``loaded_batches``, in ONE transaction:

1. upsert ``sources`` and ``feed_state`` (by source_id; the batch's last row wins),
2. insert ``fetch_log`` rows keyed by ``<batch_id>:<row number>`` (never twice),
3. insert the articles not yet stored (by article_id, or by url); an article already
   in the warehouse counts as *seen*, and its signals and mentions in this batch are
   not inserted again,
4. insert the signals, mentions, quotes and amounts of the new articles,
5. record the run in ``runs`` and the batch in ``loaded_batches``.

Then commit and delete the batch directory.  On an error the transaction is rolled back
and the batch stays staged for the next load; a batch whose directory could not be
deleted is found in ``loaded_batches`` next time and deleted then.

DuckDB reads the batch's Parquet files itself (``read_parquet``, streamed, never whole
in Python's memory; a batch on object storage is copied to a local temporary directory
first).  The batch's new articles are chosen once, into the temporary table
``batch_new_articles``; the story assignment, the articles insert and the inserts of
their signals, mentions, quotes and amounts all read that choice, so none of them looks
at the whole ``articles`` table again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dyadwatch.settings import Settings
from warehouse.db import WarehouseError, connect, scalar, transaction
from warehouse.staging import (
    SCHEMAS,
    TABLE_RECORDS,
    TABLES,
    Location,
    StagingError,
    pending_batches,
    read_manifest,
    remove_batch,
)
from warehouse.stories import assign_stories

log = logging.getLogger(__name__)

# Each staged table is a view on its Parquet file under a fixed name: stage_<table>, with
# the columns of its record type and an extra column row_no (position in the batch).

SELECT_LOADED = "SELECT 1 FROM loaded_batches WHERE batch_id = ?"

# The load's memory stays bounded whatever the batch's size: past this DuckDB spills to
# its temporary directory instead of growing (the default limit is 80% of the machine's
# memory, which a large batch would take, next to the tasks running beside the load).
LOAD_SETTINGS = ("SET memory_limit = '1GB'",)

# DuckDB splits work by row groups of this many rows.  A batch whose tables all fit in one
# gains nothing from more threads and pays for spreading each small statement over them:
# on 2 cores the 2,000-article bench batch (112,148 mentions, its largest table) loaded in
# 0.765 s on one thread against 0.848 s on two (medians of 5 interleaved runs); the
# 20,000-article batch (1.1 million mentions) in 7.76 s on two against 8.70 s on one.
# Each batch gets one thread per row group of its largest table, at most one per core.
ROW_GROUP_ROWS = 122_880
SET_THREADS = "SET threads = ?"

UPSERT_SOURCES = """
INSERT INTO sources
    (source_id, kind, url, outlet, country, language, enabled, title, first_seen_at, updated_at,
     founded)
SELECT source_id, kind, url, outlet, country, language, enabled, title, $loaded_at, $loaded_at,
       founded
FROM stage_sources
QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY row_no DESC) = 1
ON CONFLICT (source_id) DO UPDATE SET
    kind = excluded.kind,
    url = excluded.url,
    outlet = excluded.outlet,
    country = excluded.country,
    language = excluded.language,
    enabled = excluded.enabled,
    title = excluded.title,
    updated_at = excluded.updated_at,
    founded = excluded.founded
"""

UPSERT_FEED_STATE = """
INSERT INTO feed_state
    (source_id, etag, last_modified, last_status, last_success_at, consecutive_failures,
     next_due_at, updated_at, disabled_reason, disabled_at)
SELECT source_id, etag, last_modified, last_status, last_success_at,
       coalesce(consecutive_failures, 0), next_due_at, $loaded_at, disabled_reason,
       disabled_at
FROM stage_feed_state
QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY row_no DESC) = 1
ON CONFLICT (source_id) DO UPDATE SET
    etag = excluded.etag,
    last_modified = excluded.last_modified,
    last_status = excluded.last_status,
    last_success_at = coalesce(excluded.last_success_at, feed_state.last_success_at),
    consecutive_failures = excluded.consecutive_failures,
    next_due_at = excluded.next_due_at,
    updated_at = excluded.updated_at,
    disabled_reason = excluded.disabled_reason,
    disabled_at = excluded.disabled_at
"""

INSERT_FETCH_LOG = """
INSERT INTO fetch_log
    (id, batch_id, row_no, url, kind, ok, source_id, status, bytes, ms, error_class,
     error_message, attempted_at)
SELECT $batch_id || ':' || row_no, $batch_id, row_no, url, kind, ok, source_id, status,
       bytes, ms, error_class, error_message, attempted_at
FROM stage_fetch_log
-- a batch is loaded once (loaded_batches); this guard, not ON CONFLICT DO NOTHING, keeps
-- a second copy out: on a warehouse with 500,000 rows of fetch_log the conflict check on
-- its two unique keys took a second per batch, this look-up 10 ms
WHERE NOT EXISTS (SELECT 1 FROM fetch_log AS f WHERE f.batch_id = $batch_id)
"""

COUNT_FETCH_FAILURES = "SELECT count(*) FROM stage_fetch_log WHERE NOT ok"

COUNT_STAGED_ARTICLES = "SELECT count(DISTINCT article_id) FROM stage_articles"

# The batch's new articles, chosen once (every insert below, and the story assignment,
# read this choice): the first row per id, then per url, of those stored under neither.
CREATE_BATCH_NEW_ARTICLES = """
CREATE OR REPLACE TEMP TABLE batch_new_articles AS
WITH first_by_id AS (
    SELECT * FROM stage_articles
    QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY row_no) = 1
),
first_by_url AS (
    SELECT * FROM first_by_id
    QUALIFY row_number() OVER (PARTITION BY url ORDER BY row_no) = 1
)
SELECT row_no, article_id FROM first_by_url AS s
-- two anti-joins (each a hash join), not one on "same id OR same url" (a nested loop over
-- every stored article)
WHERE NOT EXISTS (SELECT 1 FROM articles AS a WHERE a.article_id = s.article_id)
  AND NOT EXISTS (SELECT 1 FROM articles AS a WHERE a.url = s.url)
"""
DROP_BATCH_NEW_ARTICLES = "DROP TABLE IF EXISTS batch_new_articles"

INSERT_NEW_ARTICLES = """
INSERT INTO articles
    (article_id, url, source_id, outlet, title, author, published_at, fetched_at, language,
     text, text_hash, word_count, extractor_version, site_name, outlet_country, relevant,
     relevance, tone_score, tone, tagger_version, batch_id, loaded_at, story_id,
     raw_sha256, raw_charset, extraction_status, extraction_method, date_source,
     date_confidence, date_flag)
SELECT s.article_id, url, source_id, outlet, title, author, published_at, fetched_at,
       language, text, text_hash, word_count, extractor_version, site_name, outlet_country,
       relevant, relevance, tone_score, tone, tagger_version, $batch_id, $loaded_at,
       coalesce(st.story_id, s.article_id),
       raw_sha256, raw_charset, coalesce(extraction_status, 'ok'), extraction_method,
       coalesce(date_source, CASE WHEN published_at IS NULL THEN 'fetch_time' END),
       coalesce(date_confidence, CASE WHEN published_at IS NULL THEN 'low' END), date_flag
FROM stage_articles AS s
SEMI JOIN batch_new_articles AS n USING (row_no)
LEFT JOIN stage_story_ids AS st ON st.article_id = s.article_id
"""

COUNT_NEW_ARTICLES = "SELECT count(*) FROM batch_new_articles"

# The tagged tables have no primary key (migration 0011: the index made the batch's insert
# and commit four times slower); each insert keeps one row per id of the rows it inserts,
# the first in the batch, as ON CONFLICT DO NOTHING on the key did.  The ids come with the
# rows (the tag step's workers hash them: ``TagResult.set_row_ids``); a batch staged
# before they did gets them computed here, by the same formula.
# The batch's signals as stored (one row per id), kept for the counts below: they are
# counted from these rows, never by scanning the whole signals table.
CREATE_BATCH_SIGNALS = """
CREATE OR REPLACE TEMP TABLE batch_signals AS
SELECT signal_id, article_id, category, score, tone_score, evidence, start, "end", cue,
       tagger_version, $batch_id AS batch_id, coalesce(direction, 'undirected') AS direction,
       coalesce(quad_class, signal_quad_class(category, tone_score)) AS quad_class
FROM (
    SELECT * REPLACE (coalesce(signal_id, substr(sha256(article_id || '|' || category
                              || '|' || start || '|' || tagger_version), 1, 16)) AS signal_id)
    FROM stage_signals
    WHERE article_id IN (SELECT article_id FROM batch_new_articles)
)
QUALIFY row_number() OVER (PARTITION BY signal_id ORDER BY row_no) = 1
"""
DROP_BATCH_SIGNALS = "DROP TABLE IF EXISTS batch_signals"

INSERT_SIGNALS = """
INSERT INTO signals
    (signal_id, article_id, category, score, tone_score, evidence, start, "end", cue,
     tagger_version, batch_id, direction, quad_class)
SELECT signal_id, article_id, category, score, tone_score, evidence, start, "end", cue,
       tagger_version, batch_id, direction, quad_class
FROM batch_signals
"""

INSERT_MENTIONS = """
INSERT INTO mentions
    (mention_id, article_id, entity_id, kind, name, country, surface, start, "end",
     tagger_version, batch_id)
SELECT mention_id, article_id, entity_id, kind, name, country, surface, start, "end",
       tagger_version, $batch_id
FROM (
    SELECT * REPLACE (coalesce(mention_id, substr(sha256(article_id || '|' || entity_id
                              || '|' || start || '|' || tagger_version), 1, 16)) AS mention_id)
    FROM stage_mentions
    WHERE article_id IN (SELECT article_id FROM batch_new_articles)
)
QUALIFY row_number() OVER (PARTITION BY mention_id ORDER BY row_no) = 1
"""

INSERT_QUOTES = """
INSERT INTO quotes
    (quote_id, article_id, speaker, text, start, "end", tagger_version, batch_id)
SELECT quote_id, article_id, speaker, text, start, "end", tagger_version, $batch_id
FROM (
    SELECT * REPLACE (coalesce(quote_id, substr(sha256(article_id || '|' || start || '|'
                              || tagger_version), 1, 16)) AS quote_id)
    FROM stage_quotes
    WHERE article_id IN (SELECT article_id FROM batch_new_articles)
)
QUALIFY row_number() OVER (PARTITION BY quote_id ORDER BY row_no) = 1
"""

INSERT_AMOUNTS = """
INSERT INTO amounts
    (amount_id, article_id, kind, value, unit, text, start, "end", target_year,
     tagger_version, batch_id)
SELECT amount_id, article_id, kind, value, unit, text, start, "end", target_year,
       tagger_version, $batch_id
FROM (
    SELECT * REPLACE (coalesce(amount_id, substr(sha256(article_id || '|' || start || '|'
                              || tagger_version), 1, 16)) AS amount_id)
    FROM stage_amounts
    WHERE article_id IN (SELECT article_id FROM batch_new_articles)
)
QUALIFY row_number() OVER (PARTITION BY amount_id ORDER BY row_no) = 1
"""

# tables added after the first batches were staged: a batch without them has none
TABLES_ADDED_LATER = frozenset({"quotes", "amounts"})

# Signals per (article, category) of this batch's new articles, counted from the batch's
# signals (migration 0005: what the trend views sum instead of counting distinct articles).
# The articles are new in this transaction, so none has counts yet (the table has no key
# since migration 0013).
INSERT_ARTICLE_CATEGORY_COUNTS = """
INSERT INTO article_category_counts (article_id, category, n_signals)
SELECT article_id, category, count(*)
FROM batch_signals
GROUP BY article_id, category
"""

# Per article of this batch: its sorted categories and signal count, from the same counts
# (migration 0009: what v_relevant_articles shows without grouping every count).
UPSERT_ARTICLE_SIGNAL_SUMMARY = """
INSERT INTO article_signal_summary (article_id, categories, category_signals, n_signals)
SELECT article_id, list(category ORDER BY category), list(n_signals ORDER BY category),
       CAST(sum(n_signals) AS INTEGER)
FROM (
    SELECT article_id, category, count(*) AS n_signals
    FROM batch_signals
    GROUP BY article_id, category
)
GROUP BY article_id
ON CONFLICT (article_id) DO UPDATE SET
    categories = excluded.categories,
    category_signals = excluded.category_signals,
    n_signals = excluded.n_signals
"""

INSERT_RUN = """
INSERT INTO runs
    (batch_id, run_key, run_id, started_at, finished_at, staged_at, loaded_at, sources_read,
     entries_seen, fetch_attempts, fetch_failures, articles_staged, articles_new,
     articles_seen, signals, mentions, meta)
VALUES ($batch_id, $run_key, $run_id, $started_at, $finished_at, $staged_at, $loaded_at,
        $sources_read, $entries_seen, $fetch_attempts, $fetch_failures, $articles_staged,
        $articles_new, $articles_seen, $signals, $mentions, $meta)
"""

INSERT_LOADED_BATCH = """
INSERT INTO loaded_batches
    (batch_id, run_key, created_at, loaded_at, n_sources, n_feed_state, n_fetch_log,
     n_fetch_failures, n_articles_new, n_articles_seen, n_signals, n_mentions)
VALUES ($batch_id, $run_key, $created_at, $loaded_at, $n_sources, $n_feed_state,
        $n_fetch_log, $n_fetch_failures, $n_articles_new, $n_articles_seen, $n_signals,
        $n_mentions)
"""

ENTITY_COLUMNS = ("kind", "name", "country", "type", "lat", "lon", "aliases")
SELECT_ENTITIES = f"""
SELECT entity_id, {", ".join(ENTITY_COLUMNS)} FROM entities
WHERE entity_id IN (SELECT unnest(CAST(? AS VARCHAR[])))
"""

# the changed gazetteer entries, registered as changed_entities (ENTITIES_SCHEMA)
UPSERT_ENTITIES = """
INSERT INTO entities (entity_id, kind, name, country, type, lat, lon, aliases, updated_at)
SELECT entity_id, kind, name, country, type, lat, lon, aliases, updated_at
FROM changed_entities
ON CONFLICT (entity_id) DO UPDATE SET
    kind = excluded.kind,
    name = excluded.name,
    country = excluded.country,
    type = excluded.type,
    lat = excluded.lat,
    lon = excluded.lon,
    aliases = excluded.aliases,
    updated_at = excluded.updated_at
"""
ENTITIES_SCHEMA = pa.schema(
    [
        ("entity_id", pa.string()),
        ("kind", pa.string()),
        ("name", pa.string()),
        ("country", pa.string()),
        ("type", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("aliases", pa.list_(pa.string())),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)

# Bump when the rows written from a gazetteer change (refresh_entities), so that every
# warehouse refreshes its entities once, although its watch file did not change.
ENTITY_REFRESH_VERSION = 1
# entity_refreshes keeps one row: the watch file the entities now come from (going back to
# an earlier file must refresh them again)
SELECT_ENTITY_REFRESH = """
SELECT 1 FROM entity_refreshes WHERE watch_sha256 = ? AND code_version = ?
"""
DELETE_ENTITY_REFRESHES = "DELETE FROM entity_refreshes"
INSERT_ENTITY_REFRESH = """
INSERT INTO entity_refreshes (watch_sha256, code_version, refreshed_at, n_entities)
VALUES (?, ?, ?, ?)
"""


class BatchLoadError(WarehouseError):
    """One or more batches could not be loaded (they stay staged); the others were."""

    def __init__(self, message: str, summary: LoadSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class BatchResult:
    batch_id: str
    articles_new: int = 0
    articles_seen: int = 0
    signals: int = 0
    mentions: int = 0
    fetch_attempts: int = 0
    fetch_failures: int = 0
    sources: int = 0


@dataclass
class LoadSummary:
    """What one ``load_pending_batches`` call did."""

    batches: list[BatchResult] = field(default_factory=list)
    already_loaded: list[str] = field(default_factory=list)  # found loaded, dir removed
    failed: dict[str, str] = field(default_factory=dict)  # batch_id -> error

    def _total(self, name: str) -> int:
        return sum(getattr(b, name) for b in self.batches)

    @property
    def articles_new(self) -> int:
        return self._total("articles_new")

    @property
    def articles_seen(self) -> int:
        return self._total("articles_seen")

    @property
    def signals(self) -> int:
        return self._total("signals")

    @property
    def mentions(self) -> int:
        return self._total("mentions")

    @property
    def fetch_failures(self) -> int:
        return self._total("fetch_failures")

    def to_dict(self) -> dict[str, Any]:
        """Small and JSON-able (Airflow XCom)."""
        return {
            "batches": len(self.batches),
            "articles_new": self.articles_new,
            "articles_seen": self.articles_seen,
            "signals": self.signals,
            "mentions": self.mentions,
            "fetch_failures": self.fetch_failures,
            "already_loaded": list(self.already_loaded),
            "failed": dict(self.failed),
            "per_batch": [asdict(b) for b in self.batches],
        }


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


# DuckDB's names of the staged columns' Arrow types (a column of another type is cast)
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


def _staged_columns(table: str, found: pa.Schema | None, where: str) -> str:
    """The select list that gives a staged file the columns of ``SCHEMAS[table]``.

    ``found`` is the file's schema (None: a table added after the batch was staged).
    A column added to the record type later (a field with a default) reads as NULL;
    any other difference is a ``StagingError``.  Names and types come from the record
    types, never from the batch."""
    expected = SCHEMAS[table]
    present = {} if found is None else {f.name: f.type for f in found}
    fields = {f.name: f for f in dataclasses.fields(TABLE_RECORDS[table])}  # type: ignore[arg-type]
    unknown = [n for n in present if n not in fields]
    required = [
        n
        for n in expected.names
        if n not in present
        and fields[n].default is dataclasses.MISSING
        and fields[n].default_factory is dataclasses.MISSING
    ]
    if found is not None and (unknown or required):
        raise StagingError(f"{where}: columns {found.names} are not {expected.names}")
    columns = []
    for column in expected:
        name, sql_type = f'"{column.name}"', _DUCKDB_TYPES[column.type]
        if column.name not in present:
            columns.append(f"CAST(NULL AS {sql_type}) AS {name}")
        elif present[column.name] != column.type:
            columns.append(f"CAST({name} AS {sql_type}) AS {name}")
        else:
            columns.append(name)
    return ", ".join(columns)


@contextmanager
def _local_batch(batch_dir: Location) -> Iterator[Path]:
    """The batch's files on this machine: a local batch as it is; one on object storage
    copied (streamed) into a temporary directory, removed afterwards."""
    if isinstance(batch_dir, Path):
        yield batch_dir
        return
    with tempfile.TemporaryDirectory(prefix="dyadwatch-batch-") as tmp:
        for table in TABLES:
            source = batch_dir / f"{table}.parquet"
            try:
                if not source.exists():
                    continue
                with source.open("rb") as src, (Path(tmp) / source.name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except OSError as exc:
                raise StagingError(f"cannot read {source}: {exc}") from exc
        yield Path(tmp)


def load_threads(rows: dict[str, int], cores: int | None = None) -> int:
    """Threads for loading a batch of these table row counts (see ROW_GROUP_ROWS)."""
    cores = cores or os.cpu_count() or 1
    row_groups = -(-max(rows.values(), default=0) // ROW_GROUP_ROWS)
    return max(1, min(cores, row_groups))


def _register_batch(
    con: duckdb.DuckDBPyConnection, batch_dir: Path, name: str, manifest: dict[str, Any]
) -> dict[str, int]:
    """Each staged table as the view ``stage_<table>`` on its Parquet file (checked
    against its schema and the manifest's row count, from the file's metadata); returns
    the row counts."""
    counts = manifest.get("row_counts") or {}
    rows: dict[str, int] = {}
    for table in TABLES:
        path = batch_dir / f"{table}.parquet"
        where = f"{name}/{table}.parquet"
        if table in TABLES_ADDED_LATER and not path.exists():
            empty = (
                SCHEMAS[table].empty_table().append_column("row_no", pa.array([], type=pa.int64()))
            )
            con.register(f"stage_{table}", empty)
            rows[table] = 0
            continue
        try:
            metadata = pq.read_metadata(path)
            schema = metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowException) as exc:
            raise StagingError(f"cannot read {where}: {exc}") from exc
        rows[table] = metadata.num_rows
        if table in counts and counts[table] != rows[table]:
            raise StagingError(f"{where} has {rows[table]} rows, the manifest says {counts[table]}")
        select = _staged_columns(table, schema, where) + ", file_row_number AS row_no"
        relation = con.read_parquet(str(path), file_row_number=True).project(select)
        con.register(f"stage_{table}", relation)  # a temporary view: never in the file
    return rows


def _load_batch(
    con: duckdb.DuckDBPyConnection, batch_dir: Location, manifest: dict[str, Any], now: datetime
) -> BatchResult:
    """Load one batch in one transaction (the caller rolls back on error)."""
    with _local_batch(batch_dir) as local_dir:
        try:
            return _load_registered_batch(con, local_dir, batch_dir.name, manifest, now)
        finally:
            _drop_batch_views(con)


def _drop_batch_views(con: duckdb.DuckDBPyConnection) -> None:
    """Forget one batch's views and temporary table (the next batch makes its own); a
    failure here is logged, never hiding the load's own error."""
    try:
        for table in TABLES:
            con.unregister(f"stage_{table}")
        con.execute(DROP_BATCH_NEW_ARTICLES)
        con.execute(DROP_BATCH_SIGNALS)
        con.unregister("stage_story_ids")
    except duckdb.Error as exc:
        log.warning("could not drop the batch's staging views: %s", exc)


def _load_registered_batch(
    con: duckdb.DuckDBPyConnection,
    batch_dir: Path,
    name: str,
    manifest: dict[str, Any],
    now: datetime,
) -> BatchResult:
    batch_id = manifest["batch_id"]
    rows = _register_batch(con, batch_dir, name, manifest)
    con.execute(SET_THREADS, [load_threads(rows)])
    meta = manifest.get("meta") or {}
    result = BatchResult(batch_id=batch_id)
    with transaction(con):
        ids = {"batch_id": batch_id}
        con.execute(UPSERT_SOURCES, {"loaded_at": now})
        con.execute(UPSERT_FEED_STATE, {"loaded_at": now})
        con.execute(INSERT_FETCH_LOG, ids)
        result.sources = rows["sources"]
        result.fetch_attempts = rows["fetch_log"]
        result.fetch_failures = scalar(con, COUNT_FETCH_FAILURES)

        con.execute(CREATE_BATCH_NEW_ARTICLES)
        # near-duplicates: story ids of the new articles (warehouse/stories.py)
        con.register("stage_story_ids", assign_stories(con, now))
        con.execute(INSERT_NEW_ARTICLES, {"batch_id": batch_id, "loaded_at": now})
        staged = scalar(con, COUNT_STAGED_ARTICLES)
        result.articles_new = scalar(con, COUNT_NEW_ARTICLES)
        result.articles_seen = staged - result.articles_new
        con.execute(CREATE_BATCH_SIGNALS, ids)
        result.signals = scalar(con, INSERT_SIGNALS)
        con.execute(INSERT_ARTICLE_CATEGORY_COUNTS)
        con.execute(UPSERT_ARTICLE_SIGNAL_SUMMARY)
        result.mentions = scalar(con, INSERT_MENTIONS, ids)
        con.execute(INSERT_QUOTES, ids)
        con.execute(INSERT_AMOUNTS, ids)

        con.execute(
            INSERT_RUN,
            {
                "batch_id": batch_id,
                "run_key": manifest.get("run_key") or "",
                "run_id": None if meta.get("run_id") is None else str(meta["run_id"]),
                "started_at": _parse_time(meta.get("started_at")),
                "finished_at": _parse_time(meta.get("finished_at")),
                "staged_at": _parse_time(manifest.get("created_at")),
                "loaded_at": now,
                "sources_read": _int_or_none(meta.get("sources_read")),
                "entries_seen": _int_or_none(meta.get("entries_seen")),
                "fetch_attempts": result.fetch_attempts,
                "fetch_failures": result.fetch_failures,
                "articles_staged": staged,
                "articles_new": result.articles_new,
                "articles_seen": result.articles_seen,
                "signals": result.signals,
                "mentions": result.mentions,
                "meta": json.dumps(meta, sort_keys=True, default=str),
            },
        )
        con.execute(
            INSERT_LOADED_BATCH,
            {
                "batch_id": batch_id,
                "run_key": manifest.get("run_key") or "",
                "created_at": _parse_time(manifest.get("created_at")),
                "loaded_at": now,
                "n_sources": result.sources,
                "n_feed_state": rows["feed_state"],
                "n_fetch_log": result.fetch_attempts,
                "n_fetch_failures": result.fetch_failures,
                "n_articles_new": result.articles_new,
                "n_articles_seen": result.articles_seen,
                "n_signals": result.signals,
                "n_mentions": result.mentions,
            },
        )
    return result


def _remove_batch_dir(batch_dir: Location) -> None:
    try:
        remove_batch(batch_dir)
    except OSError as exc:
        log.warning("loaded batch %s but could not delete it (next load will): %s", batch_dir, exc)


def load_pending_batches(
    settings: Settings, *, now: datetime | None = None, watch_file: Path | None = None
) -> LoadSummary:
    """Load every staged batch not yet loaded, each in one transaction.

    With ``watch_file``, first refresh ``entities`` from its gazetteer
    (``refresh_entities``), on the same connection.

    Opens the warehouse read-write, waiting up to ``settings.lock_timeout`` for the lock
    (``WarehouseLocked`` after that; the batches stay staged).  A batch that fails is
    rolled back and left staged; the others still load, then ``BatchLoadError`` is
    raised naming the failed ones (so the task fails and is retried).
    """
    summary = LoadSummary()
    batches = pending_batches(settings.staging_location)
    con = connect(settings.warehouse_path, lock_timeout=settings.lock_timeout)
    try:
        for statement in LOAD_SETTINGS:
            con.execute(statement)
        if watch_file is not None:
            refresh_entities(con, watch_file, now=now)
        for batch_dir in batches:
            batch_id = batch_dir.name
            try:
                manifest = read_manifest(batch_dir)
                if con.execute(SELECT_LOADED, [batch_id]).fetchone():
                    log.info("batch %s is already loaded; removing its directory", batch_id)
                    summary.already_loaded.append(batch_id)
                    _remove_batch_dir(batch_dir)
                    continue
                result = _load_batch(con, batch_dir, manifest, now or datetime.now(UTC))
            except (StagingError, duckdb.Error) as exc:
                log.error("batch %s not loaded (stays staged): %s", batch_id, exc)
                summary.failed[batch_id] = f"{type(exc).__name__}: {exc}"
                continue
            log.info(
                "loaded batch %s: %d new articles, %d seen, %d signals, %d mentions",
                batch_id,
                result.articles_new,
                result.articles_seen,
                result.signals,
                result.mentions,
            )
            summary.batches.append(result)
            _remove_batch_dir(batch_dir)
    finally:
        con.close()
    if summary.failed:
        names = ", ".join(sorted(summary.failed))
        raise BatchLoadError(
            f"{len(summary.failed)} batch(es) not loaded, still staged: {names}; "
            f"first error: {next(iter(summary.failed.values()))}",
            summary,
        )
    return summary


def _entity_rows(entities: list[dict[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """Checked rows by entity id (the last entry of an id wins)."""
    rows: dict[str, dict[str, Any]] = {}
    for i, entity in enumerate(entities):
        missing = [k for k in ("entity_id", "kind", "name") if not entity.get(k)]
        if missing:
            raise ValueError(f"entity {i} lacks {missing}: {entity!r}")
        row = {
            "entity_id": str(entity["entity_id"]),
            "kind": str(entity["kind"]),
            "name": str(entity["name"]),
            "country": entity.get("country"),
            "type": entity.get("type"),
            "lat": None if entity.get("lat") is None else float(entity["lat"]),
            "lon": None if entity.get("lon") is None else float(entity["lon"]),
            "aliases": [str(a) for a in entity.get("aliases") or []],
            "updated_at": now,
        }
        rows.pop(row["entity_id"], None)  # a later entry moves to the end
        rows[row["entity_id"]] = row
    return rows


def _write_changed_entities(con: duckdb.DuckDBPyConnection, rows: dict[str, dict[str, Any]]) -> int:
    """Upsert the rows that differ from the stored ones, in one statement (inside the
    caller's transaction); returns how many were written."""
    # only what changed is written: most refreshes find the gazetteer as it was
    stored = {r[0]: r[1:] for r in con.execute(SELECT_ENTITIES, [list(rows)]).fetchall()}
    changed = [
        row
        for entity_id, row in rows.items()
        if stored.get(entity_id) != tuple(row[c] for c in ENTITY_COLUMNS)
    ]
    if changed:
        con.register("changed_entities", pa.Table.from_pylist(changed, ENTITIES_SCHEMA))
        try:
            con.execute(UPSERT_ENTITIES)
        finally:
            con.unregister("changed_entities")
    return len(changed)


def upsert_entities(con: duckdb.DuckDBPyConnection, entities: list[dict[str, Any]]) -> int:
    """Insert or update gazetteer entries (dicts with entity_id, kind, name and optional
    country, type, lat, lon, aliases); returns how many distinct entities were written."""
    rows = _entity_rows(entities, datetime.now(UTC))
    if not rows:
        return 0
    with transaction(con):
        _write_changed_entities(con, rows)
    return len(rows)


def refresh_entities(
    con: duckdb.DuckDBPyConnection, watch_file: Path, *, now: datetime | None = None
) -> int | None:
    """Refresh ``entities`` from the watch file's gazetteer, unless this warehouse was
    already refreshed from a file with the same bytes (table ``entity_refreshes``,
    migration 0010).  Only the gazetteer is read (``read_gazetteer``: no matcher is
    compiled).  Returns the number of gazetteer entries, or None when the refresh was
    skipped."""
    from dyadwatch.watch import read_gazetteer

    now = now or datetime.now(UTC)
    watch_sha256 = hashlib.sha256(Path(watch_file).read_bytes()).hexdigest()
    key = [watch_sha256, ENTITY_REFRESH_VERSION]
    if con.execute(SELECT_ENTITY_REFRESH, key).fetchone():
        log.info("entities are up to date with %s", watch_file)
        return None
    entities = [
        {
            "entity_id": e.entity_id,
            "kind": e.kind,
            "name": e.name,
            "country": e.country,
            "type": e.type,
            "lat": e.lat,
            "lon": e.lon,
            "aliases": list(e.aliases),
        }
        for e in read_gazetteer(watch_file)
    ]
    rows = _entity_rows(entities, now)
    with transaction(con):
        written = _write_changed_entities(con, rows)
        con.execute(DELETE_ENTITY_REFRESHES)
        con.execute(INSERT_ENTITY_REFRESH, [*key, now, len(rows)])
    log.info(
        "refreshed entities from %s: %d gazetteer entries, %d written",
        watch_file,
        len(rows),
        written,
    )
    return len(rows)
