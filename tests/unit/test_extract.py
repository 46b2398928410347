"""Extraction: statuses of pages that are no article, right-to-left pages, metadata and
language, the trafilatura/readability judge, and raw pages kept by sha256."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from dyadwatch.records import FetchAttempt, Source
from dyadwatch.settings import Settings
from extractors.extract import (
    EXTRACTOR_VERSION,
    ExtractionFailure,
    extract_article,
    extract_articles,
    extract_text,
    judge,
)
from extractors.pages import FetchedPage
from extractors.rawstore import RawPageMissing, load_raw, raw_path, raw_sha256, store_raw
from extractors.runfiles import RunFiles

URDU_PARAGRAPHS = [
    "اسلام آباد میں پاکستان اور ایران کے وزرائے خارجہ نے سرحدی تجارت بڑھانے پر اتفاق کیا۔"
    " دونوں ممالک نے تفتان کے راستے نئی منڈیاں کھولنے کا فیصلہ کیا ہے۔",
    "وزارت خارجہ کے ترجمان نے کہا کہ سرحد پر سیکیورٹی کے مشترکہ انتظامات بھی زیر غور ہیں"
    " اور اگلے ماہ تہران میں مزید مذاکرات ہوں گے۔",
    "تاجروں نے اس فیصلے کا خیرمقدم کرتے ہوئے کہا کہ اس سے بلوچستان کی معیشت کو فائدہ ہوگا"
    " اور روزگار کے نئے مواقع پیدا ہوں گے۔",
]
PERSIAN_PARAGRAPHS = [
    "وزیر امور خارجه ایران در سفر به اسلام‌آباد با همتای پاکستانی خود درباره امنیت مرز"
    " و گسترش تجارت گفت‌وگو کرد.",
    "دو کشور توافق کردند که بازارچه‌های مرزی جدیدی در سیستان و بلوچستان گشایش یابد و"
    " همکاری‌های انرژی ادامه پیدا کند.",
    "سخنگوی وزارت خارجه گفت نشست بعدی کمیسیون مشترک اقتصادی ماه آینده در تهران برگزار خواهد شد.",
]


def _page(paragraphs: list[str], *, lang: str | None, title: str, extra: str = "") -> str:
    lang_attr = f' lang="{lang}" dir="rtl"' if lang else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html{lang_attr}><head><meta charset="utf-8">
<title>{title}</title>
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="Example Daily">
<meta name="author" content="Staff Reporter">
<meta property="article:published_time" content="2026-03-04T08:00:00+05:00">
<link rel="canonical" href="https://news.example/world/story-1?utm_source=x">
</head><body>
<header><nav><a href="/">Home</a> | <a href="/world">World</a> |
<a href="/sport">Sport</a></nav></header>
<article><h1>{title}</h1>{body}</article>
{extra}
<footer><p>Copyright Example Daily. All rights reserved.</p>
<ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li></ul></footer>
</body></html>"""


def _clean(text: str) -> bool:
    """No markup, no navigation or footer crumbs, no stray directional marks."""
    return (
        "<" not in text
        and "Home" not in text
        and "Copyright" not in text
        and "\u202b" not in text
        and "\u200f" not in text
    )


def test_urdu_page_extracts_cleanly() -> None:
    html = _page(URDU_PARAGRAPHS, lang="ur", title="پاک ایران سرحدی تجارت")
    result = extract_text(html, "https://news.example/world/story-1")
    assert result.ok, result.message
    for paragraph in URDU_PARAGRAPHS:
        assert paragraph in result.text
    assert _clean(result.text)
    assert result.language == "ur"
    assert result.title == "پاک ایران سرحدی تجارت"


def test_persian_page_without_declared_language_is_detected() -> None:
    html = _page(PERSIAN_PARAGRAPHS, lang=None, title="گفت‌وگوی ایران و پاکستان")
    result = extract_text(html.encode("utf-8"), "https://news.example/world/story-1")
    assert result.ok, result.message
    lines = result.text.split("\n")
    # the paragraphs whole, zero-width non-joiners (Persian spelling) kept; at most the
    # headline before them
    assert lines[-3:] == PERSIAN_PARAGRAPHS
    assert lines[:-3] in ([], ["گفت‌وگوی ایران و پاکستان"])
    assert _clean(result.text)
    assert result.language == "fa"  # detected: the page declares none


def test_metadata_and_canonical_url() -> None:
    paragraphs = [
        "Pakistan and Iran agreed on Tuesday to reopen two border crossings for trade, "
        "officials in Islamabad said after talks between the two foreign ministers.",
        "The ministers also discussed electricity imports and the long-delayed gas "
        "pipeline, according to a statement issued after the meeting.",
    ]
    article = extract_article(
        _page(paragraphs, lang="en", title="Pakistan, Iran reopen border crossings").encode(),
        url="https://news.example/world/story-1?ref=feed",
        source=Source("src1", "feed", "https://news.example/rss", "Example Daily", "PK", "en"),
        fetched_at=datetime(2026, 3, 5, tzinfo=UTC),
        charset="utf-8",
        raw_sha256="ab" * 32,
    )
    assert not isinstance(article, ExtractionFailure), article
    assert article.url == "https://news.example/world/story-1"
    assert article.title == "Pakistan, Iran reopen border crossings"
    assert article.author == "Staff Reporter"
    assert article.site_name == "Example Daily"
    assert article.published_at is not None and article.published_at.date().isoformat() == (
        "2026-03-04"
    )
    assert article.language == "en"
    assert article.extraction_status == "ok" and article.extraction_method == "trafilatura"
    assert article.extractor_version == EXTRACTOR_VERSION
    assert article.raw_sha256 == "ab" * 32 and article.raw_charset == "utf-8"
    assert article.text.split("\n")[-2:] == paragraphs
    assert article.text.split("\n")[:-2] in ([], [article.title])  # the headline at most


CONSENT = """<html lang="en"><head><title>Before you continue</title></head><body>
<div class="consent"><h2>We value your privacy</h2>
<p>We and our partners use cookies to store and access information on your device.</p>
<p>Accept all to consent, or manage options to choose which cookies we may set.</p>
<button>Accept all</button><button>Manage options</button></div></body></html>"""

PAYWALL = """<html lang="en"><head><title>Iran, Pakistan in talks</title>
<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": "False",
"headline": "Iran, Pakistan in talks"}</script></head><body><article>
<h1>Iran, Pakistan in talks</h1>
<p>Iran and Pakistan opened a new round of talks on border security on Monday, the first
such meeting since the two countries exchanged strikes in January last year.</p>
<p>Subscribe to continue reading. Already a subscriber? Sign in.</p>
</article></body></html>"""


def _listing() -> str:
    items = "\n".join(
        f'<li><h3><a href="/news/{i}">Headline number {i} about the region</a></h3>'
        f"<span>Politics</span></li>"
        for i in range(30)
    )
    return (
        '<html lang="en"><head><title>Latest news</title></head><body>'
        f"<main><h1>Latest news</h1><ul>{items}</ul></main></body></html>"
    )


@pytest.mark.parametrize(
    ("html", "status"),
    [
        ("<html><body></body></html>", "empty"),
        ("<html><body><p>Breaking: more soon.</p></body></html>", "too_short"),
        (CONSENT, "consent_wall"),
        (PAYWALL, "paywall"),
        (_listing(), "not_article"),
    ],
)
def test_pages_that_are_no_article_get_a_status(html: str, status: str) -> None:
    result = extract_text(html, "https://news.example/x")
    assert result.status == status, (result.status, result.text[:200])
    failure = extract_article(
        html.encode(), url="https://news.example/x", source=None, fetched_at=datetime.now(UTC)
    )
    assert isinstance(failure, ExtractionFailure) and failure.error_class == status


def test_judge_prefers_readability_when_trafilatura_kept_only_a_part() -> None:
    full = " ".join(f"sentence {i} of the long story goes on here." for i in range(200))
    part = " ".join(f"sentence {i} of the long story goes on here." for i in range(40))
    assert judge(part, full) == (full, "readability")
    assert judge(full, part) == (full, "trafilatura")  # readability lost part: keep ours
    assert judge("menu home sport weather login now", full) == (full, "readability")
    assert judge(full, "") == (full, "trafilatura")


def test_raw_pages_are_content_addressed_and_gzip(tmp_path) -> None:
    body = "<html><body><p>ایران و پاکستان</p></body></html>".encode()
    sha = store_raw(tmp_path, body)
    path = raw_path(tmp_path, sha)
    assert path == tmp_path / sha[:2] / f"{sha}.html.gz"
    assert gzip.decompress(path.read_bytes()) == body
    first = path.read_bytes()
    assert store_raw(tmp_path, body) == sha and path.read_bytes() == first  # stored once
    assert load_raw(tmp_path, sha) == body
    assert len(list(tmp_path.rglob("*.html.gz"))) == 1
    with pytest.raises(RawPageMissing):
        load_raw(tmp_path, "0" * 64)
    path.write_bytes(gzip.compress(b"something else"))
    with pytest.raises(ValueError, match="does not match"):
        load_raw(tmp_path, sha)


def test_raw_pages_in_the_earlier_two_level_layout_are_found_and_not_stored_again(
    tmp_path,
) -> None:
    body = b"<html><body><p>Taftan crossing reopened</p></body></html>"
    sha = raw_sha256(body)
    legacy = tmp_path / sha[:2] / sha[2:4] / f"{sha}.html.gz"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(gzip.compress(body))
    assert load_raw(tmp_path, sha) == body
    assert store_raw(tmp_path, body) == sha
    assert list(tmp_path.rglob("*.html.gz")) == [legacy]


def test_extract_step_keeps_every_page_and_records_the_others(settings: Settings) -> None:
    files = RunFiles(settings.work_dir, "run-extract")
    pages = {
        "https://news.example/ur": _page(URDU_PARAGRAPHS, lang="ur", title="سرحدی تجارت"),
        "https://news.example/consent": CONSENT,
        "https://news.example/index": _listing(),
    }
    rows = []
    for i, (url, html) in enumerate(pages.items()):
        (files.dir / "pages").mkdir(parents=True, exist_ok=True)
        (files.dir / "pages" / f"{i}.html").write_bytes(html.encode("utf-8"))
        rows.append(
            FetchedPage(url, url, "src1", f"pages/{i}.html", "text/html", "utf-8", None, None)
        )
    files.write("pages", rows)
    summary = extract_articles(settings, "run-extract")
    assert summary["extract_failed"] == 2
    assert summary["status_consent_wall"] == 1 and summary["status_not_article"] == 1
    # every page is kept, the article points at its own
    assert len(list(settings.raw_dir.rglob("*.html.gz"))) == 3
    stored = [a for a in files.rows("articles") if a["raw_sha256"]]
    assert len(stored) == 1
    assert load_raw(settings.raw_dir, stored[0]["raw_sha256"]) == pages[
        "https://news.example/ur"
    ].encode("utf-8")
    failures = list(files.records("fetch_log_extract", FetchAttempt))
    assert {f.error_class for f in failures} == {"consent_wall", "not_article"}
    assert all(not f.ok and f.kind == "extract" and "sha256" in f.error_message for f in failures)
