"""Signal tagging: one article's text -> relevance to the dyad, signals, mentions, tone.

``tag_article`` is a pure function of the article and the loaded watch (no I/O); all
matching is precompiled by ``dyadwatch.watch.load_watch``.  What it does:

1. Split the body text into sentences (English punctuation plus Urdu/Persian ``۔ ؟``),
   keeping character offsets into the original text.
2. Walk the words of the text once, collecting gazetteer mentions, category cues, tone
   words and relation cues (``Lexicon.scan``); a match inside a longer match of the same
   kind is dropped ("Pakistan" inside "Pakistan Army").
3. Drop cues negated in their clause ("did not close the border", "denied any role in the
   attack", "no clashes were reported"; for Urdu/Persian, a negated verb after the cue).
4. Relevance (0..1) from evidence that the story is about the *relation*: sentences that
   name an entity of each side and a relation cue (not lists of many countries), the
   title naming both sides, places of the border region; below the watch's threshold
   the article is not relevant and gets no signals (mentions are still returned).
5. One signal per (category, sentence) with a cue, scored 0..1 (higher when the sentence
   names both sides), toned -10..+10 from the category/cue default moved by tone words;
   the strongest few per category are kept.  Article tone = score-weighted mean.

The title only contributes to relevance: every offset indexes ``text``.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right

from dyadwatch.records import Article, Mention, Signal, TagResult
from dyadwatch.settings import Settings
from dyadwatch.watch import DYAD_REFERENCE, Entity, Hit, Watch, fold, load_watch
from extractors.runfiles import RunFiles

log = logging.getLogger(__name__)

# Bump when the tagging logic changes; the watch version includes it.
TAGGER_CODE_VERSION = "tagger-1"

_BORDER_PROVINCES = frozenset({"balochistan", "sistan_baluchestan"})

# -- sentence splitting --------------------------------------------------------------

# one leading character class lets the regex engine skip ahead fast
_BOUNDARY = re.compile(r"[\n.!?؟۔](?:(?<=\n)\s*|[.!?؟۔]*[\"'”’»)\]]*(?=\s|$))")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr gen lt col maj brig capt cmdr adm sgt st no nos vs jan feb apr aug sep
    sept oct nov dec inc ltd co corp jr sr prof gov sen rep rev fig approx e.g i.e u.s u.k
    u.n u.s.a rs pvt govt dept est mt""".split()
)
_CLAUSE_BREAK = re.compile(
    r"[,;:()\[\]\u060c\u061b]|\s(?:but|while|although|though|however|whereas|after|before"
    r"|when|which|who|as|because|since|and then)\s"
)
_UPPER_OR_DIGIT_START = re.compile(r"\s*[\"'“‘(]?([A-Z0-9\u0600-\u06ff])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        punct = m.group()
        if punct[0] == ".":
            # an abbreviation or an initial, or the next sentence starts in lower case
            j = m.start()
            k = j
            while k > 0 and (text[k - 1].isalnum() or text[k - 1] == "."):
                k -= 1
            word = text[k:j].lower()
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
            nxt = _UPPER_OR_DIGIT_START.match(text, m.end())
            if nxt is None and m.end() < len(text):
                continue
        end = m.start() if punct[0] == "\n" else m.end()
        _add_span(text, start, end, spans)
        start = m.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


# -- helpers ---------------------------------------------------------------------------


def _drop_contained(hits: list[Hit]) -> list[Hit]:
    """Keep hits not strictly inside a longer hit (identical spans are all kept)."""
    hits = sorted(hits, key=lambda h: (h.start, -h.end))
    out: list[Hit] = []
    max_end = -1
    last_span: tuple[int, int] | None = None
    last_keep = False
    for h in hits:
        span = (h.start, h.end)
        if span == last_span:
            if last_keep:
                out.append(h)
            continue
        keep = h.end > max_end
        if keep:
            out.append(h)
        max_end = max(max_end, h.end)
        last_span, last_keep = span, keep
    return out


class _Sentence:
    """What one sentence holds (only sentences with at least one hit get one)."""

    __slots__ = ("span", "sides", "countries", "border_places", "relation", "dyad_ref")
    __slots__ += ("cues", "tones", "negators")

    def __init__(self, span: tuple[int, int]) -> None:
        self.span = span
        self.sides: set[int] = set()
        self.countries: set[str] = set()
        self.border_places: set[str] = set()
        self.relation = False
        self.dyad_ref = False  # "the two countries", "both sides"
        self.cues: list[Hit] = []
        self.tones: list[Hit] = []
        self.negators: list[Hit] = []

    def is_list(self, min_countries: int) -> bool:
        return len(self.countries) >= min_countries

    def both_sides(self, min_countries: int) -> bool:
        return len(self.sides) == 2 and len(self.countries) < min_countries


def _negated(low: str, sent: _Sentence, start: int, end: int, arabic: bool) -> bool:
    """Is the match ``low[start:end]`` negated in its clause?

    English (and Persian "هیچ"/"تکذیب"): a negator before it in the same clause, at most
    80 characters back, or inside the match.  Urdu/Persian: also a negated verb after it.
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
            if not _CLAUSE_BREAK.search(gap):
                return True
        elif arabic and n.data == "after" and end <= n.start < min(s1, end + 60):
            if not _CLAUSE_BREAK.search(low[end : n.start]):
                return True
    return False


def _noisy_or(probabilities: list[float]) -> float:
    p = 1.0
    for q in probabilities:
        p *= 1.0 - q
    return 1.0 - p


def _title_evidence(watch: Watch, title: str) -> float:
    hits = watch.lexicon.scan(title)
    sides: set[int] = set()
    countries: set[str] = set()
    relation = False
    for h in _drop_contained([h for h in hits if h.role == "entity"]):
        ent: Entity = h.data
        side = watch.side_of(ent.country)
        if side is not None:
            sides.add(side)
        if ent.country:
            countries.add(ent.country)
    for h in hits:
        if h.role == "relation" or (h.role == "cue" and watch.categories[h.data[0]].relational):
            relation = True
    if len(sides) < 2 or len(countries) >= watch.relevance.list_min_countries:
        return 0.0
    return 0.6 if relation else 0.45


# -- the tagger ------------------------------------------------------------------------


def tag_article(
    article_id: str,
    title: str | None,
    text: str,
    watch: Watch,
    language: str | None = None,
) -> TagResult:
    """Tag one article's body ``text`` (``title`` only adds to relevance).

    ``language`` is informational: Urdu/Persian handling follows the script of each cue.
    """
    version = watch.version
    low = fold(text)
    sentences = split_sentences(text)
    hits = watch.lexicon.scan(text, low)
    rs = watch.relevance
    min_c = rs.list_min_countries
    side_of = watch.side_of

    # -- one pass: hits into their sentences (hits come in text order) ---------------
    info: dict[int, _Sentence] = {}
    entity_hits: list[Hit] = []
    cue_hits: list[tuple[_Sentence, Hit]] = []
    tone_hits: list[tuple[_Sentence, Hit]] = []
    si, n_sent = 0, len(sentences)
    for h in hits:
        role = h.role
        if role == "entity":
            entity_hits.append(h)
        while si < n_sent and sentences[si][1] <= h.start:
            si += 1
        if si == n_sent or h.start < sentences[si][0] or h.end > sentences[si][1]:
            continue  # across a sentence boundary
        s = info.get(si)
        if s is None:
            s = info[si] = _Sentence(sentences[si])
        if role == "cue":
            cue_hits.append((s, h))
        elif role == "relation":
            if h.data == DYAD_REFERENCE:
                s.dyad_ref = True
            s.relation = True
        elif role == "tone":
            tone_hits.append((s, h))
        elif role == "negator":
            s.negators.append(h)

    # -- mentions: longest match wins ("Pakistan Army" over "Pakistan") -------------
    mentions: list[Mention] = []
    entity_spans: list[tuple[int, int]] = []
    si = 0
    for h in _drop_contained(entity_hits):
        ent: Entity = h.data
        mentions.append(
            Mention(
                article_id,
                ent.entity_id,
                ent.kind,
                ent.name,
                ent.country,
                text[h.start : h.end],
                h.start,
                h.end,
                version,
            )
        )
        entity_spans.append((h.start, h.end))
        while si < n_sent and sentences[si][1] <= h.start:
            si += 1
        s = info.get(si)
        if s is None or h.end > s.span[1] or h.start < s.span[0]:
            continue
        side = side_of(ent.country)
        if side is not None:
            s.sides.add(side)
        if ent.country:
            s.countries.add(ent.country)
        if ent.dyad_border:
            s.border_places.add(ent.entity_id)

    # -- cues (not negated; not inside a longer cue) ---------------------------------
    categories = watch.categories
    kept = {(h.start, h.end) for h in _drop_contained([h for _, h in cue_hits])}
    for s, h in cue_hits:
        if (h.start, h.end) not in kept or _negated(low, s, h.start, h.end, h.arabic):
            continue
        s.cues.append(h)
        if categories[h.data[0]].relational:
            s.relation = True

    # -- relevance -------------------------------------------------------------------
    evidence: list[float] = []
    title_ev = _title_evidence(watch, title) if title else 0.0
    if title_ev:
        evidence.append(title_ev)
    n_strong = n_weak = 0
    places: set[str] = set()
    sides_seen: set[int] = set()
    for s in info.values():
        if s.is_list(min_c):
            continue
        places |= s.border_places
        sides_seen |= s.sides
        if len(s.sides) == 2:
            if s.relation:
                n_strong += 1
            else:
                n_weak += 1
    evidence += [0.4] * n_strong
    evidence += [0.15] * min(3, n_weak)
    if n_strong:
        evidence.append(0.5 * min(1.0, n_strong / n_sent))
    evidence += [0.15] * min(2, len(places))
    if len(places & _BORDER_PROVINCES) == 2:
        evidence.append(0.3)
    relevance = _noisy_or(evidence)
    if len(sides_seen) < 2 and not title_ev:
        relevance = min(relevance, 0.3)  # about one side only
    relevance = round(relevance, 3)
    if relevance < rs.threshold:
        return TagResult(False, relevance, 0.0, "neutral", version, [], mentions)

    # -- signals: one per (category, sentence) with a cue ----------------------------
    tone_cfg = watch.tone
    max_adj = tone_cfg.max_adjustment
    entity_starts = [a for a, _ in entity_spans]
    for s, h in tone_hits:
        # a tone word inside a name ("Shanghai Cooperation Organization") is no tone
        i = bisect_right(entity_starts, h.start) - 1
        if i >= 0 and entity_spans[i][1] >= h.end:
            continue
        if not _negated(low, s, h.start, h.end, h.arabic):
            s.tones.append(h)
    candidates: dict[str, list[tuple[float, int, Signal]]] = {}
    for s in info.values():
        if not s.cues:
            continue
        both = s.both_sides(min_c) or (s.dyad_ref and not s.is_list(min_c))
        one = bool(s.sides) or bool(s.border_places)
        by_category: dict[str, list[Hit]] = {}
        for h in s.cues:
            by_category.setdefault(h.data[0], []).append(h)
        a, b = s.span
        for category, cues in by_category.items():
            # the first cue with its own tone sets the base; else the category default
            cue, cue_tone = cues[0], None
            for c in cues:
                if c.data[2] is not None:
                    cue, cue_tone = c, c.data[2]
                    break
            base = categories[category].tone if cue_tone is None else cue_tone
            adjust = sum(t.data for t in s.tones if t.end <= cue.start or t.start >= cue.end)
            adjust = max(-max_adj, min(max_adj, adjust))
            if base * adjust < 0 and abs(adjust) >= 2.0:
                # the sentence's action outweighs its topic: "agreed to fight militants"
                tone = adjust
            else:
                tone = max(-10.0, min(10.0, base + adjust))
            score = 0.45 + (0.3 if both else 0.15 if one else 0.0)
            if s.border_places:
                score += 0.1
            if len({(c.start, c.end) for c in cues}) > 1:
                score += 0.1
            score = round(min(1.0, score), 3)
            signal = Signal(
                article_id,
                category,
                score,
                round(tone, 2),
                text[a:b],
                a,
                b,
                text[cue.start : cue.end],
                version,
            )
            candidates.setdefault(category, []).append((score, a, signal))
    signals: list[Signal] = []
    for items in candidates.values():
        items.sort(key=lambda x: (-x[0], x[1]))
        signals += [sig for _, _, sig in items[: rs.max_signals_per_category]]
    signals.sort(key=lambda sig: (sig.start, sig.category))

    # -- article tone ----------------------------------------------------------------
    weight = sum(sig.score for sig in signals)
    tone_score = sum(sig.tone_score * sig.score for sig in signals) / weight if weight else 0.0
    tone_score = round(tone_score, 2)
    strong_coop = any(sig.tone_score >= tone_cfg.mixed_strength for sig in signals)
    strong_conflict = any(sig.tone_score <= -tone_cfg.mixed_strength for sig in signals)
    if tone_score > tone_cfg.cooperation_above:
        label = "cooperation"
    elif tone_score < tone_cfg.conflict_below:
        label = "conflict"
    elif strong_coop and strong_conflict:
        label = "mixed"
    else:
        label = "neutral"
    return TagResult(True, relevance, tone_score, label, version, signals, mentions)


def tag_articles(settings: Settings, run_key: str) -> dict[str, int]:
    """Tag every extracted article of a run; writes ``tagged_articles``, ``signals`` and
    ``mentions`` for the stage step."""
    files = RunFiles(settings.work_dir, run_key)
    watch = load_watch(settings.watch_file)
    articles, signals, mentions = [], [], []
    for article in files.records("articles", Article):
        result = tag_article(
            article.article_id, article.title, article.text, watch, language=article.language
        )
        article.relevant = result.relevant
        article.relevance = result.relevance
        article.tone_score = result.tone_score
        article.tone = result.tone
        article.tagger_version = result.tagger_version
        articles.append(article)
        signals.extend(result.signals)
        mentions.extend(result.mentions)
    files.write("tagged_articles", articles)
    files.write("signals", signals)
    files.write("mentions", mentions)
    summary = {
        "articles": len(articles),
        "relevant": sum(1 for a in articles if a.relevant),
        "signals": len(signals),
        "mentions": len(mentions),
    }
    log.info(
        "Tagged %(articles)d articles with watch %(version)s: %(relevant)d relevant to the dyad, "
        "%(signals)d signals, %(mentions)d mentions",
        {**summary, "version": watch.version},
    )
    return summary
