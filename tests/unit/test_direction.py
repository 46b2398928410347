"""Directed signals and quad classes (extractors/direction.py) on written examples."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pytest

from dyadwatch.watch import Watch, load_watch
from extractors.direction import (
    MATERIAL_CATEGORIES,
    QUAD_CLASSES,
    Party,
    category_quad_class,
    cue_direction,
    quad_class,
    sentence_direction,
)
from extractors.tagger import tag_article, tag_json_lines
from warehouse.db import CREATE_SCHEMA_MIGRATIONS, INSERT_MIGRATION, connect, migrations

ROOT = Path(__file__).resolve().parents[2]
SIDES = ("IR", "PK")
DYAD_PHRASES = ("the two countries", "both sides", "two neighbours", "دونوں ممالک")

# names the examples use, with their side (None: a third party)
NAMES = {
    "Iranian": "IR",
    "Iran's": "IR",
    "Iran": "IR",
    "Tehran": "IR",
    "Zahedan": "IR",
    "CHABAHAR": "IR",
    "ایرانی": "IR",
    "Pakistani": "PK",
    "Pakistan's": "PK",
    "Pakistan": "PK",
    "Islamabad": "PK",
    "Panjgur": "PK",
    "QUETTA": "PK",
    "Balochistan": "PK",
    "پاکستانی": "PK",
    "China": None,
    "Jaish al-Adl": None,  # a militant group is no side
}


def parties(sentence: str) -> list[Party]:
    """Every name of NAMES in the sentence (longest first, no overlaps), as a gazetteer
    would find them."""
    found: list[Party] = []
    taken: list[tuple[int, int]] = []
    for name in sorted(NAMES, key=len, reverse=True):
        at = sentence.find(name)
        while at >= 0:
            end = at + len(name)
            if not any(a < end and at < b for a, b in taken):
                taken.append((at, end))
                found.append(Party(at, end, NAMES[name]))
            at = sentence.find(name, end)
    return sorted(found, key=lambda p: p.start)


def direction(sentence: str) -> str:
    return sentence_direction(sentence, parties(sentence), SIDES, DYAD_PHRASES)


@pytest.mark.parametrize(
    "sentence",
    [
        "Iranian border guards fired on Pakistani traders near Panjgur.",
        "A Pakistani border post was shelled by Iranian forces on Tuesday.",
        "Tehran accused Islamabad of sheltering militants.",
        "Pakistan's army said Iranian drones struck targets inside Pakistani territory.",
        "Iran sent 20 trucks of relief goods to flood-hit Balochistan.",
        "Mortar shells fired from Iran landed in Pakistani villages.",
        "Iranian guards killed two Pakistani fuel smugglers.",
        "ایرانی سرحدی محافظوں نے پاکستانی علاقے پر فائرنگ کی۔",
        # a dateline is no subject; a place inside a place's phrase is no subject either
        "QUETTA: Mortar shells fired from the Iranian side landed in Balochistan's Panjgur "
        "district.",
        # the place a speaker sits in
        "The foreign ministry in Tehran said it had protested to Pakistan's ambassador.",
    ],
)
def test_iran_acts_on_pakistan(sentence: str) -> None:
    assert direction(sentence) == "IR->PK"


@pytest.mark.parametrize(
    "sentence",
    [
        "Pakistan summoned Iran's envoy to protest the shelling.",
        "Iran's ambassador was summoned to the Foreign Office in Islamabad.",
        "In Zahedan, Pakistan's consul general thanked Iranian officials for their help.",
        "Pakistan agreed to boost trade with Iran to $5 billion by 2028.",
        "Pakistan said Iran's decision to close the crossing was unfortunate.",
        "Iranian diesel was seized by Pakistani customs officials in Panjgur.",
    ],
)
def test_pakistan_acts_on_iran(sentence: str) -> None:
    assert direction(sentence) == "PK->IR"


@pytest.mark.parametrize(
    "sentence",
    [
        "The two countries signed five memoranda of understanding.",
        "Iran and Pakistan agreed to reopen the crossing.",
        "Iranian and Pakistani officials held talks on border security.",
        "Pakistan's foreign minister met his Iranian counterpart in Tehran.",
        "Pakistan signed a barter trade agreement with Iran on Monday.",
        "Bilateral trade between Iran and Pakistan rose to $2.5 billion.",
        "Pakistani troops clashed with Iranian border guards overnight.",
        "The agreement was signed by Iran and Pakistan in Islamabad.",
        "CHABAHAR – The navies of Iran and Pakistan held a joint exercise.",
        "Iran's embassy in Islamabad said the two countries have hosted millions of refugees.",
    ],
)
def test_joint(sentence: str) -> None:
    assert direction(sentence) == "joint"


@pytest.mark.parametrize(
    "sentence",
    [
        "China urged Iran and Pakistan to show restraint.",
        "Jaish al-Adl attacked Iranian border guards near the Pakistani border.",
        "Iranian forces clashed with militants near Zahedan.",
        "Pakistan closed its schools for the winter.",
        "Floods hit the region last week.",
    ],
)
def test_undirected(sentence: str) -> None:
    assert direction(sentence) == "undirected"


def test_a_third_party_reporting_hands_over_to_the_reported_clause() -> None:
    sentence = "China said Iranian forces shelled Pakistani posts near Panjgur."
    assert direction(sentence) == "IR->PK"


def test_a_signal_takes_the_direction_of_the_clause_holding_its_cue() -> None:
    sentence = (
        "Officials said Iranian guards fired on Pakistani traders, killing two, "
        "and Pakistan lodged a strong protest with Iran."
    )
    found = parties(sentence)
    assert cue_direction(sentence, "fired", found, SIDES, DYAD_PHRASES) == "IR->PK"
    assert cue_direction(sentence, "lodged a strong protest", found, SIDES) == "PK->IR"
    # a clause naming no side: the sentence's direction
    sentence = "Iran and Pakistan held talks, and they agreed to reopen the crossing."
    assert cue_direction(sentence, "reopen", parties(sentence), SIDES) == "joint"


def test_sides_come_from_the_dyad_not_from_fixed_codes() -> None:
    sentence = "Pakistan summoned Iran's envoy."
    found = [Party(p.start, p.end, {"IR": "XX", "PK": "YY"}[p.side]) for p in parties(sentence)]
    assert sentence_direction(sentence, found, ("XX", "YY")) == "YY->XX"


# -- quad classes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "cue", "tone", "evidence", "expected"),
    [
        # verbal cooperation: talks, MoUs, visits, intent to cooperate, neutral statements
        ("diplomacy", "talks", 3.0, "Iran and Pakistan held talks.", "verbal_cooperation"),
        ("diplomacy", "MoU", 5.0, "The two sides signed an MoU on trade.", "verbal_cooperation"),
        (
            "trade_economy",
            "trade",
            6.0,
            "Pakistan agreed to boost trade with Iran.",
            "verbal_cooperation",
        ),
        ("afghanistan", "Kabul", 0.0, "Both discussed Kabul.", "verbal_cooperation"),
        # material cooperation: aid delivered, trade done, crossings reopened, exercises
        (
            "humanitarian",
            "relief goods",
            7.0,
            "Iran sent relief goods to Balochistan.",
            "material_cooperation",
        ),
        ("trade_economy", "Bilateral trade", 3.0, "Bilateral trade rose.", "material_cooperation"),
        (
            "border_security",
            "reopened the Taftan border",
            3.0,
            "Pakistan reopened the Taftan border crossing.",
            "material_cooperation",
        ),
        ("diplomacy", "relief", 4.0, "Tehran flew relief to Quetta.", "material_cooperation"),
        # verbal conflict: summoning, protests, accusations, threats
        ("diplomacy", "summoned", -5.0, "Pakistan summoned Iran's envoy.", "verbal_conflict"),
        (
            "armed_clash",
            "missile strike",
            -10.0,
            "Pakistan condemned the Iranian missile strike.",
            "verbal_conflict",
        ),
        (
            "border_security",
            "close the border",
            -6.0,
            "Iran warned it would close the border.",
            "verbal_conflict",
        ),
        # material conflict: clashes, closures, sanctions, expulsions
        ("armed_clash", "exchanged fire", -9.0, "Troops exchanged fire.", "material_conflict"),
        (
            "border_security",
            "closed the border",
            -6.0,
            "Iran closed the border after the attack.",
            "material_conflict",
        ),
        (
            "great_power_sanctions",
            "sanctions",
            -4.0,
            "Washington imposed sanctions.",
            "material_conflict",
        ),
        (
            "diplomacy",
            "expelled",
            -6.0,
            "Pakistan expelled two Iranian diplomats.",
            "material_conflict",
        ),
    ],
)
def test_quad_class(category: str, cue: str, tone: float, evidence: str, expected: str) -> None:
    assert quad_class(category, cue, tone, evidence) == expected


def test_the_sql_macro_derives_the_same_quad_class_as_python(tmp_path: Path) -> None:
    categories = sorted(MATERIAL_CATEGORIES | {"diplomacy", "multilateral", "afghanistan", "new"})
    cases = [(c, t) for c in categories for t in (-4.5, 0.0, 2.0)]
    con = connect(tmp_path / "w.duckdb")
    try:
        got = [
            con.execute("SELECT signal_quad_class(?, ?)", [c, t]).fetchone()[0] for c, t in cases
        ]
    finally:
        con.close()
    assert got == [category_quad_class(c, t) for c, t in cases]
    assert set(got) == set(QUAD_CLASSES)


# -- through the tagger -----------------------------------------------------------------


@pytest.fixture(scope="module")
def watch() -> Watch:
    # the rules alone: the learned layer decides which categories are topics, not directions
    return load_watch(ROOT / "seeds" / "watch.toml", with_model=False)


def test_the_tagger_directs_its_signals(watch: Watch) -> None:
    text = (
        "Pakistan summoned Iran's ambassador on Monday. "
        "Iranian border guards fired on Pakistani traders near the Taftan crossing, killing two. "
        "The two countries later signed a memorandum of understanding on border trade."
    )
    result = tag_article("a1", "Iran and Pakistan", text, watch)
    by_sentence = {
        s.evidence.split()[0]: s for s in result.signals if s.category != "trade_economy"
    }
    assert by_sentence["Pakistan"].direction == "PK->IR"
    assert by_sentence["Pakistan"].quad_class == "verbal_conflict"
    assert by_sentence["Iranian"].direction == "IR->PK"
    assert by_sentence["Iranian"].quad_class.endswith("_conflict")
    assert by_sentence["The"].direction == "joint"
    assert by_sentence["The"].quad_class.endswith("_cooperation")
    assert all(s.quad_class in QUAD_CLASSES for s in result.signals)


def test_dyadwatch_tag_prints_direction_and_quad_class(watch: Watch) -> None:
    item = {"id": "x", "text": "Pakistan summoned Iran's ambassador over the border clashes."}
    out = io.StringIO()
    assert tag_json_lines([json.dumps(item)], out, watch) == 0
    signals = json.loads(out.getvalue())["signals"]
    assert signals and {s["direction"] for s in signals} == {"PK->IR"}
    assert all(s["quad_class"] in QUAD_CLASSES for s in signals)


# -- the warehouse ------------------------------------------------------------------------


def test_an_older_warehouse_gets_undirected_signals_with_derived_quad_classes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(CREATE_SCHEMA_MIGRATIONS)
        for migration in migrations():
            if migration.version >= 7:
                break
            con.execute(migration.sql)
            con.execute(INSERT_MIGRATION, [migration.version, migration.name])
        con.execute(
            "INSERT INTO signals (signal_id, article_id, category, score, tone_score, evidence, "
            'start, "end", cue, tagger_version, batch_id) VALUES '
            "('s1', 'a1', 'armed_clash', 0.8, -9, 'e', 0, 1, 'clash', 't1', 'b1'), "
            "('s2', 'a1', 'diplomacy', 0.6, 3, 'e', 0, 1, 'talks', 't1', 'b1'), "
            "('s3', 'a1', 'border_security', 0.6, 0, 'e', 0, 1, 'border', 't1', 'b1')"
        )
    con = connect(path)
    try:
        rows = con.execute(
            "SELECT signal_id, direction, quad_class FROM signals ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        ("s1", "undirected", "material_conflict"),
        ("s2", "undirected", "verbal_cooperation"),
        ("s3", "undirected", "verbal_cooperation"),
    ]
