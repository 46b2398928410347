"""Alerts: runs when the ingest load publishes new rows; evaluates the watch file's
rules on newly loaded articles, records each match once, then delivers (Apprise).

Wiring only: every task calls one function from ``warehouse/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

from dyadwatch.settings import WAREHOUSE_ASSET_URI, WRITER_POOL

WAREHOUSE = Asset(WAREHOUSE_ASSET_URI)


@dag(
    dag_id="dyadwatch_alerts",
    schedule=[WAREHOUSE],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "dyadwatch",
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    tags=["dyadwatch", "alerts"],
    doc_md=__doc__,
)
def dyadwatch_alerts():
    @task(pool=WRITER_POOL)
    def evaluate_alert_rules() -> dict:
        from dyadwatch.settings import get_settings
        from warehouse.runs import evaluate_rules

        return evaluate_rules(get_settings())

    @task(pool=WRITER_POOL)
    def deliver_alerts(evaluated: dict) -> dict:
        from dyadwatch.settings import get_settings
        from warehouse.runs import deliver_alerts

        return deliver_alerts(get_settings())

    deliver_alerts(evaluate_alert_rules())


alerts_dag = dyadwatch_alerts()
