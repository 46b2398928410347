"""A generated news corpus for the benchmark, served over loopback.

Page ``i`` is built deterministically from one of the demo snapshot's real page
templates (four outlets' navigation, related links, comments, footers) with an article
body of about 5,000 characters drawn from the snapshot's paragraphs, so pages look and
weigh like real news pages.  Nothing is held in memory: every request builds its page.
Feeds list 50 entries each and answer ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cached_property
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from extractors.mirror import LoopbackServer

REPO = Path(__file__).resolve().parents[2]
SITES = REPO / "seeds" / "snapshot" / "sites"
ENTRIES_PER_FEED = 50
BODY_CHARS = 5_000
_P = re.compile(r"<p[^>]*>.*?</p>", re.S)
_TITLE = re.compile(r"(<h1[^>]*>)(.*?)(</h1>)", re.S)
_ARTICLE = re.compile(r"<article.*?</article>", re.S)
# publication times run from T0 in steps of PUBLISHED_EVERY: 20,000 pages span 139 days,
# all in the past.  (Pages dated after today, as an earlier step of 3 hours gave every page
# past the 1,456th, are no news page: htmldate rejects the date and searches the whole
# page for another, which made the pipeline's extraction up to twice as slow on those pages.)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PUBLISHED_EVERY = timedelta(minutes=10)


@dataclass
class Template:
    html: str
    title: str
    url: str
    body_span: tuple[int, int]  # where the article paragraphs stand


def _page_weight(rng: random.Random) -> str:
    """What real pages carry besides the article: analytics and ad scripts, JSON-LD,
    preloaded state (about 25 kB, varied per page)."""
    state = ",".join(
        f'{{"id":{rng.randrange(10**6)},"slot":"ad-{k}","sizes":[[300,250],[728,90]],'
        f'"targeting":{{"section":"world","pos":"{k}","kw":"news,asia,{rng.randrange(999)}"}}}}'
        for k in range(120)
    )
    return (
        f'<script>window.__PRELOADED_STATE__={{"ads":[{state}]}};</script>\n'
        "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date()"
        ".getTime(),event:'gtm.js'});})(window,document,'script','dataLayer','GTM-X');"
        "</script>\n"
    )


class Corpus:
    """N pages and N/50 feeds, all built on demand."""

    def __init__(self, n: int, seed: int = 7) -> None:
        self.n = n
        self.seed = seed

    @cached_property
    def templates(self) -> list[Template]:
        out = []
        for path in sorted(SITES.glob("*/20*/*/*.html")):
            html = path.read_text(encoding="utf-8")
            article = _ARTICLE.search(html)
            title = _TITLE.search(html)
            if not article or not title:
                continue
            paragraphs = list(_P.finditer(html, article.start(), article.end()))
            if len(paragraphs) < 3:
                continue
            url = "http://" + str(path.relative_to(SITES))
            span = (paragraphs[0].start(), paragraphs[-1].end())
            out.append(Template(html, title.group(2), url, span))
        return out

    @cached_property
    def paragraphs(self) -> list[str]:
        pool = []
        for t in self.templates:
            pool += _P.findall(t.html, *t.body_span)
        return pool

    @property
    def n_feeds(self) -> int:
        return max(1, -(-self.n // ENTRIES_PER_FEED))

    def page_url(self, base: str, i: int) -> str:
        return f"{base}/news/{i % 7}/{i}.html"

    def feed_url(self, base: str, k: int) -> str:
        return f"{base}/feeds/{k}.xml"

    def published(self, i: int) -> datetime:
        return T0 + i * PUBLISHED_EVERY

    def page(self, base: str, i: int) -> bytes:
        t = self.templates[i % len(self.templates)]
        rng = random.Random(self.seed * 1_000_003 + i)
        body, size = [], 0
        while size < BODY_CHARS:
            p = rng.choice(self.paragraphs)
            body.append(p)
            size += len(p)
        url = self.page_url(base, i)
        html = t.html[: t.body_span[0]] + "\n".join(body) + t.html[t.body_span[1] :]
        title = f"{t.title} — report {i}"
        html = html.replace(t.title, escape(title, quote=False))
        html = html.replace(t.url, url)
        html = html.replace("</head>", _page_weight(rng) + "</head>", 1)
        stamp = self.published(i).isoformat()
        html = re.sub(r'(article:published_time" content=")[^"]+', rf"\g<1>{stamp}", html)
        return html.encode("utf-8")

    def feed(self, base: str, k: int) -> bytes:
        items = []
        for i in range(k * ENTRIES_PER_FEED, min(self.n, (k + 1) * ENTRIES_PER_FEED)):
            t = self.templates[i % len(self.templates)]
            items.append(
                f"<item><title>{escape(t.title)} — report {i}</title>"
                f"<link>{self.page_url(base, i)}</link><guid>{self.page_url(base, i)}</guid>"
                f"<pubDate>{format_datetime(self.published(i))}</pubDate></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bench feed {k}</title><link>{base}/</link><description>bench</description>"
            + "".join(items)
            + "</channel></rss>"
        ).encode("utf-8")

    def feeds_toml(self, base: str) -> str:
        return "".join(
            f'[[feed]]\nurl = "{self.feed_url(base, k)}"\noutlet = "Bench Outlet {k % 4}"\n'
            f'country = "{("PK", "IR", "INT", "PK")[k % 4]}"\nlanguage = "en"\n\n'
            for k in range(self.n_feeds)
        )


@contextmanager
def serve(corpus: Corpus, cache_dir: Path | None = None) -> Iterator[str]:
    """Serve the corpus on 127.0.0.1; yields the base URL.

    With ``cache_dir``, every page and feed is written there first and served from
    disk, so the server spends (almost) no CPU building pages during the measurements.
    """
    holder: dict[str, str] = {}

    def built(path: str) -> tuple[bytes, str] | None:
        base = holder["base"]
        if m := re.fullmatch(r"/news/\d+/(\d+)\.html", path):
            i = int(m.group(1))
            if i < corpus.n:
                return corpus.page(base, i), "text/html; charset=utf-8"
        elif m := re.fullmatch(r"/feeds/(\d+)\.xml", path):
            k = int(m.group(1))
            if k < corpus.n_feeds:
                return corpus.feed(base, k), "application/rss+xml; charset=utf-8"
        return None

    def cached(path: str) -> tuple[bytes, str] | None:
        file = cache_dir / path.strip("/").replace("/", "_") if cache_dir else None
        if file is None:
            return built(path)
        if file.exists():
            ctype = "application/rss+xml" if file.suffix == ".xml" else "text/html"
            return file.read_bytes(), f"{ctype}; charset=utf-8"
        return None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY, as real web servers set it: with Nagle's algorithm on, the body's
        # last segment waits for the client's delayed ACK of the headers (40 ms on Linux),
        # and the benchmark would measure that instead of the pipeline
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            found = cached(self.path.split("?")[0])
            body, ctype = found if found else (None, "")
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    # with the default backlog of 5 the no-change hour's forty 304s took 0.1 s or 1.1 s by
    # chance (a dropped connect waits for the SYN retry)
    server = LoopbackServer(("127.0.0.1", 0), Handler)
    holder["base"] = f"http://127.0.0.1:{server.server_address[1]}"
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for i in range(corpus.n):
            path = urlsplit(corpus.page_url(holder["base"], i)).path
            (cache_dir / path.strip("/").replace("/", "_")).write_bytes(built(path)[0])
        for k in range(corpus.n_feeds):
            path = urlsplit(corpus.feed_url(holder["base"], k)).path
            (cache_dir / path.strip("/").replace("/", "_")).write_bytes(built(path)[0])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["base"]
    finally:
        server.shutdown()
        server.server_close()
