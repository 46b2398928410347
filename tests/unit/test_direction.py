"""Directed signals and quad classes (extractors/direction.py) on written examples."""

from __future__ import annotations

import io
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dyadwatch.watch import Watch, load_watch
from extractors import direction as direction_module
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


# -- the fast paths give the plain ones' answers ----------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # case-blind patterns run lower-case on ASCII sentences: upper-case verbs count
        ("A Pakistani border post WAS SHELLED BY Iranian forces.", "IR->PK"),
        ("Pakistan's envoy WAS SUMMONED to the foreign ministry in Tehran.", "IR->PK"),
        ("Pakistan's army SAID ON MONDAY THAT Iranian drones struck Pakistani posts.", "IR->PK"),
        ("Pakistan SIGNED AN MOU WITH Iran.", "joint"),
        ("Pakistani troops CLASHED with Iranian border guards.", "joint"),
        ("Trade between THE TWO COUNTRIES rose, Iran said.", "joint"),
        # text before the sentence's first word: a dateline still is one
        ("  QUETTA: Iranian guards fired on Pakistani traders.", "IR->PK"),
        ("\tQUETTA – Iranian guards fired on Pakistani traders.", "IR->PK"),
        (" Iran summoned Pakistan's envoy.", "IR->PK"),
        # a dyad phrase in Urdu (no ASCII anchor), and after apostrophes
        ("دونوں ممالک نے سرحدی تجارت بڑھانے پر اتفاق کیا۔", "joint"),
        ("Iran's ' both sides agreed", "undirected"),
        ("Pakistan said Iran's ''the two countries would meet.", "PK->IR"),
        # hyphenated compounds, places, and dashes that join no names
        ("The Iran-Pakistan pipeline was discussed as Pakistan's envoy met Iranians.", "joint"),
        ("Pakistani officials in Zahedan – and Iranian guards – fired.", "PK->IR"),
        ("Pakistani’s minister said Iran's decision was wrong.", "PK->IR"),
    ],
)
def test_edge_sentences_keep_their_direction(sentence: str, expected: str) -> None:
    assert direction(sentence) == expected


# texts in mixed case for the lower-case twins of the case-blind patterns: ASCII, and with
# characters beyond ASCII that have no case
TWIN_TEXTS = [
    "Pakistan's army SAID on Monday That Iranian drones struck targets.",
    "the envoy Was Summoned; officials ACCORDING TO reports were Shot, Forced Out",
    "Iran is Interested in trade and Was Seized by the Guards, Being HELD",
    "attacks BY THEIR forces  by  the  Shelling by ",
    "Iran MET and Held Talks, they Signed an MoU WITH the Pakistani side, agreed To trade with",
    "KELVIN k K s S 'S said_ SAIDs xsaid 123said Noted",
    "Pakistan’s army SAID – “on Monday” — That it Will WARN\u00a0and Pledged £5 to sign",
    "پاکستان نے Said کہ ایران WAS Shelled BY the  دونوں ممالک Agreed\u200cTo sign WITH",
]


def test_lower_case_twins_apply_where_only_ascii_letters_have_a_case() -> None:
    assert all(direction_module._lower_twins_apply(text) for text in TWIN_TEXTS)
    for cased in ("é", "µ", "İ", "ı", "ſ", "\u212a", "Ω", "ß"):  # Kelvin sign: re.I's "k"
        assert not direction_module._lower_twins_apply(f"Iran said {cased}")
    for c in direction_module._UNCASED_BEYOND_ASCII:
        assert not c.isascii() and c.lower() == c == c.upper()
        for letter in "abcdefghijklmnopqrstuvwxyz":  # no case-blind letter matches it
            assert re.match(letter, c, re.I) is None
            assert re.match(f"[{letter}-{letter}]", c, re.I) is None


def test_lower_case_twins_find_what_the_case_blind_patterns_find() -> None:
    twins = [
        (direction_module._SPEECH, direction_module._SPEECH_LOWER),
        (direction_module._PASSIVE_AFTER_SUBJECT, direction_module._PASSIVE_AFTER_SUBJECT_LOWER),
        (direction_module._AGENT_BEFORE, direction_module._AGENT_BEFORE_LOWER),
        (direction_module._BY_AGENT, direction_module._BY_AGENT_LOWER),
        (direction_module._RECIPROCAL, direction_module._RECIPROCAL_LOWER),
        (direction_module._WITH_RECIPROCAL, direction_module._WITH_RECIPROCAL_LOWER),
        (direction_module._INTENT, direction_module._INTENT_LOWER),
    ]
    for pattern, twin in twins:
        # every letter the pattern spells (escapes and group names aside) is lower case
        assert not any(c.isupper() for c in re.sub(r"\\.|\(\?P<", "", pattern.pattern))
        for text in TWIN_TEXTS:
            low = text.lower()
            for i in range(len(text) + 1):
                for a, b in ((pattern.search(text, i), twin.search(low, i)),) + (
                    (pattern.match(text[i:]), twin.match(low[i:])),
                ):
                    assert (a and a.span()) == (b and b.span()), (pattern.pattern, text, i)


def test_an_agent_by_is_looked_for_from_the_last_by() -> None:
    rng = random.Random(8)
    pieces = ["a", "b", "y", "by", "By", "BY", " ", "  ", "\n", "the", "its", "an", "x", "'"]
    for _ in range(20_000):
        head = "".join(rng.choice(pieces) for _ in range(rng.randrange(10)))
        low = head.lower()
        at = low.rfind("by")
        by = direction_module._BY_AGENT_LOWER.search(low, at) if at >= 0 else None
        expected = direction_module._BY_AGENT.search(head)
        assert (by and by.span()) == (expected and expected.span()), head


WORD_TEXTS = [
    "",
    "'",
    " '' ",
    "in the ",
    "from their  the ",
    "Iran's ",
    "iran ' ",
    "x\u200c y\u200c ",
    "cafe\u0301 ",
    "foo_bar, ",
    "در ",
    "به\u200cاین ",
    "a" * 70 + " in ",
    "word " * 20,
    "12 by-the ",
]


def _texts_and_ends(pieces: list[str], most: int, seed: int) -> Iterator[tuple[str, int]]:
    """WORD_TEXTS and 5,000 random texts of up to ``most`` of ``pieces``, each with every
    position in it."""
    rng = random.Random(seed)
    texts = WORD_TEXTS + [
        "".join(rng.choice(pieces) for _ in range(rng.randrange(most))) for _ in range(5_000)
    ]
    for text in texts:
        for end in range(len(text) + 1):
            yield text, end


def test_the_word_before_a_name_is_the_last_of_its_window() -> None:
    def plain(head: str) -> str:  # the findall this replaced
        words = re.findall(r"[\w\u200c']+", head[-60:])
        while words and words[-1].lower() in direction_module._DETERMINERS:
            words.pop()
        return words[-1] if words else ""

    pieces = ["in", "the", "The", "a", " ", "'", "\u200c", "-", ",", "x", "é", "ب", "_", "1"]
    for text, end in _texts_and_ends(pieces, 40, seed=3):
        assert direction_module._word_before(text, end) == plain(text[:end]), (text, end)


def test_the_last_word_is_what_the_word_before_pattern_finds() -> None:
    pieces = ["a", "the", " ", "  ", "'", "’", "\u200c", "\u0301", "_", "1", "é", "ب", "-", "\n"]
    for text, end in _texts_and_ends(pieces, 12, seed=5):
        found = direction_module._WORD_BEFORE.search(text, 0, end)
        expected = (found.group(1), found.start()) if found else ("", -1)
        assert direction_module._last_word(text, end) == expected, (text, end)
