"""Honest dates, outage-aware trends, source-health alerts and independent outlets, on
real DuckDB files loaded through the real staging and load, real trafilatura extraction
and a real Apprise ``json://`` channel to a loopback receiver."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import duckdb

from dyadwatch import records
from dyadwatch.settings import Settings
from extractors import stories
from extractors.extract import extract_article
from tests.conftest import Receiver
from tests.factories import make_article
from warehouse.alerts import evaluate_alert_rules
from warehouse.db import connect
from warehouse.delivery import deliver_pending_alerts, list_alerts
from warehouse.load import load_pending_batches
from warehouse.staging import stage_batch

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
CATEGORIES = ("diplomacy", "border_security")


def tagged(article: records.Article, category: str, tone: float = 2.0) -> dict[str, list]:
    """The rows of ``article`` as the tagger would leave them: relevant, one signal."""
    a = dataclasses.replace(
        article,
        relevant=True,
        relevance=0.9,
        tone_score=tone,
        tone="cooperation" if tone > 0 else "conflict",
        tagger_version="tag-1",
    )
    sentence = a.text.split(".")[0]
    signal = records.Signal(
        a.article_id, category, 0.9, tone, sentence, 0, len(sentence), "talks", "tag-1"
    )
    return {"articles": [a.to_row()], "signals": [signal.to_row()]}


def plain_article(
    url: str, *, outlet: str, published: datetime | None, text: str, source_id: str | None = None
) -> records.Article:
    return make_article(
        url,
        text,
        published or T0,
        published_at=published,
        source_id=source_id,
        outlet=outlet,
        title=f"{outlet}: {url.rsplit('/', 1)[-1]}",
        extractor_version="t",
        outlet_country="PK",
        date_source="feed_entry" if published else "fetch_time",
        date_confidence="medium" if published else "low",
    )


def load(settings: Settings, run_key: str, items: list[dict[str, list]], **extra) -> None:
    tables: dict[str, list] = {"articles": [], "signals": [], **extra}
    for item in items:
        for name, rows in item.items():
            tables[name] += rows
    stage_batch(settings.staging_dir, run_key, tables, {})
    load_pending_batches(settings)


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


# -- 3. honest dates ----------------------------------------------------------------------

UNDATED_PAGE = """<!doctype html><html lang="en"><head><title>{title}</title></head>
<body><article><h1>{title}</h1>
<p>Iranian and Pakistani officials met in Islamabad to discuss the reopening of the
Taftan border crossing, which has been closed to traders for several weeks.</p>
<p>The two delegations agreed to set up a joint committee on border markets and to
meet again next month, a statement from the foreign office said on the visit.</p>
<p>Traders on both sides of the border have complained about losses since the closure,
and officials said the talks on item {n} were held in a cordial atmosphere.</p>
</article></body></html>"""


def test_an_undated_page_never_lands_on_the_fetch_day_in_the_trend_views(
    settings: Settings,
) -> None:
    # 40 days of dated coverage, two articles a day ...
    dated = [
        tagged(
            plain_article(
                f"https://dawn.example/news/d{day}-{i}",
                outlet="Dawn",
                published=T0 + timedelta(days=day),
                text=f"Iran and Pakistan held talks on day {day} item {i}.",
            ),
            CATEGORIES[i % 2],
        )
        for day in range(40)
        for i in range(2)
    ]
    # ... then a backfill: 12 pages without any date, all fetched on one day, extracted by
    # the real extractor (no date in the metadata, the feed entry or the URL)
    fetch_day = T0 + timedelta(days=38, hours=5)
    undated = []
    for n in range(12):
        body = UNDATED_PAGE.format(title=f"Border talks item {n}", n=n).encode()
        article = extract_article(
            body, url=f"https://geo.example/latest/item-{n}", source=None, fetched_at=fetch_day
        )
        assert isinstance(article, records.Article), article
        assert (article.published_at, article.date_source, article.date_confidence) == (
            None,
            "fetch_time",
            "low",
        )
        undated.append(tagged(article, "diplomacy"))
    load(settings, "run-1", dated + undated)

    day = fetch_day.date()
    with connect(settings.warehouse_path) as con:  # views are (re)created read-write
        pass
    # the fetch day carries only its two dated articles in every default trend view
    assert query(settings, "SELECT sum(n_articles) FROM v_signals_daily WHERE day = ?", [day]) == [
        (2,)
    ]
    assert query(
        settings, "SELECT n_articles FROM v_cooperation_conflict_daily WHERE day = ?", [day]
    ) == [(2,)]
    assert query(
        settings, "SELECT count(*) FROM v_signal_spikes WHERE day = ? AND is_spike", [day]
    ) == [(0,)]
    assert query(
        settings, "SELECT count(*) FROM v_trend_anomalies WHERE day = ? AND is_spike", [day]
    ) == [(0,)]
    assert query(
        settings, "SELECT n FROM v_trend_anomalies WHERE day = ? AND category = '(all)'", [day]
    ) == [(2,)]
    assert query(
        settings,
        "SELECT sum(n_articles) FROM v_signals_weekly WHERE week = date_trunc('week', ?::DATE)",
        [day],
    ) == [(12,)]  # days 34-39, two a day
    # ... and the exclusions say what was left out
    assert query(
        settings, "SELECT reason, n_relevant, n_articles, last_fetched_day FROM v_trend_exclusions"
    ) == [("fetch_time", 12, 12, day)]
    # without the filter the fetch day would have been a spike (the test can fail)
    assert query(
        settings,
        "SELECT count(*) FROM stg_articles WHERE day = ? AND relevant",
        [day],
    ) == [(14,)]
    spike_rule = {
        "id": "talks-spike",
        "kind": "spike",
        "categories": ["diplomacy"],
        "z_above": 3.0,
        "min_count": 3,
    }
    with connect(settings.warehouse_path) as con:
        fired = evaluate_alert_rules(con, [spike_rule], now=T0 + timedelta(days=41))
    assert fired == []


# -- 4. outage-aware trends -----------------------------------------------------------------

SOURCES = {"src-dawn": "Dawn", "src-tribune": "Express Tribune", "src-geo": "Geo News"}
DEAD, DEAD_DAYS = "src-geo", (30, 31, 32)


def outage_series(days: int = 40) -> dict[str, list]:
    """Three feeds, 6-7 relevant articles each a day; Geo's feed dies on days 30-32 (its
    fetches fail, nothing arrives), then comes back."""
    items: list[dict[str, list]] = []
    fetch_log = []
    for day in range(days):
        when = T0 + timedelta(days=day)
        for source_id, outlet in SOURCES.items():
            dead = source_id == DEAD and day in DEAD_DAYS
            fetch_log.append(
                records.FetchAttempt(
                    url=f"https://{source_id}.example/feed",
                    kind="feed",
                    ok=not dead,
                    source_id=source_id,
                    status=503 if dead else 200,
                    error_class="http_status" if dead else None,
                    error_message="503 Service Unavailable" if dead else None,
                    attempted_at=when,
                ).__dict__
            )
            if dead:
                continue
            for i in range(6 + day % 2):
                url = f"https://{source_id}.example/news/{day}-{i}"
                article = plain_article(
                    url,
                    outlet=outlet,
                    published=when + timedelta(minutes=10 * i),
                    text=f"{outlet} reports Iran Pakistan talks, day {day}, item {i}.",
                    source_id=source_id,
                )
                items.append(tagged(article, CATEGORIES[i % 2]))
    sources = [
        records.Source(source_id=s, kind="feed", url=f"https://{s}.example/feed", outlet=o)
        for s, o in SOURCES.items()
    ]
    tables: dict[str, list] = {"articles": [], "signals": []}
    for item in items:
        for name, rows in item.items():
            tables[name] += rows
    tables["fetch_log"] = fetch_log
    tables["sources"] = [s.to_row() for s in sources]
    return tables


HEALTH_RULE = {"id": "feeds-down", "kind": "source_health", "description": "A feed is down"}
NEWS_SPIKE = {"id": "talks-spike", "kind": "spike", "categories": list(CATEGORIES)}


def test_a_feed_dead_for_three_days_is_a_source_health_alert_not_a_news_drop(
    settings: Settings, receiver: Receiver
) -> None:
    settings = settings.with_(alert_urls=(receiver.apprise_url,))
    stage_batch(settings.staging_dir, "run-1", outage_series(), {})
    load_pending_batches(settings)
    dead_days = [(T0 + timedelta(days=d)).date() for d in DEAD_DAYS]

    outages = query(
        settings,
        "SELECT source_id, day, outage, n_received, expected FROM v_source_health_daily "
        "WHERE is_outage ORDER BY day",
    )
    assert [o[:4] for o in outages] == [(DEAD, d, "fetch_failed", 0) for d in dead_days]
    assert all(6 <= o[4] <= 7 for o in outages)  # its trailing median
    volume = query(
        settings,
        "SELECT day, outage_explained, sources_out FROM v_trend_volume_daily "
        "WHERE outage_explained ORDER BY day",
    )
    assert volume == [(d, True, ["Geo News"]) for d in dead_days]

    # the total did drop on those days, and the drop is put down to the outage ...
    explained = query(
        settings,
        "SELECT day FROM v_trend_anomalies WHERE category = '(all)' AND change = 'drop' "
        "AND explained_by_outage ORDER BY day",
    )
    assert explained == [(d,) for d in dead_days]
    # ... so no news spike or drop is reported on any day of the series
    assert query(settings, "SELECT count(*) FROM v_trend_anomalies WHERE is_spike OR is_drop") == [
        (0,)
    ]

    now = T0 + timedelta(days=40)
    with connect(settings.warehouse_path) as con:
        fired = evaluate_alert_rules(con, [HEALTH_RULE, NEWS_SPIKE], now=now)
        summary = deliver_pending_alerts(con, settings, now=now, rules=[HEALTH_RULE, NEWS_SPIKE])
    subject = f"source_health:{DEAD}:{dead_days[0].isoformat()}"
    assert [(f.rule_id, f.kind, f.subject_id) for f in fired] == [
        ("feeds-down", "source_health", subject)
    ]
    assert summary.delivered == 1
    (body,) = receiver.accepted
    assert body["title"] == f"[dyadwatch] feeds-down: source {DEAD} out since {dead_days[0]}"
    assert "Geo News" in body["message"]
    assert "3 day(s) through " + dead_days[-1].isoformat() in body["message"]
    assert "every fetch failed (last error: http_status)" in body["message"]

    # once per outage: the next evaluations record and send nothing more
    load(settings, "run-2", [])
    with connect(settings.warehouse_path) as con:
        again = evaluate_alert_rules(con, [HEALTH_RULE, NEWS_SPIKE], now=now + timedelta(hours=1))
        later = deliver_pending_alerts(
            con, settings, now=now + timedelta(hours=1), rules=[HEALTH_RULE, NEWS_SPIKE]
        )
    assert again == [] and later.attempted == 0
    assert len(receiver.bodies) == 1


# -- 5. independent outlets -------------------------------------------------------------

STORY = (
    "Iran and Pakistan agreed on Tuesday to reopen the Taftan border crossing for trade "
    "after weeks of closure, officials from both countries said after a meeting of the "
    "joint border commission in Quetta. The commission also decided to set up two new "
    "border markets in Balochistan and Sistan Baluchestan, to extend the operating hours "
    "of the crossing and to share information on smuggling networks along the frontier. "
    "Traders who had been stranded on both sides welcomed the decision and said trucks "
    "carrying fruit, rice and liquefied gas were already lining up at the gate. "
)
OWN_REPORTING = (
    "In Zahedan, provincial officials told our correspondent that the local chamber of "
    "commerce had lobbied for months for the decision."
)


def story_article(key: str, outlet: str, text: str, hours: int) -> dict[str, list]:
    url = f"https://{outlet.lower().replace(' ', '')}.example/news/{key}"
    return tagged(
        plain_article(url, outlet=outlet, published=T0 + timedelta(hours=hours), text=text),
        "border_security",
    )


def test_min_outlets_waits_for_a_second_independent_outlet_and_updates_are_appended(
    settings: Settings, receiver: Receiver
) -> None:
    settings = settings.with_(alert_urls=(receiver.apprise_url,))
    corroborated = {
        "id": "border-corroborated",
        "categories": ["border_security"],
        "min_outlets": 2,
    }
    plain = {"id": "border-any", "categories": ["border_security"]}
    rules = [corroborated, plain]
    words = STORY.split()
    rewrite = " ".join(words[: int(len(words) * 0.85)]) + " " + OWN_REPORTING
    assert 0.5 <= stories.similarity(stories.minhash(STORY), stories.minhash(rewrite)) < 0.8

    def step(run_key: str, item: dict[str, list], hours: int) -> list:
        load(settings, run_key, [item])
        now = T0 + timedelta(hours=hours)
        with connect(settings.warehouse_path) as con:
            fired = evaluate_alert_rules(con, rules, now=now)
            deliver_pending_alerts(con, settings, now=now, rules=rules)
        return sorted(f.rule_id for f in fired)

    # Dawn breaks the story: the plain rule fires, the corroborated one waits
    assert step("run-1", story_article("a", "Dawn", STORY, 1), 1) == ["border-any"]
    # a verbatim reprint in another outlet is not a second source
    reprint = "Staff report. " + STORY
    assert step("run-2", story_article("b", "Express Tribune", reprint, 2), 2) == []
    # Tehran Times' own rewrite with its own reporting is: now it fires, once
    assert step("run-3", story_article("c", "Tehran Times", rewrite, 3), 3) == [
        "border-corroborated"
    ]
    # a later wire-style reprint is attached to both alerts as an update, not re-sent
    assert step("run-4", story_article("d", "Geo News", STORY + " (APP)", 4), 4) == []

    (story_key,) = {r[0] for r in query(settings, "SELECT story_id FROM articles")}
    assert query(
        settings,
        "SELECT n_articles, n_outlets, n_independent_outlets, origins "
        "FROM v_story_independence WHERE story_key = ?",
        [story_key],
    ) == [(4, 4, 2, ["outlet:Dawn", "outlet:Tehran Times"])]
    titles = sorted(b["title"] for b in receiver.accepted)
    assert len(titles) == 2 and all("Dawn" in t or "Tehran Times" in t for t in titles)
    with connect(settings.warehouse_path, read_only=True) as con:
        columns, rows = list_alerts(con)
    listed = {r[columns.index("rule_id")]: dict(zip(columns, r, strict=True)) for r in rows}
    assert listed["border-corroborated"]["updates"] == 1  # Geo's copy
    assert listed["border-any"]["updates"] == 3  # Tribune, Tehran Times, Geo
    assert all(r["status"] == "delivered" for r in listed.values())


def test_wire_credits_count_once_whatever_the_text(settings: Settings) -> None:
    texts = {
        "w1": "ISLAMABAD (Reuters) - Pakistan said on Monday it had summoned Iran's envoy.",
        "w2": "TEHRAN, Nov 28 (Reuters) – Iran rejected Pakistan's protest over the strike.",
        "w3": "QUETTA: Our reporter saw border guards on both sides reinforce their posts.",
    }
    outlets = {"w1": "Dawn", "w2": "Tehran Times", "w3": "Express Tribune"}
    load(
        settings,
        "run-1",
        [story_article(k, outlets[k], t, i) for i, (k, t) in enumerate(texts.items())],
    )
    with connect(settings.warehouse_path) as con:  # one story, as the near-dup step might
        con.execute("UPDATE articles SET story_id = 'story-w'")
    assert query(
        settings,
        "SELECT n_outlets, n_independent_outlets, origins, wire_credits FROM v_story_independence",
    ) == [(3, 2, ["outlet:Express Tribune", "wire:REUTERS"], ["REUTERS"])]
