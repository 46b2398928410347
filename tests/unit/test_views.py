"""The analyst views answer what their headers say, on small hand-made warehouses."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse.db import connect, view_files
from warehouse.load import INSERT_ARTICLE_CATEGORY_COUNTS, UPSERT_ARTICLE_SIGNAL_SUMMARY

D0 = date(2026, 3, 2)  # a Monday


@pytest.fixture
def con(tmp_path: Path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def add_article(
    con: duckdb.DuckDBPyConnection,
    article_id: str,
    day: date,
    *,
    outlet: str = "Dawn",
    country: str = "PK",
    relevant: bool = True,
    tone: str = "neutral",
    tone_score: float = 0.0,
    story_id: str | None = None,
    hour: int = 9,
    source_id: str | None = None,
) -> None:
    at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    con.execute(
        "INSERT INTO articles (article_id, url, source_id, outlet, title, published_at, "
        "fetched_at, text, text_hash, word_count, extractor_version, outlet_country, relevant, "
        "tone_score, tone, batch_id, loaded_at, story_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'text', ?, 1, 't', ?, ?, ?, ?, 'b1', ?, ?)",
        [
            article_id,
            f"https://x.example/{article_id}",
            source_id,
            outlet,
            f"Title {article_id}",
            at,
            at,
            f"hash-{article_id}",
            country,
            relevant,
            tone_score,
            tone,
            at,
            story_id,
        ],
    )


def add_signals(con, article_id: str, category: str, n: int) -> None:
    for i in range(n):
        con.execute(
            "INSERT INTO signals (signal_id, article_id, category, score, tone_score, evidence, "
            'start, "end", cue, tagger_version, batch_id) '
            "VALUES (?, ?, ?, 1, 0, 'an evidence sentence', ?, ?, 'cue', 't', 'b1')",
            [f"{article_id}-{category}-{i}", article_id, category, i * 10, i * 10 + 5],
        )


def refresh_counts(con) -> None:
    """What the load does after inserting a batch's signals (warehouse/load.py): the
    per-category counts and the per-article summary, from the batch's signals (here: all)."""
    con.execute("CREATE OR REPLACE TEMP TABLE batch_signals AS SELECT * FROM signals")
    con.execute(INSERT_ARTICLE_CATEGORY_COUNTS)
    con.execute(UPSERT_ARTICLE_SIGNAL_SUMMARY)


def test_every_view_file_has_a_header_and_the_docs_describe_every_view() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "warehouse.md").read_text("utf-8")
    for path in view_files():
        text = path.read_text("utf-8")
        assert text.startswith("-- "), path.name
        name = text.split("CREATE OR REPLACE VIEW ", 1)[1].split()[0]
        assert f"`{name}`" in docs, f"{name} is not described in docs/warehouse.md"


def test_signal_counts_by_day_outlet_and_country(con) -> None:
    add_article(con, "a1", D0, outlet="Dawn", country="PK")
    add_article(con, "a2", D0, outlet="Tehran Times", country="IR")
    add_article(con, "a3", D0 + timedelta(days=1), outlet="Dawn", country="PK")
    add_article(con, "x1", D0, outlet="Dawn", country="PK", relevant=False)
    add_signals(con, "a1", "militancy", 3)
    add_signals(con, "a1", "diplomacy", 1)
    add_signals(con, "a2", "militancy", 2)
    add_signals(con, "a3", "militancy", 1)
    add_signals(con, "x1", "militancy", 5)  # not relevant: counted nowhere
    refresh_counts(con)

    daily = con.execute(
        "SELECT day, category, n_signals, n_articles FROM v_signals_daily ORDER BY ALL"
    ).fetchall()
    assert daily == [
        (D0, "diplomacy", 1, 1),
        (D0, "militancy", 5, 2),
        (D0 + timedelta(days=1), "militancy", 1, 1),
    ]
    weekly = con.execute("SELECT week, category, n_signals, n_articles FROM v_signals_weekly")
    assert sorted(weekly.fetchall()) == [(D0, "diplomacy", 1, 1), (D0, "militancy", 6, 3)]
    by_country = con.execute(
        "SELECT outlet_country, n_signals, n_articles FROM v_signals_daily_by_country "
        "WHERE day = ? AND category = 'militancy' ORDER BY 1",
        [D0],
    ).fetchall()
    assert by_country == [("IR", 2, 1), ("PK", 3, 1)]
    by_outlet = con.execute(
        "SELECT outlet, outlet_country, n_signals, n_articles FROM v_signals_weekly_by_outlet "
        "WHERE category = 'militancy' ORDER BY 1"
    ).fetchall()
    assert by_outlet == [("Dawn", "PK", 4, 2), ("Tehran Times", "IR", 2, 1)]
    weekly_country = con.execute(
        "SELECT outlet_country, n_signals FROM v_signals_weekly_by_country "
        "WHERE category = 'militancy' ORDER BY 1"
    ).fetchall()
    assert weekly_country == [("IR", 2), ("PK", 4)]
    # the per-article counts the views read agree with the signals themselves
    assert con.execute(
        "SELECT count(*) FROM (SELECT article_id, category, count(*) AS n FROM signals "
        "GROUP BY ALL) FULL JOIN article_category_counts USING (article_id, category) "
        "WHERE n IS DISTINCT FROM n_signals"
    ).fetchone() == (0,)


def test_spikes_use_a_zero_filled_28_day_baseline_with_guards(con) -> None:
    # militancy: one article with 1 signal every 4th day for 40 days, then a day with 6
    quiet = [D0 + timedelta(days=d) for d in range(0, 40, 4)]
    for i, day in enumerate(quiet):
        add_article(con, f"q{i}", day)
        add_signals(con, f"q{i}", "militancy", 1)
    spike_day = D0 + timedelta(days=41)
    add_article(con, "s1", spike_day)
    add_signals(con, "s1", "militancy", 6)
    # energy: 5 signals on the 3rd day, too little baseline to call it a spike
    add_article(con, "e1", D0 + timedelta(days=2))
    add_signals(con, "e1", "energy", 5)
    # diplomacy: 2 signals out of nowhere, under the minimum count
    add_article(con, "d1", spike_day)
    add_signals(con, "d1", "diplomacy", 2)
    refresh_counts(con)

    rows = con.execute(
        "SELECT day, n_signals, baseline_days, baseline_mean, baseline_sd, z, is_spike "
        "FROM v_signal_spikes WHERE category = 'militancy' ORDER BY day"
    ).fetchall()
    assert [r[0] for r in rows] == [D0 + timedelta(days=d) for d in range(42)]  # every day
    day, n, baseline_days, mean, sd, z, is_spike = rows[-1]
    prior = [1 if D0 + timedelta(days=d) in quiet else 0 for d in range(41 - 28, 41)]
    expected_mean = statistics.fmean(prior)
    expected_sd = statistics.pstdev(prior)
    assert (day, n, baseline_days) == (spike_day, 6, 28)
    assert mean == pytest.approx(expected_mean, abs=1e-3)
    assert sd == pytest.approx(expected_sd, abs=1e-3)
    assert z == pytest.approx((6 - expected_mean) / max(expected_sd, 1.0), abs=0.01)
    assert is_spike is True
    assert [r[0] for r in rows if r[6]] == [spike_day]

    spikes = con.execute("SELECT day, category FROM v_signal_spikes WHERE is_spike").fetchall()
    assert spikes == [(spike_day, "militancy")]  # not energy (no baseline), not diplomacy (2)
    energy = con.execute(
        "SELECT baseline_days, z FROM v_signal_spikes WHERE category = 'energy' AND day = ?",
        [D0 + timedelta(days=2)],
    ).fetchone()
    assert energy == (2, 5.0)


def test_cooperation_conflict_index_and_its_7_day_line(con) -> None:
    add_article(con, "c1", D0, tone="cooperation")
    add_article(con, "c2", D0, tone="cooperation")
    add_article(con, "k1", D0, tone="conflict")
    add_article(con, "k2", D0 + timedelta(days=3), tone="conflict")
    add_article(con, "c3", D0 + timedelta(days=9), tone="cooperation")
    rows = con.execute(
        "SELECT day, n_articles, n_cooperation, n_conflict, coop_conflict_index, index_7d, "
        "index_7d_mean FROM v_cooperation_conflict_daily ORDER BY day"
    ).fetchall()
    assert len(rows) == 10  # every day from the first to the last, gaps included
    by_day = {r[0]: r[1:] for r in rows}
    assert by_day[D0] == (3, 2, 1, round(1 / 3, 3), round(1 / 3, 3), round(1 / 3, 3))
    assert by_day[D0 + timedelta(days=1)] == (0, 0, 0, None, round(1 / 3, 3), round(1 / 3, 3))
    # day 3: pooled over days 0..3 -> 2 coop, 2 conflict; mean of the daily indexes 1/3, -1
    assert by_day[D0 + timedelta(days=3)][3:] == (-1.0, 0.0, round((1 / 3 - 1) / 2, 3))
    # day 7: the window is days 1..7, day 0 has left it
    assert by_day[D0 + timedelta(days=7)][4] == -1.0
    # day 9: days 3..9 -> 1 conflict, 1 cooperation
    assert by_day[D0 + timedelta(days=9)][3:5] == (1.0, 0.0)


def test_story_clusters_outlets_and_first_reporter(con) -> None:
    add_article(con, "w1", D0, outlet="Wire", country="INT", story_id="st1", hour=6)
    add_article(con, "p1", D0, outlet="Dawn", country="PK", story_id="st1", hour=9)
    add_article(con, "i1", D0 + timedelta(days=1), outlet="IRNA", country="IR", story_id="st1")
    add_article(con, "p2", D0, outlet="Dawn", country="PK", story_id="st1", hour=12)
    add_article(con, "alone", D0, outlet="Dawn", story_id="st2")
    # no story_id: byte-identical copies still cluster by their text hash
    con.execute("UPDATE articles SET text_hash = 'same' WHERE article_id IN ('w1', 'alone')")
    add_article(con, "h1", D0, outlet="A")
    add_article(con, "h2", D0, outlet="B", hour=3)
    con.execute("UPDATE articles SET text_hash = 'dup' WHERE article_id IN ('h1', 'h2')")

    clusters = con.execute(
        "SELECT cluster_id, n_copies, outlets, n_outlets, first_reporter, first_url "
        "FROM v_story_clusters ORDER BY cluster_id"
    ).fetchall()
    assert clusters == [
        ("hash:dup", 2, ["A", "B"], 2, "B", "https://x.example/h2"),
        ("st1", 4, ["Dawn", "IRNA", "Wire"], 3, "Wire", "https://x.example/w1"),
    ]
    outlets = con.execute(
        "SELECT outlet, article_id, reporter_rank, hours_after_first FROM v_story_outlets "
        "WHERE cluster_id = 'st1' ORDER BY reporter_rank"
    ).fetchall()
    assert outlets == [("Wire", "w1", 1, 0.0), ("Dawn", "p1", 2, 3.0), ("IRNA", "i1", 3, 27.0)]


def test_source_health(con) -> None:
    t = datetime(2026, 3, 2, 8, tzinfo=UTC)
    con.execute(
        "INSERT INTO sources (source_id, kind, url, outlet, country, first_seen_at, updated_at) "
        "VALUES ('good', 'feed', 'https://g.example/rss', 'Good', 'PK', ?, ?), "
        "('bad', 'feed', 'https://b.example/rss', 'Bad', 'IR', ?, ?), "
        "('new', 'feed', 'https://n.example/rss', 'New', 'IR', ?, ?), "
        "('gone', 'feed', 'https://o.example/rss', 'Gone', 'IR', ?, ?)",
        [t] * 8,
    )
    con.execute(
        "INSERT INTO feed_state (source_id, last_status, last_success_at, consecutive_failures, "
        "updated_at) VALUES ('good', 200, ?, 0, ?), ('bad', 503, ?, 2, ?)",
        [t, t, t - timedelta(days=1), t],
    )
    con.execute(
        "INSERT INTO feed_state (source_id, last_status, updated_at, disabled_reason) "
        "VALUES ('gone', 410, ?, 'HTTP 410 Gone')",
        [t],
    )
    attempts = [
        ("good", True, None, t - timedelta(hours=1)),
        ("good", True, None, t),
        ("bad", True, None, t - timedelta(days=1)),
        ("bad", False, "http_status", t - timedelta(hours=1)),
        ("bad", False, "timeout", t),
    ]
    for i, (source, ok, error, at) in enumerate(attempts):
        con.execute(
            "INSERT INTO fetch_log (id, batch_id, row_no, url, kind, ok, source_id, "
            "error_class, error_message, attempted_at) VALUES (?, 'b', ?, 'u', 'feed', ?, ?, "
            "?, ?, ?)",
            [f"b:{i}", i, ok, source, error, error and f"{error}!", at],
        )
    rows = con.execute(
        "SELECT source_id, health, n_attempts, success_rate, consecutive_failures, "
        "last_success_at, last_error_class FROM v_source_health"
    ).fetchall()
    assert rows == [
        ("bad", "failing", 3, 0.333, 2, t - timedelta(days=1), "timeout"),
        ("gone", "disabled", 0, None, 0, None, None),
        ("new", "never_fetched", 0, None, 0, None, None),
        ("good", "ok", 2, 1.0, 0, t, None),
    ]


def test_top_and_first_seen_entities(con) -> None:
    add_article(con, "a1", D0, hour=10)
    add_article(con, "a2", D0, hour=8)
    add_article(con, "a3", D0 + timedelta(days=8))
    add_article(con, "x", D0 - timedelta(days=1), relevant=False)
    mentions = [
        ("a1", "taftan", "place", "Taftan"),
        ("a2", "taftan", "place", "Taftan border"),
        ("a3", "taftan", "place", "Taftan"),
        ("a3", "gwadar", "place", "Gwadar"),
        ("x", "gwadar", "place", "Gwadar"),  # not relevant: ignored
    ]
    for i, (article, entity, kind, surface) in enumerate(mentions):
        con.execute(
            "INSERT INTO mentions (mention_id, article_id, entity_id, kind, name, country, "
            'surface, start, "end", tagger_version, batch_id) '
            "VALUES (?, ?, ?, ?, ?, 'PK', ?, 0, 5, 't', 'b1')",
            [f"m{i}", article, entity, kind, entity.title(), surface],
        )
    first = con.execute(
        "SELECT entity_id, first_day, first_article_id, first_surface, n_articles, last_day "
        "FROM v_first_seen_entities"
    ).fetchall()
    assert first == [
        ("gwadar", D0 + timedelta(days=8), "a3", "Gwadar", 1, D0 + timedelta(days=8)),
        ("taftan", D0, "a2", "Taftan border", 3, D0 + timedelta(days=8)),
    ]
    weekly = con.execute(
        "SELECT week, entity_id, n_articles, rank FROM v_top_entities_weekly ORDER BY ALL"
    ).fetchall()
    assert weekly == [
        (D0, "taftan", 2, 1),
        (D0 + timedelta(days=7), "gwadar", 1, 1),
        (D0 + timedelta(days=7), "taftan", 1, 1),
    ]
    monthly = con.execute(
        "SELECT month, entity_id, n_articles, n_mentions, rank FROM v_top_entities_monthly"
    ).fetchall()
    assert monthly == [(date(2026, 3, 1), "taftan", 3, 3, 1), (date(2026, 3, 1), "gwadar", 1, 1, 2)]


def test_tone_weekly_by_country(con) -> None:
    add_article(con, "i1", D0, country="IR", tone="conflict", tone_score=-4)
    add_article(con, "i2", D0 + timedelta(days=2), country="IR", tone="conflict", tone_score=-2)
    add_article(con, "p1", D0, country="PK", tone="cooperation", tone_score=5)
    rows = con.execute(
        "SELECT outlet_country, n_articles, mean_tone, coop_conflict_index "
        "FROM v_tone_weekly_by_country WHERE week = ? ORDER BY 1",
        [D0],
    ).fetchall()
    assert rows == [("IR", 2, -3.0, -1.0), ("PK", 1, 5.0, 1.0)]


def test_relevant_articles_newest_first_with_their_categories_and_signal_count(con) -> None:
    add_article(con, "old", D0, hour=9)
    add_article(con, "new", D0 + timedelta(days=1), hour=8)
    add_article(con, "same_day_later", D0 + timedelta(days=1), hour=20)
    add_article(con, "quiet", D0, hour=7)  # relevant, no signals
    add_article(con, "x", D0 + timedelta(days=2), relevant=False)
    add_signals(con, "old", "militancy", 2)
    add_signals(con, "old", "diplomacy", 1)
    add_signals(con, "new", "trade_economy", 3)
    add_signals(con, "same_day_later", "energy", 1)
    add_signals(con, "x", "militancy", 4)  # not relevant: not listed
    refresh_counts(con)

    rows = con.execute(
        "SELECT article_id, day, categories, n_signals FROM v_relevant_articles"
    ).fetchall()
    assert rows == [
        ("same_day_later", D0 + timedelta(days=1), ["energy"], 1),
        ("new", D0 + timedelta(days=1), ["trade_economy"], 3),
        ("old", D0, ["diplomacy", "militancy"], 3),
        ("quiet", D0, [], 0),
    ]
    # the summary the view reads agrees with the signals themselves
    assert con.execute(
        "SELECT count(*) FROM (SELECT article_id, list_sort(list(DISTINCT category)) AS c, "
        "count(*) AS n FROM signals GROUP BY ALL) AS truth "
        "FULL JOIN article_signal_summary AS s USING (article_id) "
        "WHERE truth.c IS DISTINCT FROM s.categories OR truth.n IS DISTINCT FROM s.n_signals"
    ).fetchone() == (0,)


def test_the_view_benchmark_times_every_analyst_view_and_writes_its_medians(
    tmp_path: Path,
) -> None:
    """tests/bench/bench_views.py on a tiny generated warehouse (the real one is 1M/10M)."""
    from tests.bench import bench_views

    out = tmp_path / "views.json"
    status = bench_views.main(
        ["--articles", "2000", "--signals", "20000", "--repeat", "1", "--out", str(out)]
    )
    report = json.loads(out.read_text("utf-8"))
    names = {
        path.read_text("utf-8").split("CREATE OR REPLACE VIEW ", 1)[1].split()[0]
        for path in view_files()
    }
    timed = [v["view"] for v in report["views"]]
    assert len(timed) == len(set(timed))
    assert set(timed) == {name for name in names if name.startswith("v_")}  # every one
    assert report["cores"] >= 1
    assert report["sizes"]["articles"] == 2000 and report["sizes"]["signals"] == 20000
    for view in report["views"]:
        assert view["median_s"] >= 0 and view["median_cpu_s"] >= 0 and view["rows"] >= 0
    assert status == (0 if report["all_under_target"] else 1)
