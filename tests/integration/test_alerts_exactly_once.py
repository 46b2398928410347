"""Alerts analysts rely on: one per story, digests, spikes, retries with back-off, and
never twice — through a real Apprise ``json://`` channel to a loopback receiver, real
DuckDB files and a real Airflow DAG run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from dyadwatch import records
from dyadwatch.settings import Settings
from tests.conftest import REPO, Receiver, copy_of_watch
from tests.factories import make_article
from warehouse.alerts import evaluate_alert_rules
from warehouse.db import connect
from warehouse.delivery import deliver_pending_alerts
from warehouse.load import load_pending_batches
from warehouse.staging import stage_batch

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
BORDER = {"id": "border", "description": "Border incidents", "categories": ["border_security"]}


def article(
    key: str,
    *,
    day: datetime = T0,
    category: str = "border_security",
    outlet: str = "Dawn",
    tone: float = -6.0,
) -> dict[str, list[dict]]:
    url = f"https://{outlet.lower().replace(' ', '')}.example/news/{key}"
    text = f"Gunmen attacked a border post near Taftan ({key}); Iran and Pakistan closed it."
    a = make_article(
        url,
        text,
        day,
        outlet=outlet,
        title=f"Border post attacked {key}",
        extractor_version="t",
        outlet_country="PK",
        relevant=True,
        relevance=0.9,
        tone_score=tone,
        tone="conflict",
        tagger_version="tag-1",
    )
    signal = records.Signal(
        a.article_id, category, 0.9, tone, text, 0, len(text), "attacked", "tag-1"
    ).to_row()
    return {"articles": [a.to_row()], "signals": [signal]}


def load(settings: Settings, run_key: str, *items: dict[str, list[dict]]) -> None:
    tables: dict[str, list[dict]] = {"articles": [], "signals": []}
    for item in items:
        for name, rows in item.items():
            tables[name] += rows
    stage_batch(settings.staging_dir, run_key, tables, {})
    load_pending_batches(settings)


def set_story(settings: Settings, urls_to_story: dict[str, str]) -> None:
    """Assign story ids as the near-duplicate step would."""
    with connect(settings.warehouse_path) as con:
        for key, story in urls_to_story.items():
            con.execute("UPDATE articles SET story_id = ? WHERE url LIKE ?", [story, f"%/{key}"])


def run_alerts(settings: Settings, rules: list[dict], now: datetime):
    with connect(settings.warehouse_path) as con:
        fired = evaluate_alert_rules(con, rules, now=now)
        delivered = deliver_pending_alerts(con, settings, now=now, rules=rules)
    return fired, delivered


def test_receiver_fails_twice_then_one_delivery_per_rule_and_story(
    settings: Settings, receiver: Receiver
) -> None:
    settings = settings.with_(alert_urls=(receiver.apprise_url,))
    load(settings, "run-1", article("a1"), article("a2"), article("b1"))
    set_story(settings, {"a1": "story-a", "a2": "story-a", "b1": "story-b"})

    receiver.fail_next = 2
    fired, first = run_alerts(settings, [BORDER], T0)
    assert len(fired) == 2  # two stories, not three articles
    assert (first.delivered, first.failed) == (0, 2)
    _, early = run_alerts(settings, [BORDER], T0 + timedelta(seconds=30))
    assert early.attempted == 0  # still inside the back-off
    _, second = run_alerts(settings, [BORDER], T0 + timedelta(minutes=5))
    assert (second.delivered, second.failed) == (2, 0)

    # a later copy of story A arrives: attached to its alert, not sent again
    load(settings, "run-2", article("a3", outlet="Tehran Times"))
    set_story(settings, {"a3": "story-a"})
    fired_later, third = run_alerts(settings, [BORDER], T0 + timedelta(hours=1))
    assert fired_later == [] and third.attempted == 0

    assert len(receiver.bodies) == 4  # two refused, two accepted
    titles = sorted(b["title"] for b in receiver.accepted)
    assert len(titles) == 2 and len(set(titles)) == 2
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT subject_id, status, attempts FROM alerts ORDER BY subject_id"
        ).fetchall()
        linked = con.execute(
            "SELECT al.subject_id, aa.role, count(*) FROM alert_articles aa "
            "JOIN alerts al USING (alert_id) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        attempts = con.execute("SELECT ok, count(*) FROM alert_attempts GROUP BY ok").fetchall()
    assert rows == [("story-a", "delivered", 2), ("story-b", "delivered", 2)]
    assert linked == [
        ("story-a", "trigger", 1),
        ("story-a", "update", 2),
        ("story-b", "trigger", 1),
    ]
    assert dict(attempts) == {False: 2, True: 2}


def test_digest_rule_sends_one_message_for_n_matches(settings: Settings, receiver: Receiver):
    settings = settings.with_(alert_urls=(receiver.apprise_url,))
    load(settings, "run-1", *[article(f"d{i}") for i in range(5)])
    rule = BORDER | {"id": "border-digest", "mode": "digest", "digest_cap": 3}

    fired, summary = run_alerts(settings, [rule], T0)

    assert len(fired) == 5
    assert (summary.delivered, summary.messages) == (5, 1)
    (body,) = receiver.accepted
    assert body["title"] == "[dyadwatch] border-digest: 5 new matches"
    assert body["message"].count("Border post attacked d") == 3
    assert "and 2 more" in body["message"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        digests = con.execute("SELECT DISTINCT digest_id, status FROM alerts").fetchall()
    assert len(digests) == 1 and digests[0][1] == "delivered" and digests[0][0]
    assert run_alerts(settings, [rule], T0 + timedelta(hours=1))[1].attempted == 0


SPIKE = {
    "id": "clash-spike",
    "description": "Armed clash coverage spiking",
    "kind": "spike",
    "categories": ["armed_clash"],
    "z_above": 3.0,
    "min_count": 3,
}


def _series(per_day: list[int]) -> list[dict[str, list[dict]]]:
    return [
        article(f"s{day}-{i}", day=T0 + timedelta(days=day), category="armed_clash")
        for day, n in enumerate(per_day)
        for i in range(n)
    ]


def test_spike_rule_fires_on_a_generated_spike(settings: Settings) -> None:
    load(settings, "run-1", *_series([1] * 30 + [7]))
    fired, summary = run_alerts(settings, [SPIKE], T0 + timedelta(days=31))
    spike_day = (T0 + timedelta(days=30)).date().isoformat()
    assert [(f.kind, f.subject_id) for f in fired] == [("spike", f"spike:armed_clash:{spike_day}")]
    line = settings.alerts_file.read_text(encoding="utf-8")
    assert f"7 relevant articles carried armed_clash on {spike_day}" in line
    assert summary.delivered == 1


def test_spike_rule_stays_quiet_on_a_flat_series(settings: Settings) -> None:
    load(settings, "run-1", *_series([2] * 31))
    fired, _ = run_alerts(settings, [SPIKE], T0 + timedelta(days=31))
    assert fired == []


def test_named_channels_resolve_from_the_environment_and_unknown_ones_fail_visibly(
    settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one channel from a DYADWATCH_ variable, one from an Airflow Connection
    connection = json.dumps({"conn_type": "generic", "extra": {"urls": [receiver.apprise_url]}})
    monkeypatch.setenv("AIRFLOW_CONN_DYADWATCH_ALERTS_ANALYSTS", connection)
    settings = Settings.from_env(
        {
            "DYADWATCH_HOME": str(settings.home),
            "DYADWATCH_ALERT_CHANNEL_OPS": receiver.apprise_url,
        }
    )
    load(settings, "run-1", article("c1"))
    rules = [
        BORDER | {"channels": ["ops"]},
        BORDER | {"id": "desk", "channels": ["analysts"]},
        BORDER | {"id": "lost", "channels": ["nowhere"]},
    ]
    _, summary = run_alerts(settings, rules, T0)
    assert summary.delivered == 2 and summary.failed == 1
    assert sorted(b["title"].split(":")[0] for b in receiver.accepted) == [
        "[dyadwatch] border",
        "[dyadwatch] desk",
    ]
    (error,) = summary.errors.values()
    assert "DYADWATCH_ALERT_CHANNEL_NOWHERE" in error


@pytest.mark.airflow
def test_a_task_retry_after_a_send_sends_nothing_more(
    airflow_db, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """The alerts DAG delivers; then the deliver task runs again as if retried after
    sending but before marking the alert (status back to 'pending'): nothing is sent."""
    from airflow.dag_processing.dagbag import DagBag

    load(settings, "run-1", article("r1"))
    monkeypatch.setenv("DYADWATCH_HOME", str(settings.home))
    monkeypatch.setenv("DYADWATCH_ALERT_URLS", receiver.apprise_url)
    monkeypatch.setenv("DYADWATCH_WATCH", str(watch_with_rule(tmp_path, "retry-border")))
    dag = DagBag(dag_folder=REPO / "dags").get_dag("dyadwatch_alerts")

    assert str(dag.test().state).endswith("success")
    assert len(receiver.accepted) >= 1
    sent = len(receiver.bodies)
    with connect(settings.warehouse_path) as con:
        con.execute("UPDATE alerts SET status = 'pending', delivered_at = NULL")
    assert str(dag.test().state).endswith("success")

    assert len(receiver.bodies) == sent
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT DISTINCT status FROM alerts").fetchall() == [("delivered",)]


def watch_with_rule(tmp_path, rule_id: str):
    """The bundled watch file plus one plain border rule."""
    text = (REPO / "seeds" / "watch.toml").read_text(encoding="utf-8")
    return copy_of_watch(
        tmp_path,
        text + f'\n[[alert_rules]]\nid = "{rule_id}"\ndescription = "Border incidents"\n'
        'categories = ["border_security"]\nmin_relevance = 0.5\n',
    )


def test_cli_lists_alerts_and_dry_runs_a_rule(settings: Settings, tmp_path) -> None:
    load(settings, "run-1", article("x1"), article("x2"))
    run_alerts(settings, [BORDER], T0)
    watch = watch_with_rule(tmp_path, "cli-border")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYADWATCH_")}
    env |= {"DYADWATCH_HOME": str(settings.home), "DYADWATCH_WATCH": str(watch)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dyadwatch.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = cli("alerts", "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("delivered") == 2
    dry = cli("alerts", "test", "cli-border")
    assert dry.returncode == 0, dry.stderr
    assert "would have sent 2 message(s)" in dry.stdout
    assert "Border post attacked x1" in dry.stdout and "Link: https://" in dry.stdout
    unknown = cli("alerts", "test", "no-such-rule")
    assert unknown.returncode == 2 and "known rules" in unknown.stderr
