"""Re-extract: after the extractor changed (``EXTRACTOR_VERSION``), re-extract the kept
raw page of every stored article extracted by another version, in batches, each swapped
atomically with its new signals and mentions (no refetching; article ids never change).
Triggered by hand (``airflow dags trigger dyadwatch_reextract``, optionally with
``{"batch_size": N}``); a run with nothing stale does nothing.

Wiring only: every task calls one function from ``warehouse/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from dyadwatch.settings import WRITER_POOL


@dag(
    dag_id="dyadwatch_reextract",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "dyadwatch",
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    params={"batch_size": Param(200, type="integer", minimum=1)},
    tags=["dyadwatch", "reextract"],
    doc_md=__doc__,
)
def dyadwatch_reextract():
    @task
    def count_stale_pages() -> dict:
        from dyadwatch.settings import get_settings
        from warehouse.reextract import count_stale_pages

        return count_stale_pages(get_settings())

    @task(pool=WRITER_POOL)
    def reextract_stale_articles(plan: dict) -> dict:
        from dyadwatch.settings import get_settings
        from warehouse.reextract import reextract_stale_articles

        batch_size = int(get_current_context()["params"]["batch_size"])
        return reextract_stale_articles(get_settings(), batch_size=batch_size).to_dict()

    reextract_stale_articles(count_stale_pages())


reextract_dag = dyadwatch_reextract()
