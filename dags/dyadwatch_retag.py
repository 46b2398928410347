"""Re-tag: after the watch file (taxonomy, gazetteer, tone lexicon) or the tagger changed,
re-tag the stored text of every article tagged with another version, in batches, each
swapped atomically (no refetching).  Triggered by hand (``airflow dags trigger
dyadwatch_retag``, optionally with ``{"batch_size": N}``); a run with nothing stale does
nothing.

Wiring only: the tasks call ``warehouse.retag``'s two functions.
"""

from __future__ import annotations

from dyadwatch.dagkit import batch_rework_dag

retag_dag = batch_rework_dag(
    dag_id="dyadwatch_retag",
    doc_md=__doc__,
    count=("count_stale_articles", "warehouse.retag:count_stale_articles"),
    rework=("retag_stale_articles", "warehouse.retag:retag_stale_articles"),
    batch_size=500,
)
