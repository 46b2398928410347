"""The watch definition: dyad, signal taxonomy, gazetteer, tone lexicon and alert rules.

All of it is data in ``seeds/watch.toml``; this module loads and validates it and
precompiles everything the tagger (``extractors/tagger.py``) needs, so tagging one
article does no compiling and no I/O.

Matching model (the same for gazetteer aliases, category cues, tone words and relation
cues).  Text is lower-cased and Arabic-script letter variants are folded (ي/ى->ی, ك->ک,
ہ/ة/ۀ->ه, أ/إ/آ->ا) without changing its length, so offsets stay valid.  Every term is
indexed by its first word, and tagging walks the words of the text once, trying only
the terms that start with that word.  Term syntax:

- a Latin-script term matches whole words, case-insensitively; spaces and hyphens in
  it match any run of spaces, hyphens or dashes ("Rimdan-Gabd" = "Rimdan Gabd");
- a trailing ``*`` matches any word ending ("smuggl*" = smuggling, smugglers);
- an all-capitals term (an acronym: "BLA", "SCO", "US") matches case-sensitively; so do
  the aliases an entity lists under ``match_case`` (e.g. "Pak");
- an Urdu/Persian-script term matches as written, as the start of a word (so "ایران"
  also finds "ایرانی"), with optional spaces/ZWNJ between its words;
- a category ``pattern`` is a regular expression, matched case-insensitively at a word
  start; it must begin with at least three literal letters (its index key).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate, compress, repeat
from pathlib import Path
from typing import Any, NamedTuple

from extractors.learned import ModelError, TaggerModel, load_model

# Length-preserving folding of Arabic-script letter variants (Arabic vs Persian vs Urdu).
ARABIC_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ہ": "ه",
        "ۀ": "ه",
        "ة": "ه",
        "ە": "ه",
        "ۂ": "ه",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
    }
)
_ARABIC_FOLD_PAIRS = tuple((chr(code), folded) for code, folded in ARABIC_FOLD.items())
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
WORD = re.compile(r"[\w\u200c]+")  # ZWNJ joins Persian word parts
_LATIN_GAP = r"[\s\-\u2010-\u2015]+"
_APOSTROPHE = re.compile("['’]")
_SPACES = re.compile(r"(\s+)")
_ARABIC_GAP = r"[\s\u200c\u200d\-]*"
# Persian/Urdu inflections a term may carry: -i, plural -ha/-haye/-an/-at, Urdu -e/-on/-en.
_ARABIC_SUFFIX = r"(?:\u200c?(?:هایی|های|ها|یان|ان|ات|ی|ے|وں|یں|ۓ))?(?![\w\u200c])"
_QUANTIFIER = set("?*+{")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2,3}$")
ENTITY_KINDS = {"actor", "place"}
DYAD_REFERENCE = "dyad_reference"  # payload of a relation hit that stands for both sides


class WatchError(ValueError):
    """The watch file is missing, malformed, or inconsistent."""


def _either_apostrophe(escaped: str) -> str:
    """``escaped`` (a regex) with each apostrophe matching either one, in one pass (so the
    class written for one is not rewritten for the other)."""
    return _APOSTROPHE.sub(lambda _: "['’]", escaped)


def fold(text: str) -> str:
    """Lower-case and fold Arabic-script variants; always returns a string of equal length."""
    low = text.lower()
    if len(low) != len(text):  # e.g. 'İ' lowers to two code points: lower char by char
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if not _ARABIC_SCRIPT.search(low):
        return low
    for variant, folded in _ARABIC_FOLD_PAIRS:  # str.replace: far faster than translate
        if variant in low:
            low = low.replace(variant, folded)
    return low


def is_arabic_script(term: str) -> bool:
    return bool(_ARABIC_SCRIPT.search(term))


# -- records of the watch ----------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    """One side of the dyad."""

    code: str
    name: str
    entity_id: str
    adjectives: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cue:
    """One cue of a category: a term or pattern as written, compiled, with optional tone."""

    source: str
    regex: re.Pattern[str]
    tone: float | None = None
    is_pattern: bool = False


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    cues: tuple[Cue, ...]
    tone: float = 0.0  # default tone of a signal of this category, -10..+10
    relational: bool = True  # its cues count as "relation" evidence for dyad relevance
    counter_frame: bool = False  # "joint action against <cue>" is cooperation (see ToneSettings)
    # the article carries the category only when one of its signals scores this much
    min_score: float = 0.5
    weak: frozenset[str] = frozenset()  # generic cues: a signal on them alone scores less


@dataclass(frozen=True)
class Entity:
    entity_id: str
    kind: str  # 'actor' | 'place'
    name: str
    type: str
    country: str | None
    aliases: tuple[str, ...]
    lat: float | None = None
    lon: float | None = None
    dyad_border: bool = False  # a place of the dyad's border region
    note: str | None = None


@dataclass(frozen=True)
class RelevanceSettings:
    threshold: float = 0.5
    list_min_countries: int = 4  # a sentence naming this many countries is a list
    max_signals_per_category: int = 3
    relation_cues: tuple[str, ...] = ()
    # signal score: a cue (a weak cue) + naming both sides (one side) + a border place +
    # several cues; the article keeps a category when a signal reaches its min_score
    score_cue: float = 0.5
    score_weak_cue: float = 0.3
    score_both_sides: float = 0.25
    score_one_side: float = 0.1
    score_border_place: float = 0.1
    score_several_cues: float = 0.1
    category_min_score: float = 0.5
    # relevance evidence weights (combined by noisy-or)
    title_with_relation: float = 0.6
    title_co_mention: float = 0.35
    sentence_with_relation: float = 0.4
    sentence_co_mention: float = 0.15
    border_place: float = 0.15
    # phrases that stand for both sides in a relevant article ("the two countries")
    dyad_references: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToneSettings:
    words: dict[str, float]
    cooperation_above: float = 1.5
    conflict_below: float = -1.5
    mixed_strength: float = 4.0  # a signal this far from 0 counts as "strong"
    max_adjustment: float = 4.0  # tone words move a signal's tone at most this much
    # "action against militants": a cue of a ``counter_frame`` category right after one of
    # the ``[tone.counter]`` terms (Urdu/Persian: also right before one) is the target of
    # action, not violence reported; its signal takes this tone when the sentence names
    # both sides (joint action), else 0, before tone words
    counter_frame_tone: float = 3.0


@dataclass(eq=False)
class Term:
    """A compiled lexicon term and what it stands for (several roles may share one)."""

    source: str
    regex: re.Pattern[str] | None  # None: decided on the word alone (see ``prefix``)
    case_words: tuple[str, ...] | None  # original-case words when matched case-sensitively
    payloads: list[tuple[str, Any]] = field(default_factory=list)
    arabic: bool = False
    prefix: str | None = None  # single-word wildcard term: the word must start with this
    lead: str | None = None  # a word this term can start at must start with this
    # its regex matches inside one word or not at all (an Urdu/Persian term of one word):
    # whether it matches at a word is known from the word alone
    in_word: bool = False
    # a term of several Urdu/Persian words: its first word, all letters, and the letter
    # that may follow it inside a word (the gap between its words may be empty)
    head: tuple[str, str] | None = None
    # a term of several Latin words: its second word, when every match holds it whole
    # (not a wildcard's prefix, not the "s" of "Pakistan's army")
    second: str | None = None


class Hit(NamedTuple):
    start: int
    end: int
    role: str  # 'entity' | 'cue' | 'tone' | 'relation' | 'negator' | 'counter'
    data: Any
    arabic: bool


@dataclass
class _Node:
    """Index node of one first word (or first three letters)."""

    single: list[Term] = field(default_factory=list)  # the word itself is the match
    wild: list[Term] = field(default_factory=list)  # word starts with term.prefix
    by_next: dict[str, list[Term]] = field(default_factory=dict)  # next word[:3] -> terms
    other: list[Term] = field(default_factory=list)  # verified by regex at the word


_UNSEEN: Any = object()
_NEXT_WORD = re.compile(r"(?:['’]s(?![\w\u200c]))?[^\w\u200c]{0,5}([\w\u200c]+)")
# words too common to look back from (see Lexicon._index_back): a term whose second word is
# one of these stays with its first word
_COMMON_WORDS = frozenset(
    """a an the of and or but to in on at for with from by as about into over after than
    that this these those it its is are was were be been has have had not no do does did
    will would can could may might should said says also more most other up out down off
    back then there their they we he she you his her our who which what when where i e s
    t d ll re ve m""".split()
)


def _is_word_char(c: str) -> bool:
    """Is ``c`` a character of a WORD (``[\\w\\u200c]``; \\w: ``str.isalnum`` or '_')?"""
    return c.isalnum() or c == "_" or c == "\u200c"


def _word_before(low: str, at: int) -> tuple[int, str] | None:
    """The word whose next word, as the scan reads it (_NEXT_WORD: after 1-5 characters of
    no word), is the word at ``at``, as (its start, the word); None if there is none."""
    j, stop = at, max(0, at - 5)
    while j > stop and not _is_word_char(low[j - 1]):
        j -= 1
    if j == at or j == 0 or not _is_word_char(low[j - 1]):
        return None
    k = j - 1
    while k > 0 and _is_word_char(low[k - 1]):
        k -= 1
    return k, low[k:j]


class Lexicon:
    """Every term of the watch, indexed by its first word and the next word's start.

    ``scan`` walks the words of a text once; at each word it tries only the terms that
    begin with that word (multi-word terms: and whose second word starts like the next
    word), so its cost grows with the text, hardly with the size of the watch.
    """

    def __init__(self) -> None:
        self._terms: dict[tuple[str, bool], Term] = {}
        self.exact: dict[str, _Node] = {}
        self.prefix3: dict[str, _Node] = {}
        # word -> its index nodes (None: no term starts with it); a cache, cleared when big
        self._memo: dict[str, _Plan | None] = {}
        # a run of the text between two spaces -> its words that have a plan (offsets in the
        # run); most runs are one common word, so this is mostly a dictionary hit
        self._runs: dict[str, tuple[_RunWord, ...]] = {}
        self._heads: dict[str, str | None] = {}  # a run -> its first word's first 3 letters
        # first words whose terms the scan looks for from their second word instead, and
        # for each such second word, those terms (see _index_back); None: not built yet
        self._deferred: frozenset[str] = frozenset()
        self._back: dict[str, dict[str, tuple[Term, ...]]] | None = None

    def _forget(self) -> None:
        """Drop what was worked out from the terms (a term was added)."""
        self._memo.clear()
        self._runs.clear()
        self._back = None

    def add_term(self, term: str, role: str, data: Any, case_sensitive: bool = False) -> Term:
        key = (term, case_sensitive)
        entry = self._terms.get(key)
        if entry is None:
            entry = self._compile_term(term, case_sensitive)
            self._terms[key] = entry
            self._forget()
        entry.payloads.append((role, data))
        return entry

    def add_pattern(self, pattern: str, role: str, data: Any) -> re.Pattern[str]:
        lead = re.match(r"\w+", pattern)
        literal = lead.group() if lead else ""
        if literal and lead and lead.end() < len(pattern) and pattern[lead.end()] in _QUANTIFIER:
            literal = literal[:-1]
        if len(literal) < 3:
            raise WatchError(f"pattern {pattern!r} must begin with at least 3 literal letters")
        try:
            regex = re.compile(rf"(?:{pattern})(?!\w)", re.IGNORECASE)
        except re.error as exc:
            raise WatchError(f"pattern {pattern!r} does not compile: {exc}") from exc
        if regex.groupindex:
            raise WatchError(f"pattern {pattern!r}: named groups are not allowed")
        key = (f"re:{pattern}", False)
        entry = self._terms.get(key)
        if entry is None:
            entry = Term(pattern, regex, None, arabic=is_arabic_script(pattern), lead=fold(literal))
            self._terms[key] = entry
            self.prefix3.setdefault(fold(literal)[:3], _Node()).other.append(entry)
            self._forget()
        entry.payloads.append((role, data))
        return regex

    def _compile_term(self, term: str, case_sensitive: bool) -> Term:
        raw = term.strip()
        wildcard = raw.endswith("*")
        raw = raw.rstrip("*").strip()
        if is_arabic_script(raw):
            return self._compile_arabic(term, fold(raw), wildcard)
        folded = fold(raw)
        words = WORD.findall(folded)
        if not words:
            raise WatchError(f"term {term!r} has no letters")
        # regex: words joined by their separators (spaces/hyphens flexible)
        parts: list[str] = []
        pos = 0
        for i, m in enumerate(WORD.finditer(folded)):
            if i:
                sep = folded[pos : m.start()]
                if sep.strip(" -\u2010\u2011\u2012\u2013\u2014\u2015") == "":
                    parts.append(_LATIN_GAP)
                else:
                    # punctuation as written, spaces around it as written but of any width
                    # ("Pishin, Iran", "Chief of the Naval Staff (Pakistan)"); either
                    # apostrophe stands for both ("Pakistan's", "Pakistan’s")
                    parts.append(
                        "".join(
                            r"\s+" if piece.isspace() else _either_apostrophe(re.escape(piece))
                            for piece in _SPACES.split(sep)
                            if piece
                        )
                    )
            parts.append(re.escape(m.group()))
            pos = m.end()
        tail = folded[pos:].strip()
        if tail:  # e.g. the final dot of "U.S."
            parts.append(re.escape(tail))
        parts.append(r"\w*(?!\w)" if wildcard else r"(?!\w)")
        case_words = tuple(WORD.findall(raw)) if case_sensitive else None
        first = words[0]
        if len(words) == 1 and not tail:
            if wildcard:
                if len(first) < 3:
                    raise WatchError(f"wildcard term {term!r} needs 3 letters before '*'")
                entry = Term(term, None, case_words, prefix=first)
                self.prefix3.setdefault(first[:3], _Node()).wild.append(entry)
            else:
                entry = Term(term, None, case_words)
                self.exact.setdefault(first, _Node()).single.append(entry)
            return entry
        entry = Term(term, re.compile("".join(parts)), case_words)
        node = self.exact.setdefault(first, _Node())
        second = words[1] if len(words) > 1 else None
        if not (wildcard and len(words) == 2):
            entry.second = second
        if second == "s" and len(words) > 2 and re.search(r"['’]s", folded):
            second = words[2]  # "Pakistan's army": index by "army" (scan skips the 's)
            entry.second = None
        # index by the next word's first three letters, unless that word is a short wildcard
        if second is not None and (len(second) >= 3 or not (wildcard and len(words) == 2)):
            node.by_next.setdefault(second[:3], []).append(entry)
        else:
            node.other.append(entry)
        return entry

    def _compile_arabic(self, term: str, folded: str, wildcard: bool) -> Term:
        """Urdu/Persian: as written, spaces/ZWNJ/hyphens optional, common suffixes allowed."""
        parts: list[str] = []
        for ch in folded:
            if ch.isspace() or ch in "\u200c\u200d-":
                if parts and parts[-1] == _ARABIC_GAP:
                    continue
                parts.append(_ARABIC_GAP)
            else:
                parts.append(re.escape(ch))
        parts.append(r"[\w\u200c]*" if wildcard else _ARABIC_SUFFIX)
        regex = re.compile("".join(parts))
        first = WORD.findall(folded.replace("\u200c", " "))
        entry = Term(term, regex, None, arabic=True, lead=first[0] if first else None)
        # letters only (no gap, which may match spaces), then suffixes of letters/ZWNJ and
        # "(?![\w\u200c])": every character it consumes is a word character
        entry.in_word = bool(re.fullmatch(r"\w+", folded))
        head = re.match(r"(\w+)[\s\u200c\u200d\-]+(\w)", folded)
        if head is not None and re.fullmatch(r"[^\s\u200c\u200d\-]+", head.group(1)):
            entry.head = (head.group(1), head.group(2))
        if not first:
            raise WatchError(f"term {term!r} has no letters")
        if len(first[0]) >= 3:
            self.prefix3.setdefault(first[0][:3], _Node()).other.append(entry)
        else:
            self.exact.setdefault(first[0], _Node()).other.append(entry)
        return entry

    def _index_back(self) -> dict[str, dict[str, tuple[Term, ...]]]:
        """Terms to look for from their second word: those of a first word that stands for
        nothing by itself and is far more common than their second words ("to" of "to stop",
        "two" of "two sides", "state" of "state visit").  At each "to" the scan would look at
        the next word, and nearly always find no term; instead, at each "stop" it looks at
        the word before (``_word_before``: the word whose next word the scan would have
        taken "stop" for), and where that is "to", tries the term there: the same matches,
        in the same order (no word stands between the two), at far fewer words.  A term
        whose second word is common (_COMMON_WORDS: "on the sidelines") or not whole in a
        match (``Term.second``) keeps its first word as it is."""
        back: dict[str, dict[str, list[Term]]] = {}  # second word -> first word -> terms
        deferred = set()
        for first, node in self.exact.items():
            terms = [t for entries in node.by_next.values() for t in entries]
            if not terms or any(t.second is None or t.second in _COMMON_WORDS for t in terms):
                continue
            plan = self._plan_ahead(first)
            if plan is None or plan.plain or plan.cased or plan.verify or plan.need:
                continue  # the word is looked at anyway
            deferred.add(first)
            for term in terms:
                back.setdefault(term.second, {}).setdefault(first, []).append(term)  # type: ignore[arg-type]
        self._deferred = frozenset(deferred)
        self._back = {
            second: {first: tuple(terms) for first, terms in by_first.items()}
            for second, by_first in back.items()
        }
        return self._back

    def _plan(self, tok: str) -> _Plan | None:
        """What to try at a word: decided once per distinct word, then cached."""
        back = self._back if self._back is not None else self._index_back()
        # terms whose second word this is, looked for from here (a word of a Persian compound
        # written with a ZWNJ is looked up by its first part: a term's regex ends before it)
        behind = back.get(tok.split("\u200c", 1)[0]) if back else None
        plan = None if tok in self._deferred else self._plan_ahead(tok)
        if behind:
            plan = (plan or _NO_PLAN)._replace(back=behind)
        return plan

    def _plan_ahead(self, tok: str) -> _Plan | None:
        """The terms that may start at ``tok``: _plan but for the terms looked for from their
        second word."""
        node, pnode = self.exact.get(tok), self.prefix3.get(tok[:3])
        # a Persian compound written with a ZWNJ ("سه‌جانبه") is one word here; a term whose
        # first part has under three letters is indexed by that part alone
        part = self.exact.get(tok.split("\u200c", 1)[0]) if "\u200c" in tok else None
        if node is None and pnode is None and part is None:
            return None
        direct: list[tuple[str, Any, bool, tuple[str, ...] | None]] = []
        verify: list[Term] = []
        by_next: dict[str, list[Term]] = {}
        words = [*node.single] if node else []
        if pnode is not None:
            words += [t for t in pnode.wild if tok.startswith(t.prefix)]  # type: ignore[arg-type]
            verify += [t for t in pnode.other if t.lead is None or tok.startswith(t.lead)]
        if node is not None:
            verify += [t for t in node.other if t.lead is None or tok.startswith(t.lead)]
            by_next = node.by_next
        if part is not None:
            verify += [t for t in part.other if t.arabic and t.lead and tok.startswith(t.lead)]
        # a term within one word that does not match the word alone never matches at it
        verify = [t for t in verify if not t.in_word or t.regex.match(tok)]  # type: ignore[union-attr]
        # a term of several words starts with its first word, then a gap or its next word
        verify = [t for t in verify if t.head is None or _may_start(tok, *t.head)]
        for term in words:
            direct += [(role, data, term.arabic, term.case_words) for role, data in term.payloads]
        if not direct and not verify and not by_next:
            return None
        # hits of a word matched whatever its case: (role, data, arabic), ready to copy; a
        # word with a case-sensitive term keeps them all, in order, beside their case
        cased = tuple(direct) if any(d[3] is not None for d in direct) else ()
        plain = () if cased else tuple((role, data, arabic) for role, data, arabic, _ in direct)
        # the regexes for each next word's first letters, the word's own ones included
        with_next = {key: (*verify, *more) for key, more in by_next.items()}
        # a term of several Urdu/Persian words whose first word is this whole word: its next
        # word's first letter must come after the gap (which the scan looks up once)
        need = {t: t.head[1] for t in verify if t.head is not None and t.head[0] == tok}
        return _Plan(plain, cased, tuple(verify), with_next, need, {})

    def _run_plans(self, run: str) -> tuple[_RunWord, ...]:
        """The words of ``run`` (text without spaces) that have a plan: their offsets in
        the run and their plan's parts."""
        memo = self._memo
        found = []
        for m in WORD.finditer(run):
            tok = m.group()
            plan = memo.get(tok, _UNSEEN)
            if plan is _UNSEEN:
                plan = memo[tok] = self._plan(tok)
            if plan is not None:
                found.append((m.start(), m.end(), *plan))
        return tuple(found)

    def scan(self, text: str, low: str | None = None) -> list[Hit]:
        """All term occurrences in ``text`` (overlapping ones included), in text order.

        ``low`` is ``fold(text)`` when the caller already has it.
        """
        if low is None:
            low = fold(text)
        runs_memo, heads = self._runs, self._heads
        if len(runs_memo) > 200_000:
            runs_memo.clear()
            heads.clear()
        if len(self._memo) > 200_000:
            self._memo.clear()
        next_word = _NEXT_WORD.match
        hits: list[Hit] = []
        add = hits.append
        new_hit = tuple.__new__  # Hit(...) without the Python-level __new__ of a NamedTuple
        # no word holds a space: cut at every single space (the k-th run starts at the
        # length of the runs before it plus k), and look each run up whole
        runs = low.split(" ")
        n_runs = len(runs)
        run_starts = list(accumulate(map(len, runs), initial=0))
        runs_get, heads_get = runs_memo.get, heads.get
        # only the runs with a word that has a plan (or not seen yet)
        for k in compress(range(n_runs), map(runs_get, runs, repeat(_UNSEEN))):
            run = runs[k]
            found = runs_get(run, _UNSEEN)
            if found is _UNSEEN:
                found = runs_memo[run] = self._run_plans(run)
            offset = run_starts[k] + k
            for a, b, plain, cased, verify, with_next, need, back in found:
                start, end = offset + a, offset + b
                if back:
                    # terms of which this is the second word, at the word before (their
                    # hits start there: before this word's own, and no word stands between)
                    if not a and k and (before := runs[k - 1]).isalnum():
                        at = start - 1 - len(before)  # the run before is one word
                    elif (found_before := _word_before(low, start)) is not None:
                        at, before = found_before
                    else:
                        before = ""
                    for term in back.get(before, ()):
                        _add_match(term, low, text, at, add)
                for role, data, arabic in plain:
                    add(new_hit(Hit, (start, end, role, data, arabic)))
                for role, data, arabic, case_words in cased:
                    if case_words is None or tuple(WORD.findall(text[start:end])) == case_words:
                        add(new_hit(Hit, (start, end, role, data, arabic)))
                if with_next:
                    # the next word's first letters: a word ending its run is followed by a
                    # space, so by the next run's first word when that run starts with one
                    head = None
                    if b == len(run) and k + 1 < n_runs:
                        after = runs[k + 1]
                        head = heads_get(after, _UNSEEN)
                        if head is _UNSEEN:
                            first = WORD.match(after)
                            head = heads[after] = first.group()[:3] if first else None
                    if head is None:
                        nm = next_word(low, end)
                        if nm is not None:
                            head = nm.group(1)[:3]
                    if head is not None:
                        verify = with_next.get(head, verify)
                if need:
                    letter = None  # the first character after the gap that follows the word
                    if b == len(run) and k + 1 < n_runs:
                        after = runs[k + 1]
                        if after and not after[0].isspace() and after[0] not in "\u200c\u200d-":
                            letter = after[0]
                    if letter is None:
                        gm = _AFTER_GAP.match(low, end)
                        letter = gm.group(1) if gm else None
                    verify = [t for t in verify if need.get(t, letter) == letter]
                for term in verify:
                    _add_match(term, low, text, start, add)
        return hits


def _add_match(term: Term, low: str, text: str, at: int, add: Callable[[Hit], None]) -> None:
    """The hits of ``term`` where its regex matches ``low`` (the folded ``text``) at ``at``
    (and the words matched are in its case, when it has one)."""
    mm = term.regex.match(low, at)  # type: ignore[union-attr]
    if mm is None:
        return
    stop = mm.end()
    if term.case_words is not None and tuple(WORD.findall(text[at:stop])) != term.case_words:
        return
    for role, data in term.payloads:
        add(tuple.__new__(Hit, (at, stop, role, data, term.arabic)))


def _may_start(tok: str, first: str, next_letter: str) -> bool:
    """Can a term whose first word is ``first`` (letters), then a gap (maybe empty), then
    ``next_letter`` match at the start of the word ``tok``?"""
    if not tok.startswith(first):
        return False
    return len(tok) == len(first) or tok[len(first)] in ("\u200c", next_letter)


class _Plan(NamedTuple):
    plain: tuple[tuple[str, Any, bool], ...]  # the word is the match, in any case
    cased: tuple[tuple[str, Any, bool, tuple[str, ...] | None], ...]  # or these, cased
    verify: tuple[Term, ...]  # regexes to try at the word
    with_next: dict[str, tuple[Term, ...]]  # next word's first letters -> verify + more
    need: dict[Term, str]  # terms of verify that need this letter after the word and a gap
    # terms of which this is the second word, by their first word: to try at the word
    # before when it is that word (Lexicon._index_back)
    back: dict[str, tuple[Term, ...]]


_NO_PLAN = _Plan((), (), (), {}, {}, {})
# a word of a run with a plan: its offsets in the run, then its plan's parts
_RunWord = tuple[int, int, Any, Any, Any, Any, Any, Any]
# the gap between the words of an Urdu/Persian term (_ARABIC_GAP), then the next character
_AFTER_GAP = re.compile(r"[\s\u200c\u200d\-]*(.)", re.S)


# -- the watch ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    """A loaded, validated watch definition; ``lexicon`` is its compiled matcher."""

    name: str
    dyad: tuple[Country, Country]
    categories: dict[str, Category]
    gazetteer: dict[str, Entity]
    tone: ToneSettings
    relevance: RelevanceSettings
    negators: tuple[tuple[str, ...], tuple[str, ...]]  # (before a cue, after it: Urdu/Persian)
    alert_rules: list[dict[str, Any]]
    version: str
    path: Path | None
    lexicon: Lexicon = field(repr=False, compare=False)
    # the learned decision layer (``[model] file``; extractors/learned.py), None: rules only
    model: TaggerModel | None = field(default=None, repr=False, compare=False)

    def side_of(self, country: str | None) -> int | None:
        """0 or 1 for an entity of either dyad country, else None."""
        if country == self.dyad[0].code:
            return 0
        if country == self.dyad[1].code:
            return 1
        return None


def _str_list(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: expected a list of non-empty strings")
        return ()
    return tuple(v.strip() for v in value)


def _number(value: Any, where: str, problems: list[str], lo: float, hi: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: expected a number, got {value!r}")
        return None
    if not lo <= value <= hi:
        problems.append(f"{where}: {value} is outside {lo}..{hi}")
        return None
    return float(value)


def _is_case_sensitive(term: str) -> bool:
    letters = [c for c in term if c.isalpha()]
    return (
        len(letters) >= 2
        and not is_arabic_script(term)
        and all(c.isupper() for c in letters)
        and len(term) <= 8
    )


_WEIGHTS = (
    "score_cue",
    "score_weak_cue",
    "score_both_sides",
    "score_one_side",
    "score_border_place",
    "score_several_cues",
    "category_min_score",
    "title_with_relation",
    "title_co_mention",
    "sentence_with_relation",
    "sentence_co_mention",
    "border_place",
)


def _alias_key(alias: str) -> str:
    return " ".join(WORD.findall(fold(alias.rstrip("*"))))


def _read_gazetteer(
    data: dict[str, Any], problems: list[str]
) -> tuple[dict[str, Entity], list[Country], list[tuple[str, Entity, bool]]]:
    """The gazetteer's entities and the dyad's countries of a parsed watch file (aliases
    include each dyad country's name, adjectives and aliases), and the aliases the matcher
    is to learn: (alias, entity, case-sensitive?), an alias that is also another entity's
    left out; what is wrong goes to ``problems``."""
    gazetteer: dict[str, Entity] = {}
    alias_terms: list[tuple[str, Entity, bool]] = []
    alias_owner: dict[str, str] = {}
    raw_entities = data.get("gazetteer", [])
    if not isinstance(raw_entities, list) or not raw_entities:
        problems.append("gazetteer: expected a non-empty array of [[gazetteer]] tables")
        raw_entities = []
    extra_aliases: dict[str, list[str]] = {}
    dyad_raw = data.get("dyad", [])
    countries: list[Country] = []
    if not isinstance(dyad_raw, list) or len(dyad_raw) != 2:
        problems.append("dyad: expected exactly two [[dyad]] tables")
        dyad_raw = []
    for i, c in enumerate(dyad_raw):
        where = f"dyad[{i}]"
        missing = [k for k in ("code", "name", "entity_id") if not c.get(k)]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        country = Country(
            code=str(c["code"]),
            name=str(c["name"]),
            entity_id=str(c["entity_id"]),
            adjectives=_str_list(c.get("adjectives"), f"{where}.adjectives", problems),
            aliases=_str_list(c.get("aliases"), f"{where}.aliases", problems),
        )
        countries.append(country)
        extra_aliases[country.entity_id] = [
            country.name,
            *country.adjectives,
            *country.aliases,
        ]

    for i, e in enumerate(raw_entities):
        where = f"gazetteer[{i}]"
        eid = e.get("entity_id")
        if not eid or not isinstance(eid, str):
            problems.append(f"{where}: missing entity_id")
            continue
        where = f"gazetteer[{eid}]"
        if eid in gazetteer:
            problems.append(f"{where}: duplicate entity_id")
            continue
        kind = e.get("kind")
        if kind not in ENTITY_KINDS:
            problems.append(f"{where}: kind must be one of {sorted(ENTITY_KINDS)}, not {kind!r}")
        country = e.get("country")
        if country is not None and not (isinstance(country, str) and _COUNTRY_CODE.match(country)):
            problems.append(f"{where}: country must be an upper-case code, not {country!r}")
        lat = lon = None
        if kind == "place":
            lat = _number(e.get("lat"), f"{where}.lat", problems, -90, 90)
            lon = _number(e.get("lon"), f"{where}.lon", problems, -180, 180)
        aliases = list(_str_list(e.get("aliases"), f"{where}.aliases", problems))
        aliases += extra_aliases.pop(eid, [])
        ename = e.get("name") or ""
        if not ename:
            problems.append(f"{where}: missing name")
        aliases = list(dict.fromkeys([ename, *aliases] if ename else aliases))
        entity = Entity(
            entity_id=eid,
            kind=str(kind),
            name=str(ename),
            type=str(e.get("type") or ("place" if kind == "place" else "actor")),
            country=country,
            aliases=tuple(aliases),
            lat=lat,
            lon=lon,
            dyad_border=bool(e.get("dyad_border", False)),
            note=e.get("note"),
        )
        gazetteer[eid] = entity
        match_case = set(_str_list(e.get("match_case"), f"{where}.match_case", problems))
        for alias in aliases:
            key = _alias_key(alias)
            owner = alias_owner.get(key)
            if owner is not None and owner != eid:
                problems.append(f"{where}: alias {alias!r} is also an alias of {owner}")
                continue
            alias_owner[key] = eid
            alias_terms.append((alias, entity, alias in match_case or _is_case_sensitive(alias)))
    for eid in extra_aliases:
        problems.append(f"dyad: entity_id {eid!r} is not in the gazetteer")
    for country in countries:
        ent = gazetteer.get(country.entity_id)
        if ent is not None and ent.country != country.code:
            problems.append(
                f"dyad {country.code}: entity {ent.entity_id} has country {ent.country}"
            )
    return gazetteer, countries, alias_terms


def _read_toml(path: Path) -> tuple[bytes, dict[str, Any]]:
    """A watch file's bytes and its parsed TOML; ``WatchError`` when it is not UTF-8 TOML."""
    data_bytes = Path(path).read_bytes()
    try:
        return data_bytes, tomllib.loads(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WatchError(f"{path}: not valid UTF-8 TOML: {exc}") from exc


def model_path(path: Path, data: dict[str, Any]) -> Path | None:
    """The learned model file a watch file names (``[model] file``, relative to the watch
    file), or None when it names none (the rules alone decide)."""
    name = (data.get("model") or {}).get("file")
    if not name:
        return None
    return (Path(path).parent / str(name)).resolve()


def read_gazetteer(path: Path) -> list[Entity]:
    """The gazetteer of the watch file at ``path``, validated, without compiling any
    matcher (what the load needs to refresh ``entities``: a tenth of ``load_watch``'s time).

    Raises ``WatchError`` listing the gazetteer's problems, or ``FileNotFoundError``."""
    _, data = _read_toml(path)
    problems: list[str] = []
    gazetteer, _, _ = _read_gazetteer(data, problems)
    if problems:
        raise WatchError(f"{path}: " + "; ".join(problems))
    return list(gazetteer.values())


def load_watch(path: Path, with_model: bool = True) -> Watch:
    """Load ``path`` (a watch TOML file), validate it and precompile its matchers.

    ``with_model=False`` leaves out its learned model (the rules alone decide: what the model
    is trained on).  Raises ``WatchError`` listing every problem found, or
    ``FileNotFoundError``.
    """
    from extractors.tagger import TAGGER_CODE_VERSION  # the tagger imports this module

    path = Path(path)
    data_bytes, data = _read_toml(path)
    model_file = model_path(path, data) if with_model else None
    # the model's weights are part of what the tagger does: a retrained model is a new version
    model_bytes = model_file.read_bytes() if model_file and model_file.is_file() else b""
    digest = hashlib.sha256(data_bytes + model_bytes).hexdigest()[:10]
    version = f"{TAGGER_CODE_VERSION}-{digest}"
    problems: list[str] = []
    lexicon = Lexicon()

    def guarded(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except WatchError as exc:
            problems.append(str(exc))
            return None

    meta = data.get("watch", {})
    name = str(meta.get("name", path.stem))

    # relevance + tone settings
    rel = data.get("relevance", {})
    relevance = RelevanceSettings(
        threshold=_number(rel.get("threshold", 0.5), "relevance.threshold", problems, 0, 1) or 0.5,
        list_min_countries=int(rel.get("list_min_countries", 4)),
        max_signals_per_category=int(rel.get("max_signals_per_category", 3)),
        relation_cues=_str_list(rel.get("relation_cues"), "relevance.relation_cues", problems),
        dyad_references=_str_list(
            rel.get("dyad_references"), "relevance.dyad_references", problems
        ),
        **{
            key: w
            for key in _WEIGHTS
            if key in rel
            and (w := _number(rel[key], f"relevance.{key}", problems, 0, 1)) is not None
        },
    )
    for term in relevance.relation_cues:
        guarded(lexicon.add_term, term, "relation", term, _is_case_sensitive(term))
    for term in relevance.dyad_references:
        guarded(lexicon.add_term, term, "relation", DYAD_REFERENCE)

    tone_data = data.get("tone", {})
    tone_words: dict[str, float] = {}
    for word, weight in (tone_data.get("words") or {}).items():
        w = _number(weight, f"tone.words[{word!r}]", problems, -10, 10)
        if w is not None:
            tone_words[word] = w
            guarded(lexicon.add_term, word, "tone", w, _is_case_sensitive(word))
    labels = tone_data.get("labels", {})
    tone = ToneSettings(
        words=tone_words,
        cooperation_above=float(labels.get("cooperation_above", 1.5)),
        conflict_below=float(labels.get("conflict_below", -1.5)),
        mixed_strength=float(labels.get("mixed_strength", 4.0)),
        max_adjustment=float(tone_data.get("max_adjustment", 4.0)),
        counter_frame_tone=float(tone_data.get("counter_frame_tone", 3.0)),
    )
    counter = tone_data.get("counter", {})
    for word in _str_list(counter.get("before"), "tone.counter.before", problems):
        guarded(lexicon.add_term, word, "counter", "before")
    for word in _str_list(counter.get("after"), "tone.counter.after", problems):
        guarded(lexicon.add_term, word, "counter", "after")

    neg = data.get("negation", {})
    before = _str_list(neg.get("before"), "negation.before", problems)
    after = _str_list(neg.get("after"), "negation.after", problems)
    if not before:
        problems.append("negation.before: at least one negator is required")

    for word in before:
        guarded(lexicon.add_term, word, "negator", "before")
    for word in after:
        guarded(lexicon.add_term, word, "negator", "after")

    # gazetteer
    gazetteer, countries, alias_terms = _read_gazetteer(data, problems)
    for alias, entity, case_sensitive in alias_terms:
        guarded(lexicon.add_term, alias, "entity", entity, case_sensitive)

    # categories
    categories: dict[str, Category] = {}
    raw_cats = data.get("categories", {})
    if not isinstance(raw_cats, dict) or not raw_cats:
        problems.append("categories: expected at least one [categories.<name>] table")
        raw_cats = {}
    for cname, c in raw_cats.items():
        where = f"categories.{cname}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", cname):
            problems.append(f"{where}: name must be snake_case")
        description = c.get("description")
        if not description:
            problems.append(f"{where}: missing description")
        default_tone = _number(c.get("tone", 0.0), f"{where}.tone", problems, -10, 10) or 0.0
        terms = tuple(dict.fromkeys(_str_list(c.get("terms"), f"{where}.terms", problems)))
        patterns = tuple(dict.fromkeys(_str_list(c.get("patterns"), f"{where}.patterns", problems)))
        cue_tones_raw = c.get("cue_tones", {}) or {}
        known = set(terms) | set(patterns)
        cue_tones: dict[str, float] = {}
        for cue_src, t in cue_tones_raw.items():
            if cue_src not in known:
                problems.append(f"{where}.cue_tones: {cue_src!r} is not one of its terms/patterns")
                continue
            v = _number(t, f"{where}.cue_tones[{cue_src!r}]", problems, -10, 10)
            if v is not None:
                cue_tones[cue_src] = v
        if not terms and not patterns:
            problems.append(f"{where}: needs at least one term or pattern")
        weak = frozenset(_str_list(c.get("weak"), f"{where}.weak", problems))
        for cue_src in sorted(weak - known):
            problems.append(f"{where}.weak: {cue_src!r} is not one of its terms/patterns")
        min_score = c.get("min_score", relevance.category_min_score)
        min_score = _number(min_score, f"{where}.min_score", problems, 0, 1) or 0.0
        cues: list[Cue] = []
        for term in terms:
            cs = _is_case_sensitive(term)
            cue_tone = cue_tones.get(term)
            payload = (cname, term, cue_tone, term in weak)
            entry = guarded(lexicon.add_term, term, "cue", payload, cs)
            if entry is not None:
                tail = r"\w*(?!\w)" if term.endswith("*") else r"(?!\w)"
                rx = entry.regex or re.compile(re.escape(fold(term).rstrip("*")) + tail)
                cues.append(Cue(term, rx, cue_tone))
        for pattern in patterns:
            cue_tone = cue_tones.get(pattern)
            payload = (cname, pattern, cue_tone, pattern in weak)
            rx = guarded(lexicon.add_pattern, pattern, "cue", payload)
            if rx is not None:
                cues.append(Cue(pattern, rx, cue_tone, is_pattern=True))
        categories[cname] = Category(
            name=cname,
            description=str(description or ""),
            cues=tuple(cues),
            tone=default_tone,
            relational=bool(c.get("relational", True)),
            counter_frame=bool(c.get("counter_frame", False)),
            min_score=min_score,
            weak=weak,
        )

    # alert rules: validated, kept as raw dicts for the warehouse's evaluator
    rules = data.get("alert_rules", [])
    seen_rules: set[str] = set()
    if not isinstance(rules, list):
        problems.append("alert_rules: expected an array of [[alert_rules]] tables")
        rules = []
    for i, r in enumerate(rules):
        rid = r.get("id")
        where = f"alert_rules[{rid or i}]"
        if not rid:
            problems.append(f"{where}: missing id")
        elif rid in seen_rules:
            problems.append(f"{where}: duplicate id")
        seen_rules.add(str(rid))
        if not r.get("description"):
            problems.append(f"{where}: missing description")
        cats = _str_list(r.get("categories"), f"{where}.categories", problems)
        if not cats and r.get("kind") != "source_health":  # outages have no category
            problems.append(f"{where}: needs at least one category")
        for cat in cats:
            if cat not in raw_cats:
                problems.append(f"{where}: unknown category {cat!r}")
        _number(r.get("min_relevance", 0.5), f"{where}.min_relevance", problems, 0, 1)
        for bound in ("tone_below", "tone_above"):
            if bound in r:
                _number(r[bound], f"{where}.{bound}", problems, -10, 10)
        for key, kind in (("actors", "actor"), ("places", "place")):
            for eid in _str_list(r.get(key), f"{where}.{key}", problems):
                ent = gazetteer.get(eid)
                if ent is None or ent.kind != kind:
                    problems.append(f"{where}.{key}: {eid!r} is not a gazetteer {kind}")
        _str_list(r.get("keywords"), f"{where}.keywords", problems)

    model = None
    if model_file is not None:
        try:
            model = load_model(model_file, list(categories), model_bytes or None)
        except FileNotFoundError:
            problems.append(
                f"model.file: {model_file} does not exist: copy the model beside the watch "
                "file, train one (make train-tagger) or remove [model] to let the rules decide"
            )
        except ModelError as exc:
            problems.append(f"model.file: {exc}")

    if problems:
        raise WatchError(f"{path}: invalid watch definition:\n  - " + "\n  - ".join(problems))
    return Watch(
        name=name,
        dyad=(countries[0], countries[1]),
        categories=categories,
        gazetteer=gazetteer,
        tone=tone,
        relevance=relevance,
        negators=(before, after),
        alert_rules=[dict(r) for r in rules],
        version=version,
        path=path,
        lexicon=lexicon,
        model=model,
    )
