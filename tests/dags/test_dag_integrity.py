"""Every DAG file imports cleanly and follows the project's DAG policy."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p.name for p in DAGS_DIR.glob("*.py"))


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=DAGS_DIR)


@pytest.mark.parametrize("filename", DAG_FILES)
def test_dag_file_imports_without_errors(dagbag, filename):
    errors = {Path(k).name: v for k, v in dagbag.import_errors.items()}
    assert filename not in errors, errors.get(filename)


ALL_DAGS = ["dyadwatch_ingest", "dyadwatch_alerts", "dyadwatch_reextract", "dyadwatch_retag"]
# the tasks that write to the warehouse: only these may, and they run in the writer pool
WRITERS = {
    "dyadwatch_ingest": {"load_pending_batches"},
    "dyadwatch_alerts": {"evaluate_alert_rules", "deliver_alerts"},
    "dyadwatch_reextract": {"reextract_stale_articles"},
    "dyadwatch_retag": {"retag_stale_articles"},
}


def test_expected_dags_exist(dagbag):
    assert set(ALL_DAGS) <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", ALL_DAGS)
def test_dag_policy_tags_retries_and_writer_pool(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.tags, "every DAG carries tags"
    assert not dag.catchup
    for t in dag.tasks:
        assert t.retries >= 2, f"{t.task_id} retries {t.retries}"
    writers = {t.task_id for t in dag.tasks if t.pool == "dyadwatch_warehouse"}
    assert writers == WRITERS[dag_id]
    if dag_id == "dyadwatch_ingest":
        assert "0 * * * *" in repr(vars(dag.timetable)) or dag.schedule == "@hourly"
    if dag_id in ("dyadwatch_reextract", "dyadwatch_retag"):
        assert type(dag.timetable).__name__ == "NullTimetable", "rework DAGs run when triggered"
        assert dag.max_active_runs == 1


def test_ingest_load_publishes_the_asset_the_alerts_dag_waits_for(dagbag):
    ingest = dagbag.get_dag("dyadwatch_ingest")
    alerts = dagbag.get_dag("dyadwatch_alerts")
    load = ingest.get_task("load_pending_batches")
    assert {a.uri for a in load.outlets} == {"dyadwatch://warehouse/articles"}
    assert "dyadwatch://warehouse/articles" in str(alerts.timetable.asset_condition)


def test_dag_files_hold_no_sql_and_import_nothing_heavy_at_parse_time():
    for path in DAGS_DIR.glob("*.py"):
        text = path.read_text()
        for word in ("SELECT ", "INSERT ", "duckdb", "trafilatura", "feedparser"):
            head = text.split("@dag", 1)[0]
            assert word not in head, f"{path.name} mentions {word!r} at module level"
        assert "SELECT " not in text and "INSERT " not in text
