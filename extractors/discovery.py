"""Adding a source: find the feed behind a URL and append it to the feeds file.

``dyadwatch sources add URL`` accepts a feed, a site's homepage (feed autodiscovery
through ``<link rel="alternate" type="application/rss+xml" href=...>``, the candidate
fetched and parsed to be sure), a sitemap (``<urlset>``, read as a list of article
links; Google News sitemaps give titles and publication dates), or a sitemap index
(``<sitemapindex>``: its child sitemaps are fetched, newest ``<lastmod>`` first, and
each one that parses is added as its own source — at most
``SITEMAP_INDEX_MAX_CHILDREN`` of them, through at most ``SITEMAP_INDEX_MAX_DEPTH``
levels of index, and only on the index's own host, as the sitemap protocol requires).
Everything is fetched with our own safe client (the same limits and address checks as
a run), never by a library fetching on its own.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from dyadwatch.settings import Settings
from extractors.feeds import (
    FEED_ACCEPT,
    SitemapChild,
    looks_like_sitemap,
    parse_feed,
    parse_sitemap_index,
)
from extractors.http import fetch_url, run_client
from extractors.safety import check_feed_xml

log = logging.getLogger(__name__)

SITEMAP_INDEX_MAX_CHILDREN = 20  # child sitemaps fetched from one index, all levels
SITEMAP_INDEX_MAX_DEPTH = 2  # an index listing indexes is followed; one level deeper is not

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/xml",
    "text/xml",
)


class DiscoveryError(ValueError):
    """No feed could be found behind the URL; the message says why."""


@dataclass
class Discovered:
    url: str
    kind: str  # 'feed' | 'sitemap'
    title: str | None
    entries: int
    via: str  # 'direct' | 'autodiscovery' | 'sitemap index'


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        rel = a.get("rel", "").lower().split()
        kind = a.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES and a.get("href"):
            self.links.append((a["href"].strip(), a.get("title") or None))


def feed_links(html: str, base_url: str) -> list[tuple[str, str | None]]:
    """The feed URLs a page advertises (``<link rel=alternate type=...rss+xml>``)."""
    parser = _AlternateLinks()
    parser.feed(html)
    seen: set[str] = set()
    out = []
    for href, title in parser.links:
        url = urljoin(base_url, href)
        if url not in seen and urlsplit(url).scheme in ("http", "https"):
            seen.add(url)
            out.append((url, title))
    return out


def _as_feed(settings: Settings, client, url: str, body: bytes, ctype: str | None):
    if check_feed_xml(body):
        return None
    if looks_like_sitemap(body):
        parsed = parse_feed(body, url=url, source_id="discovery", kind="sitemap")
        if parsed.malformed and not parsed.entries:
            return None
        return Discovered(url, "sitemap", parsed.title, len(parsed.entries), "direct")
    parsed = parse_feed(body, url=url, source_id="discovery", content_type=ctype)
    if parsed.version and (parsed.entries or not parsed.malformed):
        return Discovered(url, "feed", parsed.title, len(parsed.entries), "direct")
    return None


def _follow_sitemap_index(
    get, index_url: str, children: list[SitemapChild], depth: int, budget: list[int]
) -> list[Discovered]:
    """The sitemaps an index leads to (see the module docstring for the bounds)."""
    found: list[Discovered] = []
    index_host = (urlsplit(index_url).hostname or "").lower()
    for child in children:
        if budget[0] <= 0:
            log.warning("Sitemap index %s: stopped at %d child sitemaps", index_url,
                        SITEMAP_INDEX_MAX_CHILDREN)  # fmt: skip
            break
        if (urlsplit(child.url).hostname or "").lower() != index_host:
            log.warning("Sitemap index %s: skipped %s (not on the index's host)", index_url,
                        child.url)  # fmt: skip
            continue
        budget[0] -= 1
        try:
            got = get(child.url)
        except DiscoveryError as exc:
            log.warning("Sitemap index %s: skipped %s", index_url, exc)
            continue
        child_url = got.final_url or child.url
        refusal = check_feed_xml(got.body)
        if refusal:
            log.warning("Sitemap index %s: skipped %s (%s)", index_url, child_url, refusal.message)
            continue
        nested = parse_sitemap_index(got.body)
        if nested is not None:
            if depth >= SITEMAP_INDEX_MAX_DEPTH:
                log.warning("Sitemap index %s: not following %s (indexes nested deeper than %d)",
                            index_url, child_url, SITEMAP_INDEX_MAX_DEPTH)  # fmt: skip
                continue
            found += _follow_sitemap_index(get, child_url, nested, depth + 1, budget)
            continue
        sitemap = _as_feed(None, None, child_url, got.body, None)
        if sitemap is None or sitemap.kind != "sitemap":
            log.warning("Sitemap index %s: skipped %s (not a sitemap)", index_url, child_url)
            continue
        sitemap.via = "sitemap index"
        found.append(sitemap)
    return found


def discover_sources(settings: Settings, url: str) -> list[Discovered]:
    """The feed or sitemap at or behind ``url`` — or, for a sitemap index, the sitemaps
    it lists; raises DiscoveryError when there is none."""
    with run_client(settings) as client:

        def get(target: str):
            got = fetch_url(
                client,
                target,
                kind="discovery",
                max_bytes=settings.http_max_bytes,
                deadline_s=settings.http_timeout,
                accept=FEED_ACCEPT + ", text/html;q=0.7",
            )
            if not got.ok or got.body is None:
                a = got.attempt
                raise DiscoveryError(f"{target}: {a.error_class}: {a.error_message}")
            return got

        page = get(url)
        refusal = check_feed_xml(page.body)
        if refusal:
            raise DiscoveryError(f"{url}: {refusal.error_class}: {refusal.message}")
        children = parse_sitemap_index(page.body)
        if children is not None:
            sitemaps = _follow_sitemap_index(get, page.final_url or url, children, 1, [
                SITEMAP_INDEX_MAX_CHILDREN
            ])  # fmt: skip
            if not sitemaps:
                raise DiscoveryError(
                    f"{url} is a sitemap index of {len(children)} sitemap(s), none of which "
                    "could be fetched and read (see the warnings above)"
                )
            named = next((s.title for s in sitemaps if s.title), None)
            for sitemap in sitemaps:  # one index, one publisher
                sitemap.title = sitemap.title or named
            return sitemaps
        found = _as_feed(settings, client, page.final_url or url, page.body, page.content_type)
        if found:
            return [found]
        from extractors.charset import decode_html

        html = decode_html(page.body, page.charset)
        candidates = feed_links(html, page.final_url or url)
        if not candidates:
            raise DiscoveryError(
                f"{url} is neither a feed nor a sitemap, and its page advertises no feed "
                '(no <link rel="alternate" type="application/rss+xml">)'
            )
        reasons = []
        for candidate, title in candidates:
            try:
                got = get(candidate)
            except DiscoveryError as exc:
                reasons.append(str(exc))
                continue
            feed = _as_feed(settings, client, got.final_url or candidate, got.body, None)
            if feed:
                feed.via = "autodiscovery"
                feed.title = feed.title or title
                return [feed]
            reasons.append(f"{candidate}: not a feed")
        raise DiscoveryError("no advertised feed worked: " + "; ".join(reasons))


def load_all_feed_urls(feeds_file: Path) -> set[str]:
    """Every feed URL in the feeds file, enabled or not."""
    if not feeds_file.exists():
        return set()
    data = tomllib.loads(feeds_file.read_text(encoding="utf-8"))
    return {str(f.get("url")) for f in data.get("feed", [])}


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f]", " ", escaped) + '"'


def append_feed(
    feeds_file: Path,
    found: Discovered,
    *,
    outlet: str,
    country: str | None = None,
    language: str | None = None,
) -> bool:
    """Append a ``[[feed]]`` entry (enabled); False when the URL is already listed."""
    if found.url in load_all_feed_urls(feeds_file):
        return False
    lines = ["", "[[feed]]", f"url = {_toml_string(found.url)}", f"outlet = {_toml_string(outlet)}"]
    if country:
        lines.append(f"country = {_toml_string(country)}")
    if language:
        lines.append(f"language = {_toml_string(language)}")
    lines.append(f"kind = {_toml_string(found.kind)}")
    lines.append("enabled = true")
    if found.title:
        lines.append(f"note = {_toml_string('added by dyadwatch sources add: ' + found.title)}")
    feeds_file.parent.mkdir(parents=True, exist_ok=True)
    existing = feeds_file.read_text(encoding="utf-8") if feeds_file.exists() else ""
    sep = "" if not existing or existing.endswith("\n") else "\n"
    feeds_file.write_text(existing + sep + "\n".join(lines) + "\n", encoding="utf-8")
    return True
