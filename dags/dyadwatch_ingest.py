"""Hourly ingest: feeds -> pages -> extract -> tag -> stage -> load (one writer).

Wiring only: every task calls one function from ``extractors/`` or ``warehouse/``.
Tasks hand each other a run key; the records travel through files in the data
directory, never through XCom.  Nothing heavy is imported at parse time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, get_current_context, task

from dyadwatch.settings import WAREHOUSE_ASSET_URI, WRITER_POOL

WAREHOUSE = Asset(WAREHOUSE_ASSET_URI)  # published by the load, schedules the alerts

default_args = {
    "owner": "dyadwatch",
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@dag(
    dag_id="dyadwatch_ingest",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["dyadwatch", "ingest"],
    doc_md=__doc__,
)
def dyadwatch_ingest():
    @task
    def read_feed_state() -> str:
        from dyadwatch.settings import get_settings
        from extractors.runfiles import run_key_for
        from warehouse.runs import read_feed_state

        run_key = run_key_for(get_current_context()["run_id"])
        read_feed_state(get_settings(), run_key)
        return run_key

    @task
    def fetch_feeds(run_key: str) -> str:
        from dyadwatch.settings import get_settings
        from extractors.feeds import fetch_feeds

        fetch_feeds(get_settings(), run_key)
        return run_key

    @task
    def select_new_entries(run_key: str) -> str:
        from dyadwatch.settings import get_settings
        from warehouse.runs import select_new_entries

        select_new_entries(get_settings(), run_key)
        return run_key

    @task
    def fetch_pages(run_key: str) -> str:
        from dyadwatch.settings import get_settings
        from extractors.pages import fetch_pages

        fetch_pages(get_settings(), run_key)
        return run_key

    @task
    def extract_articles(run_key: str) -> str:
        from dyadwatch.settings import get_settings
        from extractors.extract import extract_articles

        extract_articles(get_settings(), run_key)
        return run_key

    @task
    def tag_articles(run_key: str) -> str:
        from dyadwatch.settings import get_settings
        from extractors.tagger import tag_articles

        tag_articles(get_settings(), run_key)
        return run_key

    @task
    def stage_batch(run_key: str) -> str:
        from dyadwatch.settings import get_settings
        from warehouse.runs import stage_run

        return stage_run(get_settings(), run_key)

    @task(pool=WRITER_POOL, outlets=[WAREHOUSE])
    def load_pending_batches(batch_id: str) -> dict:
        from dyadwatch.settings import get_settings
        from warehouse.runs import load_batches  # gazetteer -> entities, then the batches

        return load_batches(get_settings())

    run_key = read_feed_state()
    articles = extract_articles(fetch_pages(select_new_entries(fetch_feeds(run_key))))
    load_pending_batches(stage_batch(tag_articles(articles)))


ingest_dag = dyadwatch_ingest()
