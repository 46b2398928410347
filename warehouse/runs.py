"""The warehouse's part in one ingest run: what the DAG tasks call.

- ``read_feed_state``: the feeds' ETag/Last-Modified for conditional GET (read-only);
- ``select_new_entries``: drop entries whose article is already in the warehouse;
- ``stage_run``: turn the run's files into one immutable batch for the single writer;
- ``evaluate_rules`` / ``deliver_alerts``: the alerts DAG's two steps.

Reads tolerate a missing or busy warehouse (the load deduplicates anyway); only the
load and the alert steps write, and they run in the one-slot writer pool.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dyadwatch.records import FeedState, ParsedEntry, Source
from dyadwatch.settings import Settings
from dyadwatch.watch import load_watch
from extractors.runfiles import RunFiles
from extractors.sources import load_seed_articles
from extractors.urls import canonical_url
from warehouse.db import WarehouseLocked, connect, known_article_urls
from warehouse.staging import batch_location, read_manifest, stage_batch

log = logging.getLogger(__name__)

FEED_STATE_COLUMNS = (
    "source_id",
    "etag",
    "last_modified",
    "last_status",
    "last_success_at",
    "consecutive_failures",
    "next_due_at",
    "disabled_reason",
    "disabled_at",
)
SELECT_FEED_STATE = f"SELECT {', '.join(FEED_STATE_COLUMNS)} FROM feed_state"


def read_feed_state(settings: Settings, run_key: str) -> int:
    """Write ``feed_state_prev`` (the stored state of every feed) for this run."""
    files = RunFiles(settings.work_dir, run_key)
    states: list[FeedState] = []
    if settings.warehouse_path.exists():
        try:
            con = connect(settings.warehouse_path, read_only=True, lock_timeout=10)
        except WarehouseLocked as exc:
            log.warning("Feed state not read (%s); every feed is fetched in full this run", exc)
        else:
            with con:
                for row in con.execute(SELECT_FEED_STATE).fetchall():
                    states.append(FeedState(**dict(zip(FEED_STATE_COLUMNS, row, strict=True))))
    n = files.write("feed_state_prev", states)
    log.info("Read the stored state of %d feeds", n)
    return n


def select_new_entries(settings: Settings, run_key: str) -> dict[str, int]:
    """Write ``new_entries``: the entries whose canonical URL the warehouse lacks; and
    ``known_seeds``: the seed articles' URLs the warehouse already has (the extract step
    skips them, so an hour with nothing new tags nothing)."""
    files = RunFiles(settings.work_dir, run_key)
    entries = list(files.records("entries", ParsedEntry))
    seeds = load_seed_articles(settings.seed_articles_dir)
    seed_urls = [canonical_url(seed.source.url) for seed in seeds]
    known = known_article_urls(settings, [e.url for e in entries] + seed_urls)
    new = [e for e in entries if e.url not in known]
    known_seeds = [url for url in seed_urls if url in known]
    files.write("new_entries", new)
    files.write("known_seeds", [{"url": url} for url in known_seeds])
    summary = {
        "entries": len(entries),
        "entries_known": len(entries) - len(new),
        "seeds_known": len(known_seeds),
    }
    log.info(
        "%d of %d feed entries are new; %d are already in the warehouse (and %d of %d seed "
        "articles)",
        len(new),
        len(entries),
        summary["entries_known"],
        summary["seeds_known"],
        len(seed_urls),
    )
    return summary


def stage_run(settings: Settings, run_key: str) -> str:
    """Stage this run's records as one batch; returns its id."""
    files = RunFiles(settings.work_dir, run_key)
    RunFiles.prune(settings.work_dir, keep=run_key)
    seeds = [s.source for s in load_seed_articles(settings.seed_articles_dir)]
    sources = seeds + list(files.records("feed_sources", Source))
    fetch_log = [
        row
        for name in ("fetch_log_feeds", "fetch_log_pages", "fetch_log_extract")
        for row in files.rows(name)
    ]
    # the large tables are staged from their files as they are read (Arrow's JSON
    # reader), never held as lists of rows
    tables: dict[str, Iterable[dict[str, Any]] | Path] = {
        "sources": [s.to_row() for s in sources],
        "feed_state": list(files.rows("feed_state")),
        "fetch_log": fetch_log,
        "articles": files.path("tagged_articles"),
        "signals": files.path("signals"),
        "mentions": files.path("mentions"),
        "quotes": files.path("quotes"),
        "amounts": files.path("amounts"),
    }
    entries = files.count("entries")
    new_entries = files.count("new_entries")
    meta = {
        "run_key": run_key,
        "staged_at": datetime.now(UTC).isoformat(),
        "mode": settings.mode,
        "sources_read": len(sources),
        "entries_seen": entries,
        "entries_known": entries - new_entries,
        "fetch_failures": sum(1 for r in fetch_log if not r.get("ok")),
    }
    batch_id = stage_batch(settings.staging_location, run_key, tables, meta)
    counts = read_manifest(batch_location(settings.staging_location) / batch_id)["row_counts"]
    log.info(
        "Staged batch %s: %d articles, %d signals, %d fetch-log rows",
        batch_id,
        counts["articles"],
        counts["signals"],
        counts["fetch_log"],
    )
    return batch_id


def load_batches(settings: Settings) -> dict[str, Any]:
    """The single writer's task: refresh ``entities`` from the gazetteer (when the watch
    file changed), then load every pending batch (this run's and any an earlier failed
    load left staged), on one connection."""
    from warehouse.load import load_pending_batches

    summary = load_pending_batches(settings, watch_file=settings.watch_file).to_dict()
    log.info(
        "Loaded %d batch(es): %d new articles, %d already seen, %d signals",
        summary["batches"],
        summary["articles_new"],
        summary["articles_seen"],
        summary["signals"],
    )
    return summary


def evaluate_rules(settings: Settings) -> dict[str, int]:
    """Match the watch file's alert rules against newly loaded articles."""
    from warehouse.alerts import evaluate_alert_rules

    watch = load_watch(settings.watch_file)
    with connect(settings.warehouse_path, lock_timeout=settings.lock_timeout) as con:
        fired = evaluate_alert_rules(con, watch.alert_rules, now=datetime.now(UTC))
    log.info("Alert rules matched %d new (rule, article) pairs", len(fired))
    return {"alerts_new": len(fired)}


def deliver_alerts(settings: Settings) -> dict[str, Any]:
    """Send every recorded alert not yet delivered; each is marked once sent."""
    from warehouse.delivery import deliver_pending_alerts

    rules = load_watch(settings.watch_file).alert_rules
    with connect(settings.warehouse_path, lock_timeout=settings.lock_timeout) as con:
        summary = deliver_pending_alerts(con, settings, now=datetime.now(UTC), rules=rules)
    result = summary.to_dict()
    log.info(
        "Alert delivery: %d alerts attempted in %d messages: %d delivered, %d to retry, "
        "%d given up",
        result["attempted"],
        result["messages"],
        result["delivered"],
        result["failed"],
        result["gave_up"],
    )
    return result
