"""Incremental and polite fetching over real loopback HTTP.

Conditional GET across two runs, Retry-After, retries of transient failures only,
per-host delay, robots.txt, and feeds that back off or are disabled.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import extractors.feeds as feeds_module
from dyadwatch.records import FeedState, ParsedEntry, Source, stable_id
from extractors.feeds import fetch_feed, fetch_feeds
from extractors.http import fetch_url, http_client, parse_retry_after
from extractors.pages import fetch_pages
from extractors.runfiles import RunFiles
from tests.conftest import Route

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk</title><link>{base}/</link><description>d</description>
<item><title>One</title><link>{base}/one.html</link></item>
<item><title>Two</title><link>{base}/two.html</link></item>
</channel></rss>"""


def _source(url: str) -> Source:
    return Source(source_id=stable_id(url), kind="feed", url=url, outlet="Test")


def _write_feeds(settings, urls: list[str]) -> None:
    settings.feeds_file.write_text(
        "".join(f'[[feed]]\nurl = "{u}"\noutlet = "Loopback"\n' for u in urls), encoding="utf-8"
    )


def _carry_state(settings, from_run: str, to_run: str) -> None:
    """What read_feed_state does between runs, minus the warehouse."""
    before = RunFiles(settings.work_dir, from_run)
    RunFiles(settings.work_dir, to_run).write(
        "feed_state_prev", list(before.records("feed_state", FeedState))
    )


def test_second_run_gets_304_and_parses_nothing(site, settings, monkeypatch):
    body = RSS.format(base=site.base)
    site.route(
        "/feed.xml",
        body,
        headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'},
        then=[Route(b"", 304, {"ETag": '"v1"'})],
    )
    _write_feeds(settings, [site.url("/feed.xml")])
    parses = []
    real_parse = feeds_module.parse_feed
    monkeypatch.setattr(
        feeds_module, "parse_feed", lambda *a, **kw: parses.append(1) or real_parse(*a, **kw)
    )

    first = fetch_feeds(settings, "run1")
    assert first["entries"] == 2 and len(parses) == 1
    _carry_state(settings, "run1", "run2")
    second = fetch_feeds(settings, "run2")
    assert second == {**second, "entries": 0, "feeds_not_modified": 1, "feeds_failed": 0}
    assert len(parses) == 1, "a 304 is not parsed"
    run2 = RunFiles(settings.work_dir, "run2")
    assert list(run2.rows("entries")) == []
    assert site.requests[-1][2].get("If-None-Match") == '"v1"'
    state = next(run2.records("feed_state", FeedState))
    assert state.etag == '"v1"' and state.consecutive_failures == 0


def test_429_with_retry_after_is_waited_for_then_retried(site, settings):
    url = site.route(
        "/feed.xml",
        status=429,
        headers={"Retry-After": "1"},
        then=[Route(RSS.format(base=site.base).encode(), 200, {"Content-Type": "text/xml"})],
    )
    started = time.monotonic()
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(url), None)
    assert time.monotonic() - started >= 1.0
    assert [a.status for a in outcome.attempts] == [429, 200]
    assert outcome.attempts[0].error_class == "http_status" and outcome.attempts[1].ok
    assert len(outcome.entries) == 2


def test_long_retry_after_backs_the_feed_off_instead_of_waiting(site, settings):
    url = site.route("/feed.xml", status=503, headers={"Retry-After": "7200"})
    now = datetime.now(UTC)
    started = time.monotonic()
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(url), None, now=now)
    assert time.monotonic() - started < 1.0
    assert len(outcome.attempts) == 1 and outcome.attempts[0].status == 503
    assert outcome.state.next_due_at >= now + timedelta(seconds=7200)
    # and the next run leaves it alone, recording nothing
    with http_client(settings) as client:
        again = fetch_feed(client, settings, _source(url), outcome.state)
    assert again.skipped == "backoff" and again.attempts == []
    assert len(site.requests) == 1


def test_retry_after_as_http_date():
    now = datetime(2026, 10, 12, 8, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 12 Oct 2026 08:00:30 GMT", now) == 30.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("soon") is None


def test_500_then_success_is_retried_but_404_is_not(site, settings):
    url = site.route(
        "/flaky.html",
        status=500,
        then=[Route(b"<html>ok</html>", 200, {"Content-Type": "text/html"})],
    )
    site.route("/missing.html", status=404)
    with http_client(settings) as client:
        flaky = fetch_url(client, url, kind="page", max_bytes=10_000, deadline_s=3)
        missing = fetch_url(
            client, site.url("/missing.html"), kind="page", max_bytes=10_000, deadline_s=3
        )
    assert flaky.ok and [a.status for a in flaky.attempts] == [500, 200]
    assert not missing.ok and len(missing.attempts) == 1
    assert [p for _, p, _, _ in site.requests] == ["/flaky.html", "/flaky.html", "/missing.html"]


def test_per_host_delay_spaces_requests(site, settings):
    polite = settings.with_(per_host_delay=0.3, per_host_concurrency=1)
    for i in range(4):
        site.route(f"/p{i}.html", "<html>x</html>", content_type="text/html")
    files = RunFiles(polite.work_dir, "run1")
    files.write(
        "entries", [ParsedEntry(source_id="s", url=site.url(f"/p{i}.html")) for i in range(4)]
    )
    started = time.monotonic()
    summary = fetch_pages(polite, "run1")
    assert summary["pages_fetched"] == 4
    # robots.txt + 4 pages, 0.3 s apart
    assert time.monotonic() - started >= 4 * 0.3


def test_robots_txt_is_honoured_for_pages(site, settings):
    site.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    site.route("/news/a.html", "<html>a</html>", content_type="text/html")
    site.route("/private/b.html", "<html>b</html>", content_type="text/html")
    files = RunFiles(settings.work_dir, "run1")
    files.write(
        "entries",
        [
            ParsedEntry(source_id="s", url=site.url("/news/a.html")),
            ParsedEntry(source_id="s", url=site.url("/private/b.html")),
        ],
    )
    summary = fetch_pages(settings, "run1")
    assert summary["pages_fetched"] == 1 and summary["robots_disallowed"] == 1
    log = {r["url"]: r for r in files.rows("fetch_log_pages")}
    assert log[site.url("/private/b.html")]["error_class"] == "robots_disallowed"
    assert log[site.url("/robots.txt")]["ok"]
    paths = [p for _, p, _, _ in site.requests]
    assert paths.count("/robots.txt") == 1 and "/private/b.html" not in paths


def test_robots_txt_server_error_disallows_for_the_run(site, settings):
    site.route("/robots.txt", status=500)
    site.route("/news/a.html", "<html>a</html>", content_type="text/html")
    files = RunFiles(settings.work_dir, "run1")
    files.write("entries", [ParsedEntry(source_id="s", url=site.url("/news/a.html"))])
    assert fetch_pages(settings, "run1")["robots_disallowed"] == 1


def test_410_disables_a_feed_with_the_reason(site, settings):
    url = site.route("/gone.xml", status=410)
    with http_client(settings) as client:
        outcome = fetch_feed(client, settings, _source(url), None)
        assert "410" in outcome.state.disabled_reason and outcome.state.disabled_at
        again = fetch_feed(client, settings, _source(url), outcome.state)
    assert again.skipped == "disabled" and again.state.disabled_reason
    assert len(site.requests) == 1


def test_failures_back_off_exponentially_then_disable(site, settings):
    url = site.route("/down.xml", status=404)
    few = settings.with_(feed_disable_after=3, feed_backoff=60, feed_backoff_max=3600)
    state = None
    rests = []
    now = datetime(2026, 10, 12, 8, 0, tzinfo=UTC)
    with http_client(few) as client:
        for _ in range(3):
            outcome = fetch_feed(client, few, _source(url), state, now=now)
            state = outcome.state
            if state.next_due_at:
                rests.append((state.next_due_at - now).total_seconds())
                now = state.next_due_at  # the next run when it is due
    assert rests == [60.0, 120.0]
    assert state.consecutive_failures == 3
    assert state.disabled_reason.startswith("3 consecutive failures; last: http_status")


PAGE = """<html><head><title>{title}</title></head><body><article><h1>{title}</h1>
<p>Iran and Pakistan agreed in Islamabad on Tuesday to reopen the Taftan border crossing
for trade after three weeks of closure, officials in Quetta and Zahedan said.</p>
<p>The interior ministers of the two countries pledged to share intelligence on militant
groups along the frontier and to revive a joint border commission that has not met since
2019. Traders said hundreds of trucks had been stranded on both sides of the border.</p>
</article></body></html>"""


def ingest_run(settings, run_key: str) -> dict[str, object]:
    """One ingest run: the functions the DAG's tasks call, in the DAG's order."""
    from extractors.extract import extract_articles
    from extractors.tagger import tag_articles
    from warehouse.runs import load_batches, read_feed_state, select_new_entries, stage_run

    read_feed_state(settings, run_key)
    feeds = fetch_feeds(settings, run_key)
    select_new_entries(settings, run_key)
    pages = fetch_pages(settings, run_key)
    extracted = extract_articles(settings, run_key)
    tagged = tag_articles(settings, run_key)
    stage_run(settings, run_key)
    return {
        "feeds": feeds,
        "pages": pages,
        "extract": extracted,
        "tag": tagged,
        "load": load_batches(settings),
    }


def _table_counts(settings) -> dict[str, int]:
    from warehouse.db import connect

    with connect(settings.warehouse_path, read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
            for t in ("articles", "signals", "mentions", "sources", "fetch_log")
        }


def test_second_run_gets_304_through_the_warehouse_and_adds_no_rows(site, settings, monkeypatch):
    """304 on the second run, end to end: validators kept in feed_state, no re-parse,
    no page fetched, no new article/signal/mention rows; only the 304 is logged."""
    base = site.base
    site.route(
        "/feed.xml",
        RSS.format(base=base),
        headers={
            "Content-Type": "application/rss+xml",
            "ETag": '"v1"',
            "Last-Modified": "Tue, 13 Oct 2026 08:00:00 GMT",
        },
        then=[Route(b"", 304, {"ETag": '"v1"'})],
    )
    for path, title in (("/one.html", "Taftan crossing reopens"), ("/two.html", "Border talks")):
        site.route(path, PAGE.format(title=title), content_type="text/html; charset=utf-8")
    _write_feeds(settings, [site.url("/feed.xml")])
    parses = []
    real_parse = feeds_module.parse_feed
    monkeypatch.setattr(
        feeds_module, "parse_feed", lambda *a, **kw: parses.append(1) or real_parse(*a, **kw)
    )

    first = ingest_run(settings, "run1")
    assert first["feeds"]["entries"] == 2 and len(parses) == 1
    after_first = _table_counts(settings)
    assert after_first["articles"] >= 2  # the two pages (and any seed articles)
    from warehouse.db import connect

    with connect(settings.warehouse_path, read_only=True) as con:
        stored = con.execute(
            "SELECT etag, last_modified FROM feed_state WHERE source_id = ?",
            [stable_id(site.url("/feed.xml"))],
        ).fetchone()
    assert stored == ('"v1"', "Tue, 13 Oct 2026 08:00:00 GMT")
    requests_before = len(site.requests)

    second = ingest_run(settings, "run2")
    assert second["feeds"]["feeds_not_modified"] == 1 and second["feeds"]["entries"] == 0
    assert len(parses) == 1, "the 304 was not parsed"
    assert len(site.requests) == requests_before + 1, "only the feed was asked, no page"
    conditional = site.requests[-1][2]
    assert conditional.get("If-None-Match") == '"v1"'
    assert conditional.get("If-Modified-Since") == "Tue, 13 Oct 2026 08:00:00 GMT"
    after_second = _table_counts(settings)
    assert after_second == {**after_first, "fetch_log": after_first["fetch_log"] + 1}
    assert second["load"]["articles_new"] == 0
    # nothing new: the stored seed articles are not extracted again, nothing is tagged
    assert first["extract"]["articles_extracted"] >= 2 and first["tag"]["articles"] >= 2
    assert second["extract"]["articles_extracted"] == 0 and second["tag"]["articles"] == 0
