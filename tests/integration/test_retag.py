"""Versioned re-tagging: a changed watch file re-tags stored articles in a real DuckDB file
through a real ``dag.test()`` of ``dyadwatch_retag``, batch by batch, without mixing
versions; quotes and amounts travel run files -> staged batch -> warehouse.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from dyadwatch.records import Article, stable_id
from dyadwatch.settings import Settings
from dyadwatch.watch import load_watch
from extractors.eval_tagger import load_devset
from extractors.runfiles import RunFiles
from extractors.tagger import tag_article, tag_articles
from tests.conftest import REPO, copy_of_watch
from warehouse.load import load_pending_batches
from warehouse.retag import count_stale_articles, retag_stale_articles
from warehouse.runs import stage_run

pytestmark = pytest.mark.airflow

QUOTED = (
    "Pakistan and Iran signed a barter trade framework worth $5 billion by 2028 in Tehran. "
    '"This border will be a border of trade," Commerce Minister Jam Kamal Khan said.'
)
# a cue added to border_security by the edited watch file
NEW_CUE = "stranded"


def _articles() -> list[Article]:
    now = datetime(2026, 10, 1, tzinfo=UTC)
    items = [(i["id"], i.get("title"), i["text"], i.get("language")) for i in load_devset()]
    items.append(("quoted", "Pakistan, Iran sign barter deal", QUOTED, "en"))
    return [
        Article(
            article_id=stable_id(f"https://news.example/{item_id}"),
            url=f"https://news.example/{item_id}",
            source_id=None,
            outlet="Example News",
            title=title,
            author=None,
            published_at=now,
            fetched_at=now,
            language=language,
            text=text,
            text_hash=hashlib.sha256(text.encode()).hexdigest(),
            word_count=len(text.split()),
            extractor_version="test",
        )
        for item_id, title, text, language in items
    ]


def _settings(tmp_path: Path, watch_file: Path) -> Settings:
    return Settings.from_env(
        {
            "DYADWATCH_HOME": str(tmp_path / "data"),
            "DYADWATCH_MODE": "live",
            "DYADWATCH_FEEDS": str(tmp_path / "feeds.toml"),
            "DYADWATCH_WATCH": str(watch_file),
            "DYADWATCH_LOCK_TIMEOUT": "10",
        }
    )


def _load_with_watch(settings: Settings) -> None:
    """The ingest path from the tag step on: tag -> stage -> load (real run files)."""
    run_key = "run-old-watch"
    files = RunFiles(settings.work_dir, run_key)
    files.write("articles", _articles())
    tag_articles(settings, run_key)
    stage_run(settings, run_key)
    load_pending_batches(settings)


def _edited_watch(tmp_path: Path) -> Path:
    edited = copy_of_watch(tmp_path)
    text = edited.read_text(encoding="utf-8")
    marker = "[categories.border_security]"
    head, tail = text.split(marker, 1)
    terms_at = tail.index("terms = [") + len("terms = [")
    tail = f'{tail[:terms_at]}"{NEW_CUE}", {tail[terms_at:]}'
    edited.write_text(head + marker + tail, encoding="utf-8")
    return edited


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _run_retag_dag(batch_size: int):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=REPO / "dags").get_dag("dyadwatch_retag")
    dag_run = dag.test(run_conf={"batch_size": batch_size})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state).endswith("success"), states
    return dag_run


def test_load_stores_quotes_and_amounts(tmp_path):
    settings = _settings(tmp_path, REPO / "seeds" / "watch.toml")
    _load_with_watch(settings)
    db = settings.warehouse_path
    aid = stable_id("https://news.example/quoted")
    quotes = _rows(db, 'SELECT speaker, text, start, "end" FROM quotes WHERE article_id = ?', [aid])
    amounts = _rows(
        db, "SELECT kind, value, unit, target_year FROM amounts WHERE article_id = ?", [aid]
    )
    said = "This border will be a border of trade"
    start = QUOTED.index(said)
    assert quotes == [("Commerce Minister Jam Kamal Khan", said, start, start + len(said))]
    assert amounts == [("money", 5e9, "USD", 2028)]
    # the offsets of every stored quote and amount point into the stored text
    assert _rows(
        db,
        'SELECT bool_and(substr(a.text, q.start + 1, q."end" - q.start) = q.text) '
        "FROM quotes q JOIN articles a USING (article_id)",
    ) == [(True,)]
    assert _rows(
        db,
        'SELECT bool_and(substr(a.text, x.start + 1, x."end" - x.start) = x.text), count(*) '
        "FROM amounts x JOIN articles a USING (article_id)",
    )[0][0]


def test_retag_dag_swaps_every_article_to_the_new_version(airflow_db, tmp_path, monkeypatch):
    old_watch = load_watch(REPO / "seeds" / "watch.toml")
    settings = _settings(tmp_path, REPO / "seeds" / "watch.toml")
    _load_with_watch(settings)
    db = settings.warehouse_path
    ids_before = _rows(db, "SELECT article_id, text_hash, batch_id FROM articles ORDER BY 1")
    n_articles = len(ids_before)
    assert {r[0] for r in _rows(db, "SELECT DISTINCT tagger_version FROM signals")} == {
        old_watch.version
    }
    assert not _rows(db, "SELECT 1 FROM signals WHERE cue = ?", [NEW_CUE])

    edited = _edited_watch(tmp_path)
    new_watch = load_watch(edited)
    assert new_watch.version != old_watch.version
    for key, value in {
        "DYADWATCH_HOME": str(settings.home),
        "DYADWATCH_MODE": "live",
        "DYADWATCH_FEEDS": str(settings.feeds_file),
        "DYADWATCH_WATCH": str(edited),
        "DYADWATCH_LOCK_TIMEOUT": "10",
    }.items():
        monkeypatch.setenv(key, value)
    new_settings = _settings(tmp_path, edited)
    assert count_stale_articles(new_settings)["stale"] == n_articles

    _run_retag_dag(batch_size=40)  # 145 articles: four batches

    # every article is of the new version, with the same id, text and batch
    assert _rows(db, "SELECT article_id, text_hash, batch_id FROM articles ORDER BY 1") == (
        ids_before
    )
    assert _rows(db, "SELECT DISTINCT tagger_version FROM articles") == [(new_watch.version,)]
    for table in ("signals", "mentions", "quotes", "amounts"):
        versions = {r[0] for r in _rows(db, f"SELECT DISTINCT tagger_version FROM {table}")}
        assert versions == {new_watch.version}, table
    # the rows are exactly what the new watch gives for the stored texts
    expected = {"signals": 0, "mentions": 0, "quotes": 0, "amounts": 0, "relevant": 0}
    for article in _articles():
        result = tag_article(article.article_id, article.title, article.text, new_watch)
        expected["signals"] += len(result.signals)
        expected["mentions"] += len(result.mentions)
        expected["quotes"] += len(result.quotes)
        expected["amounts"] += len(result.amounts)
        expected["relevant"] += result.relevant
    for table in ("signals", "mentions", "quotes", "amounts"):
        assert _rows(db, f"SELECT count(*) FROM {table}") == [(expected[table],)], table
    assert _rows(db, "SELECT count(*) FROM articles WHERE relevant") == [(expected["relevant"],)]
    assert _rows(db, "SELECT count(*) > 0 FROM signals WHERE cue = ?", [NEW_CUE]) == [(True,)]
    # no signal without an article, none of an irrelevant article; counts match the signals
    assert _rows(
        db,
        "SELECT count(*) FROM signals s LEFT JOIN articles a USING (article_id) "
        "WHERE a.article_id IS NULL OR NOT a.relevant",
    ) == [(0,)]
    counted = _rows(
        db, "SELECT article_id, category, n_signals FROM article_category_counts ORDER BY 1, 2"
    )
    recount = _rows(
        db,
        "SELECT article_id, category, count(*) FROM signals GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert counted == recount
    summarised = _rows(
        db, "SELECT article_id, categories, n_signals FROM article_signal_summary ORDER BY 1"
    )
    resummarised = _rows(
        db,
        "SELECT article_id, list_sort(list(DISTINCT category)), count(*) FROM signals "
        "GROUP BY 1 ORDER BY 1",
    )
    assert summarised == resummarised

    # a rerun with nothing stale changes nothing
    before = _rows(db, "SELECT signal_id FROM signals ORDER BY 1")
    _run_retag_dag(batch_size=40)
    assert _rows(db, "SELECT signal_id FROM signals ORDER BY 1") == before
    assert count_stale_articles(new_settings)["stale"] == 0


def test_a_failed_batch_leaves_its_articles_on_the_old_version(tmp_path):
    settings = _settings(tmp_path, REPO / "seeds" / "watch.toml")
    _load_with_watch(settings)
    db = settings.warehouse_path
    before = {
        t: _rows(db, f"SELECT * FROM {t} ORDER BY 1")
        for t in ("articles", "signals", "mentions", "quotes", "article_category_counts")
    }
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE amounts")  # the swap's last insert will fail
    new_settings = _settings(tmp_path, _edited_watch(tmp_path))
    with pytest.raises(duckdb.CatalogException):
        retag_stale_articles(new_settings, batch_size=1000)
    for table, rows in before.items():
        assert _rows(db, f"SELECT * FROM {table} ORDER BY 1") == rows, table


def test_no_warehouse_means_nothing_to_retag(tmp_path):
    settings = _settings(tmp_path, REPO / "seeds" / "watch.toml")
    assert retag_stale_articles(settings).articles == 0
    assert count_stale_articles(settings)["stale"] == 0


def test_retag_dag_policy(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=REPO / "dags").get_dag("dyadwatch_retag")
    assert dag.tags and not dag.catchup and dag.schedule is None
    assert all(t.retries >= 2 for t in dag.tasks)
    assert {t.task_id for t in dag.tasks if t.pool == "dyadwatch_warehouse"} == {
        "retag_stale_articles"
    }
