"""``dyadwatch run`` as a user runs it: the offline default, twice, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import duckdb
import pytest

from tests.conftest import REPO, SEED_CATEGORIES

pytestmark = pytest.mark.airflow


def dyadwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dyadwatch.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )


def table_counts(db) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
            for t in ("articles", "signals", "mentions", "alerts", "sources", "entities")
        }


def test_run_on_the_offline_default_twice(tmp_path):
    """As on a fresh machine: no data folder, no Airflow metadata DB yet."""
    home = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYADWATCH_")}
    env["DYADWATCH_HOME"] = str(home)
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")

    first = dyadwatch("run", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "Preparing Airflow's metadata database" in out
    assert "Sources read: 6" in out
    assert f"Warehouse: {home / 'warehouse.duckdb'}" in out
    assert "Failures recorded: 1" in out and "404" in out
    assert "dyadwatch sql" in out  # example queries to try

    db = home / "warehouse.duckdb"
    labels = tomllib.loads((REPO / "seeds" / "snapshot" / "labels.toml").read_text())["article"]
    with duckdb.connect(str(db), read_only=True) as con:
        relevant = dict(con.execute("SELECT url, relevant FROM articles").fetchall())
        seed_id, seed_relevant = con.execute(
            "SELECT article_id, relevant FROM articles WHERE outlet = 'Newsweek'"
        ).fetchone()
        seed_signals = con.execute(
            "SELECT category, cue, evidence FROM signals WHERE article_id = ?", [seed_id]
        ).fetchall()
    assert len(relevant) == len(labels) + 1  # every snapshot article and the seed
    for label in labels:
        assert relevant[label["url"]] is label["relevant"], label["url"]
    assert seed_relevant is True
    assert SEED_CATEGORIES <= {category for category, _, _ in seed_signals}
    for _, cue, evidence in seed_signals:
        assert cue.lower() in evidence.lower()

    before = table_counts(db)
    second = dyadwatch("run", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Articles: 0 new" in second.stdout
    assert table_counts(db) == before

    query = dyadwatch(
        "sql", "SELECT count(*) AS n FROM articles WHERE relevant", "--format", "csv", env=env
    )
    assert query.returncode == 0, query.stderr
    assert query.stdout.splitlines() == ["n", str(sum(relevant.values()))]
    trends = dyadwatch("trends", "--by", "week", "--category", "border_security", env=env)
    assert trends.returncode == 0 and "border_security" in trends.stdout
    refused = dyadwatch("sql", "DELETE FROM articles", env=env)
    assert refused.returncode != 0 and "read-only" in refused.stderr.lower()
