"""The shared shape of the hand-triggered rework DAGs (re-extract, re-tag).

Both do the same two steps after a version change: count the stale rows (a cheap read),
then rework them in batches inside the writer pool, each batch swapped atomically.  The
work itself lives in ``warehouse/``; this module only wires it, so the DAG files stay a
docstring and one call.  Nothing heavy is imported at parse time: the work functions
are named as ``"module:function"`` and imported inside the task.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from airflow.sdk import DAG, Param, dag, get_current_context, task

from dyadwatch.settings import WRITER_POOL

REWORK_DEFAULT_ARGS = {
    "owner": "dyadwatch",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}


def _function(path: str) -> Callable[..., Any]:
    module, name = path.split(":")
    return getattr(import_module(module), name)


def batch_rework_dag(
    *,
    dag_id: str,
    doc_md: str | None,
    count: tuple[str, str],
    rework: tuple[str, str],
    batch_size: int,
) -> DAG:
    """A manual DAG: ``count = (task_id, "module:function")`` returns a dict plan, then
    ``rework = (task_id, "module:function")`` is called with ``batch_size=`` in the
    writer pool and returns an object with ``to_dict()``."""
    count_task_id, count_path = count
    rework_task_id, rework_path = rework

    @dag(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=REWORK_DEFAULT_ARGS,
        params={"batch_size": Param(batch_size, type="integer", minimum=1)},
        tags=["dyadwatch", dag_id.removeprefix("dyadwatch_")],
        doc_md=doc_md,
    )
    def rework_dag():
        @task(task_id=count_task_id)
        def count_stale() -> dict:
            from dyadwatch.settings import get_settings

            return _function(count_path)(get_settings())

        @task(task_id=rework_task_id, pool=WRITER_POOL)
        def rework_stale(plan: dict) -> dict:
            from dyadwatch.settings import get_settings

            size = int(get_current_context()["params"]["batch_size"])
            return _function(rework_path)(get_settings(), batch_size=size).to_dict()

        rework_stale(count_stale())

    return rework_dag()
