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
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from dyadwatch.settings import Settings
from warehouse.db import WarehouseError, connect
from warehouse.staging import (
    SCHEMAS,
    TABLES,
    Location,
    StagingError,
    pending_batches,
    read_batch_table,
    read_manifest,
    remove_batch,
)
from warehouse.stories import NEW_STAGED_ARTICLES_CTE, assign_stories

log = logging.getLogger(__name__)

# Each staged table is registered with DuckDB under a fixed name: stage_<table>.
# They carry an extra column row_no (position in the batch) added at load.

SELECT_LOADED = "SELECT 1 FROM loaded_batches WHERE batch_id = ?"

# The load's memory stays bounded whatever the batch's size: past this DuckDB spills to
# its temporary directory instead of growing (the default limit is 80% of the machine's
# memory, which a large batch would take, next to the tasks running beside the load).
LOAD_SETTINGS = ("SET memory_limit = '1GB'",)

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
ON CONFLICT DO NOTHING
"""

COUNT_FETCH_FAILURES = "SELECT count(*) FROM stage_fetch_log WHERE NOT ok"

COUNT_STAGED_ARTICLES = "SELECT count(DISTINCT article_id) FROM stage_articles"

# New = not stored under the same id nor the same url; one row per id and per url.
INSERT_NEW_ARTICLES = (
    """
INSERT INTO articles
    (article_id, url, source_id, outlet, title, author, published_at, fetched_at, language,
     text, text_hash, word_count, extractor_version, site_name, outlet_country, relevant,
     relevance, tone_score, tone, tagger_version, batch_id, loaded_at, story_id,
     raw_sha256, raw_charset, extraction_status, extraction_method, date_source,
     date_confidence, date_flag)
"""
    + NEW_STAGED_ARTICLES_CTE
    + """
SELECT article_id, url, source_id, outlet, title, author, published_at, fetched_at, language,
       text, text_hash, word_count, extractor_version, site_name, outlet_country, relevant,
       relevance, tone_score, tone, tagger_version, $batch_id, $loaded_at,
       coalesce(st.story_id, s.article_id),
       raw_sha256, raw_charset, coalesce(extraction_status, 'ok'), extraction_method,
       coalesce(date_source, CASE WHEN published_at IS NULL THEN 'fetch_time' END),
       coalesce(date_confidence, CASE WHEN published_at IS NULL THEN 'low' END), date_flag
FROM new_staged AS s
LEFT JOIN stage_story_ids AS st USING (article_id)
"""
)

COUNT_NEW_ARTICLES = "SELECT count(*) FROM articles WHERE batch_id = ?"

INSERT_SIGNALS = """
INSERT INTO signals
    (signal_id, article_id, category, score, tone_score, evidence, start, "end", cue,
     tagger_version, batch_id, direction, quad_class)
SELECT substr(sha256(article_id || '|' || category || '|' || start || '|' || tagger_version),
              1, 16),
       article_id, category, score, tone_score, evidence, start, "end", cue, tagger_version,
       $batch_id, coalesce(direction, 'undirected'),
       coalesce(quad_class, signal_quad_class(category, tone_score))
FROM stage_signals
WHERE article_id IN (SELECT article_id FROM articles WHERE batch_id = $batch_id)
ON CONFLICT DO NOTHING
"""

INSERT_MENTIONS = """
INSERT INTO mentions
    (mention_id, article_id, entity_id, kind, name, country, surface, start, "end",
     tagger_version, batch_id)
SELECT substr(sha256(article_id || '|' || entity_id || '|' || start || '|' || tagger_version),
              1, 16),
       article_id, entity_id, kind, name, country, surface, start, "end", tagger_version,
       $batch_id
FROM stage_mentions
WHERE article_id IN (SELECT article_id FROM articles WHERE batch_id = $batch_id)
ON CONFLICT DO NOTHING
"""

INSERT_QUOTES = """
INSERT INTO quotes
    (quote_id, article_id, speaker, text, start, "end", tagger_version, batch_id)
SELECT substr(sha256(article_id || '|' || start || '|' || tagger_version), 1, 16),
       article_id, speaker, text, start, "end", tagger_version, $batch_id
FROM stage_quotes
WHERE article_id IN (SELECT article_id FROM articles WHERE batch_id = $batch_id)
ON CONFLICT DO NOTHING
"""

INSERT_AMOUNTS = """
INSERT INTO amounts
    (amount_id, article_id, kind, value, unit, text, start, "end", target_year,
     tagger_version, batch_id)
SELECT substr(sha256(article_id || '|' || start || '|' || tagger_version), 1, 16),
       article_id, kind, value, unit, text, start, "end", target_year, tagger_version,
       $batch_id
FROM stage_amounts
WHERE article_id IN (SELECT article_id FROM articles WHERE batch_id = $batch_id)
ON CONFLICT DO NOTHING
"""

# tables added after the first batches were staged: a batch without them has none
TABLES_ADDED_LATER = frozenset({"quotes", "amounts"})

# Signals per (article, category) of this batch's new articles, recounted from signals
# (migration 0005: what the trend views sum instead of counting distinct articles).
UPSERT_ARTICLE_CATEGORY_COUNTS = """
INSERT INTO article_category_counts (article_id, category, n_signals)
SELECT article_id, category, count(*)
FROM signals
WHERE article_id IN (SELECT article_id FROM articles WHERE batch_id = $batch_id)
GROUP BY article_id, category
ON CONFLICT (article_id, category) DO UPDATE SET n_signals = excluded.n_signals
"""

# Per article of this batch: its sorted categories and signal count, from the counts just
# written (migration 0009: what v_relevant_articles shows without grouping every count).
UPSERT_ARTICLE_SIGNAL_SUMMARY = """
INSERT INTO article_signal_summary (article_id, categories, category_signals, n_signals)
SELECT article_id, list(category ORDER BY category), list(n_signals ORDER BY category),
       CAST(sum(n_signals) AS INTEGER)
FROM article_category_counts
WHERE article_id IN (SELECT article_id FROM articles WHERE batch_id = $batch_id)
GROUP BY article_id
ON CONFLICT (article_id) DO UPDATE SET
    categories = excluded.categories,
    category_signals = excluded.category_signals,
    n_signals = excluded.n_signals
"""

COUNT_BY_BATCH = {
    "signals": "SELECT count(*) FROM signals WHERE batch_id = ?",
    "mentions": "SELECT count(*) FROM mentions WHERE batch_id = ?",
}

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

UPSERT_ENTITY = """
INSERT INTO entities (entity_id, kind, name, country, type, lat, lon, aliases, updated_at)
VALUES ($entity_id, $kind, $name, $country, $type, $lat, $lon, $aliases, $updated_at)
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


def _read_batch(batch_dir: Location, manifest: dict[str, Any]) -> dict[str, pa.Table]:
    tables: dict[str, pa.Table] = {}
    counts = manifest.get("row_counts") or {}
    for table in TABLES:
        if table in TABLES_ADDED_LATER and not (batch_dir / f"{table}.parquet").exists():
            arrow = SCHEMAS[table].empty_table()
        else:
            arrow = read_batch_table(batch_dir, table)
        if table in counts and counts[table] != arrow.num_rows:
            raise StagingError(
                f"{batch_dir.name}/{table}.parquet has {arrow.num_rows} rows, "
                f"the manifest says {counts[table]}"
            )
        row_no = pa.array(range(arrow.num_rows), type=pa.int32())
        tables[table] = arrow.append_column("row_no", row_no)
    return tables


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def _load_batch(
    con: duckdb.DuckDBPyConnection, batch_dir: Location, manifest: dict[str, Any], now: datetime
) -> BatchResult:
    """Load one batch in one transaction (the caller rolls back on error)."""
    batch_id = manifest["batch_id"]
    tables = _read_batch(batch_dir, manifest)
    meta = manifest.get("meta") or {}
    result = BatchResult(batch_id=batch_id)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, arrow in tables.items():
            con.register(f"stage_{table}", arrow)
        ids = {"batch_id": batch_id}
        con.execute(UPSERT_SOURCES, {"loaded_at": now})
        con.execute(UPSERT_FEED_STATE, {"loaded_at": now})
        con.execute(INSERT_FETCH_LOG, ids)
        result.sources = tables["sources"].num_rows
        result.fetch_attempts = tables["fetch_log"].num_rows
        result.fetch_failures = _scalar(con, COUNT_FETCH_FAILURES)

        # near-duplicates: story ids of the new articles (warehouse/stories.py)
        con.register("stage_story_ids", assign_stories(con, now))
        con.execute(INSERT_NEW_ARTICLES, {"batch_id": batch_id, "loaded_at": now})
        staged = _scalar(con, COUNT_STAGED_ARTICLES)
        result.articles_new = _scalar(con, COUNT_NEW_ARTICLES, [batch_id])
        result.articles_seen = staged - result.articles_new
        con.execute(INSERT_SIGNALS, ids)
        con.execute(UPSERT_ARTICLE_CATEGORY_COUNTS, ids)
        con.execute(UPSERT_ARTICLE_SIGNAL_SUMMARY, ids)
        con.execute(INSERT_MENTIONS, ids)
        con.execute(INSERT_QUOTES, ids)
        con.execute(INSERT_AMOUNTS, ids)
        result.signals = _scalar(con, COUNT_BY_BATCH["signals"], [batch_id])
        result.mentions = _scalar(con, COUNT_BY_BATCH["mentions"], [batch_id])

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
                "n_feed_state": tables["feed_state"].num_rows,
                "n_fetch_log": result.fetch_attempts,
                "n_fetch_failures": result.fetch_failures,
                "n_articles_new": result.articles_new,
                "n_articles_seen": result.articles_seen,
                "n_signals": result.signals,
                "n_mentions": result.mentions,
            },
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for table in tables:
            con.unregister(f"stage_{table}")
        con.unregister("stage_story_ids")
    return result


def _remove_batch_dir(batch_dir: Location) -> None:
    try:
        remove_batch(batch_dir)
    except OSError as exc:
        log.warning("loaded batch %s but could not delete it (next load will): %s", batch_dir, exc)


def load_pending_batches(settings: Settings, *, now: datetime | None = None) -> LoadSummary:
    """Load every staged batch not yet loaded, each in one transaction.

    Opens the warehouse read-write, waiting up to ``settings.lock_timeout`` for the lock
    (``WarehouseLocked`` after that; the batches stay staged).  A batch that fails is
    rolled back and left staged; the others still load, then ``BatchLoadError`` is
    raised naming the failed ones (so the task fails and is retried).
    """
    summary = LoadSummary()
    batches = pending_batches(settings.staging_location)
    con = connect(settings.warehouse_path, lock_timeout=settings.lock_timeout)
    for statement in LOAD_SETTINGS:
        con.execute(statement)
    try:
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


def upsert_entities(con: duckdb.DuckDBPyConnection, entities: list[dict[str, Any]]) -> int:
    """Insert or update gazetteer entries (dicts with entity_id, kind, name and optional
    country, type, lat, lon, aliases); returns how many distinct entities were written."""
    now = datetime.now(UTC)
    rows = []
    for i, entity in enumerate(entities):
        missing = [k for k in ("entity_id", "kind", "name") if not entity.get(k)]
        if missing:
            raise ValueError(f"entity {i} lacks {missing}: {entity!r}")
        rows.append(
            {
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
        )
    if not rows:
        return 0
    last_by_id = {row["entity_id"]: row for row in rows}  # the last entry of an id wins
    # only what changed is written: the gazetteer is refreshed on every load, and most
    # loads find it as it was
    stored = {r[0]: r[1:] for r in con.execute(SELECT_ENTITIES, [list(last_by_id)]).fetchall()}
    changed = [
        row
        for entity_id, row in last_by_id.items()
        if stored.get(entity_id) != tuple(row[c] for c in ENTITY_COLUMNS)
    ]
    if not changed:
        return len(last_by_id)
    con.execute("BEGIN TRANSACTION")
    try:
        for row in changed:
            con.execute(UPSERT_ENTITY, row)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(last_by_id)
