"""Real Airflow DAG runs (``dag.test()``) against a loopback site, into a real DuckDB file.

The site serves two feeds (one fine, one malformed) whose entries point at real article
pages of the demo snapshot, a dead link, a page that never answers in time and a PDF.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, SEED_CATEGORIES, LoopbackSite

pytestmark = pytest.mark.airflow

SNAPSHOT = REPO / "seeds" / "snapshot" / "sites"
PAGES = {
    "/news/border-fencing.html": (
        "www.frontierledger.example/2026/09/pakistan-iran-border-commission-fencing-intelligence.html"
    ),
    "/news/mortar-panjgur.html": (
        "www.quettaobserver.example/2026/10/iranian-mortar-shells-panjgur-protest.html"
    ),
    "/news/cricket.html": (
        "www.frontierledger.example/2026/11/pakistan-beat-new-zealand-odi-series-rawalpindi.html"
    ),
}

ITEM = "<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item>"


def _rss(site: LoopbackSite, items: list[tuple[str, str]]) -> str:
    body = "".join(
        ITEM.format(title=t, link=site.url(p), date="Mon, 12 Oct 2026 08:30:00 +0000")
        for t, p in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Loopback desk</title><link>{site.base}/</link><description>t</description>"
        f"{body}</channel></rss>"
    )


def serve_world(site: LoopbackSite) -> None:
    for path, rel in PAGES.items():
        html = (SNAPSHOT / rel).read_text(encoding="utf-8")
        # the pages name their canonical URL on the demo host; point it at the loopback copy
        html = html.replace(f"http://{rel}", site.url(path))
        site.route(path, html, content_type="text/html; charset=utf-8")
    site.route("/slow.html", "<html>too late</html>", delay=4, content_type="text/html")
    site.route("/report.pdf", b"%PDF-1.7 not a page", content_type="application/pdf")
    items = [
        ("Border fencing", "/news/border-fencing.html"),
        ("Mortar shells", "/news/mortar-panjgur.html"),
        ("Cricket", "/news/cricket.html"),
        ("Dead link", "/news/gone.html"),
        ("Slow page", "/slow.html"),
        ("A PDF", "/report.pdf"),
    ]
    site.route("/feed.xml", _rss(site, items), content_type="application/rss+xml")
    site.route("/broken.xml", "<rss><channel><title>cut off", content_type="application/xml")


def configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, site: LoopbackSite) -> Path:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[[feed]]\nurl = "{site.url("/feed.xml")}"\noutlet = "Loopback Daily"\ncountry = "PK"\n'
        f'[[feed]]\nurl = "{site.url("/broken.xml")}"\noutlet = "Broken Feed"\ncountry = "IR"\n',
        encoding="utf-8",
    )
    home = tmp_path / "data"
    for key, value in {
        "DYADWATCH_HOME": str(home),
        "DYADWATCH_MODE": "live",
        "DYADWATCH_FEEDS": str(feeds),
        "DYADWATCH_HTTP_TIMEOUT": "2",
        "DYADWATCH_ALLOW_PRIVATE_ADDRESSES": "1",
        "DYADWATCH_ALERT_URLS": "",
    }.items():
        monkeypatch.setenv(key, value)
    return home


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
            for t in ("articles", "signals", "mentions", "alerts", "sources")
        }


def run_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=REPO / "dags").get_dag(dag_id)
    dag_run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state).endswith("success"), states
    return dag_run


def test_ingest_then_alerts_end_to_end_and_rerun_adds_nothing(
    airflow_db, site, tmp_path, monkeypatch
):
    serve_world(site)
    home = configure(monkeypatch, tmp_path, site)
    db = home / "warehouse.duckdb"

    run_dag("dyadwatch_ingest")
    run_dag("dyadwatch_alerts")

    with duckdb.connect(str(db), read_only=True) as con:
        articles = dict(con.execute("SELECT url, relevant FROM articles").fetchall())
        failures = dict(
            con.execute(
                "SELECT url, error_class || ': ' || error_message FROM fetch_log WHERE NOT ok"
            ).fetchall()
        )
        seed = con.execute(
            "SELECT article_id, relevant FROM articles WHERE outlet = 'Newsweek'"
        ).fetchone()
        seed_categories = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT category FROM signals WHERE article_id = ?", [seed[0]]
            ).fetchall()
        }
        evidence_ok = con.execute(
            "SELECT bool_and(strpos(lower(s.evidence), lower(s.cue)) > 0 "
            'AND substr(a.text, s.start + 1, s."end" - s.start) = s.evidence) '
            "FROM signals s JOIN articles a USING (article_id)"
        ).fetchone()[0]
        alerts = con.execute("SELECT status, channel FROM alerts").fetchall()

    # the three real pages and the seed are in; relevance as labelled
    assert articles[site.url("/news/border-fencing.html")] is True
    assert articles[site.url("/news/mortar-panjgur.html")] is True
    assert articles[site.url("/news/cricket.html")] is False
    assert seed[1] is True
    assert SEED_CATEGORIES <= seed_categories
    assert evidence_ok
    # every bad input is a recorded failure with its reason; the rest of the run loaded
    assert failures[site.url("/news/gone.html")].startswith("http_status: HTTP 404")
    assert failures[site.url("/slow.html")].startswith("timeout")
    assert failures[site.url("/report.pdf")].startswith("not_html")
    assert failures[site.url("/broken.xml")].startswith("parse_error")
    # alerts went to the default sink, once each
    assert alerts and all(status == "delivered" for status, _ in alerts)
    lines = (home / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    # one message per alert, or per digest of several: every alert in exactly one message
    sent_ids = [i for line in lines for i in json.loads(line)["alert_ids"]]
    assert len(sent_ids) == len(set(sent_ids)) == len(alerts)
    assert all(json.loads(line)["urls"] for line in lines)

    before = counts(db)
    run_dag("dyadwatch_ingest")
    run_dag("dyadwatch_alerts")
    assert counts(db) == before
    assert len((home / "alerts.jsonl").read_text(encoding="utf-8").splitlines()) == len(lines)
    assert not list((home / "staging").glob("*/manifest.json")), "every batch was loaded"
