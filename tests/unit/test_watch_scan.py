"""``Lexicon.scan`` cuts the text at single spaces and looks each run up whole: offsets stay
right across double spaces, tabs, newlines and runs of several words, and terms of several
words still see the word after a space (English: "Pakistan Army"; Urdu/Persian: with a
space, a ZWNJ or no gap at all)."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import pytest

from dyadwatch.watch import Lexicon, Watch, is_arabic_script, load_watch
from tests.conftest import REPO


@pytest.fixture(scope="module")
def watch() -> Watch:
    return load_watch(Path(REPO) / "seeds" / "watch.toml")


def found(watch: Watch, text: str) -> list[tuple[str, str, str]]:
    """(words, role, what): an entity's id, a cue's term, a counter term's side."""
    what = {"entity": lambda d: d.entity_id, "cue": lambda d: d[1], "counter": lambda d: d}
    return [
        (text[h.start : h.end], h.role, what[h.role](h.data))
        for h in watch.lexicon.scan(text)
        if h.role in what
    ]


def test_offsets_across_odd_spacing_and_words_of_several_runs(watch: Watch) -> None:
    text = (
        "Officials  said\tPakistan Army units and پاکستان آرمی and پاکستان\u200cآرمی and "
        "پاکستانآرمی moved;  Iran's foreign ministry said.\n\nدہشت گردوں کے خلاف"
    )
    assert found(watch, text) == [
        ("Pakistan", "entity", "pakistan"),
        ("Pakistan Army", "entity", "pakistan_army"),
        ("پاکستان", "entity", "pakistan"),
        ("پاکستان آرمی", "entity", "pakistan_army"),
        ("پاکستان\u200cآرمی", "entity", "pakistan_army"),
        ("پاکستانآرمی", "entity", "pakistan_army"),
        ("Iran", "entity", "iran"),
        ("Iran's foreign ministry", "entity", "iran_foreign_ministry"),
        ("foreign ministry", "cue", "foreign ministry"),
        ("دہشت گردوں", "cue", "دہشت گرد"),
        ("کے خلاف", "counter", "before"),
        ("کے خلاف", "counter", "after"),
    ]


def test_the_same_text_scans_the_same_once_its_runs_are_remembered(watch: Watch) -> None:
    text = "Pakistan Army  and Iran-Pakistan talks; (Pakistan) Army, پاکستان  آرمی"
    first = watch.lexicon.scan(text)
    assert watch.lexicon.scan(text) == first
    assert [text[h.start : h.end] for h in first if h.role == "entity"] == [
        "Pakistan",
        "Pakistan Army",
        "Iran",
        "Pakistan",
        "Pakistan",
        "پاکستان",
        "پاکستان  آرمی",
    ]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (
            "en",
            "Interior Minister Mohsin Naqvi met Iranian Interior Minister Eskandar Momeni in "
            "Tehran; the DG ISPR said the Frontier Corps and Levies Force were on alert, while "
            "NEPRA and ISGS officials briefed Iranian Oil Minister Mohsen Paknejad.",
            {
                ("mohsin_naqvi", "PK"),
                ("iran_interior_minister", "IR"),
                ("eskandar_momeni", "IR"),
                ("pakistan_dg_ispr", "PK"),
                ("balochistan_levies", "PK"),
                ("nepra", "PK"),
                ("iran_oil_minister", "IR"),
                ("mohsen_paknejad", "IR"),
            },
        ),
        (
            "ur",
            "وزیر داخلہ محسن نقوی نے ایرانی وزیر داخلہ اسکندر مومنی سے ملاقات کی، جبکہ "
            "وزیراعلیٰ بلوچستان سرفراز بگٹی نے کہا کہ سی ٹی ڈی اور ایف آئی اے الرٹ ہیں۔",
            {
                ("pakistan_interior_minister", "PK"),
                ("mohsin_naqvi", "PK"),
                ("iran_interior_minister", "IR"),
                ("eskandar_momeni", "IR"),
                ("balochistan_chief_minister", "PK"),
                ("sarfraz_bugti", "PK"),
                ("ctd", "PK"),
                ("fia", "PK"),
            },
        ),
        (
            "fa",
            "عزیز نصیرزاده وزیر دفاع و فرمانده کل سپاه محمد پاکپور با سفیر پاکستان در تهران "
            "دیدار کردند؛ استاندار سیستان و بلوچستان منصور بیجار و فراجا نیز حضور داشتند.",
            {
                ("aziz_nasirzadeh", "IR"),
                ("irgc_commander", "IR"),
                ("mohammad_pakpour", "IR"),
                ("pakistan_ambassador_to_iran", "PK"),
                ("sistan_baluchestan_governor", "IR"),
                ("mansour_bijar", "IR"),
                ("faraja", "IR"),
            },
        ),
    ],
)
def test_officials_and_agencies_are_mentions_of_their_country(
    watch: Watch, language: str, text: str, expected: set[tuple[str, str]]
) -> None:
    from extractors.tagger import tag_article

    result = tag_article("gazetteer-officials", None, text, watch, language)
    found_mentions = {(m.entity_id, m.country) for m in result.mentions}
    missing = expected - found_mentions
    assert not missing, f"not found: {sorted(missing)}; found: {sorted(found_mentions)}"


def test_a_possessive_alias_matches_with_either_apostrophe() -> None:
    # the class written for one apostrophe used to be rewritten for the other, which made
    # every alias with "'s" a broken pattern that never matched
    lexicon = Lexicon()
    lexicon.add_term("Iran's government", "entity", "iran_government")
    lexicon.add_term("Pakistan’s army", "entity", "pakistan_army")
    for text, data in [
        ("Iran's government said", "iran_government"),
        ("Iran’s government said", "iran_government"),
        ("Pakistan's army said", "pakistan_army"),
        ("Pakistan’s  army said", "pakistan_army"),
    ]:
        hits = lexicon.scan(text)
        assert [(h.start, h.data) for h in hits] == [(0, data)], text
    assert lexicon.scan("Iran said its government") == []


def test_every_gazetteer_alias_and_cue_term_finds_itself(watch: Watch) -> None:
    # a term the matcher cannot find is silently dead: an apostrophe ("Iran's government"),
    # punctuation between words ("Pishin, Iran") and a Persian compound joined by a ZWNJ
    # ("سه‌جانبه") each made some so
    data = tomllib.loads((REPO / "seeds" / "watch.toml").read_text(encoding="utf-8"))
    dead = []
    for entity in data["gazetteer"]:
        for alias in [entity["name"], *entity.get("aliases", [])]:
            hits = watch.lexicon.scan(f"On Monday {alias} said so.")
            if not any(getattr(h.data, "entity_id", None) == entity["entity_id"] for h in hits):
                dead.append((entity["entity_id"], alias))
    lists = [
        (f"cue {category}", "cue", [*spec.get("terms", []), *spec.get("weak", [])])
        for category, spec in data["categories"].items()
    ]
    lists += [
        ("tone", "tone", list(data["tone"]["words"])),
        ("relation", "relation", data["relevance"]["relation_cues"]),
        ("relation", "relation", data["relevance"]["dyad_references"]),
        ("negator", "negator", data["negation"]["before"] + data["negation"]["after"]),
        ("counter", "counter", sum(data["tone"]["counter"].values(), [])),
    ]
    n_terms = 0
    for name, role, terms in lists:
        for term in terms:
            if "\\" in term:
                continue  # a pattern (named in a weak list, or a cue tone's key), not a term
            n_terms += 1
            word = term.rstrip("*").strip()
            if term.endswith("*") and not is_arabic_script(word):
                word += "s"
            hits = watch.lexicon.scan(f"On Monday {word} was reported.")
            wanted = name.removeprefix("cue ") if role == "cue" else None
            if not any(h.role == role and (wanted is None or h.data[0] == wanted) for h in hits):
                dead.append((name, term))
    assert n_terms > 2000
    assert dead == []


def _lexicon(deferring: bool) -> Lexicon:
    """A lexicon with terms of each kind that touches the look-back from a second word:
    first words that stand for nothing alone ("to", "two", "state"), a first word that is a
    term itself ("pakistan"), a common second word ("on the sidelines"), a possessive, a
    wildcard second word, a case-sensitive term, a hyphen and an apostrophe."""
    lexicon = Lexicon()
    for term in ("to stop", "two sides", "two states", "state visit", "state visits"):
        lexicon.add_term(term, "cue", term)
    for term in ("on the sidelines", "people's republic", "re-export*", "is-k", "can't"):
        lexicon.add_term(term, "cue", term)
    lexicon.add_term("State Department", "entity", "us_state_department", case_sensitive=True)
    lexicon.add_term("pakistan", "entity", "pakistan")
    lexicon.add_term("pakistan visit", "cue", "pakistan visit")
    if not deferring:
        lexicon._back = {}  # built: nothing is deferred
    return lexicon


# not "two\u200csides" or "two.sides" (no gap of the term), not six spaces apart (the scan
# looks at most five characters ahead for the next word), not "state department" (cased)
EXPECTED = [
    "to stop",
    "two  sides",
    "two -- states",
    "state visit",
    "State Department",
    "Pakistan",
    "Pakistan visit",
    "On the sidelines",
    "people's republic",
    "re-exported",
    "IS-K",
    "can't",
    "To\nstop",
]


def test_terms_found_from_their_second_word_are_those_found_from_their_first() -> None:
    deferring, plain = _lexicon(True), _lexicon(False)
    text = (
        "Both agreed to stop. The two  sides met; two -- states, two\u200csides, two.sides "
        "and two      sides (too far apart). A state visit, the State Department and the state "
        "department; a Pakistan visit. On the sidelines, people's republic, re-exported, "
        "IS-K, can't. To\nstop. two’s sides. xto stop, two_sides, 2two sides."
    )
    hits = deferring.scan(text)
    assert {"to", "two", "state", "is"} <= deferring._deferred  # they stand for nothing alone
    assert not {"on", "pakistan", "people", "re", "can"} & deferring._deferred
    assert hits == plain.scan(text)
    assert [text[h.start : h.end] for h in hits if h.role in ("cue", "entity")] == EXPECTED


def test_the_look_back_agrees_with_the_look_ahead_on_random_text() -> None:
    deferring, plain = _lexicon(True), _lexicon(False)
    rng = random.Random(7)
    pieces = "to stop two sides states state visit visits State Department pakistan on the"
    pieces = [*pieces.split(), "sidelines", "x", "’s", "'s"]
    gaps = [" ", "  ", "   ", "     ", "      ", "-", " - ", ".", ", ", "\n", "\u200c", "_", ""]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(gaps) for _ in range(rng.randint(1, 9)))
        assert deferring.scan(text) == plain.scan(text), text
