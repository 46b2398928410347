"""Alert rules: matching, one alert per rule and article, the file sink writes once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from dyadwatch import records
from dyadwatch.settings import Settings
from tests.factories import make_article
from warehouse.alerts import (
    AlertRuleError,
    alert_id_for,
    evaluate_alert_rules,
    parse_rules,
)
from warehouse.db import connect
from warehouse.delivery import deliver_pending_alerts
from warehouse.load import load_pending_batches
from warehouse.staging import stage_batch

T0 = datetime(2024, 1, 17, 9, 30, tzinfo=UTC)
NOW = datetime(2024, 1, 17, 12, 0, tzinfo=UTC)


def tagged(
    url: str,
    text: str,
    categories: list[str],
    *,
    tone_score: float = 0.0,
    relevance: float = 0.8,
    relevant: bool = True,
    places: tuple[str, ...] = (),
    actors: tuple[str, ...] = (),
) -> dict[str, list[dict]]:
    """Rows of one tagged article: the article, a signal per category, its mentions."""
    a = make_article(
        url,
        text,
        T0,
        source_id="src-dawn",
        title=f"Headline {url.rsplit('/', 1)[-1]}",
        extractor_version="test-1",
        outlet_country="PK",
        relevant=relevant,
        relevance=relevance,
        tone_score=tone_score,
        tone="conflict" if tone_score < 0 else "cooperation",
        tagger_version="tag-1",
    )
    # one sentence per article: every signal's evidence is the whole text
    signals = [
        records.Signal(a.article_id, c, 1.0, tone_score, text, 0, len(text), c, "tag-1")
        for c in categories
    ]
    mentions = [
        records.Mention(a.article_id, f"{kind}:{n.lower()}", kind, n, "PK", n, 0, 1, "tag-1")
        for kind, names in (("place", places), ("actor", actors))
        for n in names
    ]
    return {
        "articles": [a.to_row()],
        "signals": [s.to_row() for s in signals],
        "mentions": [m.to_row() for m in mentions],
    }


def load(settings: Settings, run_key: str, *articles: dict[str, list[dict]]) -> None:
    tables: dict[str, list[dict]] = {"articles": [], "signals": [], "mentions": []}
    for rows in articles:
        for name, values in rows.items():
            tables[name] += values
    stage_batch(settings.staging_dir, run_key, tables, {})
    load_pending_batches(settings)


CLASH = tagged(
    "https://x.example/clash",
    "Iranian missiles struck a village in Panjgur, Balochistan.",
    ["armed_clash", "border_security"],
    tone_score=-8.0,
    relevance=0.95,
    places=("Panjgur",),
)
TRADE = tagged(
    "https://x.example/trade",
    "The barter trade deal opens the Gabd-Rimdan crossing.",
    ["trade_economy"],
    tone_score=6.0,
    relevance=0.6,
    actors=("Ishaq Dar",),
)
OFF_TOPIC = tagged(
    "https://x.example/cricket",
    "Pakistan beat Iran at cricket; missiles of the bowling kind.",
    ["armed_clash"],
    tone_score=-9.0,
    relevant=False,
)

RULES = [
    {"id": "clash", "description": "Armed clashes", "categories": ["armed_clash"]},
    {"id": "very-negative", "min_relevance": 0.5, "tone_below": -5},
    {"id": "positive", "tone_above": 5, "categories": ["trade_economy", "energy"]},
    {"id": "strict", "categories": ["trade_economy"], "min_relevance": 0.9},
    {"id": "panjgur", "places": ["PANJGUR"]},
    {"id": "dar", "actors": ["actor:ishaq dar"]},
    {"id": "missiles", "keywords": [r"missiles?\s+struck"]},
    {"id": "off", "categories": ["armed_clash"], "enabled": False},
]


@pytest.fixture
def con(settings: Settings):
    load(settings, "run-1", CLASH, TRADE, OFF_TOPIC)
    con = connect(settings.warehouse_path)
    yield con
    con.close()


def alerts(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT a.rule_id, r.url FROM alerts a JOIN articles r USING (article_id)"
    ).fetchall()
    return {(rule, url.rsplit("/", 1)[-1]) for rule, url in rows}


def test_rules_match_categories_tone_relevance_entities_and_keywords(con) -> None:
    fired = evaluate_alert_rules(con, RULES, now=NOW)

    expected = {
        ("clash", "clash"),
        ("very-negative", "clash"),
        ("positive", "trade"),
        ("panjgur", "clash"),
        ("dar", "trade"),
        ("missiles", "clash"),
    }
    assert alerts(con) == expected
    assert len(fired) == len(expected)
    by_rule = {f.rule_id: f for f in fired}
    assert by_rule["clash"].categories == ["armed_clash"]
    assert by_rule["very-negative"].categories == ["armed_clash", "border_security"]
    rows = con.execute("SELECT DISTINCT status, attempts, fired_at FROM alerts").fetchall()
    assert rows == [("pending", 0, NOW)]
    assert con.execute(
        "SELECT count(*) FROM loaded_batches WHERE alerts_evaluated_at IS NULL"
    ).fetchone() == (0,)


def test_one_alert_per_rule_and_article_across_evaluations(settings: Settings, con) -> None:
    first = evaluate_alert_rules(con, RULES, now=NOW)
    assert evaluate_alert_rules(con, RULES, now=NOW) == []  # nothing newly loaded

    # the batch is evaluated again (say, the task was retried after a crash)
    con.execute("UPDATE loaded_batches SET alerts_evaluated_at = NULL")
    assert evaluate_alert_rules(con, RULES, now=NOW) == []
    assert con.execute("SELECT count(*) FROM alerts").fetchone() == (len(first),)

    # a later batch brings a new article and the same clash article again
    con.close()
    other = tagged("https://x.example/clash-2", "Missiles struck again.", ["armed_clash"])
    load(settings, "run-2", CLASH, other)
    con2 = connect(settings.warehouse_path)
    try:
        fired = evaluate_alert_rules(con2, RULES, now=NOW)
        assert {(f.rule_id, f.article_id) for f in fired} == {
            ("clash", records.stable_id("https://x.example/clash-2")),
            ("missiles", records.stable_id("https://x.example/clash-2")),
        }
    finally:
        con2.close()


def test_bad_rules_are_refused_with_their_id() -> None:
    with pytest.raises(AlertRuleError, match="'typo'.*min_relevence"):
        parse_rules([{"id": "typo", "min_relevence": 0.5}])
    with pytest.raises(AlertRuleError, match="bad regex"):
        parse_rules([{"id": "re", "keywords": ["(unclosed"]}])
    with pytest.raises(AlertRuleError, match="without an id"):
        parse_rules([{"categories": ["energy"]}])
    with pytest.raises(AlertRuleError, match="used twice"):
        parse_rules([{"id": "a"}, {"id": "a"}])


def test_a_keyword_is_a_bound_regex_never_sql(con) -> None:
    rules = [{"id": "quote", "keywords": ["'; DROP TABLE articles; --", "village"]}]
    assert len(evaluate_alert_rules(con, rules, now=NOW)) == 1
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (3,)


def test_file_sink_writes_each_alert_once(settings: Settings, con) -> None:
    evaluate_alert_rules(con, RULES[:2], now=NOW)  # clash + very-negative on one article

    summary = deliver_pending_alerts(con, settings, now=NOW)
    again = deliver_pending_alerts(con, settings, now=NOW)

    assert (summary.attempted, summary.delivered, summary.failed) == (2, 2, 0)
    assert again.attempted == 0
    lines = [json.loads(x) for x in settings.alerts_file.read_text("utf-8").splitlines()]
    assert sorted(x["rule_id"] for x in lines) == ["clash", "very-negative"]
    rows = con.execute("SELECT DISTINCT status, attempts, channel, delivered_at FROM alerts")
    assert rows.fetchall() == [("delivered", 1, "file:alerts.jsonl", NOW)]

    # a crash after writing the line but before marking the alert: no second line
    con.execute("UPDATE alerts SET status = 'pending', delivered_at = NULL")
    con.execute("DELETE FROM alert_deliveries")
    assert deliver_pending_alerts(con, settings, now=NOW).delivered == 2
    assert len(settings.alerts_file.read_text("utf-8").splitlines()) == 2


def test_the_message_names_rule_outlet_evidence_and_url(settings: Settings, con) -> None:
    evaluate_alert_rules(con, [RULES[0]], now=NOW)
    deliver_pending_alerts(con, settings, now=NOW)
    (line,) = settings.alerts_file.read_text("utf-8").splitlines()
    sent = json.loads(line)
    # the subject of an article alert is its story (here: the article is its own story)
    alert_id = alert_id_for("clash", records.stable_id("https://x.example/clash"))
    assert sent["message_id"] == alert_id and sent["alert_ids"] == [alert_id]
    assert sent["title"] == "[dyadwatch] clash: Headline clash"
    body = sent["body"]
    for part in (
        "Rule: clash - Armed clashes",
        "Outlet: Dawn (PK)",
        "Published: 2024-01-17 09:30 UTC",
        "Relevance: 0.95  Tone: -8.0 (conflict)",
        '- armed_clash: "Iranian missiles struck a village in Panjgur, Balochistan."',
        "Link: https://x.example/clash",
    ):
        assert part in body
    markdown = sent["markdown"]
    assert "[Read the article](https://x.example/clash)" in markdown
    assert "- **armed_clash**: “Iranian missiles struck" in markdown
    assert "border_security" not in body  # only the categories the rule matched
    stored = con.execute("SELECT message FROM alerts").fetchone()[0]
    assert stored == f"{sent['title']}\n\n{body}"


def test_an_unwritable_sink_fails_the_alert_and_keeps_it(tmp_path: Path, con) -> None:
    evaluate_alert_rules(con, [RULES[0]], now=NOW)
    blocked = Settings.from_env({"DYADWATCH_HOME": str(tmp_path / "home")})
    blocked.home.mkdir(parents=True)
    blocked.alerts_file.mkdir()  # a directory where the file should be
    summary = deliver_pending_alerts(con, blocked, now=NOW)
    assert (summary.delivered, summary.failed) == (0, 1)
    row = con.execute("SELECT status, attempts, last_error, next_attempt_at FROM alerts").fetchone()
    assert row[:2] == ("failed", 1)
    assert "cannot write" in row[2]
    assert row[3] > NOW  # retried after a back-off, not at once
    assert deliver_pending_alerts(con, blocked, now=NOW).attempted == 0
    attempts = con.execute("SELECT channel, ok, error FROM alert_attempts").fetchall()
    assert len(attempts) == 1 and attempts[0][:2] == ("file:alerts.jsonl", False)


def test_tone_bounds_apply_to_the_matching_signal_not_the_article_average(settings) -> None:
    """A cooperative story that also reports a clash triggers the clash rule; the clash
    sentence is the evidence."""
    rows = tagged(
        "https://x.example/mixed",
        "The ministers signed a trade deal.",
        ["trade_economy"],
        tone_score=6.0,
        relevance=0.9,
    )
    clash = records.Signal(
        rows["articles"][0]["article_id"],
        "armed_clash",
        0.9,
        -9.0,
        "Guards exchanged fire.",
        0,
        22,
        "exchanged fire",
        "tag-1",
    )
    rows["signals"].append(clash.to_row())
    load(settings, "run-mixed", rows)
    with connect(settings.warehouse_path) as con:
        fired = evaluate_alert_rules(
            con,
            [
                {"id": "clash", "categories": ["armed_clash"], "tone_below": -5},
                {"id": "clash-keyword", "categories": ["armed_clash"], "keywords": ["signed"]},
            ],
            now=NOW,
        )
    assert [(f.rule_id, f.categories) for f in fired] == [("clash", ["armed_clash"])]
