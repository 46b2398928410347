"""Fetching feeds and pages over real loopback HTTP: good, broken and hostile answers."""

from __future__ import annotations

import gzip

from dyadwatch.records import FeedState, Source, stable_id
from extractors.feeds import fetch_feed, parse_feed
from extractors.http import fetch_url, http_client
from tests.factories import WIRE

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Border desk</title><link>{base}/</link>
<description>test</description>
<item><title>Iran and Pakistan reopen Taftan crossing</title>
<link>{base}/a.html?utm_source=rss&amp;utm_medium=feed#top</link>
<guid>{base}/a.html</guid><pubDate>Mon, 12 Oct 2026 08:30:00 +0500</pubDate></item>
<item><title>Same story again</title><link>{base}/a.html</link></item>
<item><title>No link at all</title></item>
</channel></rss>"""


def _source(url: str) -> Source:
    return Source(source_id=stable_id(url), kind="feed", url=url, outlet="Test")


def test_feed_entries_are_canonical_and_deduplicated(site, settings):
    url = site.route("/feed.xml", RSS.format(base=site.base), content_type="application/rss+xml")
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(url), None)
    assert outcome.attempts[0].ok
    assert [e.url for e in outcome.entries] == [site.url("/a.html")]
    entry = outcome.entries[0]
    assert entry.published_at is not None and entry.published_at.hour == 3  # 08:30 +05:00
    assert outcome.state.consecutive_failures == 0


def test_conditional_get_sends_validators_and_304_costs_no_parse(site, settings):
    url = site.route(
        "/feed.xml",
        status=304,
        headers={"ETag": '"v1"'},
    )
    previous = FeedState(source_id=stable_id(url), etag='"v1"', last_modified="Mon, 12 Oct 2026")
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(url), previous)
    assert outcome.attempts[0].status == 304 and outcome.attempts[0].ok
    assert outcome.entries == []
    assert outcome.state.etag == '"v1"'
    _, _, headers, _ = site.requests[-1]
    assert headers.get("If-None-Match") == '"v1"'
    assert headers.get("If-Modified-Since") == "Mon, 12 Oct 2026"


def test_malformed_feed_is_a_recorded_parse_error(site, settings):
    url = site.route("/bad.xml", "<rss><channel><title>broken", content_type="application/xml")
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(url), None)
    attempt = outcome.attempts[0]
    assert not attempt.ok
    assert attempt.error_class == "parse_error"
    assert "feed could not be parsed" in attempt.error_message
    assert outcome.state.consecutive_failures == 1


def test_feed_with_entries_despite_errors_is_flagged_malformed():
    body = RSS.format(base="http://x.example").replace("</channel></rss>", "<item><title>&bogus;")
    parsed = parse_feed(body.encode(), url="http://x.example/f.xml", source_id="s")
    assert parsed.malformed
    assert parsed.entries


def test_404_timeout_non_html_and_oversize_each_get_their_reason(site, settings):
    tight = settings.with_(http_timeout=1.0, http_max_bytes=10_000)
    site.route("/slow.html", "<html>late</html>", delay=2.5, content_type="text/html")
    site.route("/drip.html", "<html>" + "x" * 400 + "</html>", drip=0.2, content_type="text/html")
    site.route("/file.pdf", b"%PDF-1.7", content_type="application/pdf")
    site.route("/huge.html", "<p>" + "y" * 50_000, content_type="text/html")
    expected = {
        "/missing.html": "http_status",
        "/slow.html": "timeout",
        "/drip.html": "timeout",
        "/file.pdf": "not_html",
        "/huge.html": "too_large",
    }
    with http_client(tight) as client:
        for path, error_class in expected.items():
            got = fetch_url(
                client,
                site.url(path),
                kind="page",
                max_bytes=tight.http_max_bytes,
                deadline_s=tight.http_timeout,
                require_html=True,
            )
            assert not got.ok, path
            assert got.attempt.error_class == error_class, (path, got.attempt)
            assert got.attempt.error_message


def test_gzip_body_is_decompressed_and_non_http_schemes_refused(site, settings):
    page = "<html><body><p>hello</p></body></html>"
    site.route(
        "/z.html",
        gzip.compress(page.encode()),
        headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
    )
    with http_client(settings) as client:
        got = fetch_url(client, site.url("/z.html"), kind="page", max_bytes=10_000, deadline_s=3)
        assert got.ok and got.body == page.encode()
        refused = fetch_url(client, "file:///etc/passwd", kind="page", max_bytes=10, deadline_s=3)
    assert refused.attempt.error_class == "invalid_url"


# -- three outlets, one wire story: three articles, one story_id -----------------------


def _outlet_page(outlet: str, dateline: str, text: str, boilerplate: list[str]) -> str:
    sentences = [s.strip() + "." for s in text.split(". ") if s.strip()]
    paragraphs = "".join(f"<p>{s.rstrip('.')}.</p>\n" for s in sentences)
    nav = "".join(f'<li><a href="/section/{i}">{b}</a></li>' for i, b in enumerate(boilerplate))
    return f"""<html><head><title>Taftan crossing to reopen | {outlet}</title>
<meta name="description" content="{outlet} news"></head><body>
<div class="cookie-banner">{outlet} uses cookies to improve your experience. Accept all.</div>
<header><h2>{outlet}</h2><nav><ul>{nav}</ul></nav></header>
<main><article><h1>Iran, Pakistan to reopen Taftan crossing</h1>
<p class="byline">{dateline}</p>
{paragraphs}</article>
<aside><h3>Most read on {outlet}</h3><ul>{nav}</ul></aside></main>
<footer><p>Copyright 2026 {outlet}. All rights reserved. {" | ".join(boilerplate)}</p>
</footer></body></html>"""


def test_three_outlets_republishing_one_story_share_one_story_id(site, settings):
    """Syndicated copies with different page boilerplate and small edits, fetched
    through three feeds and the whole ingest path: three articles, one story."""
    from tests.integration.test_ingest_polite import ingest_run
    from warehouse.db import connect

    copies = {
        "Dawn": (
            "ISLAMABAD",
            WIRE,
            ["Pakistan", "World", "Business", "Sport", "Opinion", "Epaper", "Videos"],
        ),
        "Express Tribune": (
            "QUETTA",
            WIRE.replace("on Tuesday", "on Tuesday evening").replace("welcomed", "hailed"),
            ["Home", "Latest", "Balochistan", "Life & Style", "T-Magazine", "Cricket"],
        ),
        "IRNA": (
            "TEHRAN, Oct. 12 (IRNA)",
            WIRE.replace("900-kilometre", "959-kilometre").replace("four guards", "4 guards"),
            ["Politics", "Economy", "Society", "Culture", "Photo", "Persian", "Arabic"],
        ),
    }
    feeds = []
    for i, (outlet, (dateline, text, boilerplate)) in enumerate(copies.items()):
        page = site.route(
            f"/outlet{i}/2026/10/12/taftan.html",
            _outlet_page(outlet, dateline, text, boilerplate),
            content_type="text/html; charset=utf-8",
        )
        rss = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>'
            f"<item><title>Taftan crossing to reopen</title><link>{page}</link></item>"
            "</channel></rss>"
        )
        feeds.append(site.route(f"/outlet{i}/feed.xml", rss, content_type="application/rss+xml"))
    settings.feeds_file.write_text(
        "".join(
            f'[[feed]]\nurl = "{url}"\noutlet = "{outlet}"\n'
            for url, outlet in zip(feeds, copies, strict=True)
        ),
        encoding="utf-8",
    )
    ingest_run(settings, "run1")
    with connect(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT outlet, story_id, text FROM articles WHERE url LIKE '%taftan.html'"
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(copies)  # three articles
    assert len({r[1] for r in rows}) == 1 and rows[0][1] is not None  # one story
    assert not any("cookies" in r[2] or "All rights reserved" in r[2] for r in rows)
