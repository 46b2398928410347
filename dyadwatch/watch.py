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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
WORD = re.compile(r"\w+")
_LATIN_GAP = r"[\s\-\u2010-\u2015]+"
_ARABIC_GAP = r"[\s\u200c\u200d\-]*"
_QUANTIFIER = set("?*+{")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2,3}$")
ENTITY_KINDS = {"actor", "place"}


class WatchError(ValueError):
    """The watch file is missing, malformed, or inconsistent."""


def fold(text: str) -> str:
    """Lower-case and fold Arabic-script variants; always returns a string of equal length."""
    low = text.lower()
    if len(low) != len(text):  # e.g. 'İ' lowers to two code points: lower char by char
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low.translate(ARABIC_FOLD)


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


@dataclass(frozen=True)
class ToneSettings:
    words: dict[str, float]
    cooperation_above: float = 1.5
    conflict_below: float = -1.5
    mixed_strength: float = 4.0  # a signal this far from 0 counts as "strong"
    max_adjustment: float = 4.0  # tone words move a signal's tone at most this much


@dataclass(frozen=True)
class Term:
    """A compiled lexicon term and what it stands for (several roles may share one)."""

    source: str
    regex: re.Pattern[str] | None  # None: a plain single word, the token itself is the match
    case_words: tuple[str, ...] | None  # original-case words when matched case-sensitively
    payloads: list[tuple[str, Any]] = field(default_factory=list, compare=False)
    arabic: bool = False


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    role: str  # 'entity' | 'cue' | 'tone' | 'relation'
    data: Any
    arabic: bool


class Lexicon:
    """Every term of the watch, indexed by first word (or its first three letters)."""

    def __init__(self) -> None:
        self._terms: dict[tuple[str, bool], Term] = {}
        self.exact: dict[str, list[Term]] = {}
        self.prefix3: dict[str, list[Term]] = {}

    def add_term(self, term: str, role: str, data: Any, case_sensitive: bool = False) -> None:
        key = (term, case_sensitive)
        entry = self._terms.get(key)
        if entry is None:
            entry = self._compile_term(term, case_sensitive)
            self._terms[key] = entry
        entry.payloads.append((role, data))

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
            entry = Term(pattern, regex, None, arabic=is_arabic_script(pattern))
            self._terms[key] = entry
            self.prefix3.setdefault(fold(literal)[:3], []).append(entry)
        entry.payloads.append((role, data))
        return regex

    def _compile_term(self, term: str, case_sensitive: bool) -> Term:
        raw = term.strip()
        wildcard = raw.endswith("*")
        raw = raw.rstrip("*").strip()
        arabic = is_arabic_script(raw)
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
                if arabic:
                    parts.append(_ARABIC_GAP)
                elif sep.strip(" -\u2010\u2011\u2012\u2013\u2014\u2015") == "":
                    parts.append(_LATIN_GAP)
                else:
                    parts.append(
                        re.escape(sep.strip()).replace("'", "['’]").replace("’", "['’]")
                    )
            parts.append(re.escape(m.group()))
            pos = m.end()
        tail = folded[pos:]
        if tail.strip():  # e.g. the final dot of "U.S."
            parts.append(re.escape(tail.strip()))
        if wildcard or arabic:
            parts.append(r"\w*")
        if not arabic:
            parts.append(r"(?!\w)")
        single = len(words) == 1 and not tail.strip() and not wildcard and not arabic
        regex = None if single else re.compile("".join(parts))
        case_words = tuple(WORD.findall(raw)) if case_sensitive and not arabic else None
        entry = Term(term, regex, case_words, arabic=arabic)
        first = words[0]
        if (arabic or (wildcard and len(words) == 1)) and len(first) >= 3:
            self.prefix3.setdefault(first[:3], []).append(entry)
        elif wildcard and len(words) == 1:
            raise WatchError(f"wildcard term {term!r} needs at least 3 letters before '*'")
        else:
            self.exact.setdefault(first, []).append(entry)
        return entry

    def scan(self, text: str, low: str | None = None) -> list[Hit]:
        """All term occurrences in ``text`` (overlapping ones included), in text order."""
        if low is None:
            low = fold(text)
        exact, prefix3 = self.exact, self.prefix3
        hits: list[Hit] = []
        for m in WORD.finditer(low):
            tok = m.group()
            found = exact.get(tok)
            more = prefix3.get(tok[:3])
            if found is None:
                if more is None:
                    continue
                candidates = more
            else:
                candidates = found if more is None else found + more
            start = m.start()
            for entry in candidates:
                if entry.regex is None:
                    end = m.end()
                else:
                    mm = entry.regex.match(low, start)
                    if mm is None:
                        continue
                    end = mm.end()
                if entry.case_words is not None and (
                    tuple(WORD.findall(text[start:end])) != entry.case_words
                ):
                    continue
                for role, data in entry.payloads:
                    hits.append(Hit(start, end, role, data, entry.arabic))
        return hits


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
    negation_before: re.Pattern[str]
    negation_after: re.Pattern[str]
    alert_rules: list[dict[str, Any]]
    version: str
    path: Path | None
    lexicon: Lexicon = field(repr=False, compare=False)

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


def _alias_key(alias: str) -> str:
    return " ".join(WORD.findall(fold(alias.rstrip("*"))))


def load_watch(path: Path) -> Watch:
    """Load ``path`` (a watch TOML file), validate it and precompile its matchers.

    Raises ``WatchError`` listing every problem found, or ``FileNotFoundError``.
    """
    from extractors.tagger import TAGGER_CODE_VERSION  # the tagger imports this module

    path = Path(path)
    data_bytes = path.read_bytes()
    try:
        data = tomllib.loads(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WatchError(f"{path}: not valid UTF-8 TOML: {exc}") from exc
    version = f"{TAGGER_CODE_VERSION}-{hashlib.sha256(data_bytes).hexdigest()[:10]}"
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
    )
    for term in relevance.relation_cues:
        guarded(lexicon.add_term, term, "relation", term, _is_case_sensitive(term))

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
    )

    neg = data.get("negation", {})
    before = _str_list(neg.get("before"), "negation.before", problems)
    after = _str_list(neg.get("after"), "negation.after", problems)
    if not before:
        problems.append("negation.before: at least one negator is required")

    def neg_regex(words: tuple[str, ...], arabic_only: bool) -> re.Pattern[str]:
        alts = sorted({fold(w) for w in words}, key=len, reverse=True)
        body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts) or "(?!)"
        if arabic_only:
            return re.compile(rf"(?:^|[\s\u200c])(?:{body})(?!\w)")
        return re.compile(rf"(?<!\w)(?:{body})(?!\w)|n['’]t(?!\w)")

    # gazetteer
    gazetteer: dict[str, Entity] = {}
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

    alias_owner: dict[str, str] = {}
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
        if country is not None and not (
            isinstance(country, str) and _COUNTRY_CODE.match(country)
        ):
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
            cs = alias in match_case or _is_case_sensitive(alias)
            guarded(lexicon.add_term, alias, "entity", entity, cs)
    for eid in extra_aliases:
        problems.append(f"dyad: entity_id {eid!r} is not in the gazetteer")
    for country in countries:
        ent = gazetteer.get(country.entity_id)
        if ent is not None and ent.country != country.code:
            problems.append(f"dyad {country.code}: entity {ent.entity_id} has country {ent.country}")

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
        terms = _str_list(c.get("terms"), f"{where}.terms", problems)
        patterns = _str_list(c.get("patterns"), f"{where}.patterns", problems)
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
        cues: list[Cue] = []
        for term in terms:
            cs = _is_case_sensitive(term)
            cue_tone = cue_tones.get(term)
            guarded(lexicon.add_term, term, "cue", (cname, term, cue_tone), cs)
            entry = lexicon._terms.get((term, cs))
            if entry is not None:
                rx = entry.regex or re.compile(re.escape(fold(term)) + r"(?!\w)")
                cues.append(Cue(term, rx, cue_tone))
        for pattern in patterns:
            cue_tone = cue_tones.get(pattern)
            rx = guarded(lexicon.add_pattern, pattern, "cue", (cname, pattern, cue_tone))
            if rx is not None:
                cues.append(Cue(pattern, rx, cue_tone, is_pattern=True))
        categories[cname] = Category(
            name=cname,
            description=str(description or ""),
            cues=tuple(cues),
            tone=default_tone,
            relational=bool(c.get("relational", True)),
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
        if not cats:
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

    if problems:
        raise WatchError(f"{path}: invalid watch definition:\n  - " + "\n  - ".join(problems))
    return Watch(
        name=name,
        dyad=(countries[0], countries[1]),
        categories=categories,
        gazetteer=gazetteer,
        tone=tone,
        relevance=relevance,
        negation_before=neg_regex(before, arabic_only=False),
        negation_after=neg_regex(after, arabic_only=True),
        alert_rules=[dict(r) for r in rules],
        version=version,
        path=path,
        lexicon=lexicon,
    )
