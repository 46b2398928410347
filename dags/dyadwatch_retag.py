"""Re-tag: after the watch file (taxonomy, gazetteer, tone lexicon) or the tagger changed,
re-tag the stored text of every article tagged with another version, in batches, each
swapped atomically (no refetching).  Triggered by hand (``airflow dags trigger
dyadwatch_retag``, optionally with ``{"batch_size": N}``); a run with nothing stale does
nothing.

Wiring only: every task calls one function from ``warehouse/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from dyadwatch.settings import WRITER_POOL


@dag(
    dag_id="dyadwatch_retag",
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
    params={"batch_size": Param(500, type="integer", minimum=1)},
    tags=["dyadwatch", "retag"],
    doc_md=__doc__,
)
def dyadwatch_retag():
    @task
    def count_stale_articles() -> dict:
        from dyadwatch.settings import get_settings
        from warehouse.retag import count_stale_articles

        return count_stale_articles(get_settings())

    @task(pool=WRITER_POOL)
    def retag_stale_articles(plan: dict) -> dict:
        from dyadwatch.settings import get_settings
        from warehouse.retag import retag_stale_articles

        batch_size = int(get_current_context()["params"]["batch_size"])
        return retag_stale_articles(get_settings(), batch_size=batch_size).to_dict()

    retag_stale_articles(count_stale_articles())


retag_dag = dyadwatch_retag()
