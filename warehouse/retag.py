"""Re-tagging stored articles after the watch (or the tagger) changed.

The watch version (``Watch.version``: the tagger code version plus a hash of the watch
file) is stored on every article and every signal, mention, quote and amount.  When it
changes, ``retag_stale_articles`` re-tags the stored text of every article whose
``tagger_version`` differs from the current one, without refetching anything, in
batches of ``batch_size`` articles.  Each batch is swapped in ONE transaction:

1. delete the signals, mentions, quotes, amounts, per-category counts and per-article
   summaries of the batch's articles (whatever version they carry),
2. insert the new rows (each keeps the ``batch_id`` of the batch that brought its
   article, so per-run figures still add up),
3. update ``articles.relevant / relevance / tone_score / tone / tagger_version``.

So an article's rows are all of one version at any time, a failed batch leaves its
articles as they were (a retry picks them up again), and a rerun with nothing stale
does nothing.  Article ids, texts and alerts already fired are not touched.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pyarrow as pa

from dyadwatch.settings import Settings
from dyadwatch.watch import Watch, load_watch
from extractors.tagger import tag_article
from warehouse.db import WarehouseLocked, connect, transaction
from warehouse.staging import SCHEMAS

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500

COUNT_STALE = "SELECT count(*) FROM articles WHERE tagger_version IS DISTINCT FROM ?"

SELECT_STALE_BATCH = """
SELECT article_id, title, text, language
FROM articles
WHERE tagger_version IS DISTINCT FROM ?
ORDER BY article_id
LIMIT ?
"""

# The batch's new results are registered as retag_<table> (Arrow tables).
DELETE_OLD = {
    table: f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM retag_articles)"
    for table in (
        "signals",
        "mentions",
        "quotes",
        "amounts",
        "article_category_counts",
        "article_signal_summary",
    )
}

# one row per id of the rows inserted (the tables have no key since migration 0011; the
# article's old rows were deleted first, in the same transaction); among rows of one id
# the choice is fixed by the other columns, so a re-tag always keeps the same one.  The
# ids are the records' (``TagResult.set_row_ids`` in ``tag_for_swap``)
INSERT_SIGNALS = """
INSERT INTO signals
    (signal_id, article_id, category, score, tone_score, evidence, start, "end", cue,
     tagger_version, batch_id, direction, quad_class)
SELECT s.signal_id, s.article_id, s.category, s.score, s.tone_score, s.evidence, s.start,
       s."end", s.cue, s.tagger_version, a.batch_id, coalesce(s.direction, 'undirected'),
       coalesce(s.quad_class, signal_quad_class(s.category, s.tone_score))
FROM retag_signals AS s JOIN articles AS a USING (article_id)
QUALIFY row_number() OVER (PARTITION BY signal_id ORDER BY s."end", s.cue, s.score DESC) = 1
"""

INSERT_MENTIONS = """
INSERT INTO mentions
    (mention_id, article_id, entity_id, kind, name, country, surface, start, "end",
     tagger_version, batch_id)
SELECT m.mention_id, m.article_id, m.entity_id, m.kind, m.name, m.country, m.surface,
       m.start, m."end", m.tagger_version, a.batch_id
FROM retag_mentions AS m JOIN articles AS a USING (article_id)
QUALIFY row_number() OVER (PARTITION BY mention_id ORDER BY m."end", m.surface) = 1
"""

INSERT_QUOTES = """
INSERT INTO quotes
    (quote_id, article_id, speaker, text, start, "end", tagger_version, batch_id)
SELECT q.quote_id, q.article_id, q.speaker, q.text, q.start, q."end", q.tagger_version, a.batch_id
FROM retag_quotes AS q JOIN articles AS a USING (article_id)
QUALIFY row_number() OVER (PARTITION BY quote_id ORDER BY q."end", q.speaker) = 1
"""

INSERT_AMOUNTS = """
INSERT INTO amounts
    (amount_id, article_id, kind, value, unit, text, start, "end", target_year,
     tagger_version, batch_id)
SELECT x.amount_id, x.article_id, x.kind, x.value, x.unit, x.text, x.start, x."end", x.target_year,
       x.tagger_version, a.batch_id
FROM retag_amounts AS x JOIN articles AS a USING (article_id)
QUALIFY row_number() OVER (PARTITION BY amount_id ORDER BY x."end", x.text) = 1
"""

RECOUNT_ARTICLE_CATEGORIES = """
INSERT INTO article_category_counts (article_id, category, n_signals)
SELECT article_id, category, count(*)
FROM signals
WHERE article_id IN (SELECT article_id FROM retag_articles)
GROUP BY article_id, category
"""

# after RECOUNT_ARTICLE_CATEGORIES: the per-article summary (migration 0009)
RESUMMARISE_ARTICLES = """
INSERT INTO article_signal_summary (article_id, categories, category_signals, n_signals)
SELECT article_id, list(category ORDER BY category), list(n_signals ORDER BY category),
       CAST(sum(n_signals) AS INTEGER)
FROM article_category_counts
WHERE article_id IN (SELECT article_id FROM retag_articles)
GROUP BY article_id
"""

UPDATE_ARTICLES = """
UPDATE articles
SET relevant = r.relevant,
    relevance = r.relevance,
    tone_score = r.tone_score,
    tone = r.tone,
    tagger_version = r.tagger_version
FROM retag_articles AS r
WHERE articles.article_id = r.article_id
"""

ARTICLE_RESULT_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("relevant", pa.bool_()),
        ("relevance", pa.float64()),
        ("tone_score", pa.float64()),
        ("tone", pa.string()),
        ("tagger_version", pa.string()),
    ]
)


@dataclass
class RetagSummary:
    """What one ``retag_stale_articles`` call did (JSON-able through ``to_dict``)."""

    tagger_version: str
    stale_before: int = 0
    batches: int = 0
    articles: int = 0
    relevant: int = 0
    signals: int = 0
    mentions: int = 0
    quotes: int = 0
    amounts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_stale_articles(settings: Settings) -> dict[str, Any]:
    """How many stored articles carry another tagger version than the current watch's
    (read-only; 0 when there is no warehouse yet)."""
    version = load_watch(settings.watch_file).version
    stale = 0
    if settings.warehouse_path.exists():
        try:
            con = connect(settings.warehouse_path, read_only=True, lock_timeout=10)
        except WarehouseLocked as exc:
            log.warning("Could not count stale articles (%s); the re-tag step will", exc)
            return {"tagger_version": version, "stale": None}
        with con:
            try:
                stale = int(con.execute(COUNT_STALE, [version]).fetchone()[0])
            except duckdb.CatalogException:  # a warehouse created before any migration
                stale = 0
    log.info("%d stored articles are tagged with another version than %s", stale, version)
    return {"tagger_version": version, "stale": stale}


RETAGGED_TABLES = ("signals", "mentions", "quotes", "amounts")

# the swap, reading the retag_* tables that ``tag_for_swap`` builds (re-extraction runs
# the same statements after updating the texts)
SWAP_STATEMENTS = (
    *DELETE_OLD.values(),
    INSERT_SIGNALS,
    INSERT_MENTIONS,
    INSERT_QUOTES,
    INSERT_AMOUNTS,
    RECOUNT_ARTICLE_CATEGORIES,
    RESUMMARISE_ARTICLES,
    UPDATE_ARTICLES,
)


def tag_for_swap(
    watch: Watch, rows: list[tuple[str, str | None, str, str | None]]
) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Tag ``(article_id, title, text, language)`` rows: the ``retag_<table>`` Arrow
    tables that ``SWAP_STATEMENTS`` read, and the counts of what they hold."""
    results: list[dict[str, Any]] = []
    found: dict[str, list[dict[str, Any]]] = {t: [] for t in RETAGGED_TABLES}
    for article_id, title, text, language in rows:
        result = tag_article(article_id, title, text or "", watch, language=language)
        result.set_row_ids()
        results.append(
            {
                "article_id": article_id,
                "relevant": result.relevant,
                "relevance": result.relevance,
                "tone_score": result.tone_score,
                "tone": result.tone,
                "tagger_version": result.tagger_version,
            }
        )
        for table in found:
            found[table] += [asdict(item) for item in getattr(result, table)]
    tables = {f"retag_{t}": pa.Table.from_pylist(found[t], schema=SCHEMAS[t]) for t in found}
    tables["retag_articles"] = pa.Table.from_pylist(results, schema=ARTICLE_RESULT_SCHEMA)
    counts = {
        "articles": len(results),
        "relevant": sum(1 for r in results if r["relevant"]),
        **{t: len(found[t]) for t in found},
    }
    return tables, counts


def swap_in_one_transaction(
    con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table], statements: tuple[str, ...]
) -> None:
    """Register ``tables`` under their names and run ``statements`` in one transaction
    (rolled back whole on any error)."""
    for name, data in tables.items():
        con.register(name, data)
    try:
        with transaction(con):
            for sql in statements:
                con.execute(sql)
    finally:
        for name in tables:
            con.unregister(name)


def _swap_batch(
    con: duckdb.DuckDBPyConnection, watch: Watch, rows: list[tuple[Any, ...]]
) -> dict[str, int]:
    """Tag one batch of stored articles and swap their rows in one transaction."""
    tables, counts = tag_for_swap(watch, rows)
    swap_in_one_transaction(con, tables, SWAP_STATEMENTS)
    return counts


def retag_stale_articles(
    settings: Settings, batch_size: int = DEFAULT_BATCH_SIZE, watch: Watch | None = None
) -> RetagSummary:
    """Re-tag every stored article whose ``tagger_version`` is not the current watch's,
    ``batch_size`` articles per transaction (the single writer: run it in the writer pool).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    watch = watch or load_watch(settings.watch_file)
    summary = RetagSummary(tagger_version=watch.version)
    if not settings.warehouse_path.exists():
        log.info("No warehouse at %s: nothing to re-tag", settings.warehouse_path)
        return summary
    with connect(settings.warehouse_path, lock_timeout=settings.lock_timeout) as con:
        summary.stale_before = int(con.execute(COUNT_STALE, [watch.version]).fetchone()[0])
        done: set[str] = set()
        while True:
            rows = con.execute(SELECT_STALE_BATCH, [watch.version, batch_size]).fetchall()
            if not rows:
                break
            ids = {row[0] for row in rows}
            if ids & done:  # the update did not take: never loop for ever
                raise RuntimeError(
                    f"articles {sorted(ids & done)[:3]} are still stale after being re-tagged"
                )
            done |= ids
            counts = _swap_batch(con, watch, rows)
            summary.batches += 1
            for key, value in counts.items():
                setattr(summary, key, getattr(summary, key) + value)
            log.info(
                "Re-tagged batch %d: %d articles (%d relevant), %d signals, %d mentions, "
                "%d quotes, %d amounts now of version %s",
                summary.batches,
                counts["articles"],
                counts["relevant"],
                counts["signals"],
                counts["mentions"],
                counts["quotes"],
                counts["amounts"],
                watch.version,
            )
    if summary.articles:
        log.info(
            "Re-tagged %d stored articles in %d batches with watch %s: %d relevant, %d signals",
            summary.articles,
            summary.batches,
            watch.version,
            summary.relevant,
            summary.signals,
        )
    else:
        log.info("Every stored article is already tagged with %s: nothing to do", watch.version)
    return summary
