"""Re-extract: after the extractor changed (``EXTRACTOR_VERSION``), re-extract the kept
raw page of every stored article extracted by another version, in batches, each swapped
atomically with its new signals and mentions (no refetching; article ids never change).
Triggered by hand (``airflow dags trigger dyadwatch_reextract``, optionally with
``{"batch_size": N}``); a run with nothing stale does nothing.

Wiring only: the tasks call ``warehouse.reextract``'s two functions.
"""

from __future__ import annotations

from dyadwatch.dagkit import batch_rework_dag

reextract_dag = batch_rework_dag(
    dag_id="dyadwatch_reextract",
    doc_md=__doc__,
    count=("count_stale_pages", "warehouse.reextract:count_stale_pages"),
    rework=("reextract_stale_articles", "warehouse.reextract:reextract_stale_articles"),
    batch_size=200,
)
