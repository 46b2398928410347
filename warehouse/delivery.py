"""Alert delivery: messages worth reading, sent exactly once, never silently lost.

``deliver_pending_alerts`` sends the alerts that evaluation recorded ('pending') and
those whose earlier delivery failed and whose back-off has passed.  Immediate rules send
one message per alert; digest rules one message per delivery run listing the rule's
new matches (up to its cap, then "and N more").

Exactly once: every channel that took an alert is recorded in ``alert_deliveries``
before the alert is marked delivered, so a rerun or an Airflow task retry never sends a
delivered alert again, and a retry after a partial failure sends only to the channels
that missed it.  Every attempt is a row in ``alert_attempts``; a failed alert waits
``BACKOFF_BASE * 2**(attempts-1)`` (capped) before the next try and is given up
('gave_up', visible in ``alerts``) after ``MAX_ATTEMPTS``.  (If the process dies
between a channel accepting a message and that row being written, the next run sends
it again to that channel: at-least-once there.  The file sink checks the file first,
so it stays exactly-once.)

Channels: a rule's ``channels`` are names resolved from the environment
(``DYADWATCH_ALERT_CHANNEL_<NAME>``: whitespace-separated Apprise URLs) or, failing
that, an Airflow Connection ``dyadwatch_alerts_<name>`` whose extra holds ``urls``;
the name ``file`` is the JSON-lines sink.  A rule without channels uses
``DYADWATCH_ALERT_URLS``, or the JSON-lines sink ``DATA/alerts.jsonl`` when that is
empty.  URLs never come from the repository, and only their scheme is ever shown.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

from dyadwatch.records import stable_id
from dyadwatch.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=2)
BACKOFF_CAP = timedelta(hours=6)
SPIKE_ARTICLES_SHOWN = 5

SELECT_DELIVERABLE = """
SELECT
    al.alert_id, al.rule_id, al.subject_id, al.kind, al.mode, al.rule_description,
    al.matched_categories, al.fired_at, al.attempts, al.message, al.message_markdown,
    a.article_id, a.title, a.url, a.outlet, a.outlet_country, a.published_at, a.fetched_at,
    a.relevance, a.tone_score, a.tone
FROM alerts AS al
LEFT JOIN articles AS a ON a.article_id = al.article_id
WHERE al.status IN ('pending', 'failed') AND al.attempts < ?
  AND (al.next_attempt_at IS NULL OR al.next_attempt_at <= ?)
ORDER BY al.fired_at, al.alert_id
"""

SELECT_EVIDENCE = """
SELECT category, evidence
FROM signals
WHERE article_id = ? AND list_contains(CAST(? AS VARCHAR[]), category)
QUALIFY row_number() OVER (PARTITION BY category ORDER BY score DESC, start) = 1
ORDER BY category
"""

SELECT_ALERT_ARTICLES = """
SELECT a.article_id, aa.role, a.title, a.url, a.outlet, a.outlet_country,
       coalesce(a.published_at, a.fetched_at) AS seen_at
FROM alert_articles AS aa
JOIN articles AS a USING (article_id)
WHERE aa.alert_id = ?
ORDER BY seen_at, a.article_id
"""

SELECT_ARTICLES_BY_ID = """
SELECT a.article_id, 'spike' AS role, a.title, a.url, a.outlet, a.outlet_country,
       coalesce(a.published_at, a.fetched_at) AS seen_at
FROM articles AS a
WHERE list_contains(?, a.article_id)
ORDER BY seen_at, a.article_id
"""

# A source's health from an outage's first day on (the outage is its first run of days).
SELECT_OUTAGE_DAYS = """
SELECT day, outlet, n_received, expected, outage, last_error_class
FROM v_source_health_daily
WHERE source_id = ? AND day >= ?
ORDER BY day
"""

SET_MESSAGE = """
UPDATE alerts SET message = ?, message_markdown = ? WHERE alert_id = ? AND message IS NULL
"""

SELECT_DONE_CHANNELS = """
SELECT alert_id, channel_id FROM alert_deliveries WHERE list_contains(?, alert_id)
"""

INSERT_DELIVERY = """
INSERT INTO alert_deliveries (alert_id, channel_id, channel, delivered_at)
VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""

INSERT_ATTEMPT = """
INSERT INTO alert_attempts (alert_id, channel, attempted_at, ok, error) VALUES (?, ?, ?, ?, ?)
"""

MARK_DELIVERED = """
UPDATE alerts
SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, channel = ?,
    last_error = NULL, next_attempt_at = NULL, digest_id = ?
WHERE alert_id = ?
"""

MARK_FAILED = """
UPDATE alerts
SET status = ?, attempts = attempts + 1, channel = ?, last_error = ?, next_attempt_at = ?
WHERE alert_id = ?
"""


class DeliveryError(Exception):
    """A channel did not take a message."""


@dataclass
class DeliverySummary:
    """What one ``deliver_pending_alerts`` call did."""

    attempted: int = 0  # alerts tried
    delivered: int = 0
    failed: int = 0  # will be retried after their back-off
    gave_up: int = 0  # failed MAX_ATTEMPTS times
    messages: int = 0  # messages that reached a channel (a digest counts once)
    channels: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # alert_id -> last error

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Message:
    message_id: str  # the alert id, or the digest id
    alert_ids: tuple[str, ...]
    title: str
    text: str
    markdown: str

    def payload(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "alert_ids": list(self.alert_ids),
            "title": self.title,
            "body": self.text,
            "markdown": self.markdown,
            **extra,
        }


@dataclass(frozen=True)
class Channel:
    channel_id: str  # stable_id of the full target (URL or file path): no secrets shown
    label: str  # secret-free: 'file:alerts.jsonl', 'apprise:json'
    send: Callable[[Message, dict[str, Any]], None]  # raises DeliveryError


# -- messages ----------------------------------------------------------------------------


def _when(row: dict[str, Any]) -> str:
    at = row.get("published_at") or row.get("fetched_at")
    if not at:
        return "unknown"
    text = at.strftime("%Y-%m-%d %H:%M UTC")
    return text if row.get("published_at") else f"{text} (fetched; no publication date)"


def _outlet(row: dict[str, Any]) -> str:
    outlet = row.get("outlet") or "unknown outlet"
    return f"{outlet} ({row['outlet_country']})" if row.get("outlet_country") else outlet


def _tone(row: dict[str, Any]) -> str:
    if row.get("tone_score") is None:
        return "n/a"
    tone = f"{row['tone_score']:+.1f}"
    return f"{tone} ({row['tone']})" if row.get("tone") else tone


def _evidence(con: duckdb.DuckDBPyConnection, article_id: str, categories: list[str]):
    found = dict(con.execute(SELECT_EVIDENCE, [article_id, categories]).fetchall())
    return [(c, " ".join(str(found.get(c) or "").split())) for c in categories]


def _article_block(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> tuple[list, list]:
    """Plain and Markdown lines for one article alert."""
    categories = list(row["matched_categories"] or [])
    evidence = _evidence(con, row["article_id"], categories)
    text = [
        f"Outlet: {_outlet(row)}",
        f"Published: {_when(row)}",
        f"Relevance: {row['relevance'] or 0:.2f}  Tone: {_tone(row)}",
        "Signals:",
        *[f'- {c}: "{e}"' if e else f"- {c}" for c, e in evidence],
        f"Link: {row['url']}",
    ]
    markdown = [
        f"**{_outlet(row)}**, {_when(row)} · relevance {row['relevance'] or 0:.2f} · "
        f"tone {_tone(row)}",
        *[f"- **{c}**: “{e}”" if e else f"- **{c}**" for c, e in evidence],
        f"[Read the article]({row['url']})",
    ]
    return text, markdown


def _spike_block(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> tuple[list, list]:
    _, category, day = row["subject_id"].split(":", 2)
    if "spike_article_ids" in row:  # a dry run: nothing recorded yet
        articles = con.execute(SELECT_ARTICLES_BY_ID, [row["spike_article_ids"]]).fetchall()
    else:
        articles = con.execute(SELECT_ALERT_ARTICLES, [row["alert_id"]]).fetchall()
    text = [f"{len(articles)} relevant articles carried {category} on {day}:"]
    markdown = [f"**{len(articles)}** relevant articles carried **{category}** on {day}:"]
    for _, _, title, url, outlet, country, _ in articles[:SPIKE_ARTICLES_SHOWN]:
        who = f"{outlet} ({country})" if country else outlet
        text.append(f"- {title} — {who} — {url}")
        markdown.append(f"- [{title}]({url}) — {who}")
    if len(articles) > SPIKE_ARTICLES_SHOWN:
        more = len(articles) - SPIKE_ARTICLES_SHOWN
        text.append(f"… and {more} more")
        markdown.append(f"… and {more} more")
    return text, markdown


def _outage_subject(subject_id: str) -> tuple[str, str]:
    """(source_id, first day) of a 'source_health:<source_id>:<day>' subject."""
    source_id, day = subject_id.removeprefix("source_health:").rsplit(":", 1)
    return source_id, day


def _source_health_block(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> tuple[list, list]:
    """Plain and Markdown lines for a source outage: since when, what came in, why."""
    source_id, first_day = _outage_subject(row["subject_id"])
    days = []
    for day, outlet, received, expected, outage, error in con.execute(
        SELECT_OUTAGE_DAYS, [source_id, first_day]
    ).fetchall():
        if outage is None or (days and (day - days[-1][0]).days != 1):
            break
        days.append((day, outlet, received, expected or 0.0, outage, error))
    outlet = next((d[1] for d in days if d[1]), None) or source_id
    if not days:
        line = f"{outlet} was out from {first_day} (it has delivered as usual since)."
        return [f"Source: {outlet} ({source_id})", line], [f"**{outlet}**: {line}"]
    received = sum(d[2] for d in days)
    expected = sum(d[3] for d in days)
    cause = (
        "every fetch failed" + (f" (last error: {days[-1][5]})" if days[-1][5] else "")
        if days[-1][4] == "fetch_failed"
        else "the feed answered but delivered nothing"
    )
    span = (
        f"out since {first_day}: {len(days)} day(s) through {days[-1][0]}, "
        f"{received} of about {expected:.0f} expected items received; {cause}."
    )
    note = (
        "A feed problem, not a news drop: trend views mark these days "
        "(v_trend_volume_daily.outage_explained) and report no spike or drop on them."
    )
    text = [f"Source: {outlet} ({source_id})", f"Status: {span}", note]
    markdown = [f"**{outlet}** (`{source_id}`) {span}", "", f"_{note}_"]
    return text, markdown


def _block(kind: str):
    return {"spike": _spike_block, "source_health": _source_health_block}.get(kind, _article_block)


def _headline(row: dict[str, Any]) -> str:
    if row["kind"] == "source_health":
        source_id, day = _outage_subject(row["subject_id"])
        return f"source {source_id} out since {day}"
    if row["kind"] == "spike":
        _, category, day = row["subject_id"].split(":", 2)
        return f"spike in {category} on {day}"
    return row["title"] or row["url"] or row["subject_id"]


def compose_message(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> Message:
    """The message of one alert: headline, outlet, time, matched categories with their
    evidence sentences, tone and a link (a spike: its day, count and articles)."""
    title = f"[dyadwatch] {row['rule_id']}: {_headline(row)}"
    rule = f"Rule: {row['rule_id']}" + (
        f" - {row['rule_description']}" if row["rule_description"] else ""
    )
    text, markdown = _block(row["kind"])(con, row)
    return Message(
        message_id=row["alert_id"],
        alert_ids=(row["alert_id"],),
        title=title,
        text="\n".join([rule, *text]),
        markdown="\n".join([f"*{rule}*", "", *markdown]),
    )


def compose_digest(
    con: duckdb.DuckDBPyConnection, rule_id: str, rows: list[dict[str, Any]], cap: int
) -> Message:
    """One message listing a digest rule's matches (at most ``cap``, then a count)."""
    alert_ids = tuple(r["alert_id"] for r in rows)
    description = next((r["rule_description"] for r in rows if r["rule_description"]), "")
    title = f"[dyadwatch] {rule_id}: {len(rows)} new match{'es' if len(rows) != 1 else ''}"
    text = [f"Rule: {rule_id}" + (f" - {description}" if description else ""), ""]
    markdown = [f"*Rule: {rule_id}*" + (f" — {description}" if description else ""), ""]
    for i, row in enumerate(rows[:cap], start=1):
        t, m = _block(row["kind"])(con, row)
        text += [f"{i}. {_headline(row)}", *[f"   {line}" for line in t], ""]
        markdown += [f"### {i}. {_headline(row)}", *m, ""]
    if len(rows) > cap:
        more = f"… and {len(rows) - cap} more (see the alerts table)"
        text.append(more)
        markdown.append(more)
    return Message(
        message_id=stable_id("digest|" + "|".join(sorted(alert_ids))),
        alert_ids=alert_ids,
        title=title,
        text="\n".join(text).rstrip(),
        markdown="\n".join(markdown).rstrip(),
    )


# -- channels ----------------------------------------------------------------------------


def file_channel(path: Path) -> Channel:
    """The JSON-lines sink: one line per message, never the same message twice."""

    def send(message: Message, extra: dict[str, Any]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if message.message_id in _message_ids_in(path):
                return
            line = json.dumps(
                message.payload(extra), ensure_ascii=False, default=str, sort_keys=True
            )
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}") from exc

    return Channel(stable_id(f"file:{path.resolve()}"), f"file:{path.name}", send)


def _message_ids_in(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids = set()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                ids.add(json.loads(line)["message_id"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line
    return ids


def apprise_channel(url: str) -> Channel:
    """An Apprise URL (mailto://, slack://, json://, ...); Markdown where it takes it."""
    import apprise  # imported here: only delivery needs it

    label = f"apprise:{urlsplit(url).scheme or 'unknown'}"

    def send(message: Message, extra: dict[str, Any]) -> None:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise DeliveryError(f"{label}: Apprise does not accept this URL")
        result = notifier.notify(
            title=message.title,
            body=message.markdown,
            body_format=apprise.NotifyFormat.MARKDOWN,
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

    return Channel(stable_id(url), label, send)


def _unresolved_channel(name: str) -> Channel:
    def send(message: Message, extra: dict[str, Any]) -> None:
        raise DeliveryError(
            f"channel {name!r} has no URL: set DYADWATCH_ALERT_CHANNEL_{name.upper()} or the "
            f"Airflow connection dyadwatch_alerts_{name}"
        )

    return Channel(stable_id(f"unresolved:{name}"), f"unresolved:{name}", send)


def _urls_from_airflow_connection(name: str) -> tuple[str, ...]:
    """Apprise URLs from the Airflow Connection ``dyadwatch_alerts_<name>``: its extra
    ``urls`` (a list or whitespace-separated string).  Empty when there is none."""
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(f"dyadwatch_alerts_{name}")
        urls = (conn.extra_dejson or {}).get("urls") or ()
    except Exception as exc:  # no Airflow context, no such connection, bad extra
        log.debug("no Airflow connection for alert channel %s: %s", name, exc)
        return ()
    return tuple(urls.split()) if isinstance(urls, str) else tuple(str(u) for u in urls)


def resolve_channels(names: tuple[str, ...], settings: Settings) -> list[Channel]:
    """The channels a rule sends to (see the module docstring)."""
    if not names:
        if settings.alert_urls:
            return [apprise_channel(url) for url in settings.alert_urls]
        return [file_channel(settings.alerts_file)]
    configured = settings.alert_channel_urls
    channels = []
    for name in names:
        if name == "file":
            channels.append(file_channel(settings.alerts_file))
            continue
        urls = configured.get(name.lower()) or _urls_from_airflow_connection(name.lower())
        if not urls:
            channels.append(_unresolved_channel(name))
        channels += [apprise_channel(url) for url in urls]
    return channels


# -- delivery ----------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def _units(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], rules: dict[str, Any]
) -> list[tuple[Message, list[dict[str, Any]], tuple[str, ...]]]:
    """(message, its alert rows, channel names): one per immediate alert, one per digest
    rule."""
    units = []
    digests: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["mode"] == "digest":
            digests[row["rule_id"]].append(row)
            continue
        if row["message"]:
            message = Message(
                row["alert_id"],
                (row["alert_id"],),
                *row["message"].split("\n\n", 1),
                row["message_markdown"] or row["message"],
            )
        else:
            message = compose_message(con, row)
            con.execute(
                SET_MESSAGE,
                [f"{message.title}\n\n{message.text}", message.markdown, row["alert_id"]],
            )
        units.append((message, [row], _channel_names(rules, row["rule_id"])))
    for rule_id, group in digests.items():
        cap = int(getattr(rules.get(rule_id), "digest_cap", 20) or 20)
        units.append(
            (compose_digest(con, rule_id, group, cap), group, _channel_names(rules, rule_id))
        )
    return units


def _channel_names(rules: dict[str, Any], rule_id: str) -> tuple[str, ...]:
    rule = rules.get(rule_id)
    return tuple(getattr(rule, "channels", ()) or ())


def deliver_pending_alerts(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    now: datetime,
    rules: list[dict[str, Any]] | None = None,
) -> DeliverySummary:
    """Send every alert that is due; mark each 'delivered', or 'failed' with its next
    attempt time ('gave_up' after MAX_ATTEMPTS).  Delivered alerts are never sent again.

    ``rules`` (the watch file's) give each alert its channels, mode and digest cap; an
    alert whose rule is gone goes to the default channels."""
    from warehouse.alerts import parse_rules

    by_id = {r.id: r for r in parse_rules(rules or [])}
    cursor = con.execute(SELECT_DELIVERABLE, [MAX_ATTEMPTS, now])
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    summary = DeliverySummary()
    if not rows:
        return summary
    done: dict[str, set[str]] = defaultdict(set)
    for alert_id, channel_id in con.execute(
        SELECT_DONE_CHANNELS, [[r["alert_id"] for r in rows]]
    ).fetchall():
        done[alert_id].add(channel_id)
    labels: set[str] = set()
    for message, group, names in _units(con, rows, by_id):
        channels = resolve_channels(names, settings)
        labels.update(c.label for c in channels)
        errors: dict[str, list[str]] = defaultdict(list)
        for channel in channels:
            missing = [r for r in group if channel.channel_id not in done[r["alert_id"]]]
            if not missing:
                continue
            extra = {
                "rule_id": group[0]["rule_id"],
                "mode": group[0]["mode"],
                "urls": sorted({r["url"] for r in missing if r.get("url")}),
                "fired_at": min(r["fired_at"] for r in missing).isoformat(),
            }
            try:
                channel.send(message, extra)
                error = None
            except DeliveryError as exc:
                error = str(exc)
            except Exception as exc:  # a channel bug must not stop the other alerts
                log.exception("message %s: channel %s raised", message.message_id, channel.label)
                error = f"{channel.label}: {type(exc).__name__}: {exc}"[:500]
            for row in missing:
                con.execute(
                    INSERT_ATTEMPT, [row["alert_id"], channel.label, now, error is None, error]
                )
                if error is None:
                    con.execute(
                        INSERT_DELIVERY, [row["alert_id"], channel.channel_id, channel.label, now]
                    )
                    done[row["alert_id"]].add(channel.channel_id)
                else:
                    errors[row["alert_id"]].append(error)
            if error is None:
                summary.messages += 1
        channel_text = ",".join(c.label for c in channels)
        digest_id = message.message_id if len(group) > 1 or group[0]["mode"] == "digest" else None
        for row in group:
            summary.attempted += 1
            alert_id = row["alert_id"]
            if alert_id not in errors:
                con.execute(MARK_DELIVERED, [now, channel_text, digest_id, alert_id])
                summary.delivered += 1
                continue
            error = " | ".join(errors[alert_id])
            attempts = row["attempts"] + 1
            status = "gave_up" if attempts >= MAX_ATTEMPTS else "failed"
            retry_at = None if status == "gave_up" else now + _backoff(attempts)
            con.execute(MARK_FAILED, [status, channel_text, error, retry_at, alert_id])
            summary.errors[alert_id] = error
            if status == "gave_up":
                summary.gave_up += 1
                log.error("alert %s given up after %d attempts: %s", alert_id, attempts, error)
            else:
                summary.failed += 1
                log.warning(
                    "alert %s not delivered (retry after %s): %s", alert_id, retry_at, error
                )
    summary.channels = sorted(labels)
    return summary


# -- for people: listing and dry runs ----------------------------------------------------

SELECT_RECENT_ALERTS = """
SELECT al.fired_at, al.rule_id, al.kind, al.status, al.attempts,
       coalesce(a.title, al.subject_id) AS subject,
       (SELECT count(*) FROM alert_articles AS aa WHERE aa.alert_id = al.alert_id) AS articles,
       (SELECT count(*) FROM alert_articles AS aa
        WHERE aa.alert_id = al.alert_id AND aa.role = 'update') AS updates,
       (SELECT max(aa.attached_at) FROM alert_articles AS aa
        WHERE aa.alert_id = al.alert_id AND aa.role = 'update') AS last_update_at,
       al.channel, al.last_error, al.alert_id
FROM alerts AS al
LEFT JOIN articles AS a ON a.article_id = al.article_id
WHERE ($status IS NULL OR al.status = $status)
ORDER BY al.fired_at DESC, al.alert_id
LIMIT $limit
"""

SELECT_PREVIEW_ARTICLE = """
SELECT article_id, title, url, outlet, outlet_country, published_at, fetched_at, relevance,
       tone_score, tone
FROM articles WHERE article_id = ?
"""


def list_alerts(
    con: duckdb.DuckDBPyConnection, *, status: str | None = None, limit: int = 50
) -> tuple[list[str], list[tuple]]:
    """Recent alerts with their status, for ``dyadwatch alerts``: ``updates`` counts the
    later copies of the story attached to the alert (recorded, not sent again) and
    ``last_update_at`` is the latest of them."""
    cursor = con.execute(SELECT_RECENT_ALERTS, {"status": status, "limit": limit})
    return [d[0] for d in cursor.description], cursor.fetchall()


def preview_rule(
    con: duckdb.DuckDBPyConnection, rule: dict[str, Any], *, since: datetime | None = None
) -> list[Message]:
    """The messages ``rule`` would have sent over the stored articles (nothing is
    recorded or sent): one per story or spike, or one digest for a digest rule."""
    from warehouse.alerts import dry_run_rule, parse_rules

    (parsed,) = parse_rules([{**rule, "enabled": True}])
    rows = []
    for hit in dry_run_rule(con, rule, since=since):
        row: dict[str, Any] = {
            "alert_id": stable_id(f"preview|{parsed.id}|{hit['subject_id']}"),
            "rule_id": parsed.id,
            "rule_description": parsed.description,
            "subject_id": hit["subject_id"],
            "kind": hit["kind"],
            "mode": parsed.mode,
            "matched_categories": hit["categories"],
        }
        if hit["kind"] == "article":
            cursor = con.execute(SELECT_PREVIEW_ARTICLE, [hit["article_ids"][0]])
            columns = [d[0] for d in cursor.description]
            row.update(zip(columns, cursor.fetchone(), strict=True))
            rows.append(row)
        else:
            rows.append(row | {"spike_article_ids": hit["article_ids"]})
    if parsed.mode == "digest" and rows:
        return [compose_digest(con, parsed.id, rows, parsed.digest_cap)]
    return [compose_message(con, row) for row in rows]
