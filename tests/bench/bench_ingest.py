"""Benchmark: an hourly run where every feed answers 304 does next to no work.

Serves N generated feeds (M items each, every item an article page) on loopback, runs
fetch_feeds + fetch_pages + extract_articles once in full, then again with the first
run's feed_state (every feed answers 304 Not Modified), and prints both times and their
ratio.  Run: ``.venv/bin/python -m tests.bench.bench_ingest [N_FEEDS] [ITEMS]``.
(Not collected by pytest: the file name does not match ``test_*.py``.)
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

from dyadwatch.records import FeedState
from dyadwatch.settings import Settings
from extractors.extract import extract_articles
from extractors.feeds import fetch_feeds
from extractors.pages import fetch_pages
from extractors.runfiles import RunFiles
from tests.conftest import LoopbackSite, Route

PARAGRAPH = (
    "Officials from Iran and Pakistan met in Quetta on {day} to discuss border trade, "
    "security along the frontier and the reopening of crossing point number {n}. Traders "
    "said hundreds of trucks were waiting on both sides while customs teams checked goods. "
)


def serve(site: LoopbackSite, n_feeds: int, items: int) -> list[str]:
    urls = []
    for f in range(n_feeds):
        links = []
        for i in range(items):
            path = f"/site{f}/news/{i}.html"
            body = "".join(PARAGRAPH.format(day=f"day {i}", n=f * 100 + i) for _ in range(6))
            html = (
                f"<html><head><title>Story {f}-{i}</title></head><body><article>"
                f"<h1>Story {f}-{i}</h1><p>{body}</p></article></body></html>"
            )
            site.route(path, html, content_type="text/html; charset=utf-8")
            links.append(f"<item><title>Story {f}-{i}</title><link>{site.url(path)}</link></item>")
        rss = f"<rss version='2.0'><channel><title>Feed {f}</title>{''.join(links)}</channel></rss>"
        path = f"/site{f}/feed.xml"
        site.routes[path] = Route(
            rss.encode(),
            200,
            {"Content-Type": "application/rss+xml", "ETag": f'"feed{f}"'},
            then=[Route(b"", 304, {"ETag": f'"feed{f}"'})],
        )
        urls.append(site.url(path))
    return urls


def run_once(settings: Settings, run_key: str) -> tuple[float, dict]:
    """One run's fetch and extract steps; the summary includes each step's seconds."""
    summary: dict = {}
    started = time.perf_counter()
    for step in (fetch_feeds, fetch_pages, extract_articles):
        began = time.perf_counter()
        summary.update(step(settings, run_key))
        summary[f"{step.__name__}_s"] = round(time.perf_counter() - began, 3)
    return time.perf_counter() - started, summary


def main(n_feeds: int = 20, items: int = 10) -> None:
    logging.basicConfig(level=logging.WARNING)
    site = LoopbackSite()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            feeds_file = Path(tmp) / "feeds.toml"
            urls = serve(site, n_feeds, items)
            feeds_file.write_text(
                "".join(
                    f'[[feed]]\nurl = "{u}"\noutlet = "Bench {i}"\n' for i, u in enumerate(urls)
                ),
                encoding="utf-8",
            )
            settings = Settings.from_env(
                {
                    "DYADWATCH_HOME": str(Path(tmp) / "data"),
                    "DYADWATCH_MODE": "live",
                    "DYADWATCH_FEEDS": str(feeds_file),
                    "DYADWATCH_ALLOW_PRIVATE_ADDRESSES": "1",
                    "DYADWATCH_PER_HOST_DELAY": "0",
                    "DYADWATCH_PER_HOST_CONCURRENCY": "8",
                }
            )
            full_s, full = run_once(settings, "full")
            state = list(RunFiles(settings.work_dir, "full").records("feed_state", FeedState))
            RunFiles(settings.work_dir, "hourly").write("feed_state_prev", state)
            requests_before = len(site.requests)
            idle_s, idle = run_once(settings, "hourly")
            idle_requests = len(site.requests) - requests_before
    finally:
        site.close()
    print(f"feeds={n_feeds} items_per_feed={items} (one loopback host; robots.txt honoured)")
    print(
        f"full run:    {full_s:8.3f} s  feeds={full['feeds']} entries={full['entries']} "
        f"pages={full['pages_fetched']} articles={full['articles_extracted']}"
    )
    print(
        f"all-304 run: {idle_s:8.3f} s  not_modified={idle['feeds_not_modified']} "
        f"entries={idle['entries']} pages={idle['pages_fetched']} requests={idle_requests}"
    )
    for name, summary in (("full", full), ("all-304", idle)):
        steps = ", ".join(f"{k[:-2]} {v:.3f} s" for k, v in summary.items() if k.endswith("_s"))
        print(f"  {name}: {steps}")
    print(f"ratio all-304 / full: {idle_s / full_s:.4f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
