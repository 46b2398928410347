"""Re-extraction from kept raw pages after an extractor version bump: a real DuckDB file,
a real ``dag.test()`` of ``dyadwatch_reextract``; no article id changes, nothing is
duplicated, signals and mentions follow the new text, nothing is refetched."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dyadwatch.settings import Settings
from dyadwatch.watch import load_watch
from extractors.extract import EXTRACTOR_VERSION, extract_articles
from extractors.pages import FetchedPage
from extractors.runfiles import RunFiles
from extractors.tagger import tag_article, tag_articles
from tests.conftest import REPO
from tests.unit.test_extract import PERSIAN_PARAGRAPHS, URDU_PARAGRAPHS, _page
from warehouse.load import load_pending_batches
from warehouse.reextract import count_stale_pages, reextract_stale_articles
from warehouse.runs import stage_run

pytestmark = pytest.mark.airflow

OLD_VERSION = "trafilatura-2.0.0+dw1"
ENGLISH = [
    [
        f"Pakistan and Iran agreed on day {i} to reopen the Taftan border crossing for trade, "
        "officials in Islamabad said after talks between the two foreign ministers.",
        "The ministers also discussed electricity imports, the long-delayed gas pipeline and "
        f"joint patrols against militants along the border, statement number {i} said.",
        "Traders in Quetta welcomed the decision and said barter trade would help the economy "
        "of Balochistan, where many families depend on cross-border commerce.",
    ]
    for i in range(6)
]


def _settings(tmp_path: Path) -> dict[str, str]:
    return {
        "DYADWATCH_HOME": str(tmp_path / "data"),
        "DYADWATCH_MODE": "live",
        "DYADWATCH_FEEDS": str(tmp_path / "feeds.toml"),
        "DYADWATCH_WATCH": str(REPO / "seeds" / "watch.toml"),
        "DYADWATCH_LOCK_TIMEOUT": "10",
    }


def _ingest_pages(settings: Settings) -> dict[str, str]:
    """extract -> tag -> stage -> load, from pages on disk as the fetch step leaves them."""
    run_key = "run-pages"
    files = RunFiles(settings.work_dir, run_key)
    (files.dir / "pages").mkdir(parents=True, exist_ok=True)
    pages = {
        f"https://news.example/en/{i}": _page(p, lang="en", title=f"Border deal {i}")
        for i, p in enumerate(ENGLISH)
    }
    pages["https://news.example/ur/1"] = _page(URDU_PARAGRAPHS, lang="ur", title="سرحدی تجارت")
    pages["https://news.example/fa/1"] = _page(PERSIAN_PARAGRAPHS, lang=None, title="مرز")
    rows = []
    for i, (url, html) in enumerate(pages.items()):
        html = html.replace("https://news.example/world/story-1?utm_source=x", url)
        (files.dir / "pages" / f"{i}.html").write_bytes(html.encode("utf-8"))
        rows.append(
            FetchedPage(url, url, "src1", f"pages/{i}.html", "text/html", "utf-8", None, None)
        )
    files.write("pages", rows)
    extract_articles(settings, run_key)
    tag_articles(settings, run_key)
    stage_run(settings, run_key)
    load_pending_batches(settings)
    return pages


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _run_reextract_dag(batch_size: int) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=REPO / "dags").get_dag("dyadwatch_reextract")
    dag_run = dag.test(run_conf={"batch_size": batch_size})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state).endswith("success"), states


def test_reextract_dag_after_a_version_bump_keeps_ids_and_duplicates_nothing(
    airflow_db, tmp_path, monkeypatch
):
    env = _settings(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env(env)
    _ingest_pages(settings)
    db = settings.warehouse_path
    fresh = _rows(
        db,
        "SELECT article_id, url, text, text_hash, batch_id, story_id, language "
        "FROM articles WHERE raw_sha256 IS NOT NULL ORDER BY 1",
    )
    assert len(fresh) == 8
    assert {r[6] for r in fresh} == {"en", "ur", "fa"}
    seed_before = _rows(db, "SELECT * FROM articles WHERE raw_sha256 IS NULL ORDER BY 1")
    assert seed_before  # the seed article: no raw page, never re-extracted
    n_signals = _rows(db, "SELECT count(*) FROM signals")[0][0]
    assert n_signals > 0

    # as if an older extractor had produced these rows: another version, a cut text and
    # no signals past the cut
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE articles SET extractor_version = ?, text = substr(text, 1, 120), "
            "text_hash = 'old-' || article_id, word_count = 1 WHERE raw_sha256 IS NOT NULL",
            [OLD_VERSION],
        )
        con.execute(
            "DELETE FROM signals WHERE start > 120 AND article_id IN "
            "(SELECT article_id FROM articles WHERE raw_sha256 IS NOT NULL)"
        )
    assert count_stale_pages(settings) == {"extractor_version": EXTRACTOR_VERSION, "stale": 8}
    raw_files = sorted(settings.raw_dir.rglob("*.html.gz"))
    for run_dir in settings.work_dir.iterdir():  # nothing is refetched or re-read from runs
        for path in run_dir.rglob("*"):
            path.unlink() if path.is_file() else None

    _run_reextract_dag(batch_size=3)  # 8 pages: three batches

    after = _rows(
        db,
        "SELECT article_id, url, text, text_hash, batch_id, story_id, language "
        "FROM articles WHERE raw_sha256 IS NOT NULL ORDER BY 1",
    )
    assert after == fresh  # same ids, urls, batches, stories; the full text back
    assert _rows(
        db, "SELECT DISTINCT extractor_version FROM articles WHERE raw_sha256 IS NOT NULL"
    ) == [(EXTRACTOR_VERSION,)]
    assert _rows(db, "SELECT * FROM articles WHERE raw_sha256 IS NULL ORDER BY 1") == seed_before
    assert _rows(
        db, "SELECT count(*), count(DISTINCT article_id), count(DISTINCT url) FROM articles"
    ) == [(9, 9, 9)]
    # signals and mentions are exactly the tagger's for the re-extracted texts, once each
    watch = load_watch(settings.watch_file)
    expected_signals = expected_mentions = 0
    for article_id, title, text, language in _rows(
        db, "SELECT article_id, title, text, language FROM articles"
    ):
        result = tag_article(article_id, title, text, watch, language=language)
        expected_signals += len(result.signals)
        expected_mentions += len(result.mentions)
    assert _rows(db, "SELECT count(*), count(DISTINCT signal_id) FROM signals") == [
        (expected_signals, expected_signals)
    ]
    assert expected_signals == n_signals
    assert _rows(db, "SELECT count(*) FROM mentions") == [(expected_mentions,)]
    assert _rows(
        db,
        "SELECT count(*) FROM signals LEFT JOIN articles USING (article_id) "
        "WHERE articles.article_id IS NULL",
    ) == [(0,)]
    assert sorted(settings.raw_dir.rglob("*.html.gz")) == raw_files

    # a rerun with nothing stale changes nothing
    before = _rows(db, "SELECT * FROM articles ORDER BY 1")
    _run_reextract_dag(batch_size=3)
    assert _rows(db, "SELECT * FROM articles ORDER BY 1") == before
    assert count_stale_pages(settings)["stale"] == 0


def test_a_missing_raw_page_leaves_its_article_alone(tmp_path):
    settings = Settings.from_env(_settings(tmp_path))
    _ingest_pages(settings)
    db = settings.warehouse_path
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE articles SET extractor_version = ? WHERE raw_sha256 IS NOT NULL", [OLD_VERSION]
        )
    victim = sorted(settings.raw_dir.rglob("*.html.gz"))[0]
    victim.unlink()
    summary = reextract_stale_articles(settings, batch_size=100)
    assert summary.stale_before == 8
    assert summary.raw_missing == 1 and summary.articles == 7
    assert summary.text_changed == 0  # same extractor, same pages: the same texts
    assert _rows(
        db, f"SELECT count(*) FROM articles WHERE extractor_version = '{OLD_VERSION}'"
    ) == [(1,)]


def test_no_warehouse_means_nothing_to_reextract(tmp_path):
    settings = Settings.from_env(_settings(tmp_path))
    assert reextract_stale_articles(settings).articles == 0
    assert count_stale_pages(settings)["stale"] == 0


def test_reextract_dag_policy(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=REPO / "dags").get_dag("dyadwatch_reextract")
    assert dag.tags and not dag.catchup and dag.schedule is None
    assert all(t.retries >= 2 for t in dag.tasks)
    assert {t.task_id for t in dag.tasks if t.pool == "dyadwatch_warehouse"} == {
        "reextract_stale_articles"
    }
