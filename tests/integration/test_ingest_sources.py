"""``dyadwatch sources``: add a feed by homepage (autodiscovery), feed or sitemap URL;
list sources with health from the warehouse."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

from dyadwatch.cli import build_parser
from dyadwatch.records import FeedState, FetchAttempt, Source, stable_id
from extractors.feeds import fetch_feed
from extractors.http import http_client
from warehouse.load import load_pending_batches
from warehouse.staging import stage_batch

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Border Desk</title>
<item><title>One</title><link>{base}/one.html</link></item></channel></rss>"""
HOME = """<html><head><title>Home</title>
<link rel="alternate" type="application/rss+xml" title="Border Desk RSS" href="/feeds/border.xml">
</head><body><p>news</p></body></html>"""
SITEMAP = """<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/a.html</loc><news:news><news:publication_date>2026-10-12T08:00:00Z</news:publication_date>
<news:title>A</news:title></news:news></url>
<url><loc>{base}/b.html</loc><lastmod>2026-10-11</lastmod></url>
</urlset>"""


def run(settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return args.func(args, settings)


def feeds(settings) -> list[dict]:
    return tomllib.loads(settings.feeds_file.read_text(encoding="utf-8"))["feed"]


def test_sources_add_finds_the_feed_of_a_homepage(site, settings, capsys):
    site.route("/", HOME, content_type="text/html; charset=utf-8")
    site.route("/feeds/border.xml", RSS.format(base=site.base), content_type="application/rss+xml")
    assert run(settings, "sources", "add", site.url("/"), "--country", "PK") == 0
    assert "found on the page" in capsys.readouterr().out
    [entry] = feeds(settings)
    assert entry["url"] == site.url("/feeds/border.xml")
    assert entry["enabled"] is True and entry["kind"] == "feed"
    assert entry["outlet"] == "Border Desk" and entry["country"] == "PK"
    # adding the feed itself again changes nothing
    assert run(settings, "sources", "add", site.url("/feeds/border.xml")) == 0
    assert len(feeds(settings)) == 1


def test_sources_add_sitemap_and_fetch_it(site, settings):
    site.route("/sitemap.xml", SITEMAP.format(base=site.base), content_type="application/xml")
    assert run(settings, "sources", "add", site.url("/sitemap.xml"), "--outlet", "Maps") == 0
    [entry] = feeds(settings)
    assert entry["kind"] == "sitemap"
    source = Source(stable_id(entry["url"]), "sitemap", entry["url"], "Maps")
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, source, None)
    assert [e.url for e in outcome.entries] == [site.url("/a.html"), site.url("/b.html")]
    assert outcome.entries[0].title == "A" and outcome.entries[0].published_at.hour == 8


def test_sources_add_refuses_a_page_without_a_feed(site, settings, capsys):
    site.route("/plain.html", "<html><body>no feed</body></html>", content_type="text/html")
    assert run(settings, "sources", "add", site.url("/plain.html")) == 2
    assert "advertises no feed" in capsys.readouterr().err
    assert settings.feeds_file.read_text() == ""


def test_sources_lists_health_from_the_warehouse(site, settings, capsys):
    ok_url, dead_url, new_url = (site.url(p) for p in ("/ok.xml", "/dead.xml", "/new.xml"))
    settings.feeds_file.write_text(
        "".join(f'[[feed]]\nurl = "{u}"\noutlet = "O{i}"\n' for i, u in enumerate(
            [ok_url, dead_url, new_url]
        )),
        encoding="utf-8",
    )  # fmt: skip
    now = datetime.now(UTC)
    sources = [Source(stable_id(u), "feed", u, f"O{i}") for i, u in enumerate([ok_url, dead_url])]
    states = [
        FeedState(stable_id(ok_url), last_status=200, last_success_at=now),
        FeedState(
            stable_id(dead_url),
            last_status=410,
            consecutive_failures=1,
            disabled_reason="HTTP 410 Gone: the publisher removed this feed",
            disabled_at=now,
        ),
    ]
    log = [
        FetchAttempt(ok_url, "feed", True, stable_id(ok_url), 200, attempted_at=now),
        FetchAttempt(
            dead_url, "feed", False, stable_id(dead_url), 410, error_class="http_status",
            error_message="HTTP 410 Gone", attempted_at=now - timedelta(minutes=1),
        ),
    ]  # fmt: skip
    stage_batch(
        settings.staging_dir,
        "run-1",
        {"sources": sources, "feed_state": states, "fetch_log": log},
        {},
    )
    load_pending_batches(settings)
    assert run(settings, "sources", "--format", "json") == 0
    import json

    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_url = {r["url"]: r for r in rows}
    assert by_url[dead_url]["health"] == "disabled"
    assert by_url[dead_url]["backoff"].startswith("disabled: HTTP 410 Gone")
    assert by_url[dead_url]["last_error"] == "http_status: HTTP 410 Gone"
    assert by_url[ok_url]["health"] == "ok" and by_url[ok_url]["success_rate"] == 1.0
    assert by_url[new_url]["health"] == "never_fetched"
    assert rows[0]["url"] == dead_url  # the worst first
