"""Signal tagging: one article's text -> relevance to the dyad, signals, mentions, tone.

``tag_article`` is a pure function of the article and the loaded watch (no I/O); all
matching is precompiled by ``dyadwatch.watch.load_watch``.  What it does:

1. Split the body text into sentences (English punctuation plus Urdu/Persian ``۔ ؟``),
   keeping character offsets into the original text.
2. Walk the words of the text once, collecting gazetteer mentions, category cues, tone
   words and relation cues (``Lexicon.scan``); a match inside a longer match of the same
   kind is dropped ("Pakistan" inside "Pakistan Army").
3. Drop cues negated in their clause ("did not close the border", "denied any role in the
   attack", "no clashes were reported"; a noun-phrase negator -- "without documents" --
   only reaches its noun phrase; for Urdu/Persian, a negated verb after the cue).
4. Relevance (0..1) from evidence that the story is about the *relation*: sentences that
   name an entity of each side and a relation cue (not lists of many countries), the
   title naming both sides, places of the border region; below the watch's threshold
   the article is not relevant and gets no signals (mentions are still returned).  An
   article with no signal and no cue between the sides needs stronger evidence.  A
   headline naming the sides only in different parts ("...: Iran hangs three; CTD raids
   Mastung") is a co-mention, and one calling its events separate or unrelated no
   evidence; a sentence saying "separately" or "unrelated" does not count; one standing
   for both sides ("Both sides agreed to ...") with a relation cue counts once the article
   has named both.
5. One signal per (category, sentence) with a cue, scored 0..1 (higher when the sentence
   names both sides), toned -10..+10 from the category/cue default moved by tone words;
   the strongest few per category are kept.  A passing mention is no topic: a category
   found in one sentence only -- neither the lead nor named in the title -- where another
   category's signal is stronger.  A short article carries at most MAX_CATEGORIES
   categories (its main topics), and a third one only with evidence near the second's,
   in the lead or the title, or on a marked act ("summoned the ambassador").  A
   cooperative cue that is only the topic of a dispute ("warns Pakistan over Iran trade
   deals") has no tone of its own; a conflict cue under a modal of possibility ("could
   expose them to sanctions") counts half; a casualty word counting a mishap's toll
   ("killed when their bus overturned") is no conflict.
6. Article tone: the mean of the sentences with signals (each at its signals' score-
   weighted tone, weighted by its best score, clipped to SENTENCE_TONE_CLIP), the title's
   tone (a headline says what the story is about) and the tone words of other sentences
   naming a side.  Passing mentions and categories beyond the main topics still count in
   the tone: they are what happened, only not what the story is about.  A headline of a
   conflictual and a cooperative clause makes the story mixed unless its tone is clearly
   one-sided.

7. With a learned model in the watch (``[model] file``; extractors/learned.py), logistic
   regressions over the rules' figures and the words of the title and the article's head
   decide whether an article of some relevance by the rules (MODEL_RELEVANCE_FLOOR) is
   relevant, which categories are its topics (a topic without a cue of the rules gets the
   head's sentence whose words weigh most for it as evidence), and its tone label (the tone
   score stays the rules').  Trained on the dev set by ``make train-tagger``; without a
   model the rules above decide.

The title adds to relevance and tone, never to signals: every offset indexes ``text``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import orjson

from dyadwatch.records import Amount, Article, Mention, Quote, Signal, TagResult
from dyadwatch.settings import Settings
from dyadwatch.watch import (
    DYAD_REFERENCE,
    Category,
    Entity,
    Hit,
    Watch,
    WatchError,
    fold,
    load_watch,
    model_path,
)
from extractors.direction import direct_signals
from extractors.learned import (
    CATEGORY_FEATURES,
    RELEVANT_AT,
    TONE_FEATURES,
    TaggerModel,
    log1p,
    text_terms,
)
from extractors.parallel import ordered_map, worker_processes
from extractors.runfiles import RunFiles, as_line, record_from_row

log = logging.getLogger(__name__)

# Bump when the tagging logic changes; the watch version includes it.
TAGGER_CODE_VERSION = "tagger-11"

# a sentence's tone words override its topic's tone when they pull the other way this much
FLIP_TONE_AT = 1.5
# weight of a sentence's tone words (no signal in it) in the article tone; a signal: its score
SENTENCE_TONE_WEIGHT = 0.4
# an article of more sentences needs two signals of a category, or one this strong
LONG_ARTICLE_SENTENCES = 8
STRONG_SIGNAL = 0.75
# an article without any signal, and without a cue (even a generic one: "talks") in a
# sentence naming both sides, is relevant only on this much relevance evidence (two
# sentences about the relation, or a title and a sentence); else its relevance is capped
# NO_SIGNAL_MARGIN below the threshold
NO_SIGNAL_RELEVANCE = 0.7
NO_SIGNAL_MARGIN = 0.05
# an article with strong signals both ways (tone.labels.mixed_strength) is mixed down to this
# tone: conflict cues (-9 for a clash) outweigh cooperation cues (+5 for an agreement) in the
# mean, so "ambassadors return after the strikes" would read as conflict
MIXED_CONFLICT_BELOW = -3.0
# a sentence's tone counts in the article tone at most this far from 0: a story is cooperation
# or conflict by how much of it goes each way, not by how violent its worst sentence is
SENTENCE_TONE_CLIP = 4.0
# an analyst tags a short story's main topics, rarely more than three: the categories with the
# most evidence (the sum of their signals' scores) are kept (a long article -- over
# LONG_ARTICLE_SENTENCES -- may cover more)
MAX_CATEGORIES = 3
# weight in the article tone of the title's tone (a sentence with signals: their best score,
# which is higher when it names both sides)
TITLE_TONE_WEIGHT = 1.0
# a headline of two clauses, one this cooperative and one this conflictual ("Guards trade fire
# near Mashkel; hotline call restores calm"), announces a mixed story: the article is mixed
# unless its tone is clearly one-sided (at least TITLE_MIXED_WITHIN from 0)
TITLE_CLAUSE_TONE = 1.5
TITLE_MIXED_WITHIN = 3.0
# a third category of a short story is a main topic only with at least this share of the
# second one's evidence, or named in the lead or the title: an analyst rarely tags a third
# topic that the story only touches on
THIRD_CATEGORY_SHARE = 0.65
# a conflict cue under a modal of possibility ("could expose them to secondary sanctions")
# is a risk, not an event: its tone counts this much
HEDGED_CONFLICT = 0.5
# with the learned layer, an article of less relevance than this by the rules is not relevant
# (the layer decides the rest): of the 1,979 tune items of rounds up to 28, 7 of the 1,318
# relevant ones were below it, and 577 of the 661 others
MODEL_RELEVANCE_FLOOR = 0.3
# the learned layer reads the words of an article's first sentences up to this many words: most
# dev-set items are shorter (5-fold CV scores the same at 200, 300 and without a limit), and
# a long article's many words would outweigh its rules; at 200 the 958-word seed article lost
# border_security, whose paragraphs come after its first 200 words
MODEL_HEAD_WORDS = 300

_BORDER_PROVINCES = frozenset({"balochistan", "sistan_baluchestan"})
HUMANITARIAN = "humanitarian"  # the category of help for a mishap's victims

# -- sentence splitting --------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr gen lt col maj brig capt cmdr adm sgt st no nos vs jan feb apr aug sep
    sept oct nov dec inc ltd co corp jr sr prof gov sen rep rev fig approx e.g i.e u.s u.k
    u.n u.s.a rs pvt govt dept est mt""".split()
)
# what may start the sentence after a '.' (else the '.' ends no sentence: "approx. three")
_NEXT_SENTENCE = r"\s*[\"'“‘(]?[A-Z0-9\u0600-\u06ff]"
_UPPER_OR_DIGIT_START = re.compile(_NEXT_SENTENCE)
# a stop's run of stops and closing quotes or brackets, then a space or the end
_STOP_RUN = r"[.!?؟۔]*[\"'”’»)\]]*(?=\s|$)"


def _not_after_short_word(words: Iterable[str]) -> str:
    """Negative lookbehinds, to follow a '.': they fail when the '.' closes a word standing
    alone (no letter, digit or '.' before it: what ``split_sentences`` walks back over;
    ``[^\\W_]`` is exactly what ``str.isalnum`` accepts) that is a single letter or digit,
    or one of ``words`` in any case.  One lookbehind per word length: each has a fixed width.

    They fail on a superset of the words ``split_sentences`` skips (``(?i)`` matches every
    character that ``str.lower`` turns into the letter, and a few more: 'ſ' for s, 'ı' and
    'İ' for i; the single character may be a digit): a '.' they stop is decided in Python,
    the exact way, never the other way round.
    """
    alone = r"(?<![^\W_]|\.)"
    by_length: dict[int, list[str]] = {}
    for word in sorted(words):
        by_length.setdefault(len(word), []).append(re.escape(word))
    return rf"(?<!{alone}[^\W_]\.)" + "".join(
        rf"(?<!{alone}(?i:{'|'.join(alternatives)})\.)"
        for _, alternatives in sorted(by_length.items())
    )


# a '.' that surely ends a sentence: it closes no short word, and a capital, a digit or the
# end comes next
_DOT_ENDS = rf"(?<=\.){_not_after_short_word(_ABBREVIATIONS)}{_STOP_RUN}(?={_NEXT_SENTENCE}|\Z)"
# One leading character class lets the regex engine skip ahead fast.  Group 1 (the common
# case, decided here so that it costs Python no more than its span): a stop that ends a
# sentence, the space after it skipped.  No group: a line break (the sentence ends before
# it), or a '.' that may close an abbreviation or an initial, or have a lower-case word
# after it, for Python to decide (the space after it is not skipped: a line break in it
# still ends the sentence when the '.' does not).
_BOUNDARY = re.compile(
    rf"[\n.!?؟۔](?:(?<=\n)\s*|({_DOT_ENDS}|(?<=[!?؟۔]){_STOP_RUN})\s*|{_STOP_RUN})"
)
_CLAUSE_BREAK = re.compile(
    r"[,;:()\[\]\u060c\u061b]|\s(?:but|while|although|though|however|whereas|after|before"
    r"|when|which|who|as|because|since|and then)\s"
)
# negators of a noun phrase, and how far after one a negated word may start
_NOUN_NEGATORS = frozenset({"no", "without", "none", "free of", "absence of", "بغیر", "بدون"})
NOUN_NEGATOR_SCOPE = 30


# modals of possibility before a cue in its clause (English), and prepositions that make what
# follows the topic of a dispute or a discussion ("warns Pakistan over Iran trade deals",
# "concerns about the pipeline"; not "over 500 trucks", "about 800 Afghans")
_HEDGE = (
    re.compile(r"(?:could|might|if|unless|whether)\b"),
    (" could", " might", " if", " unless", " whether"),
)
_TOPIC_OF = (re.compile(r"(?:over|about|regarding)\b(?!\s+\d)"), (" over", " about", " regarding"))
HEDGE_SCOPE = 60
TOPIC_SCOPE = 40
# casualty tone words, and what makes them a mishap's toll rather than violence: an accident
# or a natural disaster named in the sentence (words folded as ``fold`` folds the text)
_CASUALTY = ("kill", "dead", "died", "wounded", "injured", "casualt", "victims", "mourn")
_CASUALTY += tuple(map(fold, ["ہلاک", "کشته"]))
_MISHAP = re.compile(
    r"\b(?:accident|crash|overturn|collision|collided|derail|capsiz|earthquake|quake|tremor"
    r"|flood|landslide|avalanche|cyclone|storms?\b|heat ?wave|drown|stampede|mishap)|"
    + "|".join(map(fold, ["حادثہ", "حادثے", "تصادف", "زلزلہ", "سیلاب", "واژگون"]))
    + r"|\bسیل\b"
)
_TITLE_CLAUSES = re.compile(r";|\s[-–—]\s|,?\s+but\s+|,\s+then\s+|,\s+yet\s+")
_TITLE_CLAUSE_MARKS = (";", "-", "–", "—", "but", "then", "yet")  # in every break: looked for first
# a headline's parts ("Week in security: Iran hangs three; CTD raids Mastung"): a headline
# naming the two sides only in different parts is a digest of two stories
_TITLE_PARTS = re.compile(r"[;:|]|\s[-–—]\s")
# words by which a writer says that what the two sides do is not linked: in a sentence naming
# both ("Separately, ...", "in an unrelated case"; Persian: separately) or in a headline
# ("Pakistan missiles, Iran enrichment on separate agendas": there "separate" describes the
# stories it joins; in a body it qualifies anything, "without a separate contract")
_UNLINKED = re.compile(r"\b(?:separately|unrelated)\b|جداگانه")
_UNLINKED_WORDS = ("separately", "unrelated", "جداگانه")
_UNLINKED_TITLE = re.compile(r"\b(?:separate|separately|unrelated)\b|جداگانه|\bالگ\b")
_UNLINKED_TITLE_WORDS = ("separate", "unrelated", "جداگانه", "الگ")


def _unlinked(low: str, span: tuple[int, int]) -> bool:
    """Does the sentence at ``span`` of the folded text say its events are not linked?"""
    a, b = span
    for word in _UNLINKED_WORDS:  # most sentences have none of them: no regex search
        if low.find(word, a, b) >= 0:
            return _UNLINKED.search(low, a, b) is not None
    return False


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    # the next sentence's start: at a non-space (or the end), as every span is trimmed
    start = len(text) - len(text.lstrip())
    for m in _BOUNDARY.finditer(text):
        end = m.end(1)
        if end > 0:  # a stop that ends a sentence, the space after it skipped
            spans.append((start, end))
            start = m.end()
            continue
        j = m.start()
        if text[j] == "\n":
            # the sentence ends before it (none ends when it is in the space skipped after
            # a '.' decided below: ``start`` is past it)
            end = j
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((start, end))
            start = m.end()
            continue
        # an abbreviation or an initial, or the next sentence starts in lower case
        k = j
        while k > 0 and (text[k - 1].isalnum() or text[k - 1] == "."):
            k -= 1
        word = text[k:j].lower()
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        nxt = _UPPER_OR_DIGIT_START.match(text, m.end())
        if nxt is None and m.end() < len(text):
            continue
        spans.append((start, m.end()))
        start = m.end()
        while start < len(text) and text[start].isspace():  # as the regex skips it
            start += 1
    end = len(text.rstrip())
    if end > start:
        spans.append((start, end))
    return spans


# -- helpers ---------------------------------------------------------------------------


def _drop_contained(hits: list[Hit]) -> list[Hit]:
    """Keep hits not strictly inside a longer hit (identical spans are all kept).

    ``hits`` come in order of their start, as ``Lexicon.scan`` returns them.
    """
    out: list[Hit] = []
    max_end = -1
    i, n = 0, len(hits)
    while i < n:
        h = hits[i]
        start = h[0]
        j = i + 1
        if j < n and hits[j][0] == start:  # several hits start here: the longest win
            while j < n and hits[j][0] == start:
                j += 1
            end = max(g[1] for g in hits[i:j])
            if end > max_end:
                out += [g for g in hits[i:j] if g[1] == end]
                max_end = end
        elif h[1] > max_end:
            out.append(h)
            max_end = h[1]
        i = j
    return out


def _by_score_then_start(item: tuple[float, int, int, float, int, int]) -> tuple[float, int]:
    return -item[0], item[1]


class _Sentence:
    """What one sentence holds (only sentences with at least one hit get one)."""

    __slots__ = ("span", "sides", "countries", "border_places", "relation", "dyad_ref", "acts")
    __slots__ += ("cues", "tones", "negators", "counters", "mishap")

    def __init__(self, span: tuple[int, int]) -> None:
        self.span = span
        self.sides: set[int] = set()
        self.countries: set[str] = set()
        self.border_places: set[str] = set()
        self.relation = False
        self.dyad_ref = False  # "the two countries", "both sides"
        self.acts = False  # a relation cue other than a dyad reference ("agreed", "talks")
        self.cues: list[Hit] = []
        self.tones: list[Hit] = []
        self.negators: list[Hit] = []
        self.counters: list[Hit] = []  # "against", "to stop", "کے خلاف" (tone.counter)
        self.mishap: bool | None = None  # names an accident or a disaster (on first need)

    def is_list(self, min_countries: int) -> bool:
        return len(self.countries) >= min_countries

    def both_sides(self, min_countries: int) -> bool:
        return len(self.sides) == 2 and len(self.countries) < min_countries


_Marker = tuple[re.Pattern[str], tuple[str, ...]]


def _marked_before(low: str, sent: _Sentence, marker: _Marker, at: int, scope: int) -> bool:
    """Does ``marker`` (a regex matching at a word's start, and its words, each with the
    space before it, looked for first: most windows have none) stand at most ``scope``
    characters before position ``at``, in its clause of ``sent``?"""
    lo = at - scope
    if lo < sent.span[0]:  # (no max(): a call, in a hot path)
        lo = sent.span[0]
    window = low[lo:at]
    rx, words = marker
    for w in words:
        if w in window:
            break
    else:
        return False
    for i in range(at - 1, lo - 1, -1):  # the last one: a clause break after it is after all
        if low[i] == " " and (m := rx.match(low, i + 1, at)) is not None:
            return not _CLAUSE_BREAK.search(low, m.end(), at)
    return False


def _negated(low: str, sent: _Sentence, start: int, end: int, arabic: bool) -> bool:
    """Is the match ``low[start:end]`` negated in its clause?

    English (and Persian "هیچ"/"تکذیب"): a negator before it in the same clause, at most
    80 characters back, or inside the match.  A negator of a noun phrase ("without
    documents", "no clashes") reaches only NOUN_NEGATOR_SCOPE characters: "Afghans without
    documents should be sent to Afghanistan" negates no Afghanistan.  Urdu/Persian: also a
    negated verb after it.
    """
    if not sent.negators:
        return False
    s0, s1 = sent.span
    lo = max(s0, start - 80)
    for n in sent.negators:
        if n.data == "before" and lo <= n.start and n.end <= end and n.start != start:
            if n.start > start:  # inside the match ("border was not closed")
                return True
            gap = low[n.end : start]
            if len(gap) > NOUN_NEGATOR_SCOPE and low[n.start : n.end] in _NOUN_NEGATORS:
                continue
            if not _CLAUSE_BREAK.search(gap):
                return True
        elif arabic and n.data == "after" and end <= n.start < min(s1, end + 60):
            if not _CLAUSE_BREAK.search(low[end : n.start]):
                return True
    return False


def _mishap_toll(low: str, sent: _Sentence, cues: list[Hit]) -> bool:
    """Does a casualty word (_CASUALTY) in ``sent`` count the toll of a mishap, no violence:
    "pilgrims killed when their bus overturned", "rescuers shifted 23 injured to hospital"
    (a humanitarian cue)?"""
    if any(c.data[0] == HUMANITARIAN for c in cues):
        return True
    if sent.mishap is None:
        sent.mishap = _MISHAP.search(low, sent.span[0], sent.span[1]) is not None
    return sent.mishap


def _countered(low: str, sent: _Sentence, cue: Hit) -> bool:
    """Is ``cue`` what the sentence's actors act against ("joint action against terrorist
    groups", "urged them to stop militant attacks"; Urdu/Persian "دہشت گردوں کے خلاف")?
    A counter term at most 40 characters before it in its clause (Urdu/Persian: or right
    after it)."""
    for c in sent.counters:
        if c.data == "before" and c.end <= cue.start and cue.start - c.end <= 40:
            if not _CLAUSE_BREAK.search(low[c.end : cue.start]):
                return True
        elif cue.arabic and c.data == "after" and cue.end <= c.start <= cue.end + 30:
            if not _CLAUSE_BREAK.search(low[cue.end : c.start]):
                return True
    return False


def _cue_tone(
    watch: Watch, low: str, sent: _Sentence, category: Category, cues: list[Hit], both: bool
) -> tuple[Hit, float]:
    """The tone (-10..+10) of a ``category`` signal on ``cues`` in ``sent``, and its cue.

    The cue whose tone (its own, else the category default) is furthest from 0 sets the
    base (the first such cue on a tie); the sentence's tone words (not negated, outside
    the cue) move it.
    """
    # the cue of the most marked tone is the sentence's act, the others its topic: "rescue
    # team" (aid, +5) over "earthquake" (0), "summoned" (-5) over "ambassador" (0); a
    # cooperative cue that is only the topic of a dispute or a discussion ("warns Pakistan
    # over Iran trade deals") has no tone of its own: the sentence's tone words say how it went
    cue, cue_tone, base = cues[0], None, 0.0
    first = True
    for c in cues:
        own = c.data[2]
        t = category.tone if own is None else own
        if t > 0 and _marked_before(low, sent, _TOPIC_OF, c.start, TOPIC_SCOPE):
            t, own = 0.0, None
        if first or abs(t) > abs(base):
            cue, cue_tone, base = c, own, t
            first = False
    adjust = 0.0
    if sent.tones:
        max_adj = watch.tone.max_adjustment
        cs, ce = cue.start, cue.end
        adjust = 0  # the tone words outside the cue, added up as sum() would (a loop: faster)
        for t in sent.tones:
            if t.end <= cs or t.start >= ce:
                adjust += t.data
        adjust = max(-max_adj, min(max_adj, adjust))
    if base < 0 and _marked_before(low, sent, _HEDGE, cue.start, HEDGE_SCOPE):
        # a risk, not an event: "could expose Pakistani entities to secondary sanctions"
        base *= HEDGED_CONFLICT
        if adjust < 0:
            adjust *= HEDGED_CONFLICT
    if category.counter_frame and _countered(low, sent, cues[0]):
        # what both sides act against is no conflict between them
        base = watch.tone.counter_frame_tone if both else 0.0
        return cue, max(-10.0, min(10.0, base + adjust))
    if cue_tone is None and base * adjust < 0 and abs(adjust) >= FLIP_TONE_AT:
        # the sentence's action outweighs its topic: "agreed to fight militants"
        # (a cue with its own tone -- "reopened the border" -- is the action itself)
        return cue, adjust
    return cue, max(-10.0, min(10.0, base + adjust))


def _noisy_or(probabilities: list[float]) -> float:
    p = 1.0
    for q in probabilities:
        p *= 1.0 - q
    return 1.0 - p


def _read_title(watch: Watch, title: str) -> tuple[float, float | None, set[str], bool]:
    """The title's relevance evidence, its tone (None: no cue or tone word in it), the
    categories it has a cue of, and whether it goes both ways.

    A headline states what the story is about, so its tone counts in the article's tone
    (TITLE_TONE_WEIGHT): "Traders complain of losses as Iran raises tariffs"; a category
    it names is no passing mention in the body; and a headline of a conflictual and a
    cooperative clause announces a mixed story ("Guards killed in Saravan raid; Islamabad
    pledges help").
    """
    low = fold(title)
    hits = watch.lexicon.scan(title, low)
    categories = {h.data[0] for h in hits if h.role == "cue"}
    tone = _title_tone(watch, low, hits)
    both_ways = False
    if tone is not None and any(mark in title for mark in _TITLE_CLAUSE_MARKS):
        cuts = [m.start() for m in _TITLE_CLAUSES.finditer(title)]
        if cuts:  # the tone of each clause, of the hits inside it
            tones = []
            for a, b in zip([0, *cuts], [*cuts, len(title)], strict=True):
                part = [h for h in hits if a <= h.start and h.end <= b]
                tones.append(_title_tone(watch, low, part) if part else None)
            known = [t for t in tones if t is not None]
            both_ways = bool(known) and max(known) >= TITLE_CLAUSE_TONE
            both_ways = both_ways and min(known) <= -TITLE_CLAUSE_TONE
    return _title_evidence(watch, title, low, hits), tone, categories, both_ways


def _title_tone(watch: Watch, low: str, hits: list[Hit]) -> float | None:
    """The tone of a headline (``low``: folded) by its ``hits``; None: no cue or tone word."""
    negators, counters, cue_hits, tone_hits, entity_spans = [], [], [], [], []
    for h in hits:
        role = h[2]
        if role == "negator":
            negators.append(h)
        elif role == "counter":
            counters.append(h)
        elif role == "cue":
            cue_hits.append(h)
        elif role == "tone":
            tone_hits.append(h)
        elif role == "entity":
            entity_spans.append((h.start, h.end))
    if not cue_hits and not tone_hits:
        return None
    sent = _Sentence((0, len(low)))
    sent.negators = negators
    sent.counters = counters
    for h in tone_hits:
        if not _negated(low, sent, h.start, h.end, h.arabic):
            if low.startswith(_CASUALTY, h.start) and _mishap_toll(low, sent, cue_hits):
                continue
            if not any(a <= h.start and h.end <= b for a, b in entity_spans):
                sent.tones.append(h)
    by_category: dict[str, list[Hit]] = {}
    for h in _drop_contained(cue_hits):
        if not _negated(low, sent, h.start, h.end, h.arabic):
            by_category.setdefault(h.data[0], []).append(h)
    if by_category:
        tones = [
            _cue_tone(watch, low, sent, watch.categories[category], cues, True)[1]
            for category, cues in by_category.items()
        ]
        return sum(tones) / len(tones)
    if sent.tones:
        max_adj = watch.tone.max_adjustment
        return max(-max_adj, min(max_adj, sum(t.data for t in sent.tones)))
    return None


def _title_evidence(watch: Watch, title: str, low: str, hits: list[Hit]) -> float:
    """Relevance evidence of a headline: both sides named with a relation cue, or without;
    none when it names a list of countries, or says its events are unrelated ("separate
    talks"); a co-mention only when no part of it names both sides ("Pakistan-India: LoC
    ceasefire holds; Iran urges restraint")."""
    rs = watch.relevance
    sides: dict[int, list[int]] = {}  # side -> where the title names it
    countries: set[str] = set()
    relation = False
    entity_hits = [h for h in hits if h[2] == "entity"]
    if len(entity_hits) < 2:  # no two sides
        return 0.0
    for h in _drop_contained(entity_hits):
        ent: Entity = h.data
        side = watch.side_of(ent.country)
        if side is not None:
            sides.setdefault(side, []).append(h.start)
        if ent.country:
            countries.add(ent.country)
    if len(sides) < 2 or len(countries) >= rs.list_min_countries:
        return 0.0
    if any(w in low for w in _UNLINKED_TITLE_WORDS) and _UNLINKED_TITLE.search(low):
        return 0.0
    cuts = [m.start() for m in _TITLE_PARTS.finditer(title)]
    parts = [{bisect_right(cuts, at) for at in where} for where in sides.values()]
    if not parts[0] & parts[1]:
        return rs.title_co_mention
    for h in hits:
        if h.role == "relation" or (h.role == "cue" and watch.categories[h.data[0]].relational):
            relation = True
    return rs.title_with_relation if relation else rs.title_co_mention


# -- quotes and amounts ----------------------------------------------------------------

_Q_OPEN, _Q_CLOSE = '"“«', '"”»'
_SAY = r"(?:said|says|added|told|stated|noted|warned|insisted|declared)"
_SPEAKER = r"(?P<s>(?:the |a |an )?[A-Z][^\s\"“”«».,;:!?]*(?:[ \-][^\s\"“”«».,;:!?]+){0,7}?)"
# A quotation: an opening mark, 8 to 600 characters without marks or line breaks (a
# comma or full stop before the closing mark left out), a closing mark.  ``_quote_at``
# works out what this regex matches at an opening mark (tests hold it to the regex).
_QUOTED = r"[\"“«](?P<q>[^\"“”«»\n]{8,600}?)[,.]?[\"”»]"
_QUOTE_STOP = re.compile(r"[\"“”«»\n]")
# what follows a quotation: '"...," Hussain said' / '"...," said Hussain'
_SPEAKER_THEN_SAY = re.compile(r",?\s+" + _SPEAKER + r"\s+" + _SAY + r"\b")
_SAY_THEN_SPEAKER = re.compile(
    r",?\s+" + _SAY + r"\s+" + _SPEAKER + r"(?=[.,;]|\s+(?:on|in|at|who)\b)"
)
# what precedes one: 'Hussain said: "..."' (searched with the opening mark as endpos)
_SAY_BEFORE = re.compile(r"\s" + _SAY + r"(?: \w+)?(?: that)?[:,]?\s+\Z")
_NOT_IN_SAY_BEFORE = re.compile(r"[^\w\s:,]")  # a character no _SAY_BEFORE match holds
_SPEAKER_BEFORE = re.compile(r"(?<![^ \n\"“”(])" + _SPEAKER + r"$")
# '..., according to X.'
_ACCORDING_TO = re.compile(
    r"(?P<q>[A-Z][^.!?\n\"“”]{15,400}?),\s+according to\s+"
    r"(?P<s>[^.,;\n\"“”]{2,80}?)(?=[.;]|,\s)"
)
_NUMBER = r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_MULT = r"(?:\s?(?P<m>trillion|billion|million|thousand|crore|lakh|bn|mn|tn|m|k)\b)?"
_CURRENCY_BEFORE = {
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "rs": "PKR",
    "rs.": "PKR",
    "pkr": "PKR",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
}
_CURRENCY_AFTER = {
    "dollar": "USD",
    "dollars": "USD",
    "rupees": "PKR",
    "rupee": "PKR",
    "rials": "IRR",
    "rial": "IRR",
    "tomans": "IRT",
    "toman": "IRT",
    "euros": "EUR",
    "yuan": "CNY",
}
_UNITS = {
    "mw": ("power", "MW"),
    "megawatt": ("power", "MW"),
    "megawatts": ("power", "MW"),
    "gw": ("power", "GW"),
    "kv": ("power", "kV"),
    "litres": ("volume", "litre"),
    "litre": ("volume", "litre"),
    "liters": ("volume", "litre"),
    "barrels": ("volume", "barrel"),
    "mmcfd": ("volume", "mmcfd"),
    "tonnes": ("weight", "tonne"),
    "tons": ("weight", "tonne"),
    "tonne": ("weight", "tonne"),
    "containers": ("count", "container"),
    "trucks": ("count", "truck"),
}
_MULTIPLIER = {
    "trillion": 1e12,
    "tn": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "thousand": 1e3,
    "k": 1e3,
    "crore": 1e7,
    "lakh": 1e5,
}
_UNIT_WORDS = (
    r"(?:\s?(?P<u>dollars?|rupees?|rials?|tomans?|euros|yuan|MW|megawatts?|GW|kV|litres?"
    r"|liters|barrels|mmcfd|tonnes?|tons|containers|trucks)\b)"
)
_AMOUNT_PATTERNS = (
    re.compile(
        r"(?P<cur>US\$|\$|€|£|\b(?:USD|PKR|EUR|Rs\.?)\s?)" + _NUMBER + _MULT + _UNIT_WORDS + "?",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![$€£\d.,])(?P<cur>)" + _NUMBER + _MULT + _UNIT_WORDS, re.IGNORECASE),
)
_TARGET_YEAR = re.compile(r"\b(?:by|until|till|before)\s+(?:the end of\s+)?((?:20|19)\d\d)\b")


def _according_to(text: str) -> list[tuple[str, re.Match[str]]]:
    """'..., according to X.' searched only around each "according to" (the pattern is
    slow when tried at every capital letter of a long text)."""
    out = []
    i = text.find("according to")
    searched_to = 0
    while i != -1:
        lo = max(searched_to, i - 420)
        m = _ACCORDING_TO.search(text, lo, min(len(text), i + 120))
        if m is not None and m.start() >= searched_to:
            out.append((m.group("s"), m))
            searched_to = m.end()
        i = text.find("according to", i + 12)
    return out


def _quote_at(text: str, mark: int) -> tuple[int, int, int] | None:
    """The quoted words (start, end) of a quotation opening at ``mark`` and the end of
    its closing mark: what ``_QUOTED`` matches there, read off the first mark or line
    break after it (the regex's lazy scan, tried at every mark, was slow)."""
    stop = _QUOTE_STOP.search(text, mark + 1)
    if stop is None or text[stop.start()] not in _Q_CLOSE:
        return None
    close = stop.start()
    inside = close - mark - 1
    # the shortest quoted words that fit: without a comma or full stop before the mark
    if 9 <= inside <= 601 and text[close - 1] in ",.":
        return mark + 1, close - 1, close + 1
    if 8 <= inside <= 600:
        return mark + 1, close, close + 1
    return None


def _said_before(text: str, mark: int, floor: int) -> int:
    """Where the leftmost 'said: ' (``_SAY_BEFORE``) ending at ``mark`` starts, at or after
    ``floor``; -1 if none.  Searched in a short stretch before the mark, made longer only
    while the stretch holds no character such a phrase cannot hold (one that does bars any
    match from starting before it)."""
    lo, hi = max(floor, mark - 64), mark
    while lo > floor and _NOT_IN_SAY_BEFORE.search(text, lo, hi) is None:
        lo, hi = max(floor, lo - 256), lo
    m = _SAY_BEFORE.search(text, lo, mark)
    return -1 if m is None else m.start()


def _speaker_before(text: str, at: int) -> str | None:
    """The longest speaker phrase (one starting the text or after a space, line break,
    quotation mark or bracket) ending right before ``at``, within 90 characters."""
    m = _SPEAKER_BEFORE.search(text[max(0, at - 90) : at])
    return None if m is None else m.group("s")


def _quote_marks(text: str) -> list[int]:
    """Offsets of the opening quotation marks (str.find: faster than a regex scan)."""
    marks = []
    for mark in _Q_OPEN:
        i = text.find(mark)
        while i != -1:
            marks.append(i)
            i = text.find(mark, i + 1)
    marks.sort()
    return marks


_Found = list[tuple[str, tuple[int, int]]]  # (speaker, span of the quoted words)


def _marked_quotes(text: str) -> tuple[_Found, _Found, _Found]:
    """The quotations followed by speaker and verb, by verb and speaker, and preceded by
    speaker and verb, each as ``re.finditer`` would find the whole pattern (``_QUOTED``
    with what follows or precedes it) left to right: one pass over the opening marks,
    each form resuming after its own last match.  (A match holds no mark but its
    quotation's two, so the matches come in the order of their opening marks.)"""
    after: _Found = []
    said_after: _Found = []
    said_before: _Found = []
    end_after = end_said_after = end_said_before = 0
    for mark in _quote_marks(text):
        quote = _quote_at(text, mark)
        if quote is None:
            continue
        start, end, close_end = quote
        if mark >= end_after:
            m = _SPEAKER_THEN_SAY.match(text, close_end)
            if m is not None:
                after.append((m.group("s"), (start, end)))
                end_after = m.end()
        if mark >= end_said_after:
            m = _SAY_THEN_SPEAKER.match(text, close_end)
            if m is not None:
                said_after.append((m.group("s"), (start, end)))
                end_said_after = m.end()
        said = _said_before(text, mark, end_said_before)
        if said != -1:
            speaker = _speaker_before(text, said)
            if speaker is not None:
                said_before.append((speaker, (start, end)))
            end_said_before = close_end
    return after, said_after, said_before


def find_quotes(text: str, article_id: str, version: str) -> list[Quote]:
    """Quotations with their speaker; offsets are those of the quoted words."""
    quotes: list[Quote] = []
    taken: list[tuple[int, int]] = []
    after, said_after, said_before = _marked_quotes(text)
    according = [(speaker, m.span("q")) for speaker, m in _according_to(text)]
    # a quotation found in several forms is taken from the first
    for speaker, (a, b) in after + said_after + said_before + according:
        if any(a < y and x < b for x, y in taken):
            continue
        speaker = speaker.strip()
        if speaker.lower() in {"it", "he", "she", "they", "this", "that"}:
            speaker = speaker.lower()
        taken.append((a, b))
        quotes.append(Quote(article_id, speaker, text[a:b], a, b, version))
    quotes.sort(key=lambda q: q.start)
    return quotes


# An amount starts at a run of digits, or a currency sign/code at most 5 characters before.
# The scan for the runs also notes where a pattern can match, so that the patterns (slow
# to fail: they retry the number's every length) are tried only there:
# - ``cur``: the character before the run may end a currency sign or code (the last
#   character of one of _AMOUNT_PATTERNS[0]'s ``cur``, maybe then a space);
# - ``unit``: a multiplier and unit word follow the run (_AMOUNT_PATTERNS[1] needs them,
#   right after the number, which ends the run); the first letters of those words are a
#   cheap test before the whole.
# Keep both in step with the patterns' signs, codes and words (the tests try them all).
_DIGIT_RUN = re.compile(
    r"\d(?P<cur>(?<=[$€£DRS.]\d)|(?<=[DRS.]\s\d))?[\d.,]*"
    r"(?P<unit>(?=\s?[bcdegklmrty])(?=" + _MULT + _UNIT_WORDS + r"))?",
    re.IGNORECASE,
)
_CURRENCY_LEAD = frozenset("$€£UuRrPpEe")


def _amount_matches(text: str) -> list[re.Match[str]]:
    """One match per number that is an amount candidate (a currency before it preferred),
    trying the patterns only where a number stands instead of at every character."""
    with_currency, plain = _AMOUNT_PATTERNS
    out: list[re.Match[str]] = []
    last_end = 0
    for run in _DIGIT_RUN.finditer(text):
        a = run.start()
        if a < last_end:
            continue
        m = None
        if run.group("cur") is not None:
            for pos in range(max(last_end, a - 5), a):
                if text[pos] in _CURRENCY_LEAD:
                    m = with_currency.match(text, pos)
                    if m is not None and m.start("n") == a:
                        break
                    m = None
        if m is None and run.group("unit") is not None:
            m = plain.match(text, a)
        if m is not None:
            out.append(m)
            last_end = m.end()
    return out


# letters the patterns' re.IGNORECASE takes for i and s ("bıllion", "lıtres", "tonneſ") and
# str.lower() does not turn into them
_CASE_ODDITIES = str.maketrans({"ı": "i", "İ": "i", "ſ": "s"})


def _key(word: str) -> str:
    """A word the amount patterns matched, as the tables of units spell it."""
    return word.translate(_CASE_ODDITIES).lower()


def find_amounts(text: str, article_id: str, version: str) -> list[Amount]:
    """Money, power and volumes ("$5 billion", "Rs 2.5bn", "100MW"), with "by 2028"."""
    amounts: list[Amount] = []
    for m in _amount_matches(text):
        cur, unit_word, mult = m.group("cur"), m.group("u"), m.group("m")
        if not cur and not unit_word:
            continue  # a bare number, a year, a date
        mult = _key(mult) if mult else ""
        if mult in {"m", "k"} and not cur:
            continue  # "5 m" of something
        value = float(m.group("n").replace(",", "")) * _MULTIPLIER.get(mult, 1)
        if cur:
            kind, unit = "money", _CURRENCY_BEFORE.get(_key(cur.strip()), "USD")
        elif _key(unit_word) in _CURRENCY_AFTER:
            kind, unit = "money", _CURRENCY_AFTER[_key(unit_word)]
        elif _key(unit_word) in _UNITS:
            kind, unit = _UNITS[_key(unit_word)]
        else:  # a spelling the tables do not know: no amount, rather than a wrong one
            continue
        year = _TARGET_YEAR.search(text, m.end(), min(len(text), m.end() + 80))
        cut = text.find(".", m.end(), year.start()) if year else -1
        target = int(year.group(1)) if year and cut == -1 else None
        a, b = m.start(), m.end()
        while b > a and text[b - 1].isspace():
            b -= 1
        amounts.append(Amount(article_id, kind, value, unit, text[a:b], a, b, target, version))
    return amounts


# -- the tagger ------------------------------------------------------------------------


@dataclass
class ModelInputs:
    """What the learned layer reads of one article: the rules' figures for each of
    ``categories`` (learned.CATEGORY_FEATURES), the text terms of its title and head
    (``_head_end``), the rules' relevance figures (learned.RELEVANCE_FEATURES) and their
    tone figures (learned.TONE_FEATURES)."""

    categories: tuple[str, ...]
    category_features: np.ndarray
    terms: set[str]
    relevance_features: np.ndarray
    tone_features: np.ndarray = field(default_factory=lambda: np.zeros(len(TONE_FEATURES)))


def _candidate_signal(
    article_id: str,
    category: str,
    item: tuple[float, int, int, float, int, int],
    text: str,
    version: str,
) -> Signal:
    """The Signal of one candidate ``(score, start, end, tone, cue start, cue end)``."""
    score, a, b, tone, cs, ce = item
    return Signal(
        article_id, category, score, round(tone, 2), text[a:b], a, b, text[cs:ce], version
    )


def _minor_third(
    third: str,
    evidence: float,
    second_evidence: float,
    signals: list[Signal],
    title_categories: set[str],
    lead: int,
    marked_acts: set[tuple[str, int]],
) -> bool:
    """Is ``third``, the third of a short story's MAX_CATEGORIES categories, a minor topic:
    less than THIRD_CATEGORY_SHARE of the second one's evidence (the sum of signal scores),
    neither in the lead nor in the title, and no strong signal of a marked act
    (``marked_acts``: "The Foreign Office summoned Iran's ambassador" is news of its own,
    "..., the Foreign Office said" is not)?"""
    return not (
        evidence >= THIRD_CATEGORY_SHARE * second_evidence
        or third in title_categories
        or any(
            sig.start == lead or (third, sig.start) in marked_acts
            for sig in signals
            if sig.category == third
        )
    )


def tag_article(
    article_id: str,
    title: str | None,
    text: str,
    watch: Watch,
    language: str | None = None,
) -> TagResult:
    """Tag one article's body ``text`` (``title`` adds to relevance and tone only).

    ``language`` is informational: Urdu/Persian handling follows the script of each cue.
    """
    return _tag(article_id, title, text, watch, None)


def model_features(title: str | None, text: str, watch: Watch) -> ModelInputs | None:
    """What the learned layer (extractors/learned.py) reads of an article, as the rules of
    ``watch`` see it (its own model is not applied); None when the rules' relevance is
    below MODEL_RELEVANCE_FLOOR (the layer is not asked).  ``extractors.train_tagger``
    trains on these."""
    found: list[ModelInputs] = []
    _tag("", title, text, watch, found)
    return found[0] if found else None


def _head_end(text: str, sentences: list[tuple[int, int]]) -> int:
    """Where the article's head ends: after the first sentences of MODEL_HEAD_WORDS words in
    all (the length of the items the learned layer was trained on; news puts its topics
    first, and a long article's many words would outweigh its rules)."""
    words = 0
    for start, end in sentences:
        words += text.count(" ", start, end) + 1
        if words >= MODEL_HEAD_WORDS:
            return end
    return len(text)


def _model_evidence(
    model: TaggerModel,
    category: str,
    low: str,
    sentences: list[tuple[int, int]],
    of_sentence: dict[int, tuple[list[int], list[str]]],
) -> tuple[int, int, int, int] | None:
    """The evidence of a category the model finds without any cue of it: of ``sentences``
    (the head's, which the model read), the one whose words weigh most for it, and in it the
    word that weighs most (the signal's cue), as (sentence start, end, cue start, end); None
    when no sentence has a word for it.  ``of_sentence`` caches each sentence's known words
    and their rows (by its start) between categories."""
    column = model.text_weights[:, model.categories.index(category)]
    vocabulary = model.vocabulary
    best: tuple[float, int, int, str] | None = None
    for a, b in sentences:
        known = of_sentence.get(a)
        if known is None:
            words = text_terms(low[a:b])
            found = [(row, w) for w in words if (row := vocabulary.get(w)) is not None]
            known = of_sentence[a] = ([row for row, _ in found], [w for _, w in found])
        rows, words = known
        if not rows:
            continue
        weighed = list(zip(column[rows].tolist(), words, strict=True))
        total = sum(w for w, _ in weighed)
        if total > 0 and (best is None or total > best[0]):
            best = (total, a, b, max(weighed)[1])
    if best is None:
        return None
    _, a, b, word = best
    found = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", low[a:b])
    return None if found is None else (a, b, a + found.start(), a + found.end())


# columns of learned.CATEGORY_FEATURES
_BEST, _LOG_CANDIDATES, _SCORE_SUM, _RULES_KEPT, _RULES_PASSING, _LOG_CUES = map(
    CATEGORY_FEATURES.index,
    ("best_score", "log_candidates", "score_sum", "rules_kept", "rules_passing", "log_cues"),
)
_IN_TITLE, _IN_LEAD, _RELEVANCE, _LONG_ARTICLE, _LOG_TERMS = map(
    CATEGORY_FEATURES.index, ("in_title", "in_lead", "relevance", "long_article", "log_terms")
)


def _category_features(
    order: tuple[str, ...],
    candidates: dict[str, list[tuple[float, int, int, float, int, int]]],
    kept: set[str],
    passing: set[str],
    cue_counts: dict[str, int],
    title_categories: set[str],
    lead: int,
    relevance: float,
    long_article: bool,
    log_terms: float,
) -> np.ndarray:
    """The rules' figures for each category of ``order`` (a row each), in the order of
    learned.CATEGORY_FEATURES.  Most categories have no candidate and no cue in an article:
    their rows hold the article's figures alone, so only the others are filled in."""
    features = np.zeros((len(order), len(CATEGORY_FEATURES)))
    features[:, _RELEVANCE] = relevance
    features[:, _LONG_ARTICLE] = float(long_article)
    features[:, _LOG_TERMS] = log_terms
    row = {c: i for i, c in enumerate(order)}
    for category, items in candidates.items():
        f = features[row[category]]
        scores = [item[0] for item in items]
        f[_BEST] = max(scores)
        f[_LOG_CANDIDATES] = log1p(len(items))
        f[_SCORE_SUM] = min(3.0, sum(scores))
        f[_IN_LEAD] = any(item[1] == lead for item in items)
    for category, n in cue_counts.items():
        features[row[category], _LOG_CUES] = log1p(n)
    for names, column in ((kept, _RULES_KEPT), (passing, _RULES_PASSING)):
        for category in names:
            features[row[category], column] = 1.0
    for category in title_categories:
        features[row[category], _IN_TITLE] = 1.0
    return features


def _names_the_dyad(hits: list[Hit], watch: Watch) -> bool:
    """Does one of ``hits`` name an entity of a side of ``watch``'s dyad or a place of its
    border region?"""
    for h in hits:
        if h[2] == "entity" and (h[3].dyad_border or watch.side_of(h[3].country) is not None):
            return True
    return False


def _mentions(
    article_id: str, text: str, entity_hits: list[Hit], version: str
) -> tuple[list[Mention], list[Entity]]:
    """The mentions of ``entity_hits`` (in text order), the longest match winning ("Pakistan
    Army" over "Pakistan"), one per entity and start; and the entity of each."""
    mentions: list[Mention] = []
    entities: list[Entity] = []
    seen: set[tuple[str, int]] = set()
    for h in _drop_contained(entity_hits):
        start, end, _, ent, _ = h
        key = (ent.entity_id, start)
        if key in seen:
            continue  # two aliases of one entity on the same words ("ایران", "ایرانی")
        seen.add(key)
        mentions.append(
            Mention(
                article_id,
                ent.entity_id,
                ent.kind,
                ent.name,
                ent.country,
                text[start:end],
                start,
                end,
                version,
            )
        )
        entities.append(ent)
    return mentions, entities


def _tag(
    article_id: str,
    title: str | None,
    text: str,
    watch: Watch,
    collect: list[ModelInputs] | None,
) -> TagResult:
    """``tag_article``; with ``collect``, the rules alone decide and the learned layer's
    inputs are appended to it (an article of MODEL_RELEVANCE_FLOOR or more only)."""
    version = watch.version
    model = None if collect is not None else watch.model
    low = fold(text)
    hits = watch.lexicon.scan(text, low)
    title_ev, title_tone, title_categories, title_both_ways = (
        _read_title(watch, title) if title else (0.0, None, set(), False)
    )
    if not title_ev and not _names_the_dyad(hits, watch):
        # all relevance evidence (below) is a sentence naming both sides, a border place or
        # the title's: an article naming neither side has none, and only its mentions to
        # find (most articles of general news)
        mentions, _ = _mentions(article_id, text, [h for h in hits if h[2] == "entity"], version)
        return TagResult(False, 0.0, 0.0, "neutral", version, [], mentions)
    sentences = split_sentences(text)
    rs = watch.relevance
    min_c = rs.list_min_countries

    # -- one pass: hits into their sentences (hits come in text order) ---------------
    info: dict[int, _Sentence] = {}
    entity_hits: list[Hit] = []
    cue_hits: list[tuple[_Sentence, Hit]] = []
    tone_hits: list[tuple[_Sentence, Hit]] = []
    si, n_sent = 0, len(sentences)
    beyond = len(text) + 1
    s_start, s_end = sentences[0] if sentences else (beyond, beyond)
    s = None
    # the roles in order of how common they are: this loop runs for every hit
    for h in hits:
        start, end, role, data, _ = h
        if start >= s_end:
            while si < n_sent and sentences[si][1] <= start:
                si += 1
            s_start, s_end = sentences[si] if si < n_sent else (beyond, beyond)
            s = None
        if start < s_start or end > s_end:  # across a sentence boundary
            if role == "entity":  # still a mention
                entity_hits.append(h)
            continue
        if s is None:  # the first hit inside sentence ``si`` (``si`` only grows)
            s = info[si] = _Sentence(sentences[si])
        if role == "cue":
            cue_hits.append((s, h))
        elif role == "entity":
            entity_hits.append(h)
        elif role == "tone":
            tone_hits.append((s, h))
        elif role == "relation":
            if data == DYAD_REFERENCE:
                s.dyad_ref = True
            else:
                s.acts = True
            s.relation = True
        elif role == "negator":
            s.negators.append(h)
        elif role == "counter":
            s.counters.append(h)

    # -- mentions, and the sides and border places each sentence names --------------
    mentions, mentioned = _mentions(article_id, text, entity_hits, version)
    si = 0
    for mention, ent in zip(mentions, mentioned, strict=True):
        start, end, entity_id = mention.start, mention.end, mention.entity_id
        while si < n_sent and sentences[si][1] <= start:
            si += 1
        s = info.get(si)
        if s is None or end > s.span[1] or start < s.span[0]:
            continue
        country = ent.country
        if country:
            s.countries.add(country)
            side = watch.side_of(country)
            if side is not None:
                s.sides.add(side)
        if ent.dyad_border:
            s.border_places.add(entity_id)

    # -- cues (not negated; not inside a longer cue) ---------------------------------
    categories = watch.categories
    all_cues = [h for _, h in cue_hits]
    kept_cues = _drop_contained(all_cues)
    # the spans kept, when a cue is inside a longer one (about half the articles: the others
    # need no look-up)
    kept = {(h[0], h[1]) for h in kept_cues} if len(kept_cues) < len(all_cues) else None
    for s, h in cue_hits:
        start, end, _, data, arabic = h
        if kept is not None and (start, end) not in kept:
            continue
        if s.negators and _negated(low, s, start, end, arabic):  # most sentences have none
            continue
        s.cues.append(h)
        if categories[data[0]].relational:
            s.relation = True
            s.acts = True

    # -- relevance -------------------------------------------------------------------
    evidence: list[float] = []
    if title_ev:
        evidence.append(title_ev)
    n_strong = n_weak = n_ref = 0
    places: set[str] = set()
    sides_seen: set[int] = set()
    for s in info.values():
        if len(s.countries) >= min_c:  # s.is_list(min_c), without a call for every sentence
            continue
        places |= s.border_places
        sides_seen |= s.sides
        if len(s.sides) == 2:
            if _unlinked(low, s.span):
                continue  # "Separately, Iran ...": the writer says it is not linked
            if s.relation:
                n_strong += 1
            else:
                n_weak += 1
        elif s.dyad_ref and s.acts and not s.sides:
            n_ref += 1
    # "Both sides agreed to increase port calls": a sentence naming neither side but standing
    # for both with a relation cue is about the relation, once the article has named both
    # (not "Tehran urges both neighbours to exercise restraint": naming one side, its pair
    # is another)
    if n_ref and (len(sides_seen) == 2 or title_ev):
        n_strong += n_ref
    evidence += [rs.sentence_with_relation] * n_strong
    evidence += [rs.sentence_co_mention] * min(3, n_weak)
    if n_strong:
        evidence.append(0.5 * min(1.0, n_strong / n_sent))
    evidence += [rs.border_place] * min(2, len(places))
    if len(places & _BORDER_PROVINCES) == 2:
        evidence.append(0.3)
    relevance = _noisy_or(evidence)
    if len(sides_seen) < 2 and not title_ev:
        relevance = min(relevance, 0.3)  # about one side only
    relevance = round(relevance, 3)
    learned = model is not None or collect is not None
    # with the learned layer, the rules' relevance only screens out what is plainly no story
    # of the relation; the layer decides the rest (after the signals, which it reads)
    if relevance < (MODEL_RELEVANCE_FLOOR if learned else rs.threshold):
        return TagResult(False, relevance, 0.0, "neutral", version, [], mentions)

    # -- signals: one per (category, sentence) with a cue ----------------------------
    tone_cfg = watch.tone
    max_adj = tone_cfg.max_adjustment
    entity_starts = [m.start for m in mentions]  # in text order, as ``hits``
    for s, h in tone_hits:
        start, end, _, _, arabic = h
        # a tone word inside a name ("Shanghai Cooperation Organization") is no tone
        i = bisect_right(entity_starts, start) - 1
        if i >= 0 and mentions[i].end >= end:
            continue
        if s.negators and _negated(low, s, start, end, arabic):
            continue
        if low.startswith(_CASUALTY, start) and _mishap_toll(low, s, s.cues):
            continue  # "killed when their bus overturned": a toll, no violence
        s.tones.append(h)
    # category -> (score, sentence start, sentence end, tone, cue start, cue end)
    candidates: dict[str, list[tuple[float, int, int, float, int, int]]] = {}
    score_both, score_one = rs.score_both_sides, rs.score_one_side
    score_cue, score_weak_cue = rs.score_cue, rs.score_weak_cue
    cue_between_sides = False  # a cue in a sentence naming both sides
    # (category, sentence start) of strong signals on a marked act: a cue of its own tone
    # ("summoned the ambassador", "closed the border"), not a topic word ("ambassador")
    marked_acts: set[tuple[str, int]] = set()
    for s in info.values():
        if not s.cues:
            continue
        both = s.both_sides(min_c) or (s.dyad_ref and not s.is_list(min_c))
        cue_between_sides = cue_between_sides or both
        side_score = score_both if both else score_one if (s.sides or s.border_places) else 0.0
        if s.border_places:
            side_score += rs.score_border_place
        if len(s.cues) == 1:  # most sentences
            h = s.cues[0]
            by_category: dict[str, list[Hit]] = {h.data[0]: [h]}
        else:
            by_category = {}
            for h in s.cues:
                by_category.setdefault(h.data[0], []).append(h)
        a, b = s.span
        for category, cues in by_category.items():
            cue, tone = _cue_tone(watch, low, s, categories[category], cues, both)
            if len(cues) == 1:
                score = score_weak_cue if cue.data[3] else score_cue
            else:
                strong = [c for c in cues if not c.data[3]]
                score = score_cue if strong else score_weak_cue
                if strong and cue.data[3]:
                    cue = strong[0]
                if len({(c.start, c.end) for c in cues}) > 1:
                    score += rs.score_several_cues
            score = round(min(1.0, score + side_score), 3)
            candidates.setdefault(category, []).append((score, a, b, tone, cue.start, cue.end))
            if cue.data[2] is not None and score >= STRONG_SIGNAL:
                marked_acts.add((category, a))
    signals: list[Signal] = []
    passing: list[Signal] = []  # passing mentions: no category, but part of the tone
    # the strongest signal of each sentence: what the sentence is about
    sentence_best: dict[int, float] = {}
    for items in candidates.values():
        for item in items:
            if item[0] > sentence_best.get(item[1], 0.0):
                sentence_best[item[1]] = item[0]
    lead = sentences[0][0] if sentences else -1
    for category, items in candidates.items():
        # the article carries a category only on strong enough evidence
        floor = categories[category].min_score
        best = max(item[0] for item in items)
        if best < floor:
            continue
        # in a long article, one passing mention is no topic: it needs a second signal or
        # a strong one (a specific cue in a sentence naming both sides)
        if n_sent > LONG_ARTICLE_SENTENCES and best < STRONG_SIGNAL:
            if sum(1 for item in items if item[0] >= floor) < 2:
                continue
        # a passing mention: the category's one signal is not strong (STRONG_SIGNAL), its
        # sentence is not the lead, the title does not name the category, and the sentence
        # is about something else (another category's signal in it is stronger):
        # "..., the Iranian consulate said" in a story about relief goods
        if category not in title_categories:
            above = [item for item in items if item[0] >= floor]
            single = above[0] if len(above) == 1 else None
            if (
                single
                and single[1] != lead
                and single[0] < min(STRONG_SIGNAL, sentence_best[single[1]])
            ):
                passing.append(_candidate_signal(article_id, category, single, text, version))
                continue
        items.sort(key=_by_score_then_start)
        for item in items[: rs.max_signals_per_category]:
            signals.append(_candidate_signal(article_id, category, item, text, version))
    # everything that happened counts in the tone, the main topics only in the categories
    tone_signals = signals + passing
    evidence_of: dict[str, float] = {}
    for sig in signals:
        evidence_of[sig.category] = evidence_of.get(sig.category, 0.0) + sig.score
    if n_sent <= LONG_ARTICLE_SENTENCES and len(evidence_of) >= MAX_CATEGORIES:
        ranked = sorted(evidence_of, key=lambda c: (-evidence_of[c], c))
        main_topics = ranked[:MAX_CATEGORIES]
        *_, second, third = main_topics
        if _minor_third(
            third,
            evidence_of[third],
            evidence_of[second],
            signals,
            title_categories,
            lead,
            marked_acts,
        ):
            main_topics.pop()
        if len(main_topics) < len(evidence_of):
            signals = [sig for sig in signals if sig.category in main_topics]
    signals.sort(key=lambda sig: (sig.start, sig.category))
    # both sides named, but nothing of any category happens between them: a writer of both
    # origins, a list of visitors -- not a story about the relation
    no_signal = not signals and not cue_between_sides and relevance < NO_SIGNAL_RELEVANCE
    if no_signal and not learned:
        relevance = min(relevance, round(rs.threshold - NO_SIGNAL_MARGIN, 3))
        return TagResult(False, relevance, 0.0, "neutral", version, [], mentions)
    # -- the learned layer: is the article relevant, which categories are its topics -----
    inputs = None
    if learned:
        order = model.categories if model is not None else tuple(sorted(categories))
        cue_counts: dict[str, int] = {}
        for _, h in cue_hits:
            cue_counts[h.data[0]] = cue_counts.get(h.data[0], 0) + 1
        kept_categories = {sig.category for sig in signals}
        passing_categories = {sig.category for sig in passing}
        long_article = n_sent > LONG_ARTICLE_SENTENCES
        head_end = _head_end(low, sentences)
        terms = text_terms(low[:head_end], fold(title) if title else None)
        log_terms = log1p(len(terms)) / 5
        rule_features = _category_features(
            order,
            candidates,
            kept_categories,
            passing_categories,
            cue_counts,
            title_categories,
            lead,
            relevance,
            long_article,
            log_terms,
        )
        best_score = max((item[0] for items in candidates.values() for item in items), default=0)
        relevance_features = np.array(
            [
                relevance,
                float(relevance >= rs.threshold and not no_signal),
                log1p(n_strong),
                log1p(n_weak),
                title_ev,
                float(len(sides_seen) == 2),
                log1p(len(places)),
                float(cue_between_sides),
                log1p(len(signals)),
                best_score,
                log_terms,
            ]
        )
        inputs = ModelInputs(order, rule_features, terms, relevance_features)
    if model is not None:
        text_scores = model.text_scores(inputs.terms)
        p_relevant = model.relevance(inputs.relevance_features, text_scores)
        relevance = round(p_relevant, 3)
        if p_relevant < RELEVANT_AT:
            return TagResult(False, relevance, 0.0, "neutral", version, [], mentions)
        by_category: dict[str, list[Signal]] = {}
        for sig in signals:
            by_category.setdefault(sig.category, []).append(sig)
        decided: list[Signal] = []
        of_sentence: dict[int, tuple[list[int], list[str]]] = {}
        head = [span for span in sentences if span[1] <= head_end]
        for category, p in model.topics(inputs.category_features, text_scores).items():
            if category in by_category:
                decided += by_category[category]
            elif category in candidates:
                items = sorted(candidates[category], key=_by_score_then_start)
                decided += [
                    _candidate_signal(article_id, category, item, text, version)
                    for item in items[: rs.max_signals_per_category]
                ]
            else:  # no cue of the category: the model's evidence, if a sentence has any
                found = _model_evidence(model, category, low, head, of_sentence)
                if found is not None:
                    a, b, cs, ce = found
                    cue = text[cs:ce]
                    decided.append(
                        Signal(
                            article_id,
                            category,
                            round(p, 3),
                            0.0,
                            text[a:b],
                            a,
                            b,
                            cue,
                            version,
                        )
                    )
        signals = sorted(decided, key=lambda sig: (sig.start, sig.category))
    # who acts on whom, and the PLOVER quad class (extractors/direction.py)
    signals = direct_signals(signals, mentions, watch)

    # -- article tone ----------------------------------------------------------------
    # sentences with signals, each weighted by its best signal score; the title's tone
    # (TITLE_TONE_WEIGHT); the tone words of sentences without a signal that name a side
    # ("The consulate thanked Iranian authorities", SENTENCE_TONE_WEIGHT).  The signals of
    # one sentence count once, at their score-weighted tone ("talks on trade, energy and
    # the border" is one event, not three).
    by_sentence: dict[int, list[Signal]] = {}
    for sig in tone_signals:
        by_sentence.setdefault(sig.start, []).append(sig)
    weight = total = 0.0
    for sigs in by_sentence.values():
        # the sum of the scores, of the score-weighted tones and the best score (one loop,
        # adding up as sum() and choosing as max() would: most sentences have one signal)
        scores = weighted = 0
        w = sigs[0].score
        for sig in sigs:
            scores += sig.score
            weighted += sig.tone_score * sig.score
            if sig.score > w:
                w = sig.score
        sentence_tone = weighted / scores
        total += w * max(-SENTENCE_TONE_CLIP, min(SENTENCE_TONE_CLIP, sentence_tone))
        weight += w
    if title_tone is not None:
        total += TITLE_TONE_WEIGHT * title_tone
        weight += TITLE_TONE_WEIGHT
    with_signal = by_sentence.keys()
    for s in info.values():
        if s.tones and s.span[0] not in with_signal and (s.sides or s.dyad_ref):
            adjust = sum(t.data for t in s.tones)
            total += SENTENCE_TONE_WEIGHT * max(-max_adj, min(max_adj, adjust))
            weight += SENTENCE_TONE_WEIGHT
    tone_score = total / weight if weight else 0.0
    tone_score = round(tone_score, 2)
    strong_coop = any(sig.tone_score >= tone_cfg.mixed_strength for sig in tone_signals)
    strong_conflict = any(sig.tone_score <= -tone_cfg.mixed_strength for sig in tone_signals)
    both_ways = strong_coop and strong_conflict
    if title_both_ways and abs(tone_score) < TITLE_MIXED_WITHIN:
        label = "mixed"
    elif tone_score > tone_cfg.cooperation_above:
        label = "cooperation"
    elif tone_score < tone_cfg.conflict_below and not (
        both_ways and tone_score >= MIXED_CONFLICT_BELOW
    ):
        label = "conflict"
    elif both_ways:
        label = "mixed"
    else:
        label = "neutral"
    if inputs is not None:
        title_value = 0.0 if title_tone is None else title_tone / 5
        positive = sum(t.data for s in info.values() for t in s.tones if t.data > 0)
        negative = sum(t.data for s in info.values() for t in s.tones if t.data < 0)
        inputs.tone_features = np.array(
            [
                tone_score / 5,
                max(tone_score, 0.0) / 5,
                min(tone_score, 0.0) / 5,
                float(label == "cooperation"),
                float(label == "conflict"),
                float(label == "mixed"),
                float(label == "neutral"),
                log1p(positive),
                log1p(-negative),
                title_value,
                float(both_ways),
                log_terms,
            ]
        )
        if model is not None:
            label = model.tone_label(inputs.tone_features, text_scores)
        else:
            collect.append(inputs)
    return TagResult(
        True,
        relevance,
        tone_score,
        label,
        version,
        signals,
        mentions,
        find_quotes(text, article_id, version),
        find_amounts(text, article_id, version),
    )


TAGGED_FILES = ("tagged_articles", "signals", "mentions", "quotes", "amounts")


# a watch file's path, then the time and size of it and of the model file it names (0, 0: none)
WatchKey = tuple[str, int, int, int, int]


@functools.lru_cache(maxsize=4)
def _watch_at(path: str, *_stamps: int) -> Watch:
    """The watch file at ``path`` as it is now (keyed by the time and size of it and of its
    model, ``_watch_key``), loaded once per process: a forked worker finds the one its parent
    loaded."""
    return load_watch(Path(path))


def _watch_key(path: Path) -> WatchKey:
    stat = Path(path).stat()
    try:
        model = model_path(path, tomllib.loads(Path(path).read_text(encoding="utf-8")))
        model_stat = model.stat() if model is not None else None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        model_stat = None  # load_watch reports what is wrong
    if model_stat is None:
        return str(path), stat.st_mtime_ns, stat.st_size, 0, 0
    return str(path), stat.st_mtime_ns, stat.st_size, model_stat.st_mtime_ns, model_stat.st_size


def _tag_line(watch_key: WatchKey, version: str, line: str) -> tuple[bool, dict[str, list[str]]]:
    """Tag one line of ``articles`` with the watch file the run started with (its key and
    version): whether the article is relevant, and the JSON lines it adds to each of
    ``TAGGED_FILES`` (made here, so a worker process does the encoding)."""
    watch = _watch_at(*watch_key)
    if watch.version != version:  # a spawned worker read a file edited since the run began
        raise WatchError(
            f"{watch_key[0]} changed while the run was tagging (watch {version} became "
            f"{watch.version}); the task's retry tags every article with the new one"
        )
    article = record_from_row(Article, orjson.loads(line))
    result = tag_article(
        article.article_id, article.title, article.text, watch, language=article.language
    )
    article.relevant = result.relevant
    article.relevance = result.relevance
    article.tone_score = result.tone_score
    article.tone = result.tone
    article.tagger_version = result.tagger_version
    result.set_row_ids()
    return result.relevant, {
        "tagged_articles": [as_line(article)],
        "signals": [as_line(x) for x in result.signals],
        "mentions": [as_line(x) for x in result.mentions],
        "quotes": [as_line(x) for x in result.quotes],
        "amounts": [as_line(x) for x in result.amounts],
    }


def tag_articles(settings: Settings, run_key: str) -> dict[str, int]:
    """Tag every extracted article of a run; writes ``tagged_articles``, ``signals``,
    ``mentions``, ``quotes`` and ``amounts`` for the stage step.

    Articles are tagged by ``settings.extract_processes`` processes (one per CPU by
    default; the calling process alone for a small run) and written as they come, in the
    articles' order, so the files are the same whatever the number of processes and
    memory stays flat however many articles the run has.
    """
    files = RunFiles(settings.work_dir, run_key)
    n_articles = files.count("articles")
    # nothing to tag (an hour with nothing new): the watch file is not even read
    watch_key = _watch_key(settings.watch_file)
    watch = _watch_at(*watch_key) if n_articles else None
    processes = worker_processes(settings.extract_processes, n_articles)
    relevant = 0
    tagged = ordered_map(
        partial(_tag_line, watch_key, watch.version if watch else ""),
        files.lines("articles"),
        processes,
    )
    with files.writing(*TAGGED_FILES) as out, closing(tagged):
        for is_relevant, rows in tagged:
            relevant += is_relevant
            for name in TAGGED_FILES:
                out.write_lines(name, rows[name])
    counts = out.counts
    summary = {
        "articles": counts["tagged_articles"],
        "relevant": relevant,
        "signals": counts["signals"],
        "mentions": counts["mentions"],
        "quotes": counts["quotes"],
        "amounts": counts["amounts"],
        "tag_processes": processes,
    }
    log.info(
        "Tagged %(articles)d articles with watch %(version)s in %(tag_processes)d process(es): "
        "%(relevant)d relevant to the dyad, %(signals)d signals, %(mentions)d mentions, "
        "%(quotes)d quotes, %(amounts)d amounts",
        {**summary, "version": watch.version if watch else "(not read)"},
    )
    return summary


def tag_json_item(item: dict[str, Any], watch: Watch) -> dict[str, Any]:
    """``dyadwatch tag`` for one item: ``{id, title, text, language?}`` -> a JSON-ready dict."""
    text = item.get("text") or ""
    if not isinstance(text, str):
        raise TypeError(f"item {item.get('id')!r}: text must be a string")
    item_id = str(item.get("id", ""))
    result = tag_article(item_id, item.get("title"), text, watch, language=item.get("language"))
    return result_to_json(item_id, result)


def result_to_json(item_id: str, result: TagResult) -> dict[str, Any]:
    """A TagResult as the JSON line ``dyadwatch tag`` writes."""

    def entity(m: Mention) -> dict[str, Any]:
        return {
            "entity_id": m.entity_id,
            "name": m.name,
            "country": m.country,
            "surface": m.surface,
            "start": m.start,
            "end": m.end,
        }

    return {
        "id": item_id,
        "relevant": result.relevant,
        "relevance": result.relevance,
        "categories": result.categories,
        "tone": result.tone,
        "tone_score": result.tone_score,
        "signals": [
            {
                "category": s.category,
                "score": s.score,
                "tone_score": s.tone_score,
                "cue": s.cue,
                "evidence": s.evidence,
                "start": s.start,
                "end": s.end,
                "direction": s.direction,
                "quad_class": s.quad_class,
            }
            for s in result.signals
        ],
        "actors": [entity(m) for m in result.mentions if m.kind == "actor"],
        "quotes": [
            {"speaker": q.speaker, "text": q.text, "start": q.start, "end": q.end}
            for q in result.quotes
        ],
        "amounts": [
            {
                "kind": x.kind,
                "value": x.value,
                "unit": x.unit,
                "text": x.text,
                "start": x.start,
                "end": x.end,
                "target_year": x.target_year,
            }
            for x in result.amounts
        ],
        "places": [entity(m) for m in result.mentions if m.kind == "place"],
        "tagger_version": result.tagger_version,
    }


def tag_json_lines(lines: Iterable[str], out: TextIO, watch: Watch) -> int:
    """Tag each JSON line of ``lines`` (``{id, title, text, language?}``) and write one JSON
    line per item to ``out``.  A line that is no such item gets ``{"line", "error"}`` written
    in its place; returns how many lines were bad."""
    bad = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError("expected an object with a string 'text'")
            row = tag_json_item(item, watch)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            bad += 1
            row = {"line": n, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return bad
