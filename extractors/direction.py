"""Who acts on whom in a signal's sentence, and its PLOVER-style quad class.

Pure functions, called by the tagger (``direct_signals``) for every signal it keeps:

``sentence_direction`` reads the evidence sentence with the actors and places the
gazetteer found in it and says ``'IR->PK'`` (the first dyad side acts on the second),
``'PK->IR'``, ``'joint'`` (both act together or on each other: "the two countries
signed", "Iranian and Pakistani officials met", "clashed with") or ``'undirected'``
(the text does not say: one side alone, a third party acting, no side named).  The
codes come from the watch's ``[[dyad]]``.  The rules, in order:

1. An agent after "by" ("was shelled by Iranian forces", "an attack by Iran on ...") is
   the source; the other side named in the sentence is the target.
2. The subject is the first actor or place not inside a prepositional phrase ("in
   Tehran", "from Iran"; Urdu/Persian postpositions and prepositions too).  Two sides
   joined as the subject ("Iran and Pakistan", "Iranian and Pakistani", "Iran-Pakistan")
   or a dyad phrase first ("the two countries") make it joint.
3. A subject followed by a speech verb ("Pakistan's army said Iranian forces fired ...")
   hands over to the reported clause; if that says nothing, the speaker acts on the other
   side ("Pakistan said Iran's decision was unfortunate": PK->IR).
4. A passive verb right after the subject ("Iran's envoy was summoned to the Foreign
   Office in Islamabad") makes the subject the target and the other side the source.
5. Else the subject's side acts on the other side named in the sentence, unless a
   reciprocal verb joins them ("met", "held talks", "clashed with", "signed ... with"):
   joint.  Militant groups and third countries are no side: a sentence they are the
   subject of is undirected.
6. With no subject: "between Iran and Pakistan" is joint; "from Iran into Pakistan" is
   IR->PK; anything else is undirected.

A signal takes the direction of the clause holding its cue when that clause says one
("..., and Pakistan lodged a protest with Iran"), else its sentence's (``cue_direction``).

``quad_class`` maps a signal to ``verbal_cooperation``, ``material_cooperation``,
``verbal_conflict`` or ``material_conflict`` (PLOVER / CAMEO quad classes):
cooperation or conflict by the sign of its Goldstein-like tone (a tone of exactly 0 is
a neutral statement, verbal cooperation, like CAMEO's "make public statement"); verbal or
material by its cue (summoning an envoy, talks, an MoU, a visit are verbal; sanctions,
expulsions, deportations, closing or reopening a crossing, aid are material), else by its
category (clashes, militancy, border management, trade, energy, connectivity, aid,
refugees and military cooperation are material; diplomacy, multilateral fora,
Afghanistan, sectarian matters and great powers are verbal).  A material cue governed by
a word of intent or of a speech act ("agreed to", "will", "warned", "condemned the
attack", "signed": CAMEO codes signing an agreement as verbal) is verbal.  The category
part is mirrored in SQL by the macro ``signal_quad_class`` (migration 0007) for rows
stored before directions existed; a test keeps them equal.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from dyadwatch.records import Mention, Signal
from dyadwatch.watch import fold, is_arabic_script

if TYPE_CHECKING:
    from dyadwatch.watch import Watch

JOINT = "joint"
UNDIRECTED = "undirected"
DIRECTIONS_HELP = "'<A>-><B>' (dyad codes, e.g. 'IR->PK'), 'joint' or 'undirected'"

QUAD_CLASSES = (
    "verbal_cooperation",
    "material_cooperation",
    "verbal_conflict",
    "material_conflict",
)

# entity types that never stand for a side of the dyad, whatever their country
NON_STATE_TYPES = frozenset({"militant_group"})

# -- sentence grammar ------------------------------------------------------------------

_PREPOSITIONS = frozenset(
    """in at of from to into onto on with near across inside within between against toward
    towards for by about over along through via under upon among amid amidst including
    outside beyond around off""".split()
)
_DETERMINERS = frozenset("the a an its their his her our this that these those".split())
# Persian prepositions before a name; Urdu/Persian postpositions after it
_ARABIC_PREPOSITIONS = frozenset(["در", "به", "از", "با", "بر", "برای", "میان", "بین"])
_ARABIC_POSTPOSITIONS = frozenset(["میں", "سے", "پر", "کو", "را", "تک"])
_WORD_BEFORE = re.compile(r"([\w\u200c']+)\W*$")
# the same word in reversed text: the run of word characters and apostrophes around the
# last letter or digit (see _last_word)
_REVERSED_LAST_WORD = re.compile(r"\W*?([\u200c']*\w[\w\u200c']*)")
_PHRASE_OK_AFTER = frozenset(["of", "between", "among", "amongst", "from", "with"])
_VERB_LIKE = re.compile(r"^(?:\w+ed|urge[sd]?|ask|asks|tell|tells|told|call|calls|warn|warns)$")
_WORD_AFTER = re.compile(r"^\W*([\w\u200c]+)")

# two names joined as one subject: "Iran and Pakistan", "Iranian and Pakistani", "Iran-Pakistan"
_CONJOINED = re.compile(
    r"^(?:['’]s(?:\s+(?![\w-]*ed\b)[a-z][\w-]*){0,4})?\s*"  # "Pakistan's prime minister and"
    r"(?:,?\s*(?:and|&|as well as)|[-–/]|\s+و|\s+اور)\s*(?:the\s+)?$",
    re.I,
)
_POSSESSIVE_GAP = re.compile(r"^['’]s\s+$")
_POSSESSIVE_AFTER = re.compile(r"['’]s\b")
# a sentence-initial noun phrase and the preposition before a name: "Officials in ",
# "The foreign ministry in ", "The navies of ", "Residents of "
_SHORT_SUBJECT_PHRASE = re.compile(
    r"^\s*(?-i:[A-Z][A-Z ]+(?:\s*\([^)]*\))?\s*[:–—-]\s*)?"  # a dateline "QUETTA: "
    r"(?:(?:the|a|an)\s+)?(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*s?\s+(?:in|of|from)\s+"
    r"(?:the\s+)?$",
    re.I,
)
_DATELINE_END = re.compile(r"\s*(?::|\s[-–—]\s)")
# "The foreign ministry in Tehran said ...": the place the speaker sits in
_SPEAKER_PLACE = re.compile(r"\s+(?:[\w'-]+\s+)?(?:said|says|announced|stated|told)\b", re.I)
SPEAKER_PLACE_WITHIN = 60  # characters from the sentence start
_SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|stated|states|announced|claimed|claims|alleged|added"
    r"|noted|reported|confirmed|insisted|maintained|quoted|according to)\b"
    r"(?:\s+(?:on|late on|early on)\s+\w+)?(?:\s+that)?",
    re.I,
)
_PARTICIPLE = (
    r"(?:\w{3,}ed|shot|hit|struck|held|sent|seized|caught|brought|built|cut|shut|set|put"
    r"|made|sold|fought|hurt|taken|given|driven|thrown|beaten|stolen|forced out|left|kept)"
)
# stative "is interested in", "are committed to": no passive action
_STATIVE = frozenset(
    """interested concerned committed determined prepared pleased satisfied worried
    disappointed convinced based located expected supposed used scheduled set likely
    united related involved engaged aligned""".split()
)
_PASSIVE_AFTER_SUBJECT = re.compile(
    r"^[^,;:]{0,60}?\b(?:was|were|is|are|been|being|got|gets)\s+(?:\w+ly\s+)?(?P<p>"
    + _PARTICIPLE
    + r")\b",
    re.I,
)
# what can stand right before an agent "by": a participle or an action noun
_AGENT_BEFORE = re.compile(
    r"\b(?:" + _PARTICIPLE + r"|attacks?|strikes?|shelling|firing|fire|incursions?"
    r"|violations?|killings?|abductions?|raids?|bombardment|closure|expulsion|seizure"
    r"|(?:was|were|been))\b(?:\s+\w+){0,3}\s*$",
    re.I,
)
_BY_AGENT = re.compile(r"\bby\s+(?:(?:the|a|an|its|their)\s+)?$", re.I)
_OF_BEFORE = re.compile(r"\b(?:of|among|amongst)\s+(?:the\s+)?$", re.I)
_BETWEEN = re.compile(r"\b(?:between|bilateral)\b|میان|بین|درمیان", re.I)
_FROM = re.compile(r"\bfrom\s+(?:the\s+)?$|از\s*$", re.I)
_INTO = re.compile(r"\b(?:in|into|inside|on|at|onto|across)\s+(?:the\s+)?$", re.I)
_RECIPROCAL = re.compile(
    r"\b(?:met|meet|meets|meeting|held talks|hold talks|holds talks|talked|clashed|clash"
    r"|exchanged|exchange)\b",
    re.I,
)
# "signed an agreement with", "agreed with" (not "agreed to boost trade with")
_WITH_RECIPROCAL = re.compile(
    r"\b(?:signed|sign|signs|agreed|agree|agrees|discussed|discuss|negotiated|cooperated"
    r"|cooperate|held|hold|holds)(?:\s+(?!to\b)[\w-]+){0,4}\s+with\s+"
    r"(?:(?:the|its|their|his|her)\s+)?$",
    re.I,
)
_WITH_BEFORE = re.compile(r"\bwith\s+(?:the\s+|its\s+|their\s+|his\s+|her\s+)?$", re.I)


def _lower_twin(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` without ``re.I``, for lower-cased text that ``_lower_twins_apply`` to:
    there the twin finds the same matches, several times faster (a case-blind literal
    cannot rule an alternative out at its first letter).  Only for patterns that spell
    every letter in lower case; tests/unit/test_direction.py checks each twin."""
    return re.compile(pattern.pattern, pattern.flags & ~re.I)


# Characters beyond ASCII without a case: the spaces, punctuation and symbols of Latin-1,
# general punctuation ("’", "–", "“", ZWNJ), currency signs and the Arabic script (not
# "µ", which re.I matches to "μ" and "Μ").  In a text of ASCII and these alone,
# lower-casing changes only the ASCII letters, one letter for one, and a case-blind
# pattern spelling every letter in lower case matches what its lower-case twin matches in
# the lower-cased text.
_UNCASED_BEYOND_ASCII = "".join(
    c
    for first, last in (
        (0x00A0, 0x00BF),
        (0x0600, 0x06FF),
        (0x0750, 0x077F),
        (0x2000, 0x206F),
        (0x20A0, 0x20CF),
        (0xFB50, 0xFDFF),
        (0xFE70, 0xFEFF),
    )
    for c in map(chr, range(first, last + 1))
    if c.lower() == c == c.upper()
)
_CASED_OR_UNLISTED = re.compile(r"[^\x00-\x7f" + re.escape(_UNCASED_BEYOND_ASCII) + "]")


def _lower_twins_apply(text: str) -> bool:
    """May the lower-case twins run on ``text.lower()`` for the case-blind patterns on
    ``text``?  Yes when every character is ASCII or in _UNCASED_BEYOND_ASCII."""
    return text.isascii() or _CASED_OR_UNLISTED.search(text) is None


_SPEECH_LOWER = _lower_twin(_SPEECH)
_PASSIVE_AFTER_SUBJECT_LOWER = _lower_twin(_PASSIVE_AFTER_SUBJECT)
_AGENT_BEFORE_LOWER = _lower_twin(_AGENT_BEFORE)
_BY_AGENT_LOWER = _lower_twin(_BY_AGENT)
_RECIPROCAL_LOWER = _lower_twin(_RECIPROCAL)
_WITH_RECIPROCAL_LOWER = _lower_twin(_WITH_RECIPROCAL)


class Party(NamedTuple):
    """An actor or place named in a sentence: offsets in the sentence, and its side
    (a dyad country code, or None for a third country, a militant group, no country).
    A named tuple: made and hashed (the direction cache) many times per article."""

    start: int
    end: int
    side: str | None
    kind: str = "actor"  # 'actor' (capitals too) | 'place'


# in reversed text, the characters between a word ([\w\u200c']+) and what follows it,
# then the word: matched from the start of the reversed window, it gives the words before
# a name nearest first, without finding every word of the window (a ``findall`` of the
# window, read from its end: three times slower)
_REVERSED_WORD = re.compile(r"[^\w\u200c']*([\w\u200c']+)")


def _word_before(sentence: str, at: int) -> str:
    """The last word of the 60 characters before ``at``, past any determiners ("in the",
    "from their"); '' if there is none."""
    backwards = sentence[:at][-60:][::-1]
    pos = 0
    while (m := _REVERSED_WORD.match(backwards, pos)) is not None:
        word = m.group(1)[::-1]
        if word.lower() not in _DETERMINERS:
            return word
        pos = m.end()
    return ""


def _after_preposition(sentence: str, p: Party, arabic: bool) -> bool:
    word = _word_before(sentence, p.start)
    if word.lower() in _PREPOSITIONS:
        return True
    if arabic:
        if word in _ARABIC_PREPOSITIONS:
            return True
        m = _WORD_AFTER.match(sentence[p.end : p.end + 30])
        if m and m.group(1) in _ARABIC_POSTPOSITIONS:
            return True
    return False


def _subject(sentence: str, parties: Sequence[Party], arabic: bool) -> Party | None:
    """The first party not inside a prepositional phrase.  A name joined to the one before
    it ("between Iran and Pakistan", "in Balochistan's Panjgur district") shares that
    one's phrase; a dateline ("QUETTA:") is no subject; a place the speaker sits in is
    ("The foreign ministry in Tehran said ...")."""
    prev: Party | None = None
    prev_in_phrase = False
    in_compound = _compound_members(sentence, parties) if len(parties) > 1 else ()
    for p in parties:
        if p in in_compound:
            continue
        if _is_dateline(sentence, p):
            continue
        gap = sentence[prev.end : p.start] if prev is not None else None
        if p.kind != "actor" and not _POSSESSIVE_AFTER.match(sentence, p.end):
            # "... try to enter Balochistan": a place is where, not who (whatever stands
            # before it: so that need not be read)
            in_phrase = True
        elif gap is not None and (_CONJOINED.match(gap) or _POSSESSIVE_GAP.match(gap)):
            in_phrase = prev_in_phrase
        else:
            in_phrase = _after_preposition(sentence, p, arabic)
            if in_phrase and _SHORT_SUBJECT_PHRASE.match(sentence[: p.start]):
                in_phrase = False  # "Officials in Tehran ...", "The navies of Iran and ..."
        if not in_phrase:
            return p
        if p.start < SPEAKER_PLACE_WITHIN and _SPEAKER_PLACE.match(sentence, p.end):
            return p
        prev, prev_in_phrase = p, in_phrase
    return None


def _is_dateline(sentence: str, p: Party) -> bool:
    """ "QUETTA: ...", "CHABAHAR – ...": where the story was filed, nobody acting."""
    if p.start > 0 and not sentence[:1].isspace():
        return False  # text before the name: no need to strip it to know
    return sentence[: p.start].strip() == "" and (
        sentence[p.start : p.end].isupper() or bool(_DATELINE_END.match(sentence, p.end))
    )


def _compound_members(sentence: str, parties: Sequence[Party]) -> set[Party]:
    """Names in a hyphenated compound ("the Iran-Pakistan pipeline", "the
    Istanbul-Tehran-Islamabad train"): a modifier, nobody acting."""
    members: set[Party] = set()
    if "-" not in sentence and "–" not in sentence and "/" not in sentence:
        return members  # most sentences: no joining character, no pair to look at
    for a, b in zip(parties, parties[1:], strict=False):
        if b.start - a.end == 1 and sentence[a.end] in "-–/":
            members.update((a, b))
    return members


def _arrow(source: str, target: str) -> str:
    return f"{source}->{target}"


def _first_of(parties: Sequence[Party], side: str, after: int = -1) -> Party | None:
    for p in parties:
        if p.side == side and p.start >= after:
            return p
    return None


def _other(side: str, sides: tuple[str, str]) -> str:
    return sides[1] if side == sides[0] else sides[0]


def sentence_direction(
    sentence: str,
    parties: Sequence[Party],
    sides: tuple[str, str],
    dyad_phrases: Sequence[str] = (),
) -> str:
    """Who acts on whom in ``sentence``: ``'A->B'`` (codes of ``sides``), ``'joint'`` or
    ``'undirected'``.  ``parties`` are the actors and places named in it (offsets into
    ``sentence``); ``dyad_phrases`` the watch's phrases standing for both sides."""
    return _direction(
        sentence, tuple(sorted(parties, key=lambda p: p.start)), sides, tuple(dyad_phrases)
    )


class _PhraseFinder(NamedTuple):
    """The watch's dyad phrases as one pattern, and words one of which a sentence must hold
    for the pattern to match there: a few ``in`` tests rule most sentences out, cheaper
    than the pattern's search (which tries at every letter a phrase starts with)."""

    pattern: re.Pattern[str]
    anchors: tuple[str, ...]  # the first word of each folded phrase
    ascii_anchors: tuple[str, ...]  # those of the ASCII phrases: all an ASCII text can hold


@lru_cache(maxsize=64)
def _phrase_finder(dyad_phrases: tuple[str, ...]) -> _PhraseFinder | None:
    if not dyad_phrases:
        return None
    folded = sorted({fold(d) for d in dyad_phrases}, key=len, reverse=True)
    # a substring of each phrase: where none stands, no phrase does
    anchors = {d.split(" ")[0]: d.isascii() for d in folded}
    return _PhraseFinder(
        re.compile("|".join(re.escape(d) for d in folded)),
        tuple(anchors),
        tuple(a for a, is_ascii in anchors.items() if is_ascii),
    )


def _last_word(text: str, end: int) -> tuple[str, int]:
    """The word ``_WORD_BEFORE.search(text, 0, end)`` finds and where it starts; ('', -1)
    if it finds none.  That search tries every start from the left, each failing but the
    last; read from the end, its word is the run of word characters and apostrophes
    around the last letter or digit."""
    backwards = _REVERSED_LAST_WORD.match(text[:end][::-1])
    if backwards is None:
        # no letter or digit: the search's own answer (a run of apostrophes, or none)
        found = _WORD_BEFORE.search(text, 0, end)
        return (found.group(1), found.start()) if found else ("", -1)
    return backwards.group(1)[::-1], end - backwards.end(1)


def _dyad_phrase_at(low: str, finder: _PhraseFinder | None, ascii_text: bool) -> int:
    """Where the first dyad phrase standing as a subject or after a phrase-opening word
    starts in ``low`` (the folded sentence), or -1."""
    if finder is None:
        return -1
    for anchor in finder.ascii_anchors if ascii_text else finder.anchors:
        if anchor in low:
            break
    else:
        return -1  # no phrase can stand in the sentence
    for found in finder.pattern.finditer(low):
        # "both countries agreed", "trade between the two countries" -- not an object
        # ("urged both governments") nor inside another phrase ("against both states")
        word, start = _last_word(low, found.start())
        if word == "the":
            word, _ = _last_word(low, start)
        if word in _PHRASE_OK_AFTER or not (word in _PREPOSITIONS or _VERB_LIKE.match(word)):
            return found.start()
    return -1


@lru_cache(maxsize=4096)
def _direction(
    sentence: str, parties: tuple[Party, ...], sides: tuple[str, str], dyad_phrases: tuple[str, ...]
) -> str:
    ascii_text = sentence.isascii()
    if ascii_text:  # most sentences: folding is lower-casing, no Arabic script to look for
        low, arabic = sentence.lower(), False
    else:
        low, arabic = fold(sentence), is_arabic_script(sentence)
    dyad_at = _dyad_phrase_at(low, _phrase_finder(dyad_phrases), ascii_text)
    # the case-blind patterns below: where their lower-case twins apply (nearly always),
    # the twins on the lower-cased sentence; else the patterns on the sentence as written
    if ascii_text:
        twins, text = True, low
    elif _lower_twins_apply(sentence):
        twins, text = True, sentence.lower()  # not folded: the Arabic script as written
    else:
        twins, text = False, sentence
    if not any(p.side in sides for p in parties):
        # "The two countries signed ..." / "Talks between the two sides ..."
        return JOINT if dyad_at >= 0 else UNDIRECTED

    # 1. an agent after "by"
    for p in parties if "by " in low else ():
        if p.side not in sides:
            continue
        head = text[max(0, p.start - 60) : p.start]
        if twins:
            # a match can start only at the head's last "by" (nothing that may follow
            # it holds a "b"): try there, not at every character
            at = head.rfind("by")
            by = _BY_AGENT_LOWER.search(head, at) if at >= 0 else None
        else:
            by = _BY_AGENT.search(head)
        if by is None or not (_AGENT_BEFORE_LOWER if twins else _AGENT_BEFORE).search(
            head[: by.start()]
        ):
            continue
        partner = _conjoined_partner(sentence, parties, p, sides)
        if partner is not None:
            return JOINT
        target = _first_of(parties, _other(p.side, sides))
        return _arrow(p.side, target.side) if target else UNDIRECTED

    # 2. the subject
    subject = _subject(sentence, parties, arabic)
    if dyad_at >= 0 and (subject is None or dyad_at < subject.start):
        return JOINT
    if subject is None:
        return _no_subject(sentence, parties, sides)
    rest = text[subject.end :]

    # 3. a speech verb: the reported clause says who acts
    speech = (_SPEECH_LOWER if twins else _SPEECH).search(rest[:80])
    if speech and not any(
        subject.end < p.start < subject.end + speech.start()
        and not _after_preposition(sentence, p, arabic)
        for p in parties
        if p.side
    ):
        cut = subject.end + speech.end()
        # parties come in order of their start, and stay so shifted (what
        # sentence_direction would sort them into)
        reported = tuple(
            tuple.__new__(Party, (p.start - cut, p.end - cut, p.side, p.kind))
            for p in parties
            if p.start >= cut
        )
        said = _direction(sentence[cut:], reported, sides, dyad_phrases)
        if said != UNDIRECTED or subject.side not in sides or subject.kind != "actor":
            return said
        target = _first_of(parties, _other(subject.side, sides), after=cut)
        return _arrow(subject.side, target.side) if target else UNDIRECTED

    if subject.side not in sides:
        return UNDIRECTED  # a third party or a militant group acts
    if _conjoined_partner(sentence, parties, subject, sides) is not None:
        return JOINT
    other = _other(subject.side, sides)
    target = _first_of(parties, other, after=subject.end) or _first_of(parties, other)

    # 4. passive right after the subject: the subject is acted on
    passive = (_PASSIVE_AFTER_SUBJECT_LOWER if twins else _PASSIVE_AFTER_SUBJECT).match(rest)
    if passive and passive.group("p").lower() not in _STATIVE:
        if not any(subject.end < p.start < subject.end + passive.end() for p in parties):
            after = subject.end + passive.end()
            source = _first_of(parties, other, after=after)
            if source is not None and _CLAUSE_JOIN.search(sentence, after, source.start):
                source = None
            return _arrow(other, subject.side) if source else UNDIRECTED
    if target is None:
        with_dyad = dyad_at > subject.start and _WITH_BEFORE.search(low[subject.end : dyad_at])
        return JOINT if with_dyad else UNDIRECTED

    # 5. the subject acts on the other side, unless a reciprocal verb joins them
    if target.start > subject.end:
        between = text[subject.end : target.start]
        if (_RECIPROCAL_LOWER if twins else _RECIPROCAL).search(between):
            return JOINT
        if (_WITH_RECIPROCAL_LOWER if twins else _WITH_RECIPROCAL).search(between):
            return JOINT
    return _arrow(subject.side, other)


def _conjoined_partner(
    sentence: str, parties: Sequence[Party], p: Party, sides: tuple[str, str]
) -> Party | None:
    """The other side's name joined to ``p`` ("Iran and Pakistan", "Pakistani and
    Iranian"), with at most one name of p's own side between them."""
    if p.side not in sides:
        return None
    prev = p
    for q in parties:
        if q.start < p.end:
            continue
        if not _CONJOINED.match(sentence[prev.end : q.start]):
            return None
        if q.side in sides and q.side != p.side:
            return q
        prev = q
    return None


def _no_subject(sentence: str, parties: Sequence[Party], sides: tuple[str, str]) -> str:
    """Every side is named inside a prepositional phrase."""
    named = [p for p in parties if p.side in sides]
    if {p.side for p in named} != set(sides):
        return UNDIRECTED
    for first in named:
        if _is_dateline(sentence, first):
            continue
        if _BETWEEN.search(sentence[max(0, first.start - 30) : first.start]):
            return JOINT
        if _conjoined_partner(sentence, parties, first, sides) is not None and _OF_BEFORE.search(
            sentence, max(0, first.start - 12), first.start
        ):
            return JOINT  # "the navies of Iran and Pakistan", not "goods from Iran and Pakistan"
        break
    source = next(
        (p for p in named if _FROM.search(sentence[max(0, p.start - 12) : p.start])), None
    )
    if source is not None:
        target = next(
            (
                p
                for p in named
                if p.side != source.side and _INTO.search(sentence[max(0, p.start - 12) : p.start])
            ),
            None,
        )
        if target is not None:
            return _arrow(source.side, target.side)
    return UNDIRECTED


_CLAUSE_JOIN = re.compile(
    r",\s+(?:and|but|while|whereas|before|after|when|as(?! well as))\s+|;\s+", re.I
)


def cue_direction(
    sentence: str,
    cue: str,
    parties: Sequence[Party],
    sides: tuple[str, str],
    dyad_phrases: Sequence[str] = (),
) -> str:
    """The direction of the clause holding ``cue`` when that clause says one ("Iranian
    guards fired on traders, and Pakistan lodged a protest with Iran": the protest is
    PK->IR), else of the whole sentence (``sentence_direction``)."""
    ordered = tuple(sorted(parties, key=lambda p: p.start))
    return _SentenceDirections(sentence, ordered, sides, tuple(dyad_phrases)).of_cue(cue)


def _clause_joins(sentence: str) -> list[tuple[int, int]]:
    """The spans ``_CLAUSE_JOIN.finditer`` finds, tried only at each comma and semicolon
    (where every match starts) instead of at every character."""
    joins: list[tuple[int, int]] = []
    match = _CLAUSE_JOIN.match
    pos = 0
    comma, semicolon = sentence.find(","), sentence.find(";")
    while comma >= 0 or semicolon >= 0:
        at = comma if semicolon < 0 or 0 <= comma < semicolon else semicolon
        m = match(sentence, at)
        if m is not None:
            joins.append(m.span())
            pos = m.end()
        else:
            pos = at + 1
        if comma >= 0 and comma < pos:
            comma = sentence.find(",", pos)
        if semicolon >= 0 and semicolon < pos:
            semicolon = sentence.find(";", pos)
    return joins


class _SentenceDirections:
    """``cue_direction`` for the signals of one sentence: its clause joins and its whole-
    sentence direction are worked out once, whichever of its cues asks first."""

    __slots__ = ("sentence", "parties", "sides", "phrases", "_joins", "_whole")

    def __init__(
        self,
        sentence: str,
        parties: tuple[Party, ...],  # in order of their start
        sides: tuple[str, str],
        phrases: tuple[str, ...],
    ) -> None:
        self.sentence = sentence
        self.parties = parties
        self.sides = sides
        self.phrases = phrases
        self._joins: list[tuple[int, int]] | None = None
        self._whole: str | None = None

    def of_cue(self, cue: str) -> str:
        sentence = self.sentence
        at = sentence.find(cue) if cue else -1
        if at >= 0 and ("," in sentence or ";" in sentence):  # _CLAUSE_JOIN needs one
            if self._joins is None:
                self._joins = _clause_joins(sentence)
            lo, hi = 0, len(sentence)
            for start, end in self._joins:
                if end <= at:
                    lo = end
                elif start >= at + len(cue):
                    hi = start
                    break
            if (lo, hi) != (0, len(sentence)):
                inside = tuple(
                    tuple.__new__(Party, (p.start - lo, p.end - lo, p.side, p.kind))
                    for p in self.parties
                    if lo <= p.start and p.end <= hi
                )
                said = _direction(sentence[lo:hi], inside, self.sides, self.phrases)
                if said != UNDIRECTED:
                    return said
        if self._whole is None:
            self._whole = _direction(sentence, self.parties, self.sides, self.phrases)
        return self._whole


# -- quad classes -----------------------------------------------------------------------

MATERIAL_CATEGORIES = frozenset(
    {
        "armed_clash",
        "militancy",
        "border_security",
        "trade_economy",
        "energy",
        "connectivity",
        "humanitarian",
        "refugees_migration",
        "military_cooperation",
    }
)
_MATERIAL_CUE = re.compile(
    r"sanction|embargo|snapback|maximum pressure|expel|recalled|deport|repatriat|closure|clos"
    r"|seal|shut|reopen|\baid\b|relief|donat|exercise|drill|patrol|اخراج|تحریم|پابندی"
    r"|سرحد بند|انسداد|بازگشایی|رزمایش|مشق",
    re.I,
)
_VERBAL_CUE = re.compile(
    r"summon|protest|demarche|démarche|memorand|\bmous?\b|joint statement|communiq|talks"
    r"|negotiat|consultation|visit|meeting|\bmet\b|phone call|telephone|conversation"
    r"|condolence|mediat|counterpart|delegation|commission|agreement|trade target"
    r"|ambassador|envoy|احضار|مذاکرات|ملاقات|دیدار|تفاهم|مفاہمتی|گفتگو|رایزنی|احتجاج|طلب کر"
    r"|دورہ|وفد|هیئت",
    re.I,
)
# a word of intent or a speech act governing the cue: what is said, not (yet) done
_INTENT = re.compile(
    r"\b(?:agree[sd]?|agreement to|resolved? to|wants? to|aims? to|pledg\w*|vow\w*|promis\w*"
    r"|plan(?:s|ned)? to"
    r"|will|would|shall|propos\w*|discuss\w*|call(?:ed|s)? for|urg\w*|warn\w*|threat\w*"
    r"|demand\w*|offer\w*|ready to|intend\w*|seek\w*|sought|accus\w*|blam\w*|alleg\w*"
    r"|condemn\w*|den(?:y|ies|ied)|criticis\w*|criticiz\w*|decided to|vowing|hopes? to"
    r"|sign(?:ed|s|ing)?)\b",
    re.I,
)
INTENT_WINDOW = 80  # characters before the cue
_INTENT_LOWER = _lower_twin(_INTENT)


def _intent_before(evidence: str, at: int) -> bool:
    """Does a word of intent stand within INTENT_WINDOW characters before ``at``?"""
    lo = max(0, at - INTENT_WINDOW)
    if _lower_twins_apply(evidence):
        return _INTENT_LOWER.search(evidence[:at].lower(), lo) is not None
    return _INTENT.search(evidence, lo, at) is not None


def quad_class(category: str, cue: str, tone_score: float, evidence: str = "") -> str:
    """The PLOVER/CAMEO quad class of a signal (see the module docstring)."""
    if tone_score == 0:
        return "verbal_cooperation"
    polarity = "cooperation" if tone_score > 0 else "conflict"
    mode = _cue_mode(category, cue)
    if mode == "material" and evidence:
        at = evidence.find(cue) if cue else -1
        if at > 0 and _intent_before(evidence, at):
            mode = "verbal"
    return f"{mode}_{polarity}"


@lru_cache(maxsize=8192)
def _cue_mode(category: str, cue: str) -> str:
    """'verbal' or 'material' from the cue, else from the category."""
    if _MATERIAL_CUE.search(cue):
        return "material"
    if _VERBAL_CUE.search(cue):
        return "verbal"
    return "material" if category in MATERIAL_CATEGORIES else "verbal"


def category_quad_class(category: str, tone_score: float) -> str:
    """The quad class from the category and tone alone (what the SQL macro
    ``signal_quad_class`` computes for rows stored without one)."""
    return quad_class(category, "", tone_score)


# -- the tagger's call ------------------------------------------------------------------


def direct_signals(signals: list[Signal], mentions: list[Mention], watch: Watch) -> list[Signal]:
    """Set ``direction`` and ``quad_class`` on each of ``signals`` (the tagger's fresh
    records) and return them.  ``mentions`` are the article's gazetteer mentions in text
    order (the tagger's)."""
    if not signals:
        return signals
    sides, phrases, party_of = _watch_parties(watch)
    starts = [m.start for m in mentions]
    new_party = tuple.__new__  # Party(...) without the Python-level __new__ of a NamedTuple
    by_sentence: dict[tuple[int, int], _SentenceDirections] = {}  # a sentence's signals share
    for sig in signals:
        a, b = sig.start, sig.end
        directions = by_sentence.get((a, b))
        if directions is None:
            parties = []
            for m in mentions[bisect_left(starts, a) : bisect_left(starts, b)]:
                if m.end > b:
                    continue
                key = (m.entity_id, m.country, m.kind)
                side_kind = party_of.get(key)
                if side_kind is None:
                    side_kind = party_of[key] = _side_and_kind(m, sides, watch)
                parties.append(new_party(Party, (m.start - a, m.end - a, *side_kind)))
            parties.sort(key=_START)  # mentions come in text order: already sorted
            directions = by_sentence[(a, b)] = _SentenceDirections(
                sig.evidence, tuple(parties), sides, phrases
            )
        sig.direction = directions.of_cue(sig.cue)
        sig.quad_class = quad_class(sig.category, sig.cue, sig.tone_score, sig.evidence)
    return signals


_START = itemgetter(0)
_PartyKey = tuple[str, str | None, str]  # a mention's entity_id, country and kind
_SideKind = tuple[str | None, str]  # its side and kind as a party
# id(watch) -> (the watch, its dyad codes, its dyad phrases, _PartyKey -> _SideKind as
# mentions come)
_WATCH_PARTIES: dict[int, tuple[Any, tuple[str, str], tuple[str, ...], dict[Any, Any]]] = {}


def _watch_parties(
    watch: Watch,
) -> tuple[tuple[str, str], tuple[str, ...], dict[_PartyKey, _SideKind]]:
    """What ``direct_signals`` needs of ``watch``, kept once per watch."""
    cached = _WATCH_PARTIES.get(id(watch))
    if cached is None or cached[0] is not watch:
        if len(_WATCH_PARTIES) >= 8:
            _WATCH_PARTIES.clear()
        sides = (watch.dyad[0].code, watch.dyad[1].code)
        cached = (watch, sides, tuple(watch.relevance.dyad_references), {})
        _WATCH_PARTIES[id(watch)] = cached
    return cached[1], cached[2], cached[3]


def _side_and_kind(m: Mention, sides: tuple[str, str], watch: Watch) -> _SideKind:
    """A mention's side as a party (a dyad code, or None: a third country, a militant group,
    no country) and its kind ('actor': capitals too, "Tehran accused Islamabad")."""
    ent = watch.gazetteer.get(m.entity_id)
    non_state = ent is not None and ent.type in NON_STATE_TYPES
    side = m.country if m.country in sides and not non_state else None
    is_actor = m.kind == "actor" or (ent is not None and ent.type == "capital")
    return side, "actor" if is_actor else "place"
