"""Alert rules: evaluate the watch file's rules on newly loaded articles.

Evaluation (``evaluate_alert_rules``) looks only at batches whose
``loaded_batches.alerts_evaluated_at`` is NULL, records each match as an ``alerts`` row
with status 'pending' *before* anything is sent, and marks those batches evaluated,
all in one transaction.  Delivery is ``warehouse.delivery``.

**One alert per story.**  An alert's subject is the article's ``story_id`` (syndicated
copies of one wire story share it), so ``UNIQUE (rule_id, subject_id)`` makes a rule
fire once per story: a later copy of an alerted story is attached to the alert in
``alert_articles`` (role 'update') and not sent again.

A rule is a ``[[alert_rules]]`` table of the watch file::

    id            required, unique
    description   free text, shown in the message
    kind          'match' (default), 'spike' or 'source_health'
    categories    any-of list of signal categories (absent: any category)
    min_relevance article relevance at least this (default 0)
    tone_below    the matching signal's tone_score below this (optional)
    tone_above    the matching signal's tone_score above this (optional)
    keywords      any-of list of regular expressions searched (case-insensitive) in
                  the matching signal's evidence sentence or the article title
    actors        any-of list of actor entity ids or names found in the article
    places        any-of list of place entity ids or names found in the article
    outlets       any-of list of outlet names (case-insensitive)
    languages     any-of list of article languages ('en', 'ur', 'fa', ...)
    channels      names of channels to send to (resolved from the environment or an
                  Airflow Connection, never from the repository); absent: the default
    mode          'immediate' (one message per alert, default) or 'digest' (one message
                  per delivery run listing the rule's new matches)
    digest_cap    at most this many matches listed in one digest (default 20)
    min_outlets   match rules: fire only once the article's story is carried by at least
                  this many independent outlets (v_story_independence: wire reprints and
                  near-identical copies count once; default 1).  A story held back is
                  looked at again whenever a later article of it matches.
    enabled       false to switch a rule off (default true)

    spike rules only:
    z_above       a category's daily article count at least this many standard
                  deviations over its trailing baseline (default 3.0)
    min_count     and at least this many articles that day (default 3)
    baseline_days the trailing window, in days (default 28)

A match rule fires for a relevant article with at least one *signal* meeting the signal
conditions (category, tone, keywords: the evidence an analyst reads in the alert) and
whose article conditions (relevance, actors, places, outlets, languages) hold.  A
spike rule fires once per (category, day) when that day's count of relevant articles
with the category stands out from the trailing baseline (standard deviation floored at
1, so a flat or empty baseline needs a real jump; and never in the first 7 days of
coverage, whose baseline is mostly empty).  Spikes count only articles whose
date is trusted (``stg_articles.date_trusted``): undated pages fetched in one run never
pile up into a spike.

A source_health rule fires once per outage of a source (v_source_health_daily: a day
on which the source delivered far less than its typical volume because its fetches
failed, or nothing at all); the subject is ``source_health:<source_id>:<first day>``,
so a longer outage is still one alert, and a later one is a new alert.  Only complete
(UTC) days count, so the alert comes once a whole day was lost.  Its keys:

    min_outage_days  consecutive outage days before it fires (default 1)
    sources          any-of list of source ids or outlet names (absent: every source)
    lookback_days    outages that started within this many days of now (default 30)

A dead feed is thus reported as a source-health problem, never as a news drop
(v_trend_anomalies does not report changes that outages explain).
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from dyadwatch.records import stable_id
from warehouse.db import transaction

log = logging.getLogger(__name__)

RULE_KEYS = frozenset(
    {
        "id",
        "description",
        "kind",
        "categories",
        "min_relevance",
        "tone_below",
        "tone_above",
        "actors",
        "places",
        "outlets",
        "languages",
        "keywords",
        "channels",
        "mode",
        "digest_cap",
        "enabled",
        "z_above",
        "min_count",
        "baseline_days",
        "min_outlets",
        "min_outage_days",
        "sources",
        "lookback_days",
    }
)
KINDS = ("match", "spike", "source_health")
MODES = ("immediate", "digest")

SELECT_UNEVALUATED_BATCHES = """
SELECT batch_id FROM loaded_batches
WHERE alerts_evaluated_at IS NULL
ORDER BY loaded_at, batch_id
"""

# Candidate articles: the relevant ones of the given batches, or (dry runs) all relevant
# articles since a day.  $batch_ids NULL means "any batch".
SELECT_CANDIDATES = """
SELECT article_id, coalesce(story_id, article_id) AS story_id, title, relevance, tone_score,
       outlet, language
FROM articles
WHERE relevant
  AND ($batch_ids IS NULL OR list_contains($batch_ids, batch_id))
  AND ($since IS NULL OR coalesce(published_at, fetched_at) >= $since)
ORDER BY coalesce(published_at, fetched_at), loaded_at, article_id
"""

SELECT_CANDIDATE_SIGNALS = """
SELECT s.article_id, s.category, s.tone_score, s.evidence
FROM signals AS s
JOIN articles AS a USING (article_id)
WHERE a.relevant
  AND ($batch_ids IS NULL OR list_contains($batch_ids, a.batch_id))
  AND ($since IS NULL OR coalesce(a.published_at, a.fetched_at) >= $since)
"""

SELECT_CANDIDATE_MENTIONS = """
SELECT DISTINCT m.article_id, m.kind, m.entity_id, m.name
FROM mentions AS m
JOIN articles AS a USING (article_id)
WHERE a.relevant
  AND ($batch_ids IS NULL OR list_contains($batch_ids, a.batch_id))
  AND ($since IS NULL OR coalesce(a.published_at, a.fetched_at) >= $since)
"""

INSERT_ALERT = """
INSERT INTO alerts
    (alert_id, rule_id, subject_id, kind, article_id, rule_description, matched_categories,
     mode, fired_at, status, attempts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0)
ON CONFLICT (rule_id, subject_id) DO NOTHING
"""

ATTACH_ARTICLE = """
INSERT INTO alert_articles (alert_id, article_id, role, attached_at)
VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""

SELECT_ALERT_EXISTS = "SELECT 1 FROM alerts WHERE alert_id = ?"

MARK_BATCHES_EVALUATED = """
UPDATE loaded_batches SET alerts_evaluated_at = ?
WHERE alerts_evaluated_at IS NULL AND list_contains(?, batch_id)
"""

# Days a set of batches brought relevant articles with trusted dates to (the days a spike
# rule looks at).
SELECT_BATCH_DAYS = """
SELECT DISTINCT day
FROM stg_articles
WHERE relevant AND date_trusted AND list_contains(?, batch_id)
ORDER BY day
"""

# Relevant articles (trusted dates) carrying a category, per day, over a window of days.
SELECT_CATEGORY_DAILY = """
SELECT a.day, count(DISTINCT a.article_id) AS n
FROM stg_articles AS a
JOIN signals AS s USING (article_id)
WHERE a.relevant AND a.date_trusted AND s.category = $category
  AND a.day BETWEEN $first AND $last
GROUP BY a.day
"""

SELECT_SPIKE_ARTICLES = """
SELECT DISTINCT a.article_id
FROM stg_articles AS a
JOIN signals AS s USING (article_id)
WHERE a.relevant AND a.date_trusted AND s.category = ? AND a.day = ?
ORDER BY a.article_id
"""

# The first day with trusted relevant coverage: a spike needs MIN_BASELINE_DAYS before it.
SELECT_FIRST_TRUSTED_DAY = "SELECT min(day) FROM stg_articles WHERE relevant AND date_trusted"
MIN_BASELINE_DAYS = 7

SELECT_SPIKE_DAYS_SINCE = """
SELECT DISTINCT day FROM stg_articles
WHERE relevant AND date_trusted AND ($since IS NULL OR published_at >= $since)
"""

# How many independent outlets carry an article's story (v_story_independence).
SELECT_INDEPENDENT_OUTLETS = """
SELECT n_independent_outlets
FROM v_story_independence
WHERE story_key = (
    SELECT coalesce(story_id, 'hash:' || text_hash) FROM articles WHERE article_id = ?
)
"""

# Runs of consecutive outage days per source (gaps and islands), started since a day.
SELECT_OUTAGES = """
WITH outage_days AS (
    SELECT source_id, outlet, day, outage, n_received, expected, last_error_class
    FROM v_source_health_daily
    WHERE is_outage AND day >= $since AND day < $today
),
islands AS (
    SELECT
        *,
        day - CAST(row_number() OVER (PARTITION BY source_id ORDER BY day) AS INTEGER)
            AS island
    FROM outage_days
)
SELECT
    source_id,
    any_value(outlet) AS outlet,
    min(day) AS first_day,
    max(day) AS last_day,
    count(*) AS n_days,
    CAST(sum(n_received) AS BIGINT) AS n_received,
    sum(expected) AS expected,
    arg_max(outage, day) AS outage,
    arg_max(last_error_class, day) AS last_error_class
FROM islands
GROUP BY source_id, island
ORDER BY first_day, source_id
"""


class AlertRuleError(ValueError):
    """A rule in the watch file that cannot be used (unknown key, bad regex, no id)."""


def _str_list(raw: dict[str, Any], key: str, rule_id: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise AlertRuleError(f"alert rule {rule_id!r}: {key} must be a list of strings")
    return list(value)


def _choice(raw: dict[str, Any], key: str, options: tuple[str, ...], rule_id: str) -> str:
    value = str(raw.get(key) or options[0])
    if value not in options:
        raise AlertRuleError(f"alert rule {rule_id!r}: {key} must be one of {list(options)}")
    return value


@dataclass(frozen=True)
class CandidateSignal:
    category: str
    tone_score: float
    evidence: str


@dataclass
class Candidate:
    """A relevant article, as the rules see it."""

    article_id: str
    story_id: str
    title: str | None
    relevance: float | None
    tone_score: float | None
    outlet: str | None
    language: str | None
    signals: list[CandidateSignal] = field(default_factory=list)
    entities: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    kind: str
    categories: frozenset[str]
    min_relevance: float
    tone_below: float | None
    tone_above: float | None
    actors: frozenset[str]
    places: frozenset[str]
    outlets: frozenset[str]
    languages: frozenset[str]
    keywords: tuple[re.Pattern[str], ...]
    channels: tuple[str, ...]
    mode: str
    digest_cap: int
    z_above: float
    min_count: int
    baseline_days: int
    min_outlets: int = 1
    min_outage_days: int = 1
    sources: frozenset[str] = frozenset()
    lookback_days: int = 30

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Rule:
        rule_id = str(raw.get("id") or "").strip()
        if not rule_id:
            raise AlertRuleError(f"alert rule without an id: {raw!r}")
        unknown = set(raw) - RULE_KEYS
        if unknown:
            raise AlertRuleError(
                f"alert rule {rule_id!r}: unknown key(s) {sorted(unknown)}; "
                f"known: {sorted(RULE_KEYS)}"
            )
        keywords = []
        for pattern in _str_list(raw, "keywords", rule_id):
            try:
                keywords.append(re.compile(pattern, re.IGNORECASE))
            except re.error as exc:
                raise AlertRuleError(
                    f"alert rule {rule_id!r}: bad regex {pattern!r}: {exc}"
                ) from exc
        kind = _choice(raw, "kind", KINDS, rule_id)
        categories = frozenset(_str_list(raw, "categories", rule_id))
        if kind == "spike" and not categories:
            raise AlertRuleError(f"alert rule {rule_id!r}: a spike rule needs categories")

        def number(key: str, default: float) -> float:
            return default if raw.get(key) is None else float(raw[key])

        def folded(key: str) -> frozenset[str]:
            return frozenset(s.casefold() for s in _str_list(raw, key, rule_id))

        return cls(
            id=rule_id,
            description=str(raw.get("description") or ""),
            kind=kind,
            categories=categories,
            min_relevance=number("min_relevance", 0.0),
            tone_below=None if raw.get("tone_below") is None else float(raw["tone_below"]),
            tone_above=None if raw.get("tone_above") is None else float(raw["tone_above"]),
            actors=folded("actors"),
            places=folded("places"),
            outlets=folded("outlets"),
            languages=folded("languages"),
            keywords=tuple(keywords),
            channels=tuple(_str_list(raw, "channels", rule_id)),
            mode=_choice(raw, "mode", MODES, rule_id),
            digest_cap=max(1, int(number("digest_cap", 20))),
            z_above=number("z_above", 3.0),
            min_count=max(1, int(number("min_count", 3))),
            baseline_days=max(2, int(number("baseline_days", 28))),
            min_outlets=max(1, int(number("min_outlets", 1))),
            min_outage_days=max(1, int(number("min_outage_days", 1))),
            sources=folded("sources"),
            lookback_days=max(1, int(number("lookback_days", 30))),
        )

    def _signal_matches(self, signal: CandidateSignal, title: str) -> bool:
        if self.categories and signal.category not in self.categories:
            return False
        if self.tone_below is not None and not signal.tone_score < self.tone_below:
            return False
        if self.tone_above is not None and not signal.tone_score > self.tone_above:
            return False
        if self.keywords:
            return any(p.search(signal.evidence) or p.search(title) for p in self.keywords)
        return True

    def match(self, article: Candidate) -> list[str] | None:
        """The categories of the matching signals, or None when the article does not
        match (spike rules never match single articles)."""
        if self.kind != "match":
            return None
        if (article.relevance or 0.0) < self.min_relevance:
            return None
        if self.outlets and (article.outlet or "").casefold() not in self.outlets:
            return None
        if self.languages and (article.language or "").casefold() not in self.languages:
            return None
        if self.actors and not (self.actors & article.entities["actor"]):
            return None
        if self.places and not (self.places & article.entities["place"]):
            return None
        title = article.title or ""
        matched = {s.category for s in article.signals if self._signal_matches(s, title)}
        return sorted(matched) or None


def parse_rules(rules: list[dict[str, Any]]) -> list[Rule]:
    """Validated rules (enabled ones only); raises AlertRuleError naming the bad rule."""
    parsed = [Rule.from_dict(r) for r in rules if r.get("enabled", True)]
    ids = [r.id for r in parsed]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise AlertRuleError(f"alert rule ids used twice: {duplicates}")
    return parsed


@dataclass(frozen=True)
class AlertMatch:
    """A newly recorded alert (status 'pending')."""

    alert_id: str
    rule_id: str
    subject_id: str
    article_id: str | None
    categories: list[str]
    kind: str = "article"


@dataclass(frozen=True)
class Spike:
    category: str
    day: date
    count: int
    baseline_mean: float
    baseline_sd: float
    z: float


@dataclass(frozen=True)
class Outage:
    """Consecutive days on which a source delivered far less than usual."""

    source_id: str
    outlet: str | None
    first_day: date
    last_day: date
    n_days: int
    n_received: int
    expected: float
    outage: str  # 'fetch_failed' | 'silent' (its last day's)
    last_error_class: str | None

    @property
    def subject_id(self) -> str:
        return source_health_subject(self.source_id, self.first_day)


def source_health_subject(source_id: str, first_day: date) -> str:
    return f"source_health:{source_id}:{first_day.isoformat()}"


def alert_id_for(rule_id: str, subject_id: str) -> str:
    return stable_id(f"{rule_id}|{subject_id}")


def spike_subject(category: str, day: date) -> str:
    return f"spike:{category}:{day.isoformat()}"


def load_candidates(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_ids: list[str] | None = None,
    since: datetime | None = None,
) -> list[Candidate]:
    """Relevant articles with their signals and mentions, oldest first."""
    params = {"batch_ids": batch_ids, "since": since}
    by_id = {row[0]: Candidate(*row) for row in con.execute(SELECT_CANDIDATES, params).fetchall()}
    for article_id, category, tone, evidence in con.execute(
        SELECT_CANDIDATE_SIGNALS, params
    ).fetchall():
        by_id[article_id].signals.append(CandidateSignal(category, tone, evidence))
    for article_id, kind, entity_id, name in con.execute(
        SELECT_CANDIDATE_MENTIONS, params
    ).fetchall():
        names = by_id[article_id].entities[kind]
        names.add(str(entity_id).casefold())
        names.add(str(name).casefold())
    return list(by_id.values())


def find_spikes(con: duckdb.DuckDBPyConnection, rule: Rule, days: list[date]) -> list[Spike]:
    """Days among ``days`` on which a category of the spike rule stands out (days with
    at least MIN_BASELINE_DAYS of coverage before them: the start of the data is no
    spike)."""
    spikes = []
    first_day = con.execute(SELECT_FIRST_TRUSTED_DAY).fetchone()[0]
    if first_day is None:
        return spikes
    days = [d for d in days if (d - first_day).days >= MIN_BASELINE_DAYS]
    for category in sorted(rule.categories):
        for day in days:
            first = day - timedelta(days=rule.baseline_days)
            counts = dict(
                con.execute(
                    SELECT_CATEGORY_DAILY, {"category": category, "first": first, "last": day}
                ).fetchall()
            )
            n = counts.get(day, 0)
            window = [counts.get(first + timedelta(days=i), 0) for i in range(rule.baseline_days)]
            mean = sum(window) / len(window)
            sd = math.sqrt(sum((x - mean) ** 2 for x in window) / len(window))
            z = (n - mean) / max(sd, 1.0)
            if n >= rule.min_count and z >= rule.z_above:
                spikes.append(Spike(category, day, n, mean, sd, z))
    return spikes


def find_outages(con: duckdb.DuckDBPyConnection, rule: Rule, *, now: datetime) -> list[Outage]:
    """The source outages a source_health rule reports: at least ``min_outage_days``
    long, started within ``lookback_days`` of ``now``, of the rule's sources.  Complete
    (UTC) days only: one failed fetch just after midnight is not yet an outage."""
    since = now.date() - timedelta(days=rule.lookback_days)
    params = {"since": since, "today": now.date()}
    outages = [Outage(*row) for row in con.execute(SELECT_OUTAGES, params).fetchall()]
    return [
        o
        for o in outages
        if o.n_days >= rule.min_outage_days
        and (
            not rule.sources
            or o.source_id.casefold() in rule.sources
            or (o.outlet or "").casefold() in rule.sources
        )
    ]


def independent_outlets(con: duckdb.DuckDBPyConnection, article_id: str) -> int:
    """How many independent outlets carry the article's story (v_story_independence)."""
    row = con.execute(SELECT_INDEPENDENT_OUTLETS, [article_id]).fetchone()
    return int(row[0]) if row else 1


def _record(
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    subject_id: str,
    kind: str,
    article_ids: list[str],
    categories: list[str],
    now: datetime,
) -> AlertMatch | None:
    """Record the alert of (rule, subject) unless it exists; attach the articles either
    way.  Returns the match when it is new."""
    alert_id = alert_id_for(rule.id, subject_id)
    trigger = article_ids[0] if kind == "article" else None
    inserted = con.execute(
        INSERT_ALERT,
        [
            alert_id,
            rule.id,
            subject_id,
            kind,
            trigger,
            rule.description,
            categories,
            rule.mode,
            now,
        ],
    ).fetchone()
    new = bool(inserted and inserted[0])
    for article_id in article_ids:
        role = kind if kind == "spike" else ("trigger" if new else "update")
        con.execute(ATTACH_ARTICLE, [alert_id, article_id, role, now])
    if not new:
        return None
    return AlertMatch(alert_id, rule.id, subject_id, trigger, categories, kind)


def evaluate_alert_rules(
    con: duckdb.DuckDBPyConnection, rules: list[dict[str, Any]], *, now: datetime
) -> list[AlertMatch]:
    """Match the rules against the relevant articles of not-yet-evaluated batches,
    record new matches as pending alerts (later copies of an alerted story are
    attached, not alerted again), and mark those batches evaluated: one transaction.
    Returns the alerts recorded by this call."""
    parsed = parse_rules(rules)
    with transaction(con):
        batch_ids = [row[0] for row in con.execute(SELECT_UNEVALUATED_BATCHES).fetchall()]
        fired: list[AlertMatch] = []
        attached = held = 0
        if batch_ids:
            for candidate in load_candidates(con, batch_ids=batch_ids):
                for rule in parsed:
                    matched = rule.match(candidate)
                    if matched is None:
                        continue
                    if (
                        rule.min_outlets > 1
                        and not _alerted(con, rule, candidate.story_id)
                        and independent_outlets(con, candidate.article_id) < rule.min_outlets
                    ):
                        held += 1  # not corroborated yet: a later copy may fire it
                        continue
                    match = _record(
                        con,
                        rule,
                        candidate.story_id,
                        "article",
                        [candidate.article_id],
                        matched,
                        now,
                    )
                    if match:
                        fired.append(match)
                    else:
                        attached += 1
            days = [row[0] for row in con.execute(SELECT_BATCH_DAYS, [batch_ids]).fetchall()]
            for rule in (r for r in parsed if r.kind == "spike"):
                for spike in find_spikes(con, rule, days):
                    articles = [
                        row[0]
                        for row in con.execute(
                            SELECT_SPIKE_ARTICLES, [spike.category, spike.day]
                        ).fetchall()
                    ]
                    subject = spike_subject(spike.category, spike.day)
                    match = _record(con, rule, subject, "spike", articles, [spike.category], now)
                    if match:
                        fired.append(match)
            con.execute(MARK_BATCHES_EVALUATED, [now, batch_ids])
        for rule in (r for r in parsed if r.kind == "source_health"):
            for outage in find_outages(con, rule, now=now):
                match = _record(
                    con, rule, outage.subject_id, "source_health", [], [outage.outage], now
                )
                if match:
                    fired.append(match)
    log.info(
        "Evaluated %d rule(s) on %d newly loaded batch(es): %d new alert(s), %d article(s) "
        "attached to stories already alerted, %d match(es) held back until more "
        "independent outlets carry the story",
        len(parsed),
        len(batch_ids),
        len(fired),
        attached,
        held,
    )
    return fired


def _alerted(con: duckdb.DuckDBPyConnection, rule: Rule, subject_id: str) -> bool:
    """Whether ``rule`` has already alerted on ``subject_id``."""
    alert_id = alert_id_for(rule.id, subject_id)
    return con.execute(SELECT_ALERT_EXISTS, [alert_id]).fetchone() is not None


def dry_run_rule(
    con: duckdb.DuckDBPyConnection, rule: dict[str, Any], *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """What ``rule`` would alert on among all stored relevant articles (read-only):
    one entry per story (match rules) or per spike day, with the articles it covers."""
    (parsed,) = parse_rules([{**rule, "enabled": True}])
    if parsed.kind == "source_health":
        return [
            {
                "subject_id": o.subject_id,
                "kind": "source_health",
                "categories": [o.outage],
                "outage": o,
                "article_ids": [],
            }
            for o in find_outages(con, parsed, now=datetime.now(UTC))
            if since is None or o.first_day >= since.date()
        ]
    if parsed.kind == "spike":
        days = sorted(
            {row[0] for row in con.execute(SELECT_SPIKE_DAYS_SINCE, {"since": since}).fetchall()}
        )
        return [
            {
                "subject_id": spike_subject(s.category, s.day),
                "kind": "spike",
                "categories": [s.category],
                "spike": s,
                "article_ids": [
                    r[0] for r in con.execute(SELECT_SPIKE_ARTICLES, [s.category, s.day]).fetchall()
                ],
            }
            for s in find_spikes(con, parsed, days)
        ]
    stories: dict[str, dict[str, Any]] = {}
    for candidate in load_candidates(con, since=since):
        matched = parsed.match(candidate)
        if matched is None:
            continue
        if (
            parsed.min_outlets > 1
            and candidate.story_id not in stories
            and independent_outlets(con, candidate.article_id) < parsed.min_outlets
        ):
            continue
        entry = stories.setdefault(
            candidate.story_id,
            {
                "subject_id": candidate.story_id,
                "kind": "article",
                "categories": matched,
                "article_ids": [],
            },
        )
        entry["article_ids"].append(candidate.article_id)
    return list(stories.values())
