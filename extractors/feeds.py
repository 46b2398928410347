"""Feeds: fetch (conditional GET) and parse (feedparser) into ParsedEntry records.

feedparser only ever sees bytes our HTTP client fetched under its limits; its loose
dicts stop here and leave as :class:`~dyadwatch.records.ParsedEntry`.
"""

from __future__ import annotations

import calendar
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from dyadwatch.records import FeedState, FetchAttempt, ParsedEntry, Source
from dyadwatch.settings import Settings
from extractors.http import Fetched, fetch_url, run_client
from extractors.runfiles import RunFiles
from extractors.sources import load_feed_sources
from extractors.urls import canonical_url

log = logging.getLogger(__name__)


@dataclass
class ParsedFeed:
    """What one feed body held."""

    entries: list[ParsedEntry] = field(default_factory=list)
    title: str | None = None
    version: str | None = None
    malformed: str | None = None  # feedparser's bozo reason, when it flagged one
    skipped: int = 0  # entries with no usable link


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _entry_link(entry: Any) -> str | None:
    link = entry.get("link")
    if not link:
        for candidate in entry.get("links", []) or []:
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate["href"]
                break
    if not link and entry.get("guidislink") and entry.get("id"):
        link = entry["id"]
    if not link or not str(link).lower().startswith(("http://", "https://")):
        return None
    return str(link)


def parse_feed(
    body: bytes, *, url: str, source_id: str, content_type: str | None = None
) -> ParsedFeed:
    """Parse a feed body into entries with canonical article URLs."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    result = ParsedFeed(title=parsed.feed.get("title"), version=parsed.get("version") or None)
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        result.malformed = f"{type(exc).__name__}: {exc}" if exc else "flagged malformed"
    seen: set[str] = set()
    for entry in parsed.entries:
        link = _entry_link(entry)
        if link is None:
            result.skipped += 1
            continue
        canonical = canonical_url(link)
        if canonical in seen:
            continue
        seen.add(canonical)
        result.entries.append(
            ParsedEntry(
                source_id=source_id,
                url=canonical,
                title=entry.get("title"),
                guid=entry.get("id"),
                published_at=_entry_time(entry),
                summary=(entry.get("summary") or None),
            )
        )
    return result


@dataclass
class FeedOutcome:
    source: Source
    state: FeedState
    attempts: list[FetchAttempt]
    entries: list[ParsedEntry]


def fetch_feed(
    client: Any, settings: Settings, source: Source, previous: FeedState | None
) -> FeedOutcome:
    """Fetch and parse one feed; a failure is recorded, never raised."""
    prev = previous or FeedState(source_id=source.source_id)
    fetched: Fetched = fetch_url(
        client,
        source.url,
        kind="feed",
        source_id=source.source_id,
        max_bytes=settings.http_max_bytes,
        deadline_s=settings.http_timeout,
        etag=prev.etag,
        last_modified=prev.last_modified,
    )
    attempt = fetched.attempt
    now = attempt.attempted_at or datetime.now(UTC)
    state = FeedState(
        source_id=source.source_id,
        etag=prev.etag,
        last_modified=prev.last_modified,
        last_status=attempt.status,
        last_success_at=prev.last_success_at,
        consecutive_failures=prev.consecutive_failures,
        next_due_at=None,
    )
    if not fetched.ok:
        state.consecutive_failures += 1
        return FeedOutcome(source, state, [attempt], [])
    state.consecutive_failures = 0
    state.last_success_at = now
    if fetched.not_modified:
        return FeedOutcome(source, state, [attempt], [])
    state.etag = fetched.etag
    state.last_modified = fetched.last_modified
    ctype = fetched.content_type
    if fetched.charset and ctype:
        ctype = f"{ctype}; charset={fetched.charset}"
    parsed = parse_feed(
        fetched.body or b"",
        url=fetched.final_url or source.url,
        source_id=source.source_id,
        content_type=ctype,
    )
    if parsed.malformed and not parsed.entries:
        attempt.ok = False
        attempt.error_class = "parse_error"
        attempt.error_message = f"feed could not be parsed: {parsed.malformed}"[:500]
        state.consecutive_failures = prev.consecutive_failures + 1
        state.last_success_at = prev.last_success_at
        # keep the old validators so a fixed feed is fetched again in full
        state.etag, state.last_modified = prev.etag, prev.last_modified
    elif parsed.malformed:
        attempt.error_class = "malformed_feed"
        attempt.error_message = f"parsed {len(parsed.entries)} entries despite: {parsed.malformed}"
    return FeedOutcome(source, state, [attempt], parsed.entries)


def fetch_feeds(settings: Settings, run_key: str) -> dict[str, int]:
    """Fetch every enabled feed of this run; write sources, states, log and new entries.

    Reads ``feed_state_prev`` (written by the warehouse step before it) for conditional
    GET; writes ``feed_sources``, ``feed_state``, ``fetch_log_feeds`` and ``entries``.
    """
    files = RunFiles(settings.work_dir, run_key)
    sources = load_feed_sources(settings.sources_file)
    previous = {s.source_id: s for s in files.records("feed_state_prev", FeedState)}
    outcomes: list[FeedOutcome] = []
    with run_client(settings) as client:
        workers = max(1, min(settings.http_concurrency, len(sources) or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(
                pool.map(
                    lambda s: fetch_feed(client, settings, s, previous.get(s.source_id)), sources
                )
            )
    entries: dict[str, ParsedEntry] = {}
    for outcome in outcomes:
        for entry in outcome.entries:
            entries.setdefault(entry.url, entry)
    files.write("feed_sources", sources)
    files.write("feed_state", [o.state for o in outcomes])
    files.write("fetch_log_feeds", [a for o in outcomes for a in o.attempts])
    files.write("entries", entries.values())
    summary = {
        "feeds": len(sources),
        "feeds_failed": sum(1 for o in outcomes if not o.attempts[0].ok),
        "feeds_not_modified": sum(1 for o in outcomes if o.attempts[0].status == 304),
        "entries": len(entries),
    }
    log.info(
        "Read %(feeds)d feeds: %(entries)d distinct entries, %(feeds_not_modified)d unchanged "
        "(304), %(feeds_failed)d failed",
        summary,
    )
    return summary
