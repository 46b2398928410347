"""The signal tagger on written example texts."""

from __future__ import annotations

import random
import re
import sys
import tomllib
from pathlib import Path

import pytest

from dyadwatch.records import TagResult
from dyadwatch.watch import Watch, load_watch
from extractors import tagger
from extractors.tagger import (
    _ABBREVIATIONS,
    MAX_CATEGORIES,
    find_amounts,
    find_quotes,
    split_sentences,
    tag_article,
)

ROOT = Path(__file__).resolve().parents[2]
WATCH_FILE = ROOT / "seeds" / "watch.toml"


@pytest.fixture(scope="module")
def watch() -> Watch:
    """The rules alone: most tests here pin what the rules do with a sentence or two; the
    learned layer over them (tests/unit/test_learned.py) is trained on whole news items."""
    return load_watch(WATCH_FILE, with_model=False)


@pytest.fixture(scope="module")
def full_watch() -> Watch:
    """The shipped watch: the rules and the learned layer."""
    return load_watch(WATCH_FILE)


def tag(watch: Watch, text: str, title: str | None = None) -> TagResult:
    result = tag_article("a1", title, text, watch, "en")
    check_invariants(text, result, watch)
    return result


def check_invariants(text: str, result: TagResult, watch: Watch) -> None:
    assert 0.0 <= result.relevance <= 1.0
    assert -10.0 <= result.tone_score <= 10.0
    assert result.tone in {"cooperation", "conflict", "mixed", "neutral"}
    assert result.tagger_version == watch.version
    per_category: dict[str, int] = {}
    for s in result.signals:
        assert text[s.start : s.end] == s.evidence
        assert s.cue and s.cue in s.evidence
        assert 0.0 <= s.score <= 1.0 and -10.0 <= s.tone_score <= 10.0
        assert s.tagger_version == watch.version
        per_category[s.category] = per_category.get(s.category, 0) + 1
    assert all(n <= watch.relevance.max_signals_per_category for n in per_category.values())
    for m in result.mentions:
        assert text[m.start : m.end] == m.surface
    if not result.relevant:
        assert result.signals == []


def signals_in(result: TagResult, category: str, containing: str = "") -> list:
    return [s for s in result.signals if s.category == category and containing in s.evidence]


TRADE_STORY = (
    "ISLAMABAD: Pakistan and Iran on Tuesday agreed to raise bilateral trade to $10 billion "
    "a year and to open two more border markets along their shared frontier.\n\n"
    "The agreement was signed by Pakistan's commerce minister and Iran's minister of industry "
    "at a meeting of the joint economic commission in Islamabad.\n\n"
    "Officials said barter trade through Taftan and Gabd would be expanded, and that "
    "customs procedures would be simplified for traders on both sides."
)

CLASH_STORY = (
    "QUETTA: Iranian border guards and Pakistani troops exchanged fire near Mashkel on "
    "Sunday night, killing two Pakistani soldiers, officials said.\n\n"
    "The Foreign Office in Islamabad summoned Iran's ambassador to protest the violation of "
    "Pakistan's territorial integrity. Residents said mortar shells landed near the village "
    "after the clash, and that the border crossing at Taftan was closed on Monday."
)


def test_cooperative_trade_story(watch: Watch) -> None:
    r = tag(watch, TRADE_STORY, "Pakistan, Iran agree to boost bilateral trade")
    assert r.relevant and r.relevance >= 0.8
    assert "trade_economy" in r.categories
    assert r.tone == "cooperation" and r.tone_score > 1.5
    cues = {s.cue.lower() for s in signals_in(r, "trade_economy")}
    assert cues & {"bilateral trade", "border markets", "barter trade", "joint economic commission"}
    ids = {m.entity_id for m in r.mentions}
    assert {"pakistan", "iran", "islamabad", "taftan", "gabd"} <= ids


def test_border_clash_story(watch: Watch) -> None:
    r = tag(watch, CLASH_STORY, "Iranian, Pakistani forces exchange fire near Mashkel")
    assert r.relevant
    assert "armed_clash" in r.categories
    assert r.tone == "conflict" and r.tone_score < -1.5
    clash = signals_in(r, "armed_clash")[0]
    assert clash.evidence == CLASH_STORY[clash.start : clash.end]
    assert clash.cue.lower() in {"exchanged fire", "mortar", "clash", "violation of pakistan"}
    assert clash.tone_score <= -8
    summoned = signals_in(r, "diplomacy", "summoned")
    assert summoned and summoned[0].tone_score <= -4
    assert signals_in(r, "border_security", "closed")[0].tone_score <= -3
    mentions = {(m.entity_id, m.surface) for m in r.mentions}
    assert ("iran_border_guards", "Iranian border guards") in mentions
    assert ("pakistan_army", "Pakistani troops") in mentions


def test_sco_member_list_is_not_relevant(watch: Watch) -> None:
    text = (
        "ASTANA: Leaders of the Shanghai Cooperation Organization opened their annual summit "
        "on Thursday with calls for closer economic cooperation.\n\n"
        "Members of the SCO include China, Russia, India, Pakistan, Iran, Kazakhstan, "
        "Kyrgyzstan, Tajikistan, Uzbekistan and Belarus.\n\n"
        "The host country said the summit would adopt a declaration on trade and security."
    )
    r = tag(watch, text, "SCO summit opens in Astana")
    assert not r.relevant and r.relevance < 0.5
    assert r.signals == []
    assert {"pakistan", "iran"} <= {m.entity_id for m in r.mentions}  # mentions are kept


def test_pakistan_only_story_is_not_relevant(watch: Watch) -> None:
    text = (
        "KARACHI: Pakistan beat New Zealand by six wickets on Sunday to win the one-day series "
        "2-1. Babar Azam scored an unbeaten century at the National Stadium.\n\n"
        "Separately, the IMF said Pakistan had met most targets of its loan programme, but "
        "urged Islamabad to widen the tax net and cut energy subsidies. Fuel prices, which "
        "track global oil markets, were raised by Rs5 a litre, a move the opposition "
        "condemned. Officials said imports from China and the Gulf had also risen."
    )
    r = tag(watch, text, "Pakistan clinch series; IMF urges tax reform")
    assert not r.relevant and r.relevance <= 0.3
    assert r.signals == [] and r.tone == "neutral"


def test_passing_mention_of_the_other_side_is_not_relevant(watch: Watch) -> None:
    sentences = [
        "Pakistan's cabinet approved the federal budget on Friday.",
        "The finance minister said the deficit would fall to 5 percent of GDP.",
        "Spending on schools and hospitals will rise by a tenth.",
        "Petrol prices rose after tensions between Iran and Israel lifted oil markets.",
        "Traders in Karachi said the stock market welcomed the plan.",
        "The opposition walked out of the National Assembly in protest.",
        "A vote is expected next week.",
        "Analysts said the budget relied on optimistic revenue targets.",
    ]
    r = tag(watch, " ".join(sentences), "Cabinet approves budget")
    assert not r.relevant


@pytest.mark.parametrize(
    ("negated", "positive", "category"),
    [
        (
            "Pakistan did not close the border with Iran after the attack.",
            "Pakistan closed the border with Iran after the attack.",
            "border_security",
        ),
        (
            "Islamabad denied any role in the bombing near Saravan.",
            "Islamabad condemned the bombing near Saravan.",
            "militancy",
        ),
        (
            "No clashes were reported along the Iran-Pakistan border.",
            "Clashes were reported along the Iran-Pakistan border.",
            "armed_clash",
        ),
        (
            "Pakistan ruled out military cooperation with Iran against the group.",
            "Pakistan offered military cooperation with Iran against the group.",
            "military_cooperation",
        ),
    ],
)
def test_negated_cues_give_no_signal(
    watch: Watch, negated: str, positive: str, category: str
) -> None:
    lead = "Iran and Pakistan held border talks in Quetta on Monday. "
    tail = " Both countries agreed to meet again next month."
    neg = tag(watch, lead + negated + tail)
    pos = tag(watch, lead + positive + tail)
    assert neg.relevant and pos.relevant
    assert signals_in(pos, category, positive), "the positive sentence must fire"
    assert not signals_in(neg, category, negated)


def test_negation_does_not_reach_across_clauses(watch: Watch) -> None:
    text = (
        "Iran and Pakistan held border talks in Quetta on Monday. "
        "Officials did not give details, but militants attacked a border post near Panjgur."
    )
    r = tag(watch, text)
    assert signals_in(r, "militancy", "militants attacked")


def test_urdu_item(watch: Watch) -> None:
    text = (
        "پاکستان اور ایران نے سرحدی تجارت بڑھانے اور تفتان کے قریب نئی سرحدی منڈی کھولنے "
        "پر اتفاق کیا۔ دونوں ممالک نے سرحدی سیکیورٹی پر تعاون بڑھانے کا فیصلہ بھی کیا۔"
    )
    r = tag(watch, text, "پاکستان اور ایران کے درمیان سرحدی تجارت میں اضافہ")
    assert r.relevant
    assert {"trade_economy", "border_security"} <= set(r.categories)
    surfaces = {m.surface for m in r.mentions}
    assert {"پاکستان", "ایران", "تفتان"} <= surfaces
    assert r.tone == "cooperation"


def test_persian_item(watch: Watch) -> None:
    text = (
        "ایران و پاکستان توافق کردند بازارچه‌های مرزی جدیدی در مرز دو کشور ایجاد کنند. "
        "وزیر امور خارجه ایران با همتای پاکستانی خود در اسلام‌آباد دیدار کرد."
    )
    r = tag(watch, text, "گسترش تجارت مرزی ایران و پاکستان")
    assert r.relevant
    assert {"trade_economy", "diplomacy"} <= set(r.categories)
    ids = {m.entity_id for m in r.mentions}
    assert {"iran", "pakistan", "islamabad"} <= ids
    assert any(m.surface == "اسلام‌آباد" for m in r.mentions)


def test_persian_negated_verb_after_the_cue(watch: Watch) -> None:
    lead = "ایران و پاکستان درباره مرز گفتگو کردند. "
    neg = tag(watch, lead + "در مرز ایران و پاکستان هیچ درگیری رخ نداد.")
    pos = tag(watch, lead + "در مرز ایران و پاکستان درگیری رخ داد.")
    assert signals_in(pos, "armed_clash")
    assert not signals_in(neg, "armed_clash")


CATEGORY_SENTENCES = {
    "border_security": "Iranian and Pakistani officials agreed to speed up border fencing.",
    "militancy": "Jaish al-Adl militants attacked a post near Saravan, Iran said, blaming "
    "groups based in Pakistan.",
    "armed_clash": "Iranian and Pakistani border forces exchanged fire near Mashkel.",
    "military_cooperation": "The navies of Iran and Pakistan held a joint naval exercise "
    "off Karachi.",
    "trade_economy": "Pakistan and Iran set a bilateral trade target of $10 billion.",
    "energy": "Iran urged Pakistan to complete its section of the gas pipeline.",
    "diplomacy": "Pakistan's foreign minister met his Iranian counterpart in Tehran.",
    "afghanistan": "Iran and Pakistan discussed the situation in Afghanistan with the "
    "Taliban government.",
    "refugees_migration": "Iran and Pakistan have deported thousands of Afghan refugees this year.",
    "connectivity": "Iran and Pakistan agreed to restart the Istanbul-Tehran-Islamabad "
    "freight train.",
    "multilateral": "Iran and Pakistan pledged to coordinate at the Shanghai Cooperation "
    "Organization summit.",
    "great_power_sanctions": "U.S. sanctions on Iran have stalled Pakistan's plans to buy "
    "Iranian gas.",
    "sectarian_religious": "Pakistani Shia pilgrims crossed into Iran at Taftan for Arbaeen.",
    "humanitarian": "Iran sent relief goods to Pakistan after the floods.",
}


@pytest.mark.parametrize("category", sorted(CATEGORY_SENTENCES))
def test_every_category_has_a_positive_sentence(watch: Watch, category: str) -> None:
    sentence = CATEGORY_SENTENCES[category]
    text = "Iran and Pakistan held talks in Islamabad on Monday. " + sentence
    r = tag(watch, text)
    assert r.relevant
    found = signals_in(r, category, sentence)
    assert found, f"{category}: no signal in {sentence!r}"
    assert found[0].score >= 0.7  # the sentence names both sides


def test_all_categories_are_covered_by_the_examples(watch: Watch) -> None:
    assert set(CATEGORY_SENTENCES) == set(watch.categories)


# A paraphrase, in our own words, of the project's seed article (Newsweek, Nov 2021).
SEED_DIGEST = """\
Iran and Pakistan have moved closer since the Taliban takeover of Afghanistan in August, \
and both governments now speak of tighter ties in the name of regional stability.

An official at the Iranian embassy in Islamabad said Tehran and Islamabad share goals: \
peace in Afghanistan first, then deeper bilateral economic and political cooperation. \
The two countries' foreign ministers have met repeatedly in regional formats on Afghanistan.

The long border between Iran's Sistan-Baluchestan and Pakistan's Balochistan has seen \
militant attacks on Iranian border guards, and Tehran has pressed Islamabad on border \
security. Pakistan has fenced much of the frontier, and the two sides opened new border \
crossings at Rimdan-Gabd and Pishin-Mand.

Bilateral trade remains far below capacity, the diplomat said, and border markets are \
meant to give local people a legal living instead of smuggling.

Military cooperation has grown as well: Pakistan's army chief visited Tehran, and the chief \
of staff of Iran's armed forces visited Islamabad, where they discussed intelligence sharing.

In September the Shanghai Cooperation Organization approved Iran's accession as a full \
member, joining Pakistan in the bloc.

U.S. sanctions on Iran still hold back trade, and the Iran-Pakistan gas pipeline remains \
stalled on the Pakistani side.
"""


def test_seed_digest_is_relevant_with_its_main_categories(watch: Watch) -> None:
    r = tag(
        watch,
        SEED_DIGEST,
        "At Odds with U.S., Islamic Republics Iran and Pakistan Forge New Ties",
    )
    assert r.relevant and r.relevance >= 0.9
    assert {
        "border_security",
        "trade_economy",
        "military_cooperation",
        "diplomacy",
        "multilateral",
        "afghanistan",
    } <= set(r.categories)
    assert {"great_power_sanctions", "energy"} <= set(r.categories)
    places = {m.entity_id for m in r.mentions if m.kind == "place"}
    assert {"rimdan_gabd_crossing", "pishin_mand_crossing", "sistan_baluchestan"} <= places


def test_bundled_seed_article_is_relevant(full_watch: Watch) -> None:
    seeds = sorted((ROOT / "seeds" / "seed").glob("*.toml"))
    if not seeds:
        pytest.skip("no seed article bundled")
    for manifest_path in seeds:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
        text = (manifest_path.parent / manifest["text_file"]).read_text(encoding="utf-8")
        r = tag(full_watch, text, manifest["title"])
        assert r.relevant, manifest_path.name
        assert {"border_security", "trade_economy", "diplomacy", "afghanistan"} <= set(r.categories)


def test_signals_are_capped_per_category(watch: Watch) -> None:
    text = " ".join(
        f"Pakistan and Iran discussed bilateral trade in round {i} of talks." for i in range(9)
    )
    r = tag(watch, text)
    assert len(signals_in(r, "trade_economy")) == watch.relevance.max_signals_per_category


def test_tone_mixed_when_strong_cooperation_and_conflict_balance(watch: Watch) -> None:
    text = (
        "Iran and Pakistan signed a free trade agreement on Monday and pledged to expand "
        "bilateral trade. A day later Iranian and Pakistani forces exchanged fire on the border."
    )
    r = tag(watch, text)
    tones = [s.tone_score for s in r.signals]
    assert max(tones) >= 4 and min(tones) <= -4
    assert r.tone in {"mixed", "cooperation", "conflict"}
    if -1.5 <= r.tone_score <= 1.5:
        assert r.tone == "mixed"


def test_tagging_is_deterministic(watch: Watch) -> None:
    assert tag(watch, CLASH_STORY) == tag(watch, CLASH_STORY)


def test_empty_text(watch: Watch) -> None:
    r = tag(watch, "", None)
    assert not r.relevant and r.relevance == 0 and r.mentions == []


def test_split_sentences_keeps_offsets() -> None:
    text = (
        "Gen. Asim Munir met Mr. Araghchi in Tehran. The U.S. envoy was absent!\n"
        "Talks resume on Jan. 5 in Islamabad؟ پاکستان اور ایران۔ ایران و پاکستان. Done"
    )
    spans = split_sentences(text)
    got = [text[a:b] for a, b in spans]
    assert got == [
        "Gen. Asim Munir met Mr. Araghchi in Tehran.",
        "The U.S. envoy was absent!",
        "Talks resume on Jan. 5 in Islamabad؟",
        "پاکستان اور ایران۔",
        "ایران و پاکستان.",
        "Done",
    ]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("", []),
        ("  \n\t ", []),
        (".", ["."]),
        (" . ", ["."]),
        ("?!", ["?!"]),
        ("  Hello world.  ", ["Hello world."]),
        ("tail.  ", ["tail."]),
        ("\n\nOne.\n\nTwo\n", ["One.", "Two"]),
        ("MR. X went. GEN. Y", ["MR. X went.", "GEN. Y"]),
        ("approx. three", ["approx. three"]),  # the next word in lower case
        ("u.s.a. Forces", ["u.s.a. Forces"]),
        ("X.Y. Next", ["X.Y.", "Next"]),
        ("foo.mr. Next", ["foo.mr.", "Next"]),  # "mr" not standing alone
        ("a. B", ["a. B"]),  # an initial
        ("5. Next", ["5.", "Next"]),  # a digit is no initial
        ("². Next", ["².", "Next"]),
        # '_' is no letter: no word before the stop ("word_", "_"), nor after it
        ("a_. B", ["a_.", "B"]),
        ("word_. Next", ["word_.", "Next"]),
        ("x._ Y", ["x._ Y"]),
        ("_mr. Next", ["_mr. Next"]),  # the word before a stop may follow a '_'
        ("x_Gen. Next", ["x_Gen. Next"]),
        ("_a. B", ["_a. B"]),
        # what str.lower makes of a letter decides: 'ſ' lowers to itself, KELVIN SIGN to
        # 'k', dotless 'ı' is a letter, 'İ' lowers to two characters
        ("ſt. Next", ["ſt.", "Next"]),
        ("\u212a. Next", ["\u212a. Next"]),
        ("ı. Next", ["ı. Next"]),
        ("İ. Next", ["İ.", "Next"]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("(See above.) Then", ["(See above.)", "Then"]),
        ("It ended.) next", ["It ended.) next"]),
        ("Done.\u201d \u201cNext", ["Done.\u201d", "\u201cNext"]),
        ("Wait... What?! Yes.", ["Wait...", "What?!", "Yes."]),
        ("Is it؟ بلی۔ خب", ["Is it؟", "بلی۔", "خب"]),
        ("line one\nline two  \n  line three", ["line one", "line two", "line three"]),
        ("Mr.\nSmith", ["Mr.", "Smith"]),  # a line break ends a sentence after all
        ("Mr. \n Smith", ["Mr.", "Smith"]),
        ("Word.\u00a0Next", ["Word.", "Next"]),
        ("end.\u2028Next", ["end.", "Next"]),
        ("3.5 million. Next", ["3.5 million.", "Next"]),
    ],
)
def test_split_sentences_edge_cases(text: str, sentences: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text)] == sentences


def _reference_split(text: str) -> list[tuple[int, int]]:
    """split_sentences' rules written the plain, slow way: every stop found by one regex,
    the word before a '.' walked back over in Python, every span trimmed in Python."""
    boundary = re.compile(r"[\n.!?؟۔](?:(?<=\n)\s*|[.!?؟۔]*[\"'”’»)\]]*(?=\s|$))")
    next_sentence = re.compile(r"\s*[\"'“‘(]?[A-Z0-9\u0600-\u06ff]")
    spans: list[tuple[int, int]] = []

    def add(start: int, end: int) -> None:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))

    start = 0
    for m in boundary.finditer(text):
        if m.group()[0] == ".":
            k = j = m.start()
            while k > 0 and (text[k - 1].isalnum() or text[k - 1] == "."):
                k -= 1
            word = text[k:j].lower()
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
            if next_sentence.match(text, m.end()) is None and m.end() < len(text):
                continue
        add(start, m.start() if m.group()[0] == "\n" else m.end())
        start = m.end()
    add(start, len(text))
    return spans


def test_split_sentences_follows_its_rules_on_random_text() -> None:
    pieces = [*".!?؟۔\n \t\u00a0\u2028\"'”’»)](“‘(_", "\u212a", "İ", "ı", "ſ", "²", "ا", "é"]
    pieces += ["a", "B", "x", "7", "Mr", "U.S", "u.s.a", "e.g", "approx", "No", "ST", "Lt.Col"]
    rng = random.Random(1)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert split_sentences(text) == _reference_split(text), text


def test_split_sentences_regex_classes_match_the_python_tests() -> None:
    r"""The boundary regex decides what the reference walk decides with str methods: its
    ``[^\W_]`` is str.isalnum and its ``\s`` str.isspace (and str.strip) on every
    character, and ``(?i)`` matches every character that str.lower turns into a letter of an
    abbreviation."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert re.findall(r"[^\W_]", every) == [c for c in every if c.isalnum()]
    spaces = [c for c in every if c.isspace()]
    assert re.findall(r"\s", every) == spaces == [c for c in every if not c.strip()]
    letters = {c for word in _ABBREVIATIONS for c in word if c.isalpha()}
    for c in every:
        low = c.lower()
        if low in letters:
            assert re.fullmatch(f"(?i:{low})", c), c


def test_a_generic_cue_alone_adds_no_category(watch: Watch) -> None:
    text = (
        "Pakistan and Iran agreed to raise bilateral trade and to open two border markets. "
        "The president later attended a meeting on oil prices in Karachi."
    )
    r = tag(watch, text)
    assert r.relevant and "trade_economy" in r.categories
    assert "diplomacy" not in r.categories and "energy" not in r.categories


def test_quotes_with_their_speaker(watch: Watch) -> None:
    text = (
        'Pakistan and Iran agreed to fence the border. "A secure border is a border of '
        'friendship," the Iranian delegation leader told reporters. Hussain said: "We will '
        'stop the smugglers." "Terrorists are our common enemy," said Ishaq Dar on Monday. '
        "Exports to Iran fell by a third, according to the Balochistan chamber of commerce."
    )
    r = tag(watch, text)
    got = [(q.speaker, q.text) for q in r.quotes]
    assert got == [
        ("the Iranian delegation leader", "A secure border is a border of friendship"),
        ("Hussain", "We will stop the smugglers"),
        ("Ishaq Dar", "Terrorists are our common enemy"),
        ("the Balochistan chamber of commerce", "Exports to Iran fell by a third"),
    ]
    for q in r.quotes:
        assert text[q.start : q.end] == q.text


def test_amounts_with_units_and_target_years(watch: Watch) -> None:
    text = (
        "Pakistan and Iran agreed to raise bilateral trade to $10 billion by 2028, up from "
        "$2.5bn. Iran will supply 100MW more electricity, and a Rs 2.5bn grid link will be "
        "built. Guards seized 40,000 litres of diesel in 2024."
    )
    r = tag(watch, text)
    got = [(a.kind, a.value, a.unit, a.target_year) for a in r.amounts]
    assert got == [
        ("money", 10e9, "USD", 2028),
        ("money", 2.5e9, "USD", None),
        ("power", 100.0, "MW", None),
        ("money", 2.5e9, "PKR", None),
        ("volume", 40000.0, "litre", None),
    ]
    for a in r.amounts:
        assert text[a.start : a.end] == a.text


def test_an_article_naming_neither_side_keeps_its_mentions(full_watch: Watch) -> None:
    # such an article has no relevance evidence and is not read further (most general news)
    text = "China and Afghanistan signed a trade deal in Kabul, officials in Beijing said."
    result = tag_article("a1", "Trade deal signed", text, full_watch)
    assert (result.relevant, result.relevance, result.signals, result.tone) == (
        False,
        0.0,
        [],
        "neutral",
    )
    assert [(m.entity_id, text[m.start : m.end]) for m in result.mentions] == [
        ("china", "China"),
        ("afghanistan", "Afghanistan"),
        ("kabul", "Kabul"),
        ("china", "Beijing"),
    ]
    # a side named in the body, or both in the title, and the article is read
    named = tag_article("a1", "Trade deal signed", text.replace("Beijing", "Tehran"), full_watch)
    assert [m.entity_id for m in named.mentions][-1] == "tehran"
    titled = tag_article("a1", "Iran and Pakistan sign trade deal", text, full_watch)
    assert titled.relevance > 0


def test_units_spelt_with_letters_the_patterns_take_for_i_and_s() -> None:
    # re.IGNORECASE matches "ı", "İ" and "ſ" to i and s; str.lower() keeps them apart: the
    # amount was a KeyError ("lıtres") or a thousand million times too small ("bıllion")
    text = "Iran sold 5 lıtres, 7 tonneſ and 2 MİLLİON barrels; trade reached $5 bıllion."
    got = [(a.kind, a.value, a.unit) for a in find_amounts(text, "a", "v")]
    assert got == [
        ("volume", 5.0, "litre"),
        ("weight", 7.0, "tonne"),
        ("volume", 2e6, "barrel"),
        ("money", 5e9, "USD"),
    ]


# The quotation and amount finders skip the places where their patterns cannot match;
# what they find must be what the whole patterns find when tried everywhere (re.finditer,
# and for amounts at every run of digits), written out here as the reference.
_SAY, _SPEAKER, _QUOTED = tagger._SAY, tagger._SPEAKER, tagger._QUOTED
_WHOLE_QUOTE_PATTERNS = (
    re.compile(_QUOTED + r",?\s+" + _SPEAKER + r"\s+" + _SAY + r"\b"),
    re.compile(_QUOTED + r",?\s+" + _SAY + r"\s+" + _SPEAKER + r"(?=[.,;]|\s+(?:on|in|at|who)\b)"),
    re.compile(r"\s" + _SAY + r"(?: \w+)?(?: that)?[:,]?\s+" + _QUOTED),  # speaker before
)
_SPEAKER_TO_END = re.compile(_SPEAKER + r"$")


def _reference_quotes(text: str) -> list[tuple[str, int, int]]:
    found: list[tuple[str, tuple[int, int]]] = []
    for n, rx in enumerate(_WHOLE_QUOTE_PATTERNS):
        for m in rx.finditer(text):
            if n < 2:
                found.append((m.group("s"), m.span("q")))
                continue
            head = text[max(0, m.start() - 90) : m.start()]
            for i in range(len(head)):  # the longest speaker phrase right before the verb
                if head[i].isupper() or head.startswith(("the ", "a ", "an "), i):
                    if i and head[i - 1] not in ' \n"“”(':
                        continue
                    sm = _SPEAKER_TO_END.match(head, i)
                    if sm:
                        found.append((sm.group("s"), m.span("q")))
                        break
    found += [(s, m.span("q")) for s, m in tagger._according_to(text)]
    out: list[tuple[str, int, int]] = []
    for speaker, (a, b) in found:
        if not any(a < y and x < b for _, x, y in out):
            speaker = speaker.strip()
            if speaker.lower() in {"it", "he", "she", "they", "this", "that"}:
                speaker = speaker.lower()
            out.append((speaker, a, b))
    return sorted(out, key=lambda q: q[1])


@pytest.mark.parametrize("opening", ['"', "“", "«"])
@pytest.mark.parametrize("closing", ['"', "”", "»", "“", "«", "\n", ""])
@pytest.mark.parametrize("ending", ["", ",", ".", ",.", "..", ", ", " ,"])
def test_a_quotation_is_what_the_quoted_pattern_matches(
    opening: str, closing: str, ending: str
) -> None:
    quoted = re.compile(_QUOTED)
    for size in (0, 5, 6, 7, 8, 9, 10, 40, 597, 598, 599, 600, 601, 602):
        words = ("We will stop the smugglers, " * 30)[:size] + ending
        for text in (opening + words + closing, f"x {opening}{words}{closing}, he said."):
            mark = text.index(opening)
            m = quoted.match(text, mark)
            expected = None if m is None else (*m.span("q"), m.end())
            assert tagger._quote_at(text, mark) == expected, (size, repr(text[-20:]))


QUOTE_TEXTS = [
    "",
    '"',
    '"""',
    '"A secure border is a border of friendship," the Iranian delegation leader told '
    'reporters. Hussain said: "We will stop the smugglers." "Terrorists are our common '
    'enemy," said Ishaq Dar on Monday.',
    # straight marks that open and close, unbalanced marks, nested and mixed marks
    '"We will stop them," Ali said. "And we will not stop," Khan said "again and again."',
    'He said "unbalanced quote runs on, Hussain said. "Another one here," said Ali.',
    "“Curly quotes nest «inside» here,” said the minister. «Guillemets here too», Ali said.",
    "«Guillemets open and close» — the «minister» said. “Open ” and “close” Ali Khan said",
    '"Too short," Ali said. "Exactly 8," Ali said. "Just nine.", Ali said. "12345678" Ali said',
    # said-before phrases long before the mark, across lines, with a word and "that"
    "Then the Foreign Office spokeswoman Mumtaz Zahra Baloch said" + " " * 100 + '"We will talk."',
    "Then Hussain told " + "reporters" * 20 + ' that: "Borders stay open for trade."',
    "the minister told\n\n\nreporters that,\n" + "\n" * 300 + "“We will open the border.”",
    'An official said, "Trade will grow." It said: "Fencing is done." (Ali said "this too.")',
    "پاکستان کے وزیر خارجہ نے کہا: «ہم سرحد کھولیں گے۔» Iran's Araghchi said: «We agree fully.»",
    '"A first long quotation here," said Ali, who added "a second quotation here."',
    # a closing mark inside a match does not open the next quotation of its form
    '"We will stop them," Ali said " Khan said it again," he said.',
    '"We will stop them," said Ali " said Khan, who left.",',
    'Ali said: "We will stop them" said Khan: "and we will not," he said.',
    '"We will stop them," said Ali on " said Khan, yes."',
    'Ali said: "They will stop it, Khan said " and more text here."',
    # a speaker starts the text or follows a space, line break, quotation mark or bracket
    'Mr.Ali Khan said: "We will stop it." (The PM said: "We will too.") x"Dar said: "Yes we will."',
    "Exports to Iran fell by a third, according to the Balochistan chamber of commerce.",
    '"Exports to Iran fell by a third," said X, according to the Balochistan chamber.',
]


@pytest.mark.parametrize("text", QUOTE_TEXTS)
def test_quotes_are_what_the_whole_patterns_find(text: str) -> None:
    got = [(q.speaker, q.start, q.end) for q in find_quotes(text, "a1", "v")]
    assert got == _reference_quotes(text)


def _reference_amount_matches(text: str) -> list[re.Match[str]]:
    with_currency, plain = tagger._AMOUNT_PATTERNS
    out: list[re.Match[str]] = []
    last_end = 0
    for run in re.finditer(r"\d[\d.,]*", text):
        a = run.start()
        if a < last_end:
            continue
        m = None
        for pos in range(max(last_end, a - 5), a):
            m = with_currency.match(text, pos)
            if m is not None and m.start("n") == a:
                break
            m = None
        m = m or plain.match(text, a)
        if m is not None:
            out.append(m)
            last_end = m.end()
    return out


def _amount_texts() -> list[str]:
    currencies = [f(c) for c in tagger._CURRENCY_BEFORE for f in (str, str.upper, str.title)]
    words = [*tagger._MULTIPLIER, *tagger._UNITS, *tagger._CURRENCY_AFTER]
    words = [f(w) for w in words for f in (str, str.upper, str.title)]
    numbers = ["5", "2,500.5", "1,2345", "12.", "۵۰"]
    texts = [f"{c}{gap}{n}" for c in currencies for gap in ("", " ", "\u00a0") for n in numbers]
    texts += [f"{n}{gap}{w}" for n in numbers for gap in ("", " ") for w in words]
    texts += [f"a {c} {n} {w} by 2028." for c in ("", "$", "Rs.") for n in numbers for w in words]
    return texts + ["", "5", "$", "$5", "5$", "$5,", ",5 MW", "x5MW", "Rs.5bn.", "US$ 5", "R s5"]


def test_amounts_are_what_the_whole_patterns_find() -> None:
    for text in _amount_texts():
        expected = [(m.span(), m.groupdict()) for m in _reference_amount_matches(text)]
        got = [(m.span(), m.groupdict()) for m in tagger._amount_matches(text)]
        assert got == expected, text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ایران و پاکستان درباره امنیت مرز و قاچاق سوخت گفتگو کردند.", "border_security"),
        ("پاکستان اور ایران کے درمیان دوطرفہ تجارت بڑھانے پر اتفاق ہوا۔", "trade_economy"),
        ("ایران و پاکستان درباره خط لوله گاز گفتگو کردند.", "energy"),
        ("پاکستان اور ایران کی سرحد پر فائرنگ کا تبادلہ اور جھڑپ ہوئی۔", "armed_clash"),
        ("ایران و پاکستان درباره گروهک تروریستی جیش الظلم گفتگو کردند.", "militancy"),
        ("وزیر امور خارجه ایران با همتای پاکستانی خود در اسلام‌آباد دیدار کرد.", "diplomacy"),
    ],
)
def test_urdu_and_persian_core_categories(watch: Watch, text: str, category: str) -> None:
    r = tag(watch, text)
    assert r.relevant and category in r.categories


def test_joint_action_against_militants_is_cooperation(watch: Watch) -> None:
    text = (
        "Pakistan and Iran agreed on Friday to take joint action against terrorist groups "
        "operating in the border region of Balochistan and Sistan-Baluchestan."
    )
    result = tag(watch, text)
    check_invariants(text, result, watch)
    [militancy] = signals_in(result, "militancy")
    assert militancy.tone_score > 0
    assert result.tone == "cooperation"
    # the same cue reported as violence stays conflict
    attack = tag(
        watch,
        "Pakistan and Iran traded accusations after terrorists attacked a border post "
        "in Saravan, killing ten Iranian guards.",
    )
    assert all(s.tone_score < 0 for s in signals_in(attack, "militancy"))


def test_urdu_counter_term_after_the_cue(watch: Watch) -> None:
    text = "پاکستان اور ایران نے دہشت گردوں کے خلاف مشترکہ کارروائی پر اتفاق کیا۔"
    result = tag(watch, text)
    check_invariants(text, result, watch)
    assert all(s.tone_score >= 0 for s in signals_in(result, "militancy"))


def test_a_cue_with_its_own_tone_is_not_flipped_by_other_words(watch: Watch) -> None:
    text = (
        "Iranian authorities reopened the Rimdan border gate with Pakistan on Monday, a week "
        "after it was closed over a security alert."
    )
    result = tag(watch, text)
    check_invariants(text, result, watch)
    assert any(s.tone_score > 0 for s in signals_in(result, "border_security", "reopened"))


def test_one_mention_per_entity_and_place_and_one_amount_per_number(watch: Watch) -> None:
    text = (
        "ایرانی حکام نے پاکستان کے ساتھ تجارت بڑھانے کا اعلان کیا۔ "
        "Pakistan and Iran set a trade target of PKR 5 billion rupees by 2028."
    )
    result = tag(watch, text)
    keys = [(m.entity_id, m.start) for m in result.mentions]
    assert len(keys) == len(set(keys))
    assert [(a.text, a.unit, a.value, a.target_year) for a in result.amounts] == [
        ("PKR 5 billion rupees", "PKR", 5e9, 2028)
    ]


def test_the_title_counts_in_the_article_tone(watch: Watch) -> None:
    body = (
        "Exporters in Quetta said shipments of fruit to Iran through Taftan had changed this "
        "season. Pakistani and Iranian officials are to meet at the joint economic commission."
    )
    plain = tag(watch, body)
    complaint = tag(watch, body, title="Quetta exporters complain of losses as Iran raises tariffs")
    assert complaint.relevant and plain.relevant
    assert complaint.tone_score < plain.tone_score
    assert complaint.signals == plain.signals  # the title only weighs in on the tone


def test_signals_of_one_sentence_count_once_in_the_article_tone(watch: Watch) -> None:
    # one sentence with two cooperative signals, one with a clash: the clash is half of
    # the story, not a third of it
    text = (
        "Iran and Pakistan signed a memorandum of understanding on barter trade on Monday. "
        "Iranian and Pakistani troops exchanged fire near Panjgur on Tuesday."
    )  # three categories: a short story keeps at most MAX_CATEGORIES of them
    result = tag(watch, text)
    first = [s for s in result.signals if s.start == 0]
    assert len({s.category for s in first}) >= 2
    assert result.tone_score < sum(s.tone_score for s in result.signals) / len(result.signals)


RELIEF_STORY = (
    "Iran sent 40 trucks of relief goods to flood victims in Pakistan's Balochistan on Monday. "
    "The tents and food packages were handed over at Taftan, the Iranian consulate in Quetta said."
)


def test_a_passing_mention_is_no_category(watch: Watch) -> None:
    # the consulate only says what happened: the sentence is about relief, not diplomacy
    result = tag(watch, RELIEF_STORY, "Iran sends relief goods to flood-hit Balochistan")
    assert result.categories == ["humanitarian"]


def test_a_category_in_the_title_or_the_lead_is_no_passing_mention(watch: Watch) -> None:
    titled = tag(watch, RELIEF_STORY, "Iranian consulate hands over relief goods for Balochistan")
    assert {"diplomacy", "humanitarian"} <= set(titled.categories)
    lead = (
        "The Iranian consulate in Quetta said on Monday that Iran had sent 40 trucks of relief "
        "goods to flood victims in Pakistan's Balochistan. The tents and food packages were "
        "handed over at Taftan."
    )
    assert {"diplomacy", "humanitarian"} <= set(tag(watch, lead, "Relief goods").categories)


def test_a_short_story_keeps_its_main_topics_and_a_long_one_more(watch: Watch) -> None:
    text = (
        "Iran and Pakistan signed a memorandum of understanding on barter trade on Monday. "
        "Iranian and Pakistani border forces exchanged fire near Panjgur on Tuesday."
    )
    short = tag(watch, text)
    assert len(set(short.categories)) == MAX_CATEGORIES
    days = " ".join(f"Residents said market day {i} went ahead as usual." for i in range(8))
    long = tag(watch, f"{text} {days}")
    assert set(short.categories) < set(long.categories)
    # what the short story leaves out of its categories still counts in its tone
    assert short.tone_score == long.tone_score


def test_action_against_smuggling_is_no_conflict_between_the_sides(watch: Watch) -> None:
    text = (
        "Pakistani and Iranian border officials agreed on joint action against smuggling "
        "of fuel across the frontier near Taftan."
    )
    result = tag(watch, text)
    assert signals_in(result, "border_security")
    assert all(s.tone_score > 0 for s in signals_in(result, "border_security"))
    assert result.tone == "cooperation"


def test_sectarian_harmony_is_not_sectarian_strife(watch: Watch) -> None:
    text = (
        "Clerics from Iran and Pakistan met in Mashhad and called for sectarian harmony "
        "between Shia and Sunni communities of the two countries."
    )
    result = tag(watch, text)
    (signal,) = signals_in(result, "sectarian_religious")
    assert signal.cue == "sectarian harmony" and signal.tone_score > 0
    assert result.tone == "cooperation"


def test_both_sides_named_with_nothing_between_them_is_not_relevant(watch: Watch) -> None:
    # a co-mention with a relation word ("together") but no cue of any category
    title = "Iranian runner wins Dubai marathon, Pakistani second"
    text = (
        "An Iranian runner won the Dubai marathon on Friday, finishing ahead of a Pakistani "
        "athlete and a Kenyan veteran. The Iranian and the Pakistani trained together in "
        "Islamabad last winter, their coaches said."
    )
    result = tag(watch, text, title=title)
    assert not result.relevant and result.signals == []
    assert result.relevance < watch.relevance.threshold
    assert result.mentions  # the mentions are still there


def test_a_noun_negator_reaches_only_its_noun_phrase(watch: Watch) -> None:
    text = (
        "Iran and Pakistan discussed the return of migrants at their border talks. "
        "Pakistan said migrants without valid documents should be sent back to Afghanistan."
    )
    result = tag(watch, text)
    assert signals_in(result, "afghanistan", "without valid documents")
    negated = tag(
        watch,
        text.replace(
            "migrants without valid documents should be sent back to Afghanistan",
            "it would settle the matter without Afghanistan",
        ),
    )
    assert not signals_in(negated, "afghanistan")


def test_urdu_persian_terms_found_wherever_their_regex_matches(watch: Watch) -> None:
    """The lexicon skips an Urdu/Persian term at a word it cannot start (decided once per
    word); what it finds must be what trying every such term's regex at every word finds."""
    from dyadwatch.watch import WORD, fold

    lexicon = watch.lexicon
    arabic_terms = [t for t in lexicon._terms.values() if t.arabic and t.regex is not None]
    assert any(t.in_word for t in arabic_terms) and any(t.head for t in arabic_terms)
    texts = [
        "پاک فوج اور ایرانی بحریہ نے مشترکہ مشق کی۔ پاکستان اور ایران کے وزیر خارجہ ملے۔",
        "پاکفوج، پاک‌فوج، پاک-فوج اور پاکستانی فوج؛ ایرانیوں نے ایرانی‌ها را دیدند.",
        "مرز میرجاوه بازگشایی شد و تجارت میان ایران و پاکستان از سر گرفته شد.",
    ]
    texts += [item["text"] for item in _devset() if item.get("language") in {"ur", "fa"}]
    for text in texts:
        low = fold(text)
        expected = set()
        for m in WORD.finditer(low):
            for term in arabic_terms:
                mm = term.regex.match(low, m.start())  # type: ignore[union-attr]
                if mm is not None:
                    expected |= {(m.start(), mm.end(), role, repr(d)) for role, d in term.payloads}
        found = {(h.start, h.end, h.role, repr(h.data)) for h in lexicon.scan(text) if h.arabic}
        assert found == expected, text


def _devset() -> list[dict]:
    from extractors.eval_tagger import load_devset

    return load_devset()


def test_the_toll_of_a_mishap_is_no_conflict(watch: Watch) -> None:
    # people killed in an accident, and the injured whom rescuers help, are no violence
    crash = tag(
        watch,
        "The bodies of 20 Pakistani pilgrims killed when their bus overturned near Yazd in "
        "Iran were flown to Karachi on Sunday. Iranian Red Crescent rescuers shifted the "
        "injured to hospital, and Pakistan's embassy thanked the Iranian authorities.",
        "Bodies of pilgrims killed in Yazd bus crash flown home",
    )
    assert crash.tone == "cooperation"
    assert all(s.tone_score >= 0 for s in crash.signals)
    # killed by gunmen: violence
    attack = tag(
        watch,
        "The bodies of 20 Pakistani pilgrims killed when gunmen attacked their bus near "
        "Zahedan in Iran were flown to Karachi on Sunday.",
        "Bodies of pilgrims killed in bus attack flown home",
    )
    assert attack.tone == "conflict"


def test_a_conflict_that_could_happen_counts_half(watch: Watch) -> None:
    text = (
        "Pakistani officials told a parliamentary committee on Monday that building the "
        "Iran-Pakistan gas pipeline {} Pakistani companies to US sanctions."
    )
    (risk,) = signals_in(tag(watch, text.format("could expose")), "great_power_sanctions")
    (event,) = signals_in(tag(watch, text.format("had exposed")), "great_power_sanctions")
    assert event.tone_score < 0
    assert risk.tone_score == event.tone_score / 2


def test_the_topic_of_a_dispute_has_no_tone_of_its_own(watch: Watch) -> None:
    # "warned ... over its barter trade deal": the deal is what the warning is about
    disputed = tag(
        watch, "The United States warned Pakistan on Tuesday over its barter trade deal with Iran."
    )
    assert all(s.tone_score < 0 for s in signals_in(disputed, "trade_economy"))
    assert disputed.tone != "cooperation"
    expanded = tag(
        watch,
        "The United States warned Pakistan on Tuesday as it expanded its barter trade deal "
        "with Iran.",
    )
    assert all(s.tone_score > 0 for s in signals_in(expanded, "trade_economy"))
    # "over" before a number is no topic: "signed over 20 agreements"
    many = tag(watch, "Iran and Pakistan signed over 20 agreements on trade and energy in Tehran.")
    assert many.tone == "cooperation"


def test_a_headline_of_a_clash_and_a_truce_makes_a_mixed_story(watch: Watch) -> None:
    text = (
        "Pakistani and Iranian border guards exchanged fire near Mashkel on Sunday night. No "
        "casualties were reported. Sector commanders spoke over the border hotline on Monday "
        "and agreed to hold a flag meeting, and the crossing reopened by noon."
    )
    mixed = tag(watch, text, "Guards trade fire near Mashkel; hotline call restores calm")
    assert mixed.tone == "mixed"
    assert mixed.tone_score > watch.tone.cooperation_above  # by its score alone: cooperation
    calm = tag(watch, text, "Hotline call restores calm at Mashkel")
    assert calm.tone == "cooperation"


def test_a_minor_third_topic_of_a_short_story_is_no_category(watch: Watch) -> None:
    text = (
        "Iran and Pakistan agreed on Tuesday to raise bilateral trade to $5 billion and to "
        "open two more border markets at Mand and Taftan. Iran will also raise electricity "
        "exports to Gwadar, the two energy ministers said after signing a power supply deal. "
        "Quetta traders said transit cargo for Afghanistan still moved slowly."
    )
    result = tag(watch, text, "Pakistan, Iran agree to raise trade, power exports")
    assert result.categories == ["energy", "trade_economy"]
    # in the title, the same topic is one of the story's
    titled = tag(
        watch, text, "Pakistan, Iran agree to raise trade, power exports and Afghan transit"
    )
    assert "afghanistan" in titled.categories


def test_headline_naming_each_side_in_its_own_part_is_a_digest(watch: Watch) -> None:
    # a digest headline: Iran in one part, Pakistan in another, no part naming both
    text = (
        "Iran's aviation authority opened a new terminal at Shiraz airport on Monday. "
        "In Lahore, Pakistan's food ministry held talks with flour mill owners on wheat prices."
    )
    digest = tag(watch, text, "Week in brief: Iran opens Shiraz terminal; Pakistan holds talks")
    assert not digest.relevant and digest.relevance < watch.relevance.threshold
    # one part naming both sides keeps the headline's weight
    story = tag(watch, text, "Week in brief: Iran, Pakistan hold talks on wheat trade")
    assert story.relevance > digest.relevance


def test_events_called_separate_or_unrelated_are_no_evidence(watch: Watch) -> None:
    text = (
        "A U.S. Senate committee heard testimony on Iran's uranium stockpile and last year's "
        "strikes on its nuclear sites. Pakistan's Foreign Office rejected as baseless a claim "
        "about its missile programme made at the same hearing."
    )
    title = "Iran enrichment, Pakistan missiles come up in separate talks at Senate"
    assert not tag(watch, text, title).relevant
    assert tag(watch, text, title.replace("separate talks", "talks")).relevant
    # in the body: a sentence that says its events are unrelated names no relation
    body = (
        "Pakistan's finance ministry raised petrol prices by five rupees a litre on Monday. "
        "Separately, Iran's oil ministry and Pakistan's energy regulators announced new "
        "fuel quotas for their border provinces, officials in Quetta and Zahedan said. "
        "Both decisions took effect at midnight."
    )
    result = tag(watch, body, "Fuel prices raised")
    assert not result.relevant
    linked = tag(watch, body.replace("Separately, Iran", "Iran"), "Fuel prices raised")
    assert linked.relevance > result.relevance


def test_both_sides_standing_for_the_two_states_is_evidence(watch: Watch) -> None:
    # the sides are never named in one sentence: "both sides agreed" stands for them
    text = (
        "Pakistan's naval chief arrived on Sunday for a three-day official visit. "
        "He called on the commander of the Iranian navy and toured a training academy. "
        "Both sides agreed to hold a joint search-and-rescue drill next year. "
        "The two navies also discussed training exchanges, both sides said."
    )
    result = tag(watch, text, "Naval chief on official visit")
    assert result.relevant and result.relevance >= 0.6
    # a sentence naming one side and "both neighbours": the pair is another one
    other_pair = (
        "Indian and Pakistani troops exchanged fire along the Line of Control on Saturday. "
        "Pakistan's army said two civilians were wounded. "
        "Iran's foreign ministry urged both neighbours to resume talks and show restraint."
    )
    assert not tag(watch, other_pair, "Firing along the LoC").relevant


def test_a_name_across_a_sentence_break_is_a_mention_but_names_no_side(watch: Watch) -> None:
    # the line break inside "Pakistan\nArmy" ends a sentence, and the name is matched across
    # it: a mention of the article, but of neither sentence (none of the corpora has one)
    text = "Iran's border guards met troops of the Pakistan\nArmy at Taftan."
    result = tag(watch, text)
    assert [(m.entity_id, m.start, m.end) for m in result.mentions] == [
        ("iran_border_guards", 0, 20),
        ("pakistan_army", 39, 52),
        ("taftan", 56, 62),
    ]
    assert not result.relevant and result.relevance == 0.15  # no sentence names both sides
    joined = tag(watch, text.replace("\n", " "))
    assert joined.relevant and joined.relevance == 0.745
