"""Text and metadata extraction with trafilatura: page bytes -> Article.

``extract_article`` does no fetching (the shape of Media Cloud's ``from_html``): it takes
the page as fetched and returns an Article, or the reason there is none.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import trafilatura

from dyadwatch.records import Article, FetchAttempt, Source, stable_id
from dyadwatch.settings import Settings
from extractors.pages import FetchedPage
from extractors.runfiles import RunFiles
from extractors.sources import load_seed_articles
from extractors.urls import canonical_url

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = f"trafilatura-{trafilatura.__version__}+dw1"
MIN_TEXT_CHARS = 200
_LANG_RE = re.compile(rb"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_WORD_RE = re.compile(r"\w+")


@dataclass
class ExtractionFailure:
    error_class: str
    message: str


def _decode(body: bytes, charset: str | None) -> str | bytes:
    """Decode with the declared charset; leave undeclared bytes to trafilatura's detection."""
    if charset:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return body


def _published(page_date: str | None, entry_time: datetime | None) -> datetime | None:
    if page_date:
        try:
            day = datetime.strptime(page_date[:10], "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            day = None
        if day is not None:
            if entry_time and entry_time.astimezone(UTC).date() == day.date():
                return entry_time.astimezone(UTC)
            return day
    return entry_time.astimezone(UTC) if entry_time else None


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def extract_article(
    body: bytes,
    *,
    url: str,
    source: Source | None,
    fetched_at: datetime,
    charset: str | None = None,
    entry_title: str | None = None,
    entry_published_at: datetime | None = None,
) -> Article | ExtractionFailure:
    """Extract the article text and metadata of one page."""
    try:
        doc = trafilatura.bare_extraction(
            _decode(body, charset),
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
        )
    except Exception as exc:  # trafilatura raises a variety of lxml/parser errors
        return ExtractionFailure("extract_error", f"{type(exc).__name__}: {exc}")
    text = (doc.text if doc is not None else None) or ""
    if len(text) < MIN_TEXT_CHARS:
        return ExtractionFailure(
            "empty_extraction",
            f"extracted {len(text)} characters of text, under the {MIN_TEXT_CHARS} minimum",
        )
    canonical = canonical_url(doc.url) if doc.url else canonical_url(url)
    if not canonical.startswith(("http://", "https://")):
        canonical = canonical_url(url)
    lang_match = _LANG_RE.search(body[:4096])
    language = (
        doc.language
        or (lang_match.group(1).decode().lower() if lang_match else None)
        or (source.language if source else None)
    )
    return Article(
        article_id=stable_id(canonical),
        url=canonical,
        source_id=source.source_id if source else None,
        outlet=source.outlet if source else doc.sitename,
        title=doc.title or entry_title,
        author=doc.author,
        published_at=_published(doc.date, entry_published_at),
        fetched_at=fetched_at,
        language=language,
        text=text,
        text_hash=text_hash(text),
        word_count=len(_WORD_RE.findall(text)),
        extractor_version=EXTRACTOR_VERSION,
        site_name=doc.sitename,
        outlet_country=source.country if source else None,
    )


def extract_articles(settings: Settings, run_key: str) -> dict[str, int]:
    """Extract every fetched page of this run, plus the seed articles.

    Writes ``articles`` (untagged) and ``fetch_log_extract`` (pages with no article).
    """
    files = RunFiles(settings.work_dir, run_key)
    sources = {s.source_id: s for s in files.records("feed_sources", Source)}
    articles: dict[str, Article] = {}
    failures: list[FetchAttempt] = []
    now = datetime.now(UTC)

    for seed in load_seed_articles(settings.seed_articles_dir):
        url = canonical_url(seed.source.url)
        articles[stable_id(url)] = Article(
            article_id=stable_id(url),
            url=url,
            source_id=seed.source.source_id,
            outlet=seed.source.outlet,
            title=seed.title,
            author=seed.author,
            published_at=seed.published_at,
            fetched_at=now,
            language=seed.language,
            text=seed.text,
            text_hash=text_hash(seed.text),
            word_count=len(_WORD_RE.findall(seed.text)),
            extractor_version="seed",
            site_name=seed.source.outlet,
            outlet_country=seed.source.country,
        )

    for row in files.rows("pages"):
        page = FetchedPage(**row)
        entry_time = (
            datetime.fromisoformat(page.entry_published_at) if page.entry_published_at else None
        )
        result = extract_article(
            (files.dir / page.body_file).read_bytes(),
            url=page.final_url,
            source=sources.get(page.source_id),
            fetched_at=now,
            charset=page.charset,
            entry_title=page.entry_title,
            entry_published_at=entry_time,
        )
        if isinstance(result, ExtractionFailure):
            failures.append(
                FetchAttempt(
                    url=page.url,
                    kind="extract",
                    ok=False,
                    source_id=page.source_id,
                    error_class=result.error_class,
                    error_message=result.message,
                    attempted_at=now,
                )
            )
            continue
        articles.setdefault(result.article_id, result)

    files.write("articles", articles.values())
    files.write("fetch_log_extract", failures)
    summary = {"articles_extracted": len(articles), "extract_failed": len(failures)}
    log.info(
        "Extracted %(articles_extracted)d articles (seeds included); %(extract_failed)d pages "
        "held no article",
        summary,
    )
    return summary
