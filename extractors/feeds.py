"""Feeds: fetch (conditional GET) and parse (feedparser) into ParsedEntry records.

feedparser only ever sees bytes our HTTP client fetched under its limits; its loose
dicts stop here and leave as :class:`~dyadwatch.records.ParsedEntry`.
"""

from __future__ import annotations

import calendar
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from lxml import etree

from dyadwatch.records import FeedState, FetchAttempt, ParsedEntry, Source
from dyadwatch.settings import Settings
from extractors.http import Fetched, fetch_url, run_client
from extractors.runfiles import RunFiles
from extractors.safety import check_feed_xml
from extractors.sources import load_feed_sources
from extractors.urls import canonical_url

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


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


_SITEMAP_ROOT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(urlset|sitemapindex)[\s>]")


def looks_like_sitemap(body: bytes) -> bool:
    """Whether a body is an XML sitemap (``<urlset>`` or ``<sitemapindex>``)."""
    return bool(_SITEMAP_ROOT.search(body[:4096]))


def _sitemap_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sitemap_root(body: bytes) -> Any:
    """The root element of a sitemap body (lxml, entities and network off); raises
    ``etree.XMLSyntaxError``."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    return etree.fromstring(body, parser=parser)


@dataclass(frozen=True)
class SitemapChild:
    """One ``<sitemap>`` of a sitemap index."""

    url: str
    lastmod: datetime | None


def parse_sitemap_index(body: bytes) -> list[SitemapChild] | None:
    """The child sitemaps a ``<sitemapindex>`` lists, newest ``<lastmod>`` first (those
    without one last, in document order); None when the body is not a sitemap index."""
    if not looks_like_sitemap(body):
        return None
    try:
        root = _sitemap_root(body)
    except etree.XMLSyntaxError:
        return None
    if root is None or etree.QName(root).localname != "sitemapindex":
        return None
    children: list[SitemapChild] = []
    seen: set[str] = set()
    for node in root.iter("{*}sitemap"):
        loc = (node.findtext("{*}loc") or "").strip()
        if not loc.lower().startswith(("http://", "https://")) or loc in seen:
            continue
        seen.add(loc)
        children.append(SitemapChild(loc, _sitemap_time(node.findtext("{*}lastmod"))))
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(children, key=lambda c: c.lastmod or oldest, reverse=True)


def parse_sitemap(body: bytes, *, url: str, source_id: str) -> ParsedFeed:
    """A sitemap's ``<url>`` entries (``<loc>``, ``<lastmod>``, Google News title/date).

    Parsed with lxml with entities and network off.  A Google News sitemap
    (``xmlns:news``) gives each entry its ``news:title`` and ``news:publication_date``
    and the sitemap its title (``news:publication/news:name``).  A sitemap index is
    reported as malformed: ``dyadwatch sources add`` follows an index to its child
    sitemaps and adds those.
    """
    result = ParsedFeed(version="sitemap")
    try:
        root = _sitemap_root(body)
    except etree.XMLSyntaxError as exc:
        result.malformed = f"XMLSyntaxError: {exc}"
        return result
    if root is None:
        result.malformed = "empty sitemap"
        return result
    if etree.QName(root).localname == "sitemapindex":
        result.malformed = "a sitemap index: add the sitemaps it lists instead"
        return result
    publication = root.find(".//{*}news/{*}publication/{*}name")
    if publication is not None and (publication.text or "").strip():
        result.title = publication.text.strip()
    seen: set[str] = set()
    for node in root.iter("{*}url"):
        loc = node.findtext("{*}loc")
        if not loc or not loc.strip().lower().startswith(("http://", "https://")):
            result.skipped += 1
            continue
        canonical = canonical_url(loc.strip())
        if canonical in seen:
            continue
        seen.add(canonical)
        published = node.findtext(".//{*}publication_date") or node.findtext("{*}lastmod")
        result.entries.append(
            ParsedEntry(
                source_id=source_id,
                url=canonical,
                title=node.findtext(".//{*}news/{*}title"),
                published_at=_sitemap_time(published),
            )
        )
    return result


def parse_feed(
    body: bytes,
    *,
    url: str,
    source_id: str,
    content_type: str | None = None,
    kind: str = "feed",
) -> ParsedFeed:
    """Parse a feed (or, for ``kind='sitemap'`` or a ``<urlset>`` body, a sitemap) into
    entries with canonical article URLs."""
    if kind == "sitemap" or looks_like_sitemap(body):
        return parse_sitemap(body, url=url, source_id=source_id)
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
    skipped: str | None = None  # 'disabled' | 'backoff': not fetched this run

    @property
    def failed(self) -> bool:
        return bool(self.attempts) and not self.attempts[-1].ok

    @property
    def not_modified(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].status == 304


def feed_backoff_seconds(settings: Settings, failures: int) -> float:
    """How long a feed rests after ``failures`` failures in a row (doubling, capped)."""
    if failures <= 0:
        return 0.0
    return min(settings.feed_backoff_max, settings.feed_backoff * 2 ** (failures - 1))


def _record_failure(
    settings: Settings, state: FeedState, fetched: Fetched, attempt: FetchAttempt, now: datetime
) -> None:
    """Count a failure; back the feed off, or disable it after a 410 or too many."""
    state.consecutive_failures += 1
    if attempt.status == 410:
        state.disabled_reason = "HTTP 410 Gone: the publisher removed this feed"
    elif state.consecutive_failures >= settings.feed_disable_after:
        state.disabled_reason = (
            f"{state.consecutive_failures} consecutive failures; last: "
            f"{attempt.error_class}: {attempt.error_message}"
        )[:500]
    if state.disabled_reason:
        state.disabled_at = now
        state.next_due_at = None
        log.warning("Feed %s disabled: %s", attempt.url, state.disabled_reason)
        return
    rest = feed_backoff_seconds(settings, state.consecutive_failures)
    if fetched.retry_after is not None:
        rest = max(rest, fetched.retry_after)
    state.next_due_at = now + timedelta(seconds=rest)


def fetch_feed(
    client: Any,
    settings: Settings,
    source: Source,
    previous: FeedState | None,
    *,
    now: datetime | None = None,
) -> FeedOutcome:
    """Fetch and parse one feed; a failure is recorded, never raised.

    A disabled feed, or one resting after failures (``next_due_at`` in the future), is
    not fetched: its state is carried over and nothing is logged for it.
    """
    prev = previous or FeedState(source_id=source.source_id)
    now = now or datetime.now(UTC)
    if prev.disabled_reason:
        return FeedOutcome(source, replace(prev), [], [], skipped="disabled")
    if prev.next_due_at and prev.next_due_at > now:
        return FeedOutcome(source, replace(prev), [], [], skipped="backoff")
    fetched: Fetched = fetch_url(
        client,
        source.url,
        kind="feed",
        source_id=source.source_id,
        max_bytes=settings.http_max_bytes,
        deadline_s=settings.http_timeout,
        etag=prev.etag,
        last_modified=prev.last_modified,
        accept=FEED_ACCEPT,
    )
    attempt = fetched.attempt
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
        _record_failure(settings, state, fetched, attempt, now)
        return FeedOutcome(source, state, fetched.attempts, [])
    if fetched.not_modified:
        state.consecutive_failures = 0
        state.last_success_at = attempt.attempted_at or now
        return FeedOutcome(source, state, fetched.attempts, [])
    body = fetched.body or b""
    refusal = check_feed_xml(body)
    if refusal:
        attempt.ok = False
        attempt.error_class = refusal.error_class
        attempt.error_message = refusal.message
        _record_failure(settings, state, fetched, attempt, now)
        return FeedOutcome(source, state, fetched.attempts, [])
    ctype = fetched.content_type
    if fetched.charset and ctype:
        ctype = f"{ctype}; charset={fetched.charset}"
    parsed = parse_feed(
        body,
        url=fetched.final_url or source.url,
        source_id=source.source_id,
        content_type=ctype,
        kind=source.kind,
    )
    if parsed.malformed and not parsed.entries:
        attempt.ok = False
        attempt.error_class = "parse_error"
        attempt.error_message = f"feed could not be parsed: {parsed.malformed}"[:500]
        # keep the old validators so a fixed feed is fetched again in full
        _record_failure(settings, state, fetched, attempt, now)
        return FeedOutcome(source, state, fetched.attempts, [])
    if parsed.malformed:
        attempt.error_class = "malformed_feed"
        attempt.error_message = (
            f"parsed {len(parsed.entries)} entries despite: {parsed.malformed}"
        )[:500]
    state.consecutive_failures = 0
    state.last_success_at = attempt.attempted_at or now
    state.etag = fetched.etag
    state.last_modified = fetched.last_modified
    return FeedOutcome(source, state, fetched.attempts, parsed.entries)


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
        "feeds_failed": sum(1 for o in outcomes if o.failed),
        "feeds_not_modified": sum(1 for o in outcomes if o.not_modified),
        "feeds_resting": sum(1 for o in outcomes if o.skipped == "backoff"),
        "feeds_disabled": sum(1 for o in outcomes if o.skipped == "disabled"),
        "entries": len(entries),
    }
    log.info(
        "Read %(feeds)d feeds: %(entries)d distinct entries, %(feeds_not_modified)d unchanged "
        "(304), %(feeds_failed)d failed, %(feeds_resting)d resting after failures, "
        "%(feeds_disabled)d disabled",
        summary,
    )
    return summary
