"""Alert delivery through Apprise to a real HTTP receiver on loopback.

Apprise's ``json://`` plugin POSTs each notification as a JSON document; the receiver
records every request, so the tests count exactly what went over the wire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dyadwatch import records
from dyadwatch.settings import Settings
from tests.conftest import Receiver
from tests.factories import make_article
from warehouse.alerts import evaluate_alert_rules
from warehouse.db import connect
from warehouse.delivery import deliver_pending_alerts
from warehouse.load import load_pending_batches
from warehouse.staging import stage_batch

NOW = datetime(2024, 1, 17, 12, 0, tzinfo=UTC)


def loaded_warehouse(settings: Settings, n_articles: int) -> None:
    articles, signals = [], []
    for i in range(n_articles):
        url = f"https://x.example/news/{i}"
        text = f"Gunmen attacked a border post near Taftan, story {i}."
        a = make_article(
            url,
            text,
            NOW,
            title=f"Border attack {i}",
            extractor_version="t",
            relevant=True,
            relevance=0.9,
            tone_score=-7.0,
            tone="conflict",
            tagger_version="tag-1",
        )
        articles.append(a.to_row())
        signals.append(
            records.Signal(
                a.article_id, "border_security", 1.0, -7.0, text, 0, len(text), "attacked", "tag-1"
            ).to_row()
        )
    stage_batch(settings.staging_dir, "run-1", {"articles": articles, "signals": signals}, {})
    load_pending_batches(settings)


RULES = [{"id": "border", "description": "Border incidents", "categories": ["border_security"]}]


def test_each_alert_is_posted_exactly_once(settings: Settings, receiver: Receiver) -> None:
    settings = settings.with_(alert_urls=(receiver.apprise_url,))
    loaded_warehouse(settings, 2)
    con = connect(settings.warehouse_path)
    try:
        assert len(evaluate_alert_rules(con, RULES, now=NOW)) == 2
        first = deliver_pending_alerts(con, settings, now=NOW)
        second = deliver_pending_alerts(con, settings, now=NOW)
        rows = con.execute("SELECT status, attempts, channel FROM alerts").fetchall()
    finally:
        con.close()

    assert (first.delivered, first.failed, second.attempted) == (2, 0, 0)
    assert len(receiver.bodies) == 2
    assert receiver.paths == ["/hooks/dyadwatch"] * 2
    assert sorted(b["title"] for b in receiver.bodies) == [
        "[dyadwatch] border: Border attack 0",
        "[dyadwatch] border: Border attack 1",
    ]
    # Markdown where the channel takes it: headline link, evidence, outlet
    assert all("(https://x.example/news/" in b["message"] for b in receiver.bodies)
    assert all("**Dawn**" in b["message"] for b in receiver.bodies)
    assert rows == [("delivered", 1, "apprise:json")] * 2
    assert not settings.alerts_file.exists()  # the file sink is only the default


def test_a_failing_receiver_marks_the_alert_failed_then_a_later_run_delivers(
    settings: Settings, receiver: Receiver
) -> None:
    secret_url = receiver.apprise_url.replace("json://", "json://dyad:s3cret@")
    settings = settings.with_(alert_urls=(secret_url,))
    loaded_warehouse(settings, 1)
    con = connect(settings.warehouse_path)
    try:
        evaluate_alert_rules(con, RULES, now=NOW)

        receiver.status = 500
        failed = deliver_pending_alerts(con, settings, now=NOW)
        row = con.execute("SELECT status, attempts, last_error, delivered_at FROM alerts")
        status, attempts, last_error, delivered_at = row.fetchone()
        assert (failed.delivered, failed.failed) == (0, 1)
        assert (status, attempts, delivered_at) == ("failed", 1, None)
        assert last_error.startswith("apprise:json")
        assert "error=500" in last_error
        assert "s3cret" not in last_error

        receiver.status = 200
        too_soon = deliver_pending_alerts(con, settings, now=NOW + timedelta(seconds=30))
        later = deliver_pending_alerts(con, settings, now=NOW + timedelta(minutes=10))
        again = deliver_pending_alerts(con, settings, now=NOW + timedelta(minutes=20))
        final = con.execute("SELECT status, attempts, last_error FROM alerts").fetchone()
        stored = con.execute("SELECT channel, message FROM alerts").fetchone()
        deliveries = con.execute("SELECT channel FROM alert_deliveries").fetchall()
    finally:
        con.close()

    assert too_soon.attempted == 0  # inside the back-off
    assert (later.delivered, again.attempted) == (1, 0)
    assert final == ("delivered", 2, None)
    assert stored[0] == "apprise:json" and "s3cret" not in stored[1]
    assert deliveries == [("apprise:json",)]
    assert len(receiver.bodies) == 2  # one refused, one accepted; never again after
