"""The embedded offline default: the snapshot served by the loopback mirror, fetched and
extracted by the same code as a live run."""

from __future__ import annotations

import tomllib

import httpx
from lxml import html as lxml_html

from dyadwatch.settings import Settings
from extractors.extract import extract_articles
from extractors.feeds import fetch_feeds
from extractors.mirror import serve_mirror
from extractors.pages import fetch_pages
from extractors.runfiles import RunFiles
from tests.conftest import REPO

SNAPSHOT = REPO / "seeds" / "snapshot"
BOILERPLATE = "//footer|//nav|//*[contains(@class, 'comment')]|//*[contains(@class, 'related')]"


def boilerplate_lines(url: str) -> list[str]:
    """Sentences of the page's navigation, footer, comments and related links."""
    path = SNAPSHOT / "sites" / url.split("://", 1)[1]
    tree = lxml_html.fromstring(path.read_bytes())
    texts = [" ".join(t.split()) for el in tree.xpath(BOILERPLATE) for t in el.itertext()]
    return [t for t in texts if len(t) > 30]


def test_mirror_serves_files_404s_and_revalidates():
    with serve_mirror(SNAPSHOT) as proxy, httpx.Client(proxy=proxy) as client:
        home = client.get("http://www.frontierledger.example/")
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        feed = client.get("http://www.frontierledger.example/feeds/world.xml")
        assert feed.headers["content-type"].startswith("application/rss+xml")
        again = client.get(
            "http://www.frontierledger.example/feeds/world.xml",
            headers={"If-None-Match": feed.headers["etag"]},
        )
        assert again.status_code == 304
        assert client.get("http://www.frontierledger.example/nope.html").status_code == 404
        assert (
            client.get("http://www.frontierledger.example/../../../etc/passwd").status_code == 404
        )


def test_offline_fetch_and_extract_every_labelled_article(tmp_path):
    settings = Settings.from_env({"DYADWATCH_HOME": str(tmp_path)})
    assert settings.offline
    fetch_feeds(settings, "t")
    summary = fetch_pages(settings, "t")
    assert summary["pages_failed"] == 1  # the deliberate dead link
    extract_articles(settings, "t")
    files = RunFiles(settings.work_dir, "t")
    articles = {a["url"]: a for a in files.rows("articles")}
    labels = tomllib.loads((SNAPSHOT / "labels.toml").read_text())["article"]
    for label in labels:
        article = articles[label["url"]]
        assert article["title"] and article["published_at"] and article["author"], label["url"]
        assert article["word_count"] > 250
        # boilerplate stays out: no navigation, comments, related links or footer
        lines = boilerplate_lines(label["url"])
        assert lines, label["url"]
        flat = " ".join(article["text"].split())
        assert not [t for t in lines if t in flat], label["url"]
    # the article listed in two feeds (once with utm_* parameters) is one article
    assert sum("barter-trade-framework" in url for url in articles) == 1
    failed = [r for r in files.rows("fetch_log_pages") if not r["ok"]]
    assert [r["error_class"] for r in failed] == ["http_status"]
