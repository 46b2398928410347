"""``dyadwatch run``: the ingest DAG once, then the alerts DAG, as real Airflow DAG runs.

Airflow's own (verbose) task logs go to ``DATA/logs/``; the terminal gets a line per
step and a short summary at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dyadwatch.settings import WRITER_POOL, Settings

INGEST_DAG = "dyadwatch_ingest"
ALERTS_DAG = "dyadwatch_alerts"


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors too) to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_path.open("ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def prepare_airflow(settings: Settings, log_path: Path) -> None:
    """A project-local Airflow: env defaults, the SQLite metadata DB, the writer pool."""
    for key, value in settings.airflow_environment().items():
        os.environ.setdefault(key, value)
    home = Path(os.environ["AIRFLOW_HOME"])
    if not (home / "airflow.db").exists():
        say(f"Preparing Airflow's metadata database in {home} (first run only)...")
        home.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as fh:
            subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                check=True,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
    from airflow.models.pool import Pool

    with output_to(log_path):
        Pool.create_or_update_pool(
            WRITER_POOL,
            slots=1,
            description="the single writer of the dyadwatch DuckDB warehouse",
            include_deferred=False,
        )


def load_dags(settings: Settings) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=settings.dags_dir)
    if bag.import_errors:
        problems = "\n".join(f"  {f}: {e}" for f, e in bag.import_errors.items())
        raise RuntimeError(f"DAG files failed to import:\n{problems}")
    return bag.dags


def run_dag(dag: Any, log_path: Path) -> tuple[str, str, float]:
    """``dag.test()`` with Airflow's output in the log; (state, run_id, seconds)."""
    started = time.monotonic()
    with output_to(log_path):
        dag_run = dag.test()
    state = str(getattr(dag_run.state, "value", dag_run.state))
    failed = [
        ti.task_id for ti in dag_run.get_task_instances() if str(ti.state) not in ("success",)
    ]
    if failed:
        state = f"{state} (tasks not successful: {', '.join(failed)})"
    return state, dag_run.run_id, time.monotonic() - started


def run_pipeline(settings: Settings, *, alerts: bool = True) -> int:
    """Run ingest then alerts; print a summary; 0 when both DAG runs succeeded."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.logs_dir / f"run-{stamp}.log"
    mode = (
        "offline snapshot (seeds/snapshot)"
        if settings.offline
        else f"live feeds ({settings.feeds_file})"
    )
    say(f"dyadwatch: monitoring on the {mode}; data in {settings.home}")
    say(f"Airflow's task logs: {log_path}")
    prepare_airflow(settings, log_path)
    with output_to(log_path):
        dags = load_dags(settings)

    from extractors.runfiles import run_key_for
    from warehouse.summary import print_run_summary

    say(f"[1/2] Running DAG {INGEST_DAG}: fetch feeds -> pages -> extract -> tag -> stage -> load")
    state, run_id, seconds = run_dag(dags[INGEST_DAG], log_path)
    say(f"      {state} in {seconds:.1f}s")
    ok = state == "success"
    if alerts:
        say(f"[2/2] Running DAG {ALERTS_DAG}: evaluate alert rules -> deliver")
        a_state, _, a_seconds = run_dag(dags[ALERTS_DAG], log_path)
        say(f"      {a_state} in {a_seconds:.1f}s")
        ok = ok and a_state == "success"
    say("")
    print_run_summary(settings, run_key_for(run_id))
    if not ok:
        say(f"\nSome tasks did not succeed; see {log_path}")
    return 0 if ok else 1
