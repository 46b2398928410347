"""``dyadwatch sources``: add a feed by homepage (autodiscovery), feed, sitemap or sitemap
index URL; list sources with health from the warehouse; disable and re-enable a feed."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta

from dyadwatch.cli import build_parser
from dyadwatch.records import FeedState, FetchAttempt, Source, stable_id
from extractors.discovery import SITEMAP_INDEX_MAX_CHILDREN
from extractors.feeds import fetch_feed, fetch_feeds
from extractors.http import http_client
from extractors.runfiles import RunFiles
from warehouse.db import connect
from warehouse.load import load_pending_batches
from warehouse.runs import read_feed_state
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
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_url = {r["url"]: r for r in rows}
    assert by_url[dead_url]["health"] == "disabled"
    assert by_url[dead_url]["backoff"].startswith("disabled: HTTP 410 Gone")
    assert by_url[dead_url]["last_error"] == "http_status: HTTP 410 Gone"
    assert by_url[ok_url]["health"] == "ok" and by_url[ok_url]["success_rate"] == 1.0
    assert by_url[new_url]["health"] == "never_fetched"
    assert rows[0]["url"] == dead_url  # the worst first


def _stored_state(settings, url: str) -> tuple:
    with connect(settings.warehouse_path, read_only=True) as con:
        return con.execute(
            "SELECT disabled_reason, disabled_at IS NOT NULL, consecutive_failures, next_due_at"
            " FROM feed_state WHERE source_id = ?",
            [stable_id(url)],
        ).fetchone()


def _run_feeds(settings, run_key: str) -> dict[str, int]:
    """The ingest DAG's first two steps, as its tasks call them."""
    read_feed_state(settings, run_key)
    return fetch_feeds(settings, run_key)


def test_sources_disable_and_enable_a_feed(site, settings, capsys):
    gone_url = site.route("/gone.xml", status=410)
    settings.feeds_file.write_text(f'[[feed]]\nurl = "{gone_url}"\noutlet = "Gone"\n')
    # A run meets the 410 and disables the feed, as the ingest DAG would.
    assert _run_feeds(settings, "run-1")["feeds_disabled"] == 0
    files = RunFiles(settings.work_dir, "run-1")
    tables = {
        "sources": list(files.records("feed_sources", Source)),
        "feed_state": list(files.records("feed_state", FeedState)),
    }
    stage_batch(settings.staging_dir, "run-1", tables, {})
    load_pending_batches(settings)
    assert _stored_state(settings, gone_url)[0].startswith("HTTP 410 Gone")
    assert _run_feeds(settings, "run-2")["feeds_disabled"] == 1
    assert len(site.requests) == 1  # the disabled feed is not asked again

    # The publisher brings it back: enable clears the reason and the failures.
    site.route("/gone.xml", RSS.format(base=site.base), content_type="application/rss+xml")
    assert run(settings, "sources", "enable", gone_url) == 0
    out = capsys.readouterr().out
    assert f"re-enabled feed {gone_url} (was disabled: HTTP 410 Gone" in out
    assert "cleared 1 failure(s)" in out
    assert _stored_state(settings, gone_url) == (None, False, 0, None)
    counts = _run_feeds(settings, "run-3")
    assert counts["feeds_disabled"] == 0 and len(site.requests) == 2
    assert [e["title"] for e in RunFiles(settings.work_dir, "run-3").rows("entries")] == ["One"]

    # Disabled by hand: the reason is stored, listed, and the next run skips the feed.
    assert run(settings, "sources", "disable", gone_url, "--reason", "paywalled since May") == 0
    assert "disabled feed" in capsys.readouterr().out
    assert _stored_state(settings, gone_url)[:2] == ("paywalled since May", True)
    assert run(settings, "sources", "--format", "json") == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["health"] == "disabled" and row["backoff"] == "disabled: paywalled since May"
    assert _run_feeds(settings, "run-4")["feeds_disabled"] == 1 and len(site.requests) == 2

    # URLs the command does not know are refused, not silently stored.
    stray = site.url("/not-listed.xml")
    assert run(settings, "sources", "disable", stray, "--reason", "x") == 2
    assert run(settings, "sources", "enable", stray) == 2
    assert "not in" in capsys.readouterr().err


def _index(*children: tuple[str, str | None]) -> str:
    items = "".join(
        f"<sitemap><loc>{loc}</loc>{f'<lastmod>{mod}</lastmod>' if mod else ''}</sitemap>"
        for loc, mod in children
    )
    return (
        '<?xml version="1.0"?><sitemapindex '
        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
    )


NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/2026/11/28/gwadar-talks.html?utm_source=sitemap</loc>
<news:news><news:publication><news:name>Border Desk</news:name>
<news:language>en</news:language></news:publication>
<news:publication_date>2026-11-28T06:30:00+05:00</news:publication_date>
<news:title>Gwadar talks resume</news:title></news:news></url>
<url><loc>{base}/2026/11/27/taftan-crossing.html</loc>
<news:news><news:publication><news:name>Border Desk</news:name>
<news:language>en</news:language></news:publication>
<news:publication_date>2026-11-27</news:publication_date>
<news:title>Taftan crossing reopens</news:title></news:news></url>
</urlset>"""


def test_sources_add_follows_a_sitemap_index_and_reads_news_sitemaps(site, settings, capsys):
    b = site.base
    site.route(
        "/sitemap_index.xml",
        _index(
            (f"{b}/sitemaps/old.xml", "2020-01-01"),
            (f"{b}/sitemaps/news.xml", "2026-11-28T07:00:00Z"),
            (f"{b}/sitemaps/more_index.xml", "2026-11-27"),
            ("http://elsewhere.example/sitemap.xml", "2026-11-29"),  # another host
            (f"{b}/sitemaps/missing.xml", None),  # 404
        ),
        content_type="application/xml",
    )
    site.route("/sitemaps/news.xml", NEWS_SITEMAP.format(base=b), content_type="application/xml")
    site.route("/sitemaps/old.xml", SITEMAP.format(base=b), content_type="application/xml")
    site.route(
        "/sitemaps/more_index.xml",
        _index((f"{b}/sitemaps/deep.xml", None), (f"{b}/sitemaps/deeper_index.xml", None)),
        content_type="application/xml",
    )
    site.route("/sitemaps/deep.xml", SITEMAP.format(base=b), content_type="application/xml")
    site.route(
        "/sitemaps/deeper_index.xml",
        _index((f"{b}/sitemaps/too_deep.xml", None)),
        content_type="application/xml",
    )
    assert run(settings, "sources", "add", site.url("/sitemap_index.xml"), "--country", "PK") == 0
    out = capsys.readouterr().out
    assert f"listed in {site.url('/sitemap_index.xml')}" in out
    entries = feeds(settings)
    # newest first; the nested index followed one level; the deeper one, the other
    # host's sitemap and the missing one are not added
    assert [e["url"] for e in entries] == [
        site.url("/sitemaps/news.xml"),
        site.url("/sitemaps/deep.xml"),
        site.url("/sitemaps/old.xml"),
    ]
    assert {e["kind"] for e in entries} == {"sitemap"}
    assert {e["outlet"] for e in entries} == {"Border Desk"}  # the news publication's name
    fetched = [p for _, p, _, _ in site.requests]
    assert "/sitemaps/too_deep.xml" not in fetched
    assert "/sitemaps/deeper_index.xml" in fetched  # read, found to be an index too deep
    # The news sitemap, fetched as a source: titles, dates, canonical URLs.
    news = entries[0]
    source = Source(stable_id(news["url"]), "sitemap", news["url"], news["outlet"])
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, source, None)
    assert [e.url for e in outcome.entries] == [
        site.url("/2026/11/28/gwadar-talks.html"),
        site.url("/2026/11/27/taftan-crossing.html"),
    ]
    assert [e.title for e in outcome.entries] == ["Gwadar talks resume", "Taftan crossing reopens"]
    assert outcome.entries[0].published_at == datetime(2026, 11, 28, 1, 30, tzinfo=UTC)
    # Adding the index again adds nothing.
    assert run(settings, "sources", "add", site.url("/sitemap_index.xml")) == 0
    assert len(feeds(settings)) == 3


def test_sitemap_index_children_are_bounded(site, settings):
    b = site.base
    children = [(f"{b}/s/{i:02d}.xml", f"2026-10-{i + 1:02d}") for i in range(25)]
    site.route("/big_index.xml", _index(*children), content_type="application/xml")
    for i in range(25):
        site.route(f"/s/{i:02d}.xml", SITEMAP.format(base=b), content_type="application/xml")
    assert run(settings, "sources", "add", site.url("/big_index.xml"), "--outlet", "Big") == 0
    urls = [e["url"] for e in feeds(settings)]
    assert len(urls) == SITEMAP_INDEX_MAX_CHILDREN == 20
    assert urls[0] == site.url("/s/24.xml") and urls[-1] == site.url("/s/05.xml")  # newest 20
    assert sum(1 for _, p, _, _ in site.requests if p.startswith("/s/")) == 20


def test_sitemap_index_with_nothing_readable_adds_nothing(site, settings, capsys):
    site.route(
        "/empty_index.xml",
        _index((site.url("/gone1.xml"), None), ("http://elsewhere.example/s.xml", None)),
        content_type="application/xml",
    )
    assert run(settings, "sources", "add", site.url("/empty_index.xml")) == 2
    assert "none of which could be fetched" in capsys.readouterr().err
    assert settings.feeds_file.read_text() == ""


def test_sources_enable_clears_the_back_off_of_a_resting_feed(site, settings, capsys):
    url = site.route("/feed.xml", RSS.format(base=site.base), content_type="application/rss+xml")
    settings.feeds_file.write_text(f'[[feed]]\nurl = "{url}"\noutlet = "Desk"\n')
    resting = FeedState(
        stable_id(url),
        last_status=503,
        consecutive_failures=3,
        next_due_at=datetime.now(UTC) + timedelta(hours=4),
    )
    source = Source(stable_id(url), "feed", url, "Desk")
    stage_batch(settings.staging_dir, "run-1", {"sources": [source], "feed_state": [resting]}, {})
    load_pending_batches(settings)
    assert _run_feeds(settings, "run-2")["feeds_resting"] == 1 and site.requests == []
    assert run(settings, "sources", "--format", "json") == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["backoff"].startswith("resting until") and "3 failure(s)" in row["backoff"]

    assert run(settings, "sources", "enable", url) == 0
    assert "was not disabled; cleared 3 failure(s)" in capsys.readouterr().out
    assert _stored_state(settings, url) == (None, False, 0, None)
    assert run(settings, "sources", "--format", "json") == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["backoff"] == ""
    assert _run_feeds(settings, "run-3")["entries"] == 1 and len(site.requests) == 1


def test_a_feed_disabled_before_its_first_fetch_is_listed_and_skipped(site, settings, capsys):
    url = site.route("/feed.xml", RSS.format(base=site.base), content_type="application/rss+xml")
    settings.feeds_file.write_text(f'[[feed]]\nurl = "{url}"\noutlet = "Desk"\n')
    assert run(settings, "sources", "disable", url, "--reason", "waiting for permission") == 0
    capsys.readouterr()
    assert run(settings, "sources", "--format", "json") == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["health"] == "disabled" and row["backoff"] == "disabled: waiting for permission"
    assert _run_feeds(settings, "run-1")["feeds_disabled"] == 1 and site.requests == []
