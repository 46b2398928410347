"""Alerts: evaluate the watch file's rules on newly loaded articles, then deliver.

Evaluation (``evaluate_alert_rules``) looks only at batches whose
``loaded_batches.alerts_evaluated_at`` is NULL, records each match as an ``alerts`` row
with status 'pending' (unique on rule + article, so a match is recorded once however
often rules run), and marks those batches evaluated, all in one transaction.

Delivery (``deliver_pending_alerts``) sends pending and failed alerts (fewer than
``MAX_ATTEMPTS`` attempts) through Apprise when ``settings.alert_urls`` is set, else
appends a JSON line to ``settings.alerts_file``.  Each channel that took an alert is
recorded in ``alert_deliveries``, so a rerun never sends a delivered alert again, and a
retry after a partial failure sends only to the channels that missed it.  (If the
process dies between a channel accepting an alert and that row being written, the
next run sends it again to that channel: at-least-once there.  The file sink checks
the file first, so it stays exactly-once.)

A rule is a dict (a ``[[rule]]`` table of the watch file)::

    id            required, unique
    description   free text, shown in the message
    categories    any-of list of signal categories (absent: any category)
    min_relevance article relevance at least this (default 0)
    tone_below    the matching signal's tone_score below this (optional)
    tone_above    the matching signal's tone_score above this (optional)
    keywords      any-of list of regular expressions searched (case-insensitive) in
                  the matching signal's evidence sentence or the article title
    actors        any-of list of actor entity ids or names found in the article
    places        any-of list of place entity ids or names found in the article
    enabled       false to switch a rule off (default true)

A rule matches a relevant article that has at least one *signal* meeting the signal
conditions (category, tone, keywords: the evidence an analyst reads in the alert),
and whose article-level conditions (relevance, actors, places) hold.  A story mostly
about cooperation that reports one clash still triggers a clash rule: the alert is
about the event, and its evidence sentence shows which.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

from dyadwatch.records import stable_id
from dyadwatch.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RULE_KEYS = frozenset(
    {
        "id",
        "description",
        "categories",
        "min_relevance",
        "tone_below",
        "tone_above",
        "actors",
        "places",
        "keywords",
        "enabled",
    }
)

SELECT_UNEVALUATED_BATCHES = """
SELECT batch_id FROM loaded_batches
WHERE alerts_evaluated_at IS NULL
ORDER BY loaded_at, batch_id
"""

SELECT_CANDIDATES = """
SELECT article_id, title, text, relevance, tone_score
FROM articles
WHERE relevant AND batch_id IN (SELECT unnest(CAST(? AS VARCHAR[])))
ORDER BY loaded_at, article_id
"""

SELECT_CANDIDATE_SIGNALS = """
SELECT s.article_id, s.category, s.tone_score, s.evidence
FROM signals AS s
JOIN articles AS a USING (article_id)
WHERE a.relevant AND a.batch_id IN (SELECT unnest(CAST(? AS VARCHAR[])))
"""

SELECT_CANDIDATE_MENTIONS = """
SELECT DISTINCT m.article_id, m.kind, m.entity_id, m.name
FROM mentions AS m
JOIN articles AS a USING (article_id)
WHERE a.relevant AND a.batch_id IN (SELECT unnest(CAST(? AS VARCHAR[])))
"""

INSERT_ALERT = """
INSERT INTO alerts
    (alert_id, rule_id, article_id, rule_description, matched_categories, fired_at, status,
     attempts)
VALUES (?, ?, ?, ?, ?, ?, 'pending', 0)
ON CONFLICT (rule_id, article_id) DO NOTHING
"""

MARK_BATCHES_EVALUATED = """
UPDATE loaded_batches SET alerts_evaluated_at = ?
WHERE alerts_evaluated_at IS NULL AND batch_id IN (SELECT unnest(CAST(? AS VARCHAR[])))
"""

SELECT_DELIVERABLE = """
SELECT
    al.alert_id, al.rule_id, al.rule_description, al.matched_categories, al.fired_at,
    al.attempts, al.message,
    a.article_id, a.title, a.url, a.outlet, a.outlet_country, a.published_at, a.fetched_at,
    a.relevance, a.tone_score, a.tone
FROM alerts AS al
JOIN articles AS a USING (article_id)
WHERE al.status IN ('pending', 'failed') AND al.attempts < ?
ORDER BY al.fired_at, al.alert_id
"""

SELECT_EVIDENCE = """
SELECT category, evidence
FROM signals
WHERE article_id = ? AND list_contains(CAST(? AS VARCHAR[]), category)
QUALIFY row_number() OVER (PARTITION BY category ORDER BY score DESC, start) = 1
ORDER BY category
"""

SET_MESSAGE = "UPDATE alerts SET message = ? WHERE alert_id = ? AND message IS NULL"

SELECT_DONE_CHANNELS = "SELECT channel_id FROM alert_deliveries WHERE alert_id = ?"

INSERT_DELIVERY = """
INSERT INTO alert_deliveries (alert_id, channel_id, channel, delivered_at)
VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""

MARK_DELIVERED = """
UPDATE alerts
SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, channel = ?,
    last_error = NULL
WHERE alert_id = ?
"""

MARK_FAILED = """
UPDATE alerts
SET status = 'failed', attempts = attempts + 1, channel = ?, last_error = ?
WHERE alert_id = ?
"""


class AlertRuleError(ValueError):
    """A rule in the watch file that cannot be used (unknown key, bad regex, no id)."""


class DeliveryError(Exception):
    """A channel did not take an alert."""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    categories: frozenset[str]
    min_relevance: float
    tone_below: float | None
    tone_above: float | None
    actors: frozenset[str]
    places: frozenset[str]
    keywords: tuple[re.Pattern[str], ...]

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
        return cls(
            id=rule_id,
            description=str(raw.get("description") or ""),
            categories=frozenset(_str_list(raw, "categories", rule_id)),
            min_relevance=float(raw.get("min_relevance") or 0.0),
            tone_below=None if raw.get("tone_below") is None else float(raw["tone_below"]),
            tone_above=None if raw.get("tone_above") is None else float(raw["tone_above"]),
            actors=frozenset(s.casefold() for s in _str_list(raw, "actors", rule_id)),
            places=frozenset(s.casefold() for s in _str_list(raw, "places", rule_id)),
            keywords=tuple(keywords),
        )

    def _signal_matches(self, signal: _CandidateSignal, title: str) -> bool:
        if self.categories and signal.category not in self.categories:
            return False
        if self.tone_below is not None and not signal.tone_score < self.tone_below:
            return False
        if self.tone_above is not None and not signal.tone_score > self.tone_above:
            return False
        if self.keywords:
            return any(p.search(signal.evidence) or p.search(title) for p in self.keywords)
        return True

    def match(self, article: _Candidate) -> list[str] | None:
        """The categories of the matching signals, or None when the article does not
        match."""
        if (article.relevance or 0.0) < self.min_relevance:
            return None
        if self.actors and not (self.actors & article.entities["actor"]):
            return None
        if self.places and not (self.places & article.entities["place"]):
            return None
        title = article.title or ""
        matched = {s.category for s in article.signals if self._signal_matches(s, title)}
        return sorted(matched) or None


def _str_list(raw: dict[str, Any], key: str, rule_id: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise AlertRuleError(f"alert rule {rule_id!r}: {key} must be a list of strings")
    return list(value)


def parse_rules(rules: list[dict[str, Any]]) -> list[Rule]:
    """Validated rules (enabled ones only); raises AlertRuleError naming the bad rule."""
    parsed = [Rule.from_dict(r) for r in rules if r.get("enabled", True)]
    ids = [r.id for r in parsed]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise AlertRuleError(f"alert rule ids used twice: {duplicates}")
    return parsed


@dataclass(frozen=True)
class _CandidateSignal:
    category: str
    tone_score: float
    evidence: str


@dataclass
class _Candidate:
    article_id: str
    title: str | None
    text: str | None
    relevance: float | None
    tone_score: float | None
    signals: list[_CandidateSignal] = field(default_factory=list)
    entities: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass(frozen=True)
class AlertMatch:
    """A newly recorded alert (status 'pending')."""

    alert_id: str
    rule_id: str
    article_id: str
    categories: list[str]


def alert_id_for(rule_id: str, article_id: str) -> str:
    return stable_id(f"{rule_id}|{article_id}")


def evaluate_alert_rules(
    con: duckdb.DuckDBPyConnection, rules: list[dict[str, Any]], *, now: datetime
) -> list[AlertMatch]:
    """Match the rules against the relevant articles of not-yet-evaluated batches,
    record new matches as pending alerts, and mark those batches evaluated (one
    transaction).  Returns the alerts recorded by this call."""
    parsed = parse_rules(rules)
    con.execute("BEGIN TRANSACTION")
    try:
        batch_ids = [row[0] for row in con.execute(SELECT_UNEVALUATED_BATCHES).fetchall()]
        fired: list[AlertMatch] = []
        if batch_ids:
            for candidate in _candidates(con, batch_ids):
                for rule in parsed:
                    matched = rule.match(candidate)
                    if matched is None:
                        continue
                    alert_id = alert_id_for(rule.id, candidate.article_id)
                    inserted = con.execute(
                        INSERT_ALERT,
                        [alert_id, rule.id, candidate.article_id, rule.description, matched, now],
                    ).fetchone()
                    if inserted and inserted[0]:
                        fired.append(AlertMatch(alert_id, rule.id, candidate.article_id, matched))
            con.execute(MARK_BATCHES_EVALUATED, [now, batch_ids])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info(
        "evaluated %d rule(s) on %d batch(es): %d new alert(s)",
        len(parsed),
        len(batch_ids),
        len(fired),
    )
    return fired


def _candidates(con: duckdb.DuckDBPyConnection, batch_ids: list[str]) -> list[_Candidate]:
    by_id = {
        row[0]: _Candidate(*row) for row in con.execute(SELECT_CANDIDATES, [batch_ids]).fetchall()
    }
    for article_id, category, tone, evidence in con.execute(
        SELECT_CANDIDATE_SIGNALS, [batch_ids]
    ).fetchall():
        by_id[article_id].signals.append(_CandidateSignal(category, tone, evidence))
    for article_id, kind, entity_id, name in con.execute(
        SELECT_CANDIDATE_MENTIONS, [batch_ids]
    ).fetchall():
        names = by_id[article_id].entities[kind]
        names.add(str(entity_id).casefold())
        names.add(str(name).casefold())
    return list(by_id.values())


# -- delivery --------------------------------------------------------------------------


@dataclass
class DeliverySummary:
    """What one ``deliver_pending_alerts`` call did."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    channels: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # alert_id -> last error

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Channel:
    channel_id: str  # stable_id of the full target (URL or file path): no secrets shown
    label: str  # secret-free: 'file:alerts.jsonl', 'apprise:json'
    send: Callable[[dict[str, Any]], None]  # raises DeliveryError


@dataclass(frozen=True)
class _Message:
    alert_id: str
    rule_id: str
    article_id: str
    url: str
    fired_at: datetime
    title: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.title}\n\n{self.body}"


def _fmt_number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f}" if signed else f"{value:.2f}"


def compose_message(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> tuple[str, str]:
    """(title, body) of an alert: rule, article, matched categories with evidence, URL."""
    title = f"[dyadwatch] {row['rule_id']}: {row['title'] or row['url']}"
    day = row["published_at"] or row["fetched_at"]
    day_text = day.date().isoformat() if day else "unknown"
    if not row["published_at"] and row["fetched_at"]:
        day_text += " (fetched)"
    outlet = row["outlet"] or "unknown outlet"
    if row["outlet_country"]:
        outlet += f" ({row['outlet_country']})"
    tone = _fmt_number(row["tone_score"], signed=True)
    if row["tone"]:
        tone += f" ({row['tone']})"
    lines = []
    if row["rule_description"]:
        lines.append(f"Rule: {row['rule_id']} - {row['rule_description']}")
    lines += [
        f"Outlet: {outlet}",
        f"Published: {day_text}",
        f"Relevance: {_fmt_number(row['relevance'])}",
        f"Tone: {tone}",
    ]
    categories = list(row["matched_categories"] or [])
    evidence = dict(con.execute(SELECT_EVIDENCE, [row["article_id"], categories]).fetchall())
    if categories:
        lines.append("Signals:")
        for category in categories:
            sentence = " ".join(str(evidence.get(category) or "").split())
            lines.append(f'- {category}: "{sentence}"' if sentence else f"- {category}")
    lines.append(f"URL: {row['url']}")
    return title, "\n".join(lines)


def _file_channel(path: Path) -> _Channel:
    def send(message: dict[str, Any]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if message["alert_id"] in _alert_ids_in(path):
                return
            line = json.dumps(message, ensure_ascii=False, default=str, sort_keys=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}") from exc

    return _Channel(stable_id(f"file:{path.resolve()}"), f"file:{path.name}", send)


def _alert_ids_in(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids = set()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                ids.add(json.loads(line)["alert_id"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line
    return ids


def _apprise_channel(url: str) -> _Channel:
    import apprise  # imported here: only delivery needs it

    scheme = urlsplit(url).scheme or "unknown"
    label = f"apprise:{scheme}"

    def send(message: dict[str, Any]) -> None:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise DeliveryError(f"{label}: Apprise does not accept this URL")
        result = notifier.notify(
            title=message["title"],
            body=message["body"],
            body_format=apprise.NotifyFormat.TEXT,
        )
        if result:
            return
        detail = ""
        logs = getattr(result, "logs", None)
        if callable(logs):
            problems = [e.message for e in logs() if e.level in {"WARNING", "ERROR", "CRITICAL"}]
            detail = "; ".join(problems[-3:])
        status = getattr(getattr(result, "status", None), "name", "FAILURE")
        raise DeliveryError(
            f"{label}: {status}: {detail}"[:500] if detail else f"{label}: {status}"
        )

    return _Channel(stable_id(url), label, send)


def _channels(settings: Settings) -> list[_Channel]:
    if settings.alert_urls:
        return [_apprise_channel(url) for url in settings.alert_urls]
    return [_file_channel(settings.alerts_file)]


def deliver_pending_alerts(
    con: duckdb.DuckDBPyConnection, settings: Settings, *, now: datetime
) -> DeliverySummary:
    """Send every pending or failed alert (under ``MAX_ATTEMPTS`` attempts) to the
    configured channels; mark each 'delivered' or 'failed' (attempts + 1, last_error).
    Alerts already delivered are never sent again."""
    channels = _channels(settings)
    summary = DeliverySummary(channels=[c.label for c in channels])
    channel_text = ",".join(c.label for c in channels)
    cursor = con.execute(SELECT_DELIVERABLE, [MAX_ATTEMPTS])
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:
        summary.attempted += 1
        alert_id = row["alert_id"]
        if row["message"]:
            title, _, body = row["message"].partition("\n\n")
        else:
            title, body = compose_message(con, row)
            con.execute(SET_MESSAGE, [f"{title}\n\n{body}", alert_id])
        payload = {
            "alert_id": alert_id,
            "rule_id": row["rule_id"],
            "article_id": row["article_id"],
            "url": row["url"],
            "fired_at": row["fired_at"].isoformat() if row["fired_at"] else None,
            "categories": list(row["matched_categories"] or []),
            "title": title,
            "body": body,
        }
        done = {r[0] for r in con.execute(SELECT_DONE_CHANNELS, [alert_id]).fetchall()}
        errors = []
        for channel in channels:
            if channel.channel_id in done:
                continue
            try:
                channel.send(payload)
            except DeliveryError as exc:
                errors.append(str(exc))
                continue
            except Exception as exc:  # a channel bug must not stop the other alerts
                log.exception("alert %s: channel %s raised", alert_id, channel.label)
                errors.append(f"{channel.label}: {type(exc).__name__}: {exc}"[:500])
                continue
            con.execute(INSERT_DELIVERY, [alert_id, channel.channel_id, channel.label, now])
        if errors:
            error = " | ".join(errors)
            con.execute(MARK_FAILED, [channel_text, error, alert_id])
            summary.failed += 1
            summary.errors[alert_id] = error
            log.warning("alert %s not delivered: %s", alert_id, error)
        else:
            con.execute(MARK_DELIVERED, [now, channel_text, alert_id])
            summary.delivered += 1
    return summary
