"""Record types that cross a boundary (feed -> page -> article -> signal -> alert).

Defined once here, so feedparser's loose dicts, trafilatura's documents and DuckDB rows
never leak from one part of the pipeline into another.  Every record is a frozen-ish
dataclass that converts to a plain ``dict`` (``asdict``) for staging as Parquet and for
Airflow XCom (which only ever carries small summaries and file paths).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


def stable_id(text: str) -> str:
    """A short, stable id of a string (a canonical URL, a source URL, a rule)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def row_id(*parts: object) -> str:
    """The id of a tagged row (signal, mention, quote, amount) from its key parts: the
    ``stable_id`` of the parts joined by '|', the same value the load computes in SQL
    (``substr(sha256(a || '|' || b || ...), 1, 16)``) for a row staged without one."""
    return stable_id("|".join(str(part) for part in parts))


@dataclass
class Source:
    """A feed or seed that monitoring starts from (a row of ``sources``)."""

    source_id: str
    kind: str  # 'seed' | 'feed' | 'search'
    url: str
    outlet: str
    country: str | None = None  # ISO-like code of the outlet's country: 'PK', 'IR', 'INT', ...
    language: str | None = None
    enabled: bool = True
    title: str | None = None
    founded: int | None = None  # year the outlet started; earlier dates are flagged

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FetchAttempt:
    """One HTTP attempt or parse (a row of ``fetch_log``). Bad input lands here."""

    url: str
    kind: str  # 'feed' | 'page' | 'seed'
    ok: bool
    source_id: str | None = None
    status: int | None = None
    bytes: int = 0
    ms: int = 0
    error_class: str | None = None  # e.g. 'http_status', 'timeout', 'too_large', 'not_html', ...
    error_message: str | None = None
    attempted_at: datetime | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FeedState:
    """What we remember about a feed between runs (a row of ``feed_state``)."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    last_status: int | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    next_due_at: datetime | None = None
    disabled_reason: str | None = None  # set when a 410 or a long run of failures stops it
    disabled_at: datetime | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParsedEntry:
    """A feed entry, reduced to what we use."""

    source_id: str
    url: str  # canonical URL of the linked article
    title: str | None = None
    guid: str | None = None
    published_at: datetime | None = None
    summary: str | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Article:
    """An extracted article (a row of ``articles``); tagging fills the last fields."""

    article_id: str  # stable_id(canonical url)
    url: str  # canonical URL
    source_id: str | None
    outlet: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    text: str
    text_hash: str
    word_count: int
    extractor_version: str
    site_name: str | None = None
    outlet_country: str | None = None
    # filled by the tagger
    relevant: bool | None = None
    relevance: float | None = None
    tone_score: float | None = None
    tone: str | None = None  # 'cooperation' | 'conflict' | 'mixed' | 'neutral'
    tagger_version: str | None = None
    # near-duplicate cluster: the article_id of the story's first copy (set at load)
    story_id: str | None = None
    # the raw page kept for re-extraction (extractors/rawstore.py) and how it was read
    raw_sha256: str | None = None
    raw_charset: str | None = None
    extraction_status: str = "ok"  # loaded articles are 'ok'; other statuses go to fetch_log
    extraction_method: str | None = None  # 'trafilatura' | 'readability' | 'seed'
    # the text's MinHash signature (hex, extractors/stories.py), computed in the parallel
    # extraction step so the load need not; the load keeps it in article_minhash, not here
    minhash: str | None = None
    # where published_at came from and how sure we are (extractors/dates.py):
    # 'page_metadata' | 'feed_entry' | 'url' | 'fetch_time'; 'high' | 'medium' | 'low';
    # date_flag 'future' | 'before_founded' when the date cannot be right
    date_source: str | None = None
    date_confidence: str | None = None
    date_flag: str | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Signal:
    """One tagged signal with the evidence behind it (a row of ``signals``)."""

    article_id: str
    category: str
    score: float
    tone_score: float  # -10 (conflict) .. +10 (cooperation)
    evidence: str  # the sentence
    start: int  # char offsets of the evidence sentence in the article text
    end: int
    cue: str  # the cue text that matched, as it stands in the sentence
    tagger_version: str
    # who acts on whom in the sentence: 'IR->PK', 'PK->IR' (dyad codes), 'joint' or
    # 'undirected'; and the PLOVER quad class: 'verbal_cooperation' | 'material_cooperation'
    # | 'verbal_conflict' | 'material_conflict' (None: derived from category and tone on load)
    direction: str = "undirected"
    quad_class: str | None = None
    # row_id(article_id, category, start, tagger_version), set by the tag step's workers so
    # the load (the single writer) need not hash every row; None: the load computes it
    signal_id: str | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Mention:
    """An actor or place found in an article (a row of ``mentions``)."""

    article_id: str
    entity_id: str
    kind: str  # 'actor' | 'place'
    name: str  # canonical name from the gazetteer
    country: str | None
    surface: str  # the text as it stands in the article
    start: int
    end: int
    tagger_version: str
    mention_id: str | None = None  # row_id(article_id, entity_id, start, tagger_version)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Quote:
    """A quotation in an article and who said it ("...," Hussain said)."""

    article_id: str
    speaker: str  # as written: "Hussain", "a Foreign Office spokeswoman"
    text: str  # the quoted words, without the quotation marks
    start: int  # char offsets of the quoted words in the article text
    end: int
    tagger_version: str
    quote_id: str | None = None  # row_id(article_id, start, tagger_version)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Amount:
    """A quantity in an article: money, energy, volume, with a target year if one is set."""

    article_id: str
    kind: str  # 'money' | 'power' | 'volume' | 'weight' | 'count'
    value: float  # in ``unit``, multipliers applied ("$5 billion" -> 5e9 USD)
    unit: str  # 'USD', 'PKR', 'IRR', 'EUR', 'MW', 'litre', 'tonne', 'barrel', ...
    text: str  # as written
    start: int
    end: int
    target_year: int | None = None  # "by 2028"
    tagger_version: str = ""
    amount_id: str | None = None  # row_id(article_id, start, tagger_version)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TagResult:
    """Everything the tagger says about one article."""

    relevant: bool
    relevance: float
    tone_score: float
    tone: str
    tagger_version: str
    signals: list[Signal] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        return sorted({s.category for s in self.signals})

    def set_row_ids(self) -> None:
        """Give every signal, mention, quote and amount its ``row_id`` (the ids the
        warehouse keys them by), so the writer of the warehouse need not hash each row."""
        for s in self.signals:
            s.signal_id = row_id(s.article_id, s.category, s.start, s.tagger_version)
        for m in self.mentions:
            m.mention_id = row_id(m.article_id, m.entity_id, m.start, m.tagger_version)
        for q in self.quotes:
            q.quote_id = row_id(q.article_id, q.start, q.tagger_version)
        for a in self.amounts:
            a.amount_id = row_id(a.article_id, a.start, a.tagger_version)


@dataclass
class Alert:
    """One alert: a rule matched an article (a row of ``alerts``)."""

    rule_id: str
    article_id: str
    channel: str
    fired_at: datetime
    status: str = "pending"  # 'pending' | 'delivered' | 'failed'
    attempts: int = 0
    last_error: str | None = None
    message: str | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)
