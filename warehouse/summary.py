"""The short human summary ``dyadwatch run`` ends with, read from the warehouse."""

from __future__ import annotations

import json
from typing import Any

from dyadwatch.settings import Settings
from warehouse.db import WarehouseError, connect

SELECT_RUN = """
SELECT batch_id, sources_read, entries_seen, articles_new, articles_seen, signals,
       fetch_failures, meta
FROM runs
WHERE run_key = ?
ORDER BY loaded_at DESC
LIMIT 1
"""
SELECT_SOURCE_KINDS = """
SELECT kind, count(*) FROM sources GROUP BY kind ORDER BY kind
"""
SELECT_NEW_ARTICLE_RELEVANCE = """
SELECT count(*) FILTER (WHERE relevant), count(*) FILTER (WHERE NOT coalesce(relevant, FALSE))
FROM articles
WHERE batch_id = ?
"""
SELECT_RUN_SIGNALS = """
SELECT s.category, count(*) AS n
FROM signals AS s
JOIN articles AS a USING (article_id)
WHERE a.batch_id = ? AND a.relevant
GROUP BY s.category
ORDER BY n DESC, s.category
"""
SELECT_TOTAL_SIGNALS = """
SELECT count(*), count(DISTINCT article_id) FROM stg_signals WHERE relevant
"""
SELECT_RUN_ALERTS = """
SELECT al.status, count(DISTINCT al.alert_id)
FROM alerts AS al
JOIN alert_articles AS aa USING (alert_id)
JOIN articles AS a ON a.article_id = aa.article_id
WHERE a.batch_id = ? AND aa.role <> 'update'
GROUP BY al.status
ORDER BY al.status
"""
SELECT_UNDELIVERED_ALERTS = """
SELECT status, count(*) FROM alerts WHERE status IN ('failed', 'gave_up') GROUP BY status
"""
SELECT_RUN_FAILURES = """
SELECT error_class, url, error_message
FROM fetch_log
WHERE batch_id = ? AND NOT ok
ORDER BY error_class, url
"""
SELECT_TREND_EXCLUSIONS = """
SELECT reason, n_relevant FROM v_trend_exclusions WHERE n_relevant > 0 ORDER BY reason
"""
EXAMPLE_QUERIES = (
    "SELECT category, sum(n_signals) AS signals FROM v_signals_daily "
    "GROUP BY category ORDER BY signals DESC",
    "SELECT a.outlet, a.title, s.category, s.evidence FROM signals s "
    "JOIN articles a USING (article_id) WHERE s.category = 'border_security' LIMIT 5",
)


def run_summary(settings: Settings, run_key: str) -> dict[str, Any]:
    """Counts for the run ``run_key`` (and the warehouse as a whole)."""
    with connect(settings.warehouse_path, read_only=True, lock_timeout=30) as con:
        run = con.execute(SELECT_RUN, [run_key]).fetchone()
        if run is None:
            return {"run_key": run_key, "loaded": False}
        batch_id, sources_read, entries, new, seen, n_signals, failures, meta = run
        meta = json.loads(meta) if isinstance(meta, str) else (meta or {})
        relevant, not_relevant = con.execute(SELECT_NEW_ARTICLE_RELEVANCE, [batch_id]).fetchone()
        total_signals, total_articles = con.execute(SELECT_TOTAL_SIGNALS).fetchone()
        return {
            "run_key": run_key,
            "loaded": True,
            "batch_id": batch_id,
            "sources_read": sources_read,
            "source_kinds": dict(con.execute(SELECT_SOURCE_KINDS).fetchall()),
            "entries_seen": entries,
            "articles_new": new,
            "articles_already_seen": seen + int(meta.get("entries_known") or 0),
            "new_relevant": relevant,
            "new_not_relevant": not_relevant,
            "signals": n_signals,
            "signals_by_category": dict(con.execute(SELECT_RUN_SIGNALS, [batch_id]).fetchall()),
            "warehouse_signals": total_signals,
            "warehouse_relevant_articles": total_articles,
            "trend_exclusions": dict(con.execute(SELECT_TREND_EXCLUSIONS).fetchall()),
            "alerts": dict(con.execute(SELECT_RUN_ALERTS, [batch_id]).fetchall()),
            "alerts_undelivered": dict(con.execute(SELECT_UNDELIVERED_ALERTS).fetchall()),
            "failures": [
                {"error_class": c, "url": u, "message": m}
                for c, u, m in con.execute(SELECT_RUN_FAILURES, [batch_id]).fetchall()
            ],
        }


def format_run_summary(settings: Settings, summary: dict[str, Any]) -> str:
    """The summary as a few lines for people."""
    if not summary.get("loaded"):
        return (
            f"Run {summary['run_key']} has not been loaded into the warehouse (yet): its batch "
            f"stays in {settings.staging_dir} and the next run loads it."
        )
    kinds = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in summary["source_kinds"].items())
    lines = [
        f"Sources read: {summary['sources_read']} (the warehouse knows {kinds})",
        f"Articles: {summary['articles_new']} new "
        f"({summary['new_relevant']} relevant to the dyad, {summary['new_not_relevant']} not), "
        f"{summary['articles_already_seen']} already seen",
    ]
    by_cat = summary["signals_by_category"]
    if by_cat:
        cats = ", ".join(f"{c} {n}" for c, n in by_cat.items())
        lines.append(f"Signals this run: {summary['signals']} — {cats}")
    else:
        lines.append("Signals this run: none new")
    lines.append(
        f"Warehouse holds {summary['warehouse_signals']} signals on "
        f"{summary['warehouse_relevant_articles']} relevant articles"
    )
    excluded = summary.get("trend_exclusions") or {}
    if excluded:
        reasons = ", ".join(f"{r} {n}" for r, n in excluded.items())
        lines.append(
            f"Trend views leave out {sum(excluded.values())} relevant articles whose date is "
            f"not trusted ({reasons}; see v_trend_exclusions)"
        )
    alerts = summary["alerts"]
    if alerts:
        states = ", ".join(f"{n} {s}" for s, n in alerts.items())
        where = (
            "Apprise channels" if settings.alert_urls else f"the file sink {settings.alerts_file}"
        )
        lines.append(f"Alerts fired: {sum(alerts.values())} ({states}; to {where})")
    else:
        lines.append("Alerts fired: none")
    undelivered = summary["alerts_undelivered"]
    if undelivered:
        lines.append(
            f"Alert delivery problems: {undelivered.get('failed', 0)} failed and waiting to "
            f"retry, {undelivered.get('gave_up', 0)} given up (dyadwatch alerts --status failed)"
        )
    failures = summary["failures"]
    if failures:
        lines.append(f"Failures recorded: {len(failures)} (query v_fetch_failures for all)")
        for f in failures[:5]:
            lines.append(f"  - {f['error_class']}: {f['message']} — {f['url']}")
    else:
        lines.append("Failures recorded: none")
    lines.append(f"Warehouse: {settings.warehouse_path}")
    lines.append("Try:")
    for q in EXAMPLE_QUERIES:
        lines.append(f'  .venv/bin/dyadwatch sql "{q}"')
    return "\n".join(lines)


def print_run_summary(settings: Settings, run_key: str) -> None:
    try:
        summary = run_summary(settings, run_key)
    except WarehouseError as exc:
        print(f"No summary: {exc}")
        return
    print(format_run_summary(settings, summary))
