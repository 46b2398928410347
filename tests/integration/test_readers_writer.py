"""Analysts read while the hourly load writes: nothing may be lost, nothing loaded twice.

Real second processes hold the DuckDB file (an analyst's read-only session) or run the
load and are SIGKILLed in the middle of its transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from dyadwatch.settings import Settings
from tests.conftest import REPO
from tests.unit.test_warehouse_load import article, batch_tables
from warehouse.db import WarehouseLocked, connect
from warehouse.load import load_pending_batches
from warehouse.staging import pending_batches, stage_batch

COUNTED = ("articles", "signals", "mentions", "fetch_log", "article_category_counts", "runs")
COUNTED += ("loaded_batches",)

READER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    print(f"reading {n}", flush=True)
    time.sleep(float(sys.argv[2]))
    print(con.execute("SELECT count(*) FROM articles").fetchone()[0], flush=True)
    con.close()
    """
)

# The load, in its own process, stopped inside its transaction: after the articles are
# inserted (the count of the new ones is the first query that follows), it reports how
# many articles its uncommitted transaction sees, then waits to be killed.  The wrapper
# lives here, in the test's child process: production code has no test hook.
STUCK_LOAD = textwrap.dedent(
    """
    import sys, time
    from dyadwatch.settings import Settings
    import warehouse.load as load

    real_scalar = load.scalar

    def scalar_then_stop(con, sql, params=None):
        value = real_scalar(con, sql, params)
        if sql == load.COUNT_NEW_ARTICLES:
            in_tx = con.execute("SELECT count(*) FROM articles").fetchone()[0]
            print(f"in-transaction {in_tx}", flush=True)
            time.sleep(120)
        return value

    load.scalar = scalar_then_stop
    load.load_pending_batches(Settings.from_env({"DYADWATCH_HOME": sys.argv[1]}))
    print("committed", flush=True)
    """
)


def counts(path: Path) -> dict[str, int]:
    con = connect(path)  # read-write, as the next load opens it
    try:
        # table names are constants of this module
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}
    finally:
        con.close()


def reader(path: Path, seconds: float) -> tuple[subprocess.Popen[str], int]:
    """An analyst's read-only session in another process; returns it and what it saw."""
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("reading "), line
    return proc, int(line.split()[1])


def stage(settings: Settings, run_key: str, n: int) -> str:
    articles = [article(f"https://x.example/{run_key}/{i}") for i in range(n)]
    return stage_batch(settings.staging_dir, run_key, batch_tables(*articles), {})


def test_a_short_read_only_session_makes_the_load_wait_not_fail(settings: Settings) -> None:
    stage(settings, "run-0", 1)
    load_pending_batches(settings)
    batch = stage(settings, "run-1", 3)
    proc, seen = reader(settings.warehouse_path, 2.0)
    try:
        started = time.monotonic()
        summary = load_pending_batches(settings.with_(lock_timeout=60.0))
        waited = time.monotonic() - started
    finally:
        out, _ = proc.communicate(timeout=30)
    assert seen == 1
    assert waited >= 1.0  # it really waited for the reader
    assert [b.batch_id for b in summary.batches] == [batch]
    assert summary.articles_new == 3
    assert pending_batches(settings.staging_dir) == []
    assert counts(settings.warehouse_path)["articles"] == 4


def test_a_long_read_only_session_makes_the_load_give_up_and_keep_its_batch(
    settings: Settings,
) -> None:
    stage(settings, "run-0", 1)
    load_pending_batches(settings)
    before = counts(settings.warehouse_path)
    batch = stage(settings, "run-1", 3)
    proc, _ = reader(settings.warehouse_path, 60.0)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked, match=rf"PID {proc.pid}"):
            load_pending_batches(settings.with_(lock_timeout=1.5))
        gave_up_after = time.monotonic() - started
        # bounded: it retried for about lock_timeout, then gave up
        assert 1.4 <= gave_up_after < 10
        assert pending_batches(settings.staging_dir) == [settings.staging_dir / batch]
    finally:
        proc.kill()
        proc.wait()
    assert counts(settings.warehouse_path) == before
    # the next run loads the batch that waited, once
    summary = load_pending_batches(settings)
    assert [b.batch_id for b in summary.batches] == [batch]
    assert load_pending_batches(settings).batches == []
    after = counts(settings.warehouse_path)
    assert after["articles"] == before["articles"] + 3
    assert after["loaded_batches"] == before["loaded_batches"] + 1


def test_a_load_killed_mid_transaction_leaves_the_warehouse_as_it_was(settings: Settings) -> None:
    stage(settings, "run-0", 5)
    load_pending_batches(settings)
    before = counts(settings.warehouse_path)
    n_new = 2000
    batch = stage(settings, "run-1", n_new)

    env = {k: v for k, v in os.environ.items() if not k.startswith("DYADWATCH_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_LOAD, str(settings.home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("in-transaction"), line + proc.stderr.read()
        # inside its transaction the load had inserted the new articles
        assert int(line.split()[1]) == before["articles"] + n_new
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the warehouse is as it was, the batch is still staged
    assert counts(settings.warehouse_path) == before
    assert pending_batches(settings.staging_dir) == [settings.staging_dir / batch]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "SELECT count(*) FROM loaded_batches WHERE batch_id = ?", [batch]
        ).fetchone() == (0,)

    # the next run loads it exactly once
    summary = load_pending_batches(settings)
    assert [b.batch_id for b in summary.batches] == [batch]
    assert summary.articles_new == n_new
    assert load_pending_batches(settings).batches == []
    after = counts(settings.warehouse_path)
    assert after["articles"] == before["articles"] + n_new
    assert after["signals"] == before["signals"] + n_new
    assert after["article_category_counts"] == before["article_category_counts"] + n_new
    assert after["loaded_batches"] == before["loaded_batches"] + 1
