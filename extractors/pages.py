"""Article pages: fetch the new entries' pages with bounded concurrency and limits."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from dyadwatch.records import FetchAttempt, ParsedEntry
from dyadwatch.settings import Settings
from extractors.http import Fetched, fetch_url, run_client
from extractors.robots import RobotsCache
from extractors.runfiles import RunFiles
from extractors.safety import check_url

log = logging.getLogger(__name__)


@dataclass
class FetchedPage:
    """A fetched page on disk, waiting for extraction (a row of ``pages``)."""

    url: str  # the entry's canonical URL
    final_url: str
    source_id: str
    body_file: str  # path relative to the run folder
    content_type: str | None
    charset: str | None
    entry_title: str | None
    entry_published_at: str | None  # ISO time from the feed entry
    # the body's place in body_file when that file holds many bodies (else the whole file)
    body_offset: int | None = None
    body_length: int | None = None

    def read_body(self, run_dir: Path) -> bytes:
        """The page's bytes as fetched."""
        with (run_dir / self.body_file).open("rb") as fh:
            if self.body_offset is None:
                return fh.read()
            fh.seek(self.body_offset)
            return fh.read(self.body_length)


def entries_to_fetch(files: RunFiles) -> list[ParsedEntry]:
    """The entries this run still has to fetch: ``new_entries`` if the warehouse step
    wrote it, else every entry (the load deduplicates either way)."""
    name = "new_entries" if files.path("new_entries").exists() else "entries"
    return list(files.records(name, ParsedEntry))


def fetch_pages(settings: Settings, run_key: str) -> dict[str, int]:
    """Fetch the page of every new entry; write ``pages`` and ``fetch_log_pages``.

    Each page's host is asked for its robots.txt first (once per run); a disallowed
    page is logged as ``robots_disallowed`` and not fetched.
    """
    files = RunFiles(settings.work_dir, run_key)
    entries = entries_to_fetch(files)
    body_dir = files.dir / "pages"
    body_dir.mkdir(parents=True, exist_ok=True)
    # every body goes into one file (one file per page costs more than the fetch on
    # some file systems); a retried task starts it afresh
    bodies_name = "pages/bodies.bin"
    pages: list[FetchedPage] = []
    attempts: list[FetchAttempt] = []
    with run_client(settings) as client:
        robots = RobotsCache(client, settings) if settings.honour_robots else None

        def one(entry: ParsedEntry) -> tuple[ParsedEntry, Fetched]:
            # our own safety first: robots.txt of a refused host is not even asked for
            refusal = check_url(entry.url, settings) or (
                robots.check(entry.url) if robots else None
            )
            if refusal:
                return entry, Fetched(
                    attempt=FetchAttempt(
                        url=entry.url,
                        kind="page",
                        ok=False,
                        source_id=entry.source_id,
                        error_class=refusal.error_class,
                        error_message=refusal.message[:500],
                        attempted_at=datetime.now(UTC),
                    )
                )
            return entry, fetch_url(
                client,
                entry.url,
                kind="page",
                source_id=entry.source_id,
                max_bytes=settings.http_max_bytes,
                deadline_s=settings.http_timeout,
                require_html=True,
            )

        with (
            (files.dir / bodies_name).open("wb") as bodies,
            ThreadPoolExecutor(max_workers=max(1, settings.http_concurrency)) as pool,
        ):
            for entry, fetched in pool.map(one, entries):
                attempts.extend(fetched.attempts)
                if not fetched.ok or fetched.body is None:
                    continue
                offset = bodies.tell()
                bodies.write(fetched.body)
                pages.append(
                    FetchedPage(
                        url=entry.url,
                        final_url=fetched.final_url or entry.url,
                        source_id=entry.source_id,
                        body_file=bodies_name,
                        content_type=fetched.content_type,
                        charset=fetched.charset,
                        entry_title=entry.title,
                        entry_published_at=(
                            entry.published_at.isoformat() if entry.published_at else None
                        ),
                        body_offset=offset,
                        body_length=len(fetched.body),
                    )
                )
    robots_attempts = robots.attempts if robots else []
    files.write("pages", (asdict(p) for p in pages))
    files.write("fetch_log_pages", [*robots_attempts, *attempts])
    summary = {"pages_wanted": len(entries), "pages_fetched": len(pages)}
    summary["pages_failed"] = summary["pages_wanted"] - summary["pages_fetched"]
    summary["robots_disallowed"] = sum(1 for a in attempts if a.error_class == "robots_disallowed")
    log.info(
        "Fetched %(pages_fetched)d of %(pages_wanted)d article pages (%(pages_failed)d failed, "
        "%(robots_disallowed)d disallowed by robots.txt)",
        summary,
    )
    return summary
