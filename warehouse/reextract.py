"""Re-extracting stored articles from their kept raw pages after the extractor changed.

Every article fetched since migration 0003 points at its raw page (``raw_sha256``, the
page itself in ``settings.raw_dir``, see ``extractors/rawstore.py``).  When
``EXTRACTOR_VERSION`` changes, ``reextract_stale_articles`` re-extracts the stored page
of every article whose ``extractor_version`` differs from the current one, without
refetching anything, ``batch_size`` articles per transaction.  Each batch is swapped in
ONE transaction, directly in the writer task (no staged batch: nothing is fetched, so
there is nothing to keep on disk should the load fail -- a failed batch rolls back and
the next run picks the same articles up again):

1. update the articles' text, text_hash, word_count, title, author, published_at,
   language, site_name, extraction_status/method and extractor_version,
2. re-tag the new text (``extractors.tagger.tag_article``) and replace the articles'
   signals, mentions, quotes, amounts and per-category counts (the re-tag DAG's SQL,
   ``warehouse.retag``), and their relevance, tone and tagger_version.

Article ids, urls, batch ids, story ids and alerts already fired never change.  A page
that no longer extracts to an article under the new extractor keeps its text and rows
and gets the new ``extraction_status`` (so it shows up; it is not deleted).  An article
whose raw page is missing is logged, counted and left as it is.  Seed articles and
articles loaded before migration 0003 have no raw page and are never re-extracted.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

import extractors.extract as extract
from dyadwatch.settings import Settings
from dyadwatch.watch import Watch, load_watch
from extractors.dates import date_fields
from extractors.rawstore import RawPageMissing, load_raw
from warehouse import retag
from warehouse.db import WarehouseLocked, connect

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200

COUNT_STALE = """
SELECT count(*) FROM articles
WHERE raw_sha256 IS NOT NULL AND extractor_version IS DISTINCT FROM ?
"""

# keyset pagination by article_id: an article left as it was (raw page missing) is
# passed over, never selected again in the same run
SELECT_STALE_BATCH = """
SELECT article_id, url, raw_sha256, raw_charset, title, author, published_at, language,
       site_name, fetched_at, text_hash
FROM articles
WHERE raw_sha256 IS NOT NULL AND extractor_version IS DISTINCT FROM ? AND article_id > ?
ORDER BY article_id
LIMIT ?
"""

# The batch's new extraction results are registered as reextract_articles.
UPDATE_EXTRACTED = """
UPDATE articles
SET text = r.text,
    text_hash = r.text_hash,
    word_count = r.word_count,
    title = r.title,
    author = r.author,
    published_at = r.published_at,
    -- a page date found now makes the date 'page_metadata'; else the stored origin stays
    date_source = coalesce(r.date_source, articles.date_source),
    date_confidence = coalesce(r.date_confidence, articles.date_confidence),
    date_flag = CASE WHEN r.date_source IS NULL THEN articles.date_flag ELSE r.date_flag END,
    language = r.language,
    site_name = r.site_name,
    extraction_status = r.extraction_status,
    extraction_method = r.extraction_method,
    extractor_version = r.extractor_version
FROM reextract_articles AS r
WHERE articles.article_id = r.article_id
"""

# pages that no longer hold an article: only their status and version change
UPDATE_STATUS_ONLY = """
UPDATE articles
SET extraction_status = r.extraction_status,
    extractor_version = r.extractor_version
FROM reextract_statuses AS r
WHERE articles.article_id = r.article_id
"""

# after the texts, the re-tag DAG's swap (warehouse/retag.py) of the new tags
STATEMENTS = (UPDATE_EXTRACTED, UPDATE_STATUS_ONLY, *retag.SWAP_STATEMENTS)

EXTRACTED_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("text", pa.string()),
        ("text_hash", pa.string()),
        ("word_count", pa.int64()),
        ("title", pa.string()),
        ("author", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("date_source", pa.string()),
        ("date_confidence", pa.string()),
        ("date_flag", pa.string()),
        ("language", pa.string()),
        ("site_name", pa.string()),
        ("extraction_status", pa.string()),
        ("extraction_method", pa.string()),
        ("extractor_version", pa.string()),
    ]
)
STATUS_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("extraction_status", pa.string()),
        ("extractor_version", pa.string()),
    ]
)


@dataclass
class ReextractSummary:
    """What one ``reextract_stale_articles`` call did (JSON-able through ``to_dict``)."""

    extractor_version: str
    stale_before: int = 0
    batches: int = 0
    articles: int = 0  # re-extracted to a new text
    text_changed: int = 0
    no_longer_articles: int = 0  # kept, with their new extraction_status
    raw_missing: int = 0  # left as they were
    signals: int = 0
    mentions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_stale_pages(settings: Settings) -> dict[str, Any]:
    """How many stored articles with a kept page carry another extractor version
    (read-only; 0 when there is no warehouse yet)."""
    version = extract.EXTRACTOR_VERSION
    stale: int | None = 0
    if settings.warehouse_path.exists():
        try:
            con = connect(settings.warehouse_path, read_only=True, lock_timeout=10)
        except WarehouseLocked as exc:
            log.warning("Could not count stale articles (%s); the re-extract step will", exc)
            return {"extractor_version": version, "stale": None}
        with con:
            try:
                stale = int(con.execute(COUNT_STALE, [version]).fetchone()[0])
            except duckdb.BinderException:  # a warehouse from before migration 0003
                stale = 0
    log.info("%s stored articles were extracted by another version than %s", stale, version)
    return {"extractor_version": version, "stale": stale}


def _reextract_row(settings: Settings, row: tuple[Any, ...]) -> dict[str, Any] | None:
    """The new extraction of one stored article: a full row, a status-only row, or None
    when its raw page is missing."""
    article_id, url, sha, charset, title, author, published_at, language, site_name = row[:9]
    fetched_at = row[9]
    try:
        body = load_raw(settings.raw_dir, sha)
    except RawPageMissing as exc:
        log.warning("Cannot re-extract article %s (%s): %s", article_id, url, exc)
        return None
    result = extract.extract_text(body, url, charset=charset)
    version = extract.EXTRACTOR_VERSION
    if not result.ok:
        log.info(
            "Article %s (%s) no longer extracts as an article: %s",
            article_id,
            url,
            result.message,
        )
        return {
            "article_id": article_id,
            "extraction_status": result.status,
            "extractor_version": version,
        }
    published: datetime | None = extract.published_time(result.date, published_at)
    dates: dict[str, Any] = {"date_source": None, "date_confidence": None, "date_flag": None}
    if result.date:  # the page's own date: where it came from, and whether it can be right
        dates = date_fields(result.date, published_at, url=url, fetched_at=fetched_at)
        published = dates.pop("published_at")
    return {
        "article_id": article_id,
        "text": result.text,
        "text_hash": extract.text_hash(result.text),
        "word_count": extract.word_count(result.text),
        "title": result.title or title,
        "author": result.author or author,
        "published_at": published,
        **dates,
        "language": result.language or language,
        "site_name": result.site_name or site_name,
        "extraction_status": result.status,
        "extraction_method": result.method,
        "extractor_version": version,
    }


def _swap_batch(
    con: duckdb.DuckDBPyConnection,
    watch: Watch,
    extracted: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
) -> dict[str, int]:
    """Write one batch's new extractions and their new tags in one transaction."""
    rows = [(r["article_id"], r["title"], r["text"], r["language"]) for r in extracted]
    tables, counts = retag.tag_for_swap(watch, rows)
    tables["reextract_articles"] = pa.Table.from_pylist(extracted, schema=EXTRACTED_SCHEMA)
    tables["reextract_statuses"] = pa.Table.from_pylist(statuses, schema=STATUS_SCHEMA)
    retag.swap_in_one_transaction(con, tables, STATEMENTS)
    return counts


def reextract_stale_articles(
    settings: Settings, batch_size: int = DEFAULT_BATCH_SIZE, watch: Watch | None = None
) -> ReextractSummary:
    """Re-extract every stored article whose page is kept and whose ``extractor_version``
    is not the current one, ``batch_size`` articles per transaction (the single writer:
    run it in the writer pool)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    version = extract.EXTRACTOR_VERSION
    summary = ReextractSummary(extractor_version=version)
    if not settings.warehouse_path.exists():
        log.info("No warehouse at %s: nothing to re-extract", settings.warehouse_path)
        return summary
    watch = watch or load_watch(settings.watch_file)
    with connect(settings.warehouse_path, lock_timeout=settings.lock_timeout) as con:
        summary.stale_before = int(con.execute(COUNT_STALE, [version]).fetchone()[0])
        after = ""
        while True:
            rows = con.execute(SELECT_STALE_BATCH, [version, after, batch_size]).fetchall()
            if not rows:
                break
            after = rows[-1][0]
            old_hash = {row[0]: row[-1] for row in rows}
            extracted: list[dict[str, Any]] = []
            statuses: list[dict[str, Any]] = []
            for row in rows:
                new = _reextract_row(settings, row)
                if new is None:
                    summary.raw_missing += 1
                elif "text" in new:
                    extracted.append(new)
                else:
                    statuses.append(new)
            counts = _swap_batch(con, watch, extracted, statuses)
            summary.batches += 1
            summary.articles += len(extracted)
            summary.text_changed += sum(
                1 for e in extracted if e["text_hash"] != old_hash.get(e["article_id"])
            )
            summary.no_longer_articles += len(statuses)
            summary.signals += counts["signals"]
            summary.mentions += counts["mentions"]
            log.info(
                "Re-extracted batch %d: %d articles (%d with a new text), %d no longer "
                "articles, %d raw pages missing; now version %s",
                summary.batches,
                len(extracted),
                sum(1 for e in extracted if e["text_hash"] != old_hash.get(e["article_id"])),
                len(statuses),
                len(rows) - len(extracted) - len(statuses),
                version,
            )
    if summary.stale_before:
        log.info(
            "Re-extracted %d of %d stale articles from their kept pages in %d batches "
            "(%d texts changed, %d no longer articles, %d raw pages missing)",
            summary.articles,
            summary.stale_before,
            summary.batches,
            summary.text_changed,
            summary.no_longer_articles,
            summary.raw_missing,
        )
    else:
        log.info("Every stored page is already extracted with %s: nothing to do", version)
    return summary
