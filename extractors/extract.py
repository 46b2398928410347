"""Text and metadata extraction: page bytes -> Article (or the reason there is none).

``extract_text(html, url)`` is the one extraction path: the pipeline, the re-extraction
DAG and the evaluation (``python -m extractors.evaluate``) all call it.  It does no
fetching (the shape of Media Cloud's ``from_html``) and works like this:

1. trafilatura with ``favor_precision=True, include_comments=False`` (tables kept) gives
   the text and the metadata (title, author, date via htmldate, site name, canonical URL,
   page type; ``page_metadata`` runs trafilatura's metadata steps for just these fields);
   zero-width (non-)joiners, which Persian and Urdu spelling needs and trafilatura would
   drop, are kept.
   For speed trafilatura first runs in its fast mode (no fallback extractors); only
   when that text looks suspicious -- under 1,500 characters, or under half the text of
   the page's ``<p>`` elements -- does the full cascade run, followed by step 2.  On the
   benchmark every page where the fast text differs from the full one, or where the judge
   prefers readability, is such a page, so the scores are those of the full path at
   about half its cost (``make bench`` and ``make eval-extract`` measure both);
2. readability-lxml gives a second text, used as a *judge*: when the two texts hardly
   overlap (under 30% of either's 4-token shingles in the other), or trafilatura's is a small part
   of it (readability more than twice as long and containing 90% of trafilatura's
   shingles), readability's text is taken instead (``method='readability'``);
3. the language is the page's declared one (``<html lang>``, ``content-language``,
   ``og:locale``), else detected from the text with py3langid;
4. the result gets a status: ``ok``, or why the page is no article -- ``empty``,
   ``too_short``, ``consent_wall``, ``paywall``, ``not_article`` (an index or listing
   page) or ``error``.

Measured on the article-extraction benchmark (``make eval-extract``) this beats bare
trafilatura; the figures are in README.md and ``build/eval/extraction.json``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path

import html_text
import py3langid
import trafilatura
import trafilatura.metadata as tm
from lxml.html import HtmlElement
from readability import Document
from trafilatura.settings import Document as TrafilaturaDocument
from trafilatura.utils import decode_file, load_html

from dyadwatch.records import Article, FetchAttempt, Source, stable_id
from dyadwatch.settings import Settings
from extractors import stories
from extractors.dates import date_fields
from extractors.pages import FetchedPage
from extractors.parallel import ordered_map, worker_processes
from extractors.rawstore import store_raw
from extractors.runfiles import RunFiles
from extractors.sources import load_seed_articles
from extractors.urls import canonical_url

log = logging.getLogger(__name__)

# Bump the last part when the extraction logic changes: stored pages whose articles carry
# another version are re-extracted by the dyadwatch_reextract DAG.
EXTRACTOR_VERSION = (
    f"trafilatura-{trafilatura.__version__}+readability-{package_version('readability-lxml')}+dw3"
)
MIN_TEXT_CHARS = 200
# the fast extraction is trusted unless its text is this short ...
SUSPICIOUS_BELOW_CHARS = 1500
# ... or covers less than this share of the text in the page's <p> elements
SUSPICIOUS_COVER = 0.5
# trafilatura's text is replaced by readability's when they disagree this much
DISAGREE_BELOW = 0.3  # share of trafilatura's shingles found in readability's text
PART_RATIO = 2.0  # readability this many times longer ...
PART_CONTAINED = 0.9  # ... and holding this share of trafilatura's shingles
# a wall (consent, paywall) is judged on short texts only: a long text is an article
WALL_MAX_CHARS = 1500
# an index page: at least this many lines, 80% of them short, 20% at most sentences
LISTING_MIN_LINES = 15

STATUS_OK = "ok"
NOT_ARTICLE_STATUSES = ("empty", "too_short", "consent_wall", "paywall", "not_article", "error")

_WORD_RE = re.compile(r"\w+")
_HTML_LANG_RE = re.compile(r"<html\b[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})\b", re.IGNORECASE)
_META_LANG_RE = re.compile(
    r"<meta\b[^>]*?(?:http-equiv\s*=\s*[\"']?content-language|property\s*=\s*[\"']?og:locale)"
    r"[^>]*?content\s*=\s*[\"']?([A-Za-z]{2,3})\b",
    re.IGNORECASE,
)
_CONSENT_RE = re.compile(
    r"\b(?:cookies?|consent|gdpr|privacy (?:settings|preferences)|accept all|"
    r"manage (?:options|preferences)|we value your privacy)\b",
    re.IGNORECASE,
)
_PAYWALL_RE = re.compile(
    r"\b(?:subscribe (?:now |today )?to (?:continue|read)|subscribers? only|"
    r"(?:already a|become a) subscriber|this (?:article|content) is (?:for|available to) "
    r"(?:subscribers|members)|sign in to (?:continue|read)|"
    r"to continue reading|premium (?:article|content))\b",
    re.IGNORECASE,
)
_NOT_FREE_RE = re.compile(r"[\"']isAccessibleForFree[\"']\s*:\s*[\"']?false", re.IGNORECASE)
# ZWNJ and ZWJ -> symbols (category So) that are printable, so trafilatura keeps them
_JOINER_STAND_INS = {"\u200c": "\ufffc", "\u200d": "\u2bd1"}
_SENTENCE_END = tuple(".!?\"'”’:;)…。؟۔")


@dataclass
class ExtractionFailure:
    error_class: str
    message: str


@dataclass
class ExtractionResult:
    """What ``extract_text`` found on one page."""

    status: str  # 'ok' or one of NOT_ARTICLE_STATUSES
    text: str
    method: str | None = None  # 'trafilatura' | 'readability'
    message: str | None = None  # why the status is not 'ok'
    title: str | None = None
    author: str | None = None
    date: str | None = None  # YYYY-MM-DD (htmldate)
    site_name: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    page_type: str | None = None  # og:type as declared

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


def decode_page(body: bytes | str, charset: str | None = None) -> str:
    """Page bytes as text: the declared charset when it decodes them, else detection."""
    if isinstance(body, str):
        return body
    if charset:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_file(body)


def _protect_joiners(page: str) -> tuple[str, dict[str, str]]:
    """Swap the zero-width (non-)joiners for printable stand-ins trafilatura keeps.

    trafilatura drops every non-printable character, and with it ZWNJ (U+200C), which
    Persian and Urdu spelling needs ("اسلام‌آباد" would become "اسلامآباد").  A stand-in
    is only used when the page does not already contain it.
    """
    swapped: dict[str, str] = {}
    for joiner, stand_in in _JOINER_STAND_INS.items():
        if joiner in page and stand_in not in page:
            page = page.replace(joiner, stand_in)
            swapped[stand_in] = joiner
    return page, swapped


def _restore_joiners(text: str | None, swapped: dict[str, str]) -> str | None:
    if text:
        for stand_in, joiner in swapped.items():
            text = text.replace(stand_in, joiner)
    return text


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _WORD_RE.findall(text)
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def _readability_text(html: str, url: str | None) -> str:
    # no url: readability would rewrite every link to an absolute one, which costs time
    # and changes nothing in the text
    try:
        summary = Document(html).summary(html_partial=True)
    except Exception as exc:  # readability raises on empty or odd documents
        log.debug("readability found no text in %s: %s", url, exc)
        return ""
    return html_text.extract_text(summary, guess_layout=True)


def judge(trafilatura_text: str, readability_text: str) -> tuple[str, str]:
    """Choose between trafilatura's and readability's text; returns (text, method)."""
    ours, theirs = _shingles(trafilatura_text), _shingles(readability_text)
    n_ours, n_theirs = sum(ours.values()), sum(theirs.values())
    if n_theirs == 0 or (n_ours == 0 and not readability_text.strip()):
        return trafilatura_text, "trafilatura"
    if n_ours == 0:
        if len(readability_text) > len(trafilatura_text):
            return readability_text, "readability"
        return trafilatura_text, "trafilatura"
    shared = sum((ours & theirs).values())
    found = shared / n_ours
    if found < DISAGREE_BELOW and shared / n_theirs < DISAGREE_BELOW:
        return readability_text, "readability"
    if n_theirs > PART_RATIO * n_ours and found >= PART_CONTAINED:
        return readability_text, "readability"
    return trafilatura_text, "trafilatura"


def declared_language(html: str) -> str | None:
    """The language the page declares (``<html lang>``, content-language, og:locale)."""
    head = html[:20000]
    match = _HTML_LANG_RE.search(head) or _META_LANG_RE.search(head)
    return match.group(1).lower() if match else None


def detect_language(text: str) -> str | None:
    """py3langid's guess from (the start of) the text; None for too little text."""
    sample = text[:4000]
    if len(_WORD_RE.findall(sample)) < 5:
        return None
    code, _score = py3langid.classify(sample)
    return code


def _looks_like_listing(text: str) -> bool:
    """An index page: many short lines (headlines, teasers), few sentences."""
    # table rows ("| a | b |") are data, not teasers: they do not count either way
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("|")]
    if len(lines) < LISTING_MIN_LINES:
        return False
    sentences = sum(1 for line in lines if line.endswith(_SENTENCE_END))
    if sentences > 0.2 * len(lines):  # an article's lines end as sentences: no need to count
        return False
    words = [len(_WORD_RE.findall(line)) for line in lines]
    short = sum(1 for n in words if n <= 12)
    return max(words) < 40 and short >= 0.8 * len(lines)


def page_status(text: str, html: str) -> tuple[str, str | None]:
    """``('ok', None)`` or why this page's text is no article, with a message."""
    chars = len(text.strip())
    if chars == 0:
        return "empty", "the page holds no article text"
    if chars < WALL_MAX_CHARS:
        if _CONSENT_RE.search(text) and (
            chars < MIN_TEXT_CHARS or len(_CONSENT_RE.findall(text)) >= 2
        ):
            return "consent_wall", f"a consent or cookie wall ({chars} characters of text)"
        if _PAYWALL_RE.search(text) or _NOT_FREE_RE.search(html):
            return "paywall", f"a paywall stub ({chars} characters of text)"
    if chars < MIN_TEXT_CHARS:
        return "too_short", f"extracted {chars} characters of text, under the {MIN_TEXT_CHARS}"
    if _looks_like_listing(text):
        return "not_article", "an index or listing page (short lines, few sentences)"
    return STATUS_OK, None


def _paragraph_chars(tree: HtmlElement) -> int:
    """How much text the page's ``<p>`` elements hold (what an article extraction should
    mostly cover)."""
    return sum(len(p.text_content()) for p in tree.iter("p"))


def page_metadata(tree: HtmlElement, url: str | None, *, extensive: bool) -> TrafilaturaDocument:
    """The metadata we keep, found as ``trafilatura.metadata.extract_metadata`` finds it.

    These are that function's steps for title, author, canonical URL, date (htmldate),
    site name and page type, in its order and with its rules (``tests/unit/test_extract_
    metadata.py`` checks the fields are equal on real pages).  Its steps for categories,
    tags and licence, which nothing here reads, are left out: they took a third of its
    time (0.6 ms a page on the benchmark).  ``extensive`` is passed as trafilatura
    passes it: ``bare_extraction`` hands its ``fast`` flag over as ``extensive``.
    """
    date_config = tm.set_date_params(extensive)
    metadata = tm.examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = tm.extract_meta_json(tree, metadata)
    except Exception as exc:  # trafilatura's own guard: bugs in its JSON-LD reading
        log.debug("trafilatura's JSON-LD metadata failed on %s: %s", url, exc)
    if not metadata.title:
        metadata.title = tm.extract_title(tree)
    if not metadata.author:
        metadata.author = tm.extract_author(tree)
    if not metadata.url:
        metadata.url = tm.extract_url(tree, url)
    if metadata.url:
        metadata.hostname = tm.extract_domain(metadata.url, fast=True)
    date_config["url"] = metadata.url
    metadata.date = tm.find_date(tree, **date_config)
    if not metadata.sitename:
        metadata.sitename = tm.extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
        if (
            metadata.sitename
            and "." not in metadata.sitename
            and not metadata.sitename[0].isupper()
        ):
            metadata.sitename = metadata.sitename.title()
    elif metadata.url:
        match = tm.META_URL.match(metadata.url)
        if match:
            metadata.sitename = match[1]
    metadata.filedate = date_config.get("max_date")
    metadata.clean_and_trim()
    return metadata


def _trafilatura(
    tree: HtmlElement, url: str | None, swapped: dict[str, str], *, fast: bool
) -> TrafilaturaDocument | None:
    """trafilatura's text (our options) and the metadata we keep; zero-width joiners
    restored.  ``tree`` is left as it was: trafilatura extracts from a copy of it, and the
    metadata steps only read it."""
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        fast=fast,
    )
    if doc is None:
        return None
    metadata = page_metadata(tree, url, extensive=fast)
    for field in ("title", "author", "url", "sitename", "date", "pagetype"):
        setattr(doc, field, getattr(metadata, field))
    if swapped:
        for field in ("text", "title", "author", "sitename"):
            setattr(doc, field, _restore_joiners(getattr(doc, field), swapped))
    return doc


def extract_text(
    html: str | bytes, url: str | None = None, *, charset: str | None = None
) -> ExtractionResult:
    """Extract one page's article text and metadata (see the module docstring)."""
    try:
        page = decode_page(html, charset)
        protected, swapped = _protect_joiners(page)
        tree = load_html(protected)
        paragraph_chars = _paragraph_chars(tree) if tree is not None else 0
        doc = _trafilatura(tree, url, swapped, fast=True) if tree is not None else None
        primary = (doc.text if doc is not None else None) or ""
        suspicious = len(primary) < SUSPICIOUS_BELOW_CHARS or (
            len(primary) < SUSPICIOUS_COVER * paragraph_chars
        )
        if suspicious:  # the full cascade, on the same tree
            doc = _trafilatura(tree, url, swapped, fast=False) if tree is not None else None
            primary = (doc.text if doc is not None else None) or ""
    except Exception as exc:  # trafilatura raises a variety of lxml/parser errors
        return ExtractionResult(status="error", text="", message=f"{type(exc).__name__}: {exc}")
    if suspicious:
        text, method = judge(primary, _readability_text(page, url))
    else:
        text, method = primary, "trafilatura"
    text = text.strip()
    status, message = page_status(text, page)
    language = declared_language(page) or detect_language(text)
    return ExtractionResult(
        status=status,
        text=text,
        method=method,
        message=message,
        title=(doc.title or None) if doc is not None else None,
        author=(doc.author or None) if doc is not None else None,
        date=(doc.date or None) if doc is not None else None,
        site_name=(doc.sitename or None) if doc is not None else None,
        language=language,
        canonical_url=(doc.url or None) if doc is not None else None,
        page_type=(doc.pagetype or None) if doc is not None else None,
    )


def published_time(page_date: str | None, entry_time: datetime | None) -> datetime | None:
    """The page's date (the feed entry's time when it is the same day), else the entry's."""
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


def word_count(text: str) -> int:
    return len(_WORD_RE.findall(text))


def extract_article(
    body: bytes,
    *,
    url: str,
    source: Source | None,
    fetched_at: datetime,
    charset: str | None = None,
    entry_title: str | None = None,
    entry_published_at: datetime | None = None,
    raw_sha256: str | None = None,
) -> Article | ExtractionFailure:
    """Extract the article text and metadata of one page, or say why it holds none."""
    result = extract_text(body, url, charset=charset)
    if not result.ok:
        return ExtractionFailure(result.status, result.message or result.status)
    canonical = canonical_url(result.canonical_url) if result.canonical_url else ""
    if not canonical.startswith(("http://", "https://")):
        canonical = canonical_url(url)
    return Article(
        article_id=stable_id(canonical),
        url=canonical,
        source_id=source.source_id if source else None,
        outlet=source.outlet if source else result.site_name,
        title=result.title or entry_title,
        author=result.author,
        **date_fields(
            result.date,
            entry_published_at,
            url=canonical,
            fetched_at=fetched_at,
            founded=source.founded if source else None,
        ),
        fetched_at=fetched_at,
        language=result.language or (source.language if source else None),
        text=result.text,
        text_hash=text_hash(result.text),
        word_count=word_count(result.text),
        extractor_version=EXTRACTOR_VERSION,
        site_name=result.site_name,
        outlet_country=source.country if source else None,
        raw_sha256=raw_sha256,
        raw_charset=charset,
        extraction_status=result.status,
        extraction_method=result.method,
    )


@dataclass
class _PageJob:
    """One fetched page to extract (what a worker process needs, and nothing more)."""

    page: FetchedPage
    source: Source | None
    run_dir: Path
    raw_dir: Path
    fetched_at: datetime


def _extract_page(job: _PageJob) -> Article | FetchAttempt:
    """Keep one page's bytes and extract it: an Article (with its MinHash signature, for
    the load's near-duplicate look-up) or the FetchAttempt saying why there is none."""
    page = job.page
    entry_time = (
        datetime.fromisoformat(page.entry_published_at) if page.entry_published_at else None
    )
    body = page.read_body(job.run_dir)
    sha = store_raw(job.raw_dir, body)
    result = extract_article(
        body,
        url=page.final_url,
        source=job.source,
        fetched_at=job.fetched_at,
        charset=page.charset,
        entry_title=page.entry_title,
        entry_published_at=entry_time,
        raw_sha256=sha,
    )
    if isinstance(result, ExtractionFailure):
        return FetchAttempt(
            url=page.url,
            kind="extract",
            ok=False,
            source_id=page.source_id,
            bytes=len(body),
            error_class=result.error_class,
            error_message=f"{result.message} (raw page kept as sha256 {sha})",
            attempted_at=job.fetched_at,
        )
    result.minhash = minhash_hex(result.text)
    return result


def minhash_hex(text: str) -> str | None:
    """The near-duplicate signature the load needs (None for a text too short to compare)."""
    signature = stories.signature_if_comparable(text)
    return stories.to_hex(signature) if signature is not None else None


def extract_articles(settings: Settings, run_key: str) -> dict[str, int]:
    """Extract every fetched page of this run, plus the seed articles.

    Pages are extracted by ``settings.extract_processes`` processes (one per CPU by
    default) and the articles written as they come, in the pages' order, so no more
    than a few pages' results are in memory at once.  Every page's bytes are kept in
    ``settings.raw_dir`` (by sha256, for re-extraction), whether or not they hold an
    article.  Writes ``articles`` (untagged) and ``fetch_log_extract`` (pages with no
    article: error_class is the extraction status).
    """
    files = RunFiles(settings.work_dir, run_key)
    sources = {s.source_id: s for s in files.records("feed_sources", Source)}
    failures: list[FetchAttempt] = []
    seen: set[str] = set()
    now = datetime.now(UTC)
    jobs = [
        _PageJob(FetchedPage(**row), None, files.dir, settings.raw_dir, now)
        for row in files.rows("pages")
    ]
    for job in jobs:
        job.source = sources.get(job.page.source_id)
    processes = worker_processes(settings.extract_processes, len(jobs))

    # seed articles the warehouse already has (select_new_entries says which) are not
    # extracted again: an hour with nothing new then has nothing to tag or load
    known_seeds = {row["url"] for row in files.rows("known_seeds")}

    def articles() -> Iterator[Article]:
        for seed in load_seed_articles(settings.seed_articles_dir):
            url = canonical_url(seed.source.url)
            seen.add(stable_id(url))
            if url in known_seeds:
                continue
            yield Article(
                article_id=stable_id(url),
                url=url,
                source_id=seed.source.source_id,
                outlet=seed.source.outlet,
                title=seed.title,
                author=seed.author,
                **date_fields(seed.published_at, None, url=url, fetched_at=now),
                fetched_at=now,
                language=seed.language,
                text=seed.text,
                text_hash=text_hash(seed.text),
                word_count=word_count(seed.text),
                extractor_version="seed",
                site_name=seed.source.outlet,
                outlet_country=seed.source.country,
                extraction_method="seed",
                minhash=minhash_hex(seed.text),
            )
        with closing(ordered_map(_extract_page, jobs, processes)) as results:
            for result in results:
                if isinstance(result, FetchAttempt):
                    failures.append(result)
                elif result.article_id not in seen:  # the first copy of an article wins
                    seen.add(result.article_id)
                    yield result

    n_articles = files.write("articles", articles())
    files.write("fetch_log_extract", failures)
    summary = {
        "articles_extracted": n_articles,
        "extract_failed": len(failures),
        "extract_processes": processes,
        **{
            f"status_{status}": n
            for status, n in sorted(Counter(f.error_class for f in failures).items())
        },
    }
    log.info(
        "Extracted %(articles_extracted)d articles (seeds not yet stored included) in "
        "%(extract_processes)d "
        "process(es); %(extract_failed)d pages held no article",
        summary,
    )
    return summary
