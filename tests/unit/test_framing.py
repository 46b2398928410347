"""Each side's framing: one story told by Iranian, Pakistani and third-country outlets,
tagged by the real tagger, staged and loaded by the real load into a DuckDB file."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dyadwatch import records
from dyadwatch.settings import Settings
from dyadwatch.watch import load_watch
from extractors.sources import load_feed_sources
from extractors.tagger import tag_article
from tests.factories import make_article
from warehouse.db import connect
from warehouse.load import load_pending_batches
from warehouse.report import gather, render
from warehouse.staging import stage_batch

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # a Tuesday; ISO week starts 2026-03-02

# the wire part every copy carries (no cue or tone word: the framing decides the tone)
BODY = (
    "Officials from Iran and Pakistan gathered on Tuesday at the Taftan crossing in "
    "Balochistan for a meeting of the joint border commission. "
    "The session in the border town lasted about six hours and was held behind closed doors. "
    "Delegations of about twenty officials from each country sat at a long table in a "
    "customs hall that was painted white for the occasion. "
    "Local residents said the road to the town was quiet during the day and that the "
    "market in the centre stayed open until the evening as usual. "
    "The commission was set up in the early 1990s and normally meets once or twice a year, "
    "alternating between towns on either side of the frontier. "
    "Its last session took place in the spring in the Iranian city of Zahedan. "
    "Reporters were kept outside the hall and were given a short briefing in the late "
    "afternoon, after the delegations had left for their hotels by car. "
    "The weather in the town was dry and windy, with dust blowing across the wide road "
    "that leads to the gate and the parking area used by long lines of lorries. "
)
COOPERATIVE = (
    "Iranian officials said the two countries agreed to strengthen cooperation and praised "
    "the friendly and brotherly talks. Iran and Pakistan signed a memorandum of "
    "understanding on joint patrols."
)
HOSTILE = (
    "Pakistani officials said Iranian border guards fired on Pakistani traders a day "
    "earlier, killing two, and Pakistan lodged a strong protest with Iran over the attack. "
    "Pakistan summoned Iran's ambassador and condemned the killing of its citizens. "
    "Pakistani troops later exchanged fire with Iranian border guards, raising tensions."
)

# (outlet, outlet_country on the article, country of its source, closing paragraph)
COPIES = [
    ("Tehran Courier", "IR", "IR", COOPERATIVE),
    ("The Frontier Ledger", "PK", "PK", HOSTILE),
    # the article itself does not say: the source's country counts
    ("Asia Gulf Wire", None, "INT", HOSTILE + " " + COOPERATIVE),
    ("Unnamed Blog", None, None, HOSTILE),
]


def tagged_copy(i: int, outlet: str, country: str | None, closing: str, watch) -> tuple:
    url = f"https://outlet{i}.example/2026/03/border-commission.html"
    text = BODY + closing
    article = make_article(
        url,
        text,
        T0.replace(hour=8 + i),
        source_id=f"src-{i}",
        outlet=outlet,
        title="Iran and Pakistan hold border commission talks",
        outlet_country=country,
    )
    result = tag_article(article.article_id, article.title, text, watch)
    article.relevant = result.relevant
    article.relevance = result.relevance
    article.tone_score = result.tone_score
    article.tone = result.tone
    article.tagger_version = result.tagger_version
    return article, result


@pytest.fixture
def loaded(settings: Settings) -> dict[str, records.Article]:
    watch = load_watch(ROOT / "seeds" / "watch.toml")
    tables: dict[str, list] = {"sources": [], "articles": [], "signals": [], "mentions": []}
    by_outlet = {}
    for i, (outlet, country, source_country, closing) in enumerate(COPIES):
        article, result = tagged_copy(i, outlet, country, closing, watch)
        tables["sources"].append(
            records.Source(
                f"src-{i}", "feed", f"https://outlet{i}.example/rss", outlet, source_country
            )
        )
        tables["articles"].append(article)
        tables["signals"] += result.signals
        tables["mentions"] += result.mentions
        by_outlet[outlet] = article
    # another story, in Iranian outlets only
    other, result = tagged_copy(9, "Tehran Courier", "IR", "", watch)
    other.url = other.url.replace("border-commission", "barter")
    other.article_id = records.stable_id(other.url)
    other.text = "Iran and Pakistan agreed in Tehran to expand barter trade in rice and fuel."
    result = tag_article(other.article_id, "Barter trade grows", other.text, watch)
    other.relevant, other.tone_score, other.tone = True, result.tone_score, result.tone
    tables["articles"].append(other)
    tables["signals"] += result.signals
    stage_batch(settings.staging_dir, "run-framing", tables, {})
    assert load_pending_batches(settings).to_dict()["articles_new"] == len(COPIES) + 1
    return by_outlet


def test_a_story_told_with_opposite_tones_shows_up_as_opposed(
    settings: Settings, loaded: dict[str, records.Article]
) -> None:
    # the tagger read the copies as their closing paragraphs say
    assert loaded["Tehran Courier"].tone_score > 1
    assert loaded["The Frontier Ledger"].tone_score < -1
    con = connect(settings.warehouse_path, read_only=True)
    try:
        rows = con.execute(
            "SELECT n_articles, n_sides, n_iran, mean_tone_iran, n_pakistan, "
            "mean_tone_pakistan, n_third_country, mean_tone_third_country, n_unknown, "
            "tone_gap_iran_pakistan, framing, outlets FROM v_story_framing WHERE n_sides > 1"
        ).fetchall()
        stored_tones = dict(
            con.execute(
                "SELECT outlet, tone_score FROM articles WHERE url LIKE '%border-commission%'"
            ).fetchall()
        )
        weekly = con.execute(
            "SELECT outlet_side, n_articles, n_stories, mean_tone, n_shared_stories, "
            "mean_tone_shared FROM v_framing_weekly WHERE week = DATE '2026-03-02' "
            "ORDER BY outlet_side"
        ).fetchall()
    finally:
        con.close()

    assert len(rows) == 1, "the four copies are one story, and the only one told by 2+ sides"
    (n, n_sides, n_ir, tone_ir, n_pk, tone_pk, n_third, tone_third, n_unknown, gap, framing,
     outlets) = rows[0]  # fmt: skip
    assert (n, n_sides, n_ir, n_pk, n_third, n_unknown) == (4, 3, 1, 1, 1, 1)
    assert tone_ir == pytest.approx(stored_tones["Tehran Courier"], abs=1e-3)
    assert tone_pk == pytest.approx(stored_tones["The Frontier Ledger"], abs=1e-3)
    assert tone_third == pytest.approx(stored_tones["Asia Gulf Wire"], abs=1e-3)
    assert tone_ir > 1 > -1 > tone_pk
    assert gap == pytest.approx(tone_ir - tone_pk, abs=1e-3)
    assert framing == "opposed"
    assert outlets == [
        "Tehran Courier (iran)",
        "The Frontier Ledger (pakistan)",
        "Asia Gulf Wire (third_country)",
        "Unnamed Blog (unknown)",
    ]

    assert [r[0] for r in weekly] == ["iran", "pakistan", "third_country", "unknown"]
    by_side = {r[0]: r[1:] for r in weekly}
    assert by_side["iran"][:2] == (2, 2) and by_side["pakistan"][:2] == (1, 1)
    assert by_side["pakistan"][2] < -1
    # of the Iranian outlets' two stories one is told by the other sides too: its tone
    # there is the shared tone
    assert [by_side[s][3] for s in ("iran", "pakistan", "third_country", "unknown")] == [1] * 4
    assert by_side["iran"][4] == pytest.approx(tone_ir, abs=1e-3)
    assert by_side["pakistan"][4] == pytest.approx(tone_pk, abs=1e-3)


def test_the_report_shows_the_story_each_side_told(
    settings: Settings, loaded: dict[str, records.Article]
) -> None:
    with connect(settings.warehouse_path, read_only=True) as con:
        data = gather(con, days=30)
    assert [row[1] for row in data.framing_weekly] == [
        "iran",
        "pakistan",
        "third_country",
        "unknown",
    ]
    assert len(data.framing_stories) == 1 and data.framing_stories[0][-1] == "opposed"
    html = render(data)
    section = html.split('<h2 id="framing">', 1)[1].split("<h2", 1)[0]
    assert "Iran and Pakistan hold border commission talks" in section
    assert "opposed" in section and "third_country" in section


def test_signals_are_stored_with_direction_and_quad_class(
    settings: Settings, loaded: dict[str, records.Article]
) -> None:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        rows = con.execute(
            "SELECT a.outlet, s.direction, s.quad_class, s.cue FROM signals AS s "
            "JOIN articles AS a USING (article_id)"
        ).fetchall()
        by_direction = dict(
            con.execute(
                "SELECT direction, sum(n_signals) FROM v_cooperation_conflict_daily_by_direction "
                "GROUP BY ALL"
            ).fetchall()
        )
        quads = con.execute(
            "SELECT quad_class, n_signals FROM v_quad_classes_weekly "
            "WHERE direction = 'all' ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    pakistani = {(d, q) for outlet, d, q, _ in rows if outlet == "The Frontier Ledger"}
    assert ("PK->IR", "verbal_conflict") in pakistani  # the protest
    assert ("IR->PK", "material_conflict") in pakistani  # the shooting
    iranian = {(d, q) for outlet, d, q, _ in rows if outlet == "Tehran Courier"}
    assert ("joint", "verbal_cooperation") in iranian  # the MoU
    assert sum(by_direction.values()) == len(rows)
    assert by_direction["joint"] > 0 and by_direction["IR->PK"] > 0
    assert sum(n for _, n in quads) == len(rows)


def test_every_bundled_feed_says_its_outlet_country() -> None:
    """Feeds carry the country the framing views sort outlets by (unknown: NULL)."""
    for path in (ROOT / "seeds" / "feeds.toml", ROOT / "seeds" / "snapshot" / "feeds.toml"):
        feeds = tomllib.loads(path.read_text("utf-8"))["feed"]
        assert feeds and all(f.get("country") for f in feeds), path
    snapshot = load_feed_sources(ROOT / "seeds" / "snapshot" / "feeds.toml")
    assert {s.outlet: s.country for s in snapshot} == {
        "The Frontier Ledger": "PK",
        "Tehran Courier": "IR",
        "The Quetta Observer": "PK",
        "Asia Gulf Wire": "INT",
    }
