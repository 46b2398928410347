"""The ``dyadwatch`` command: run the pipeline, query the warehouse, see trends.

dyadwatch run                 ingest once, then alerts, through real Airflow DAG runs
dyadwatch sql "SELECT ..."    read-only SQL against the warehouse, printed as a table
dyadwatch trends              signal counts per category by day or week
dyadwatch sources             sources with health; ``sources add URL`` adds a feed
dyadwatch sources disable URL --reason TEXT / sources enable URL   stop / resume a feed
dyadwatch story ID            one story or article: its copies, outlets, signals, evidence
dyadwatch export --output DIR the warehouse as Parquet, partitioned by month
dyadwatch report              a self-contained HTML report with charts
dyadwatch tag [FILE]          tag JSON lines (id, title, text, language) without the warehouse
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from dyadwatch.settings import Settings, get_settings


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 60) -> str:
    """A plain-text table, cells cut at ``max_width`` characters."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = " ".join(text.split())
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    body = [[cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in body:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    out = [line, rule]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in body]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def print_result(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> None:
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False))
    else:
        print(format_table(columns, rows))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from dyadwatch.runner import run_pipeline

    return run_pipeline(settings, alerts=not args.no_alerts)


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import WarehouseMissing, run_query

    if args.format == "parquet" and not args.output:
        print("dyadwatch: --format parquet needs --output FILE", file=sys.stderr)
        return 2
    try:
        if args.format == "parquet":
            from warehouse.query import write_query_parquet

            n = write_query_parquet(settings, args.query, args.output)
            print(f"dyadwatch: wrote {n} rows to {args.output}", file=sys.stderr)
            return 0
        columns, rows = run_query(settings, args.query)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # duckdb's own errors say what is wrong with the query
        print(f"dyadwatch: query failed: {exc}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            with contextlib.redirect_stdout(out):
                print_result(columns, rows, args.format)
        print(f"dyadwatch: wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    else:
        print_result(columns, rows, args.format)
    return 0


def cmd_story(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import WarehouseMissing, format_story, story

    try:
        found = story(settings, args.id)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    if found is None:
        print(f"dyadwatch: no story or article {args.id!r}", file=sys.stderr)
        return 1
    print(format_story(found, width=args.width))
    return 0


def _progress(done: int, total: int, what: str) -> None:
    print(f"[{done}/{total} {100 * done // max(total, 1):3d}%] {what}", file=sys.stderr)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.export import export_parquet
    from warehouse.query import WarehouseMissing

    try:
        summary = export_parquet(settings, args.output, progress=_progress)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{table} {n}" for table, n in summary.rows.items())
    print(f"Exported {len(summary.files)} Parquet files to {summary.out_dir}: {rows}")
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import WarehouseMissing
    from warehouse.report import write_report

    output = args.output or settings.home / "report.html"
    try:
        path = write_report(settings, output, days=args.days, progress=_progress)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    print(f"Report: {path}")
    return 0


def cmd_trends(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import WarehouseMissing, trends

    try:
        columns, rows = trends(settings, category=args.category, since=args.since, by=args.by)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    print_result(columns, rows, args.format)
    return 0


def cmd_tag(args: argparse.Namespace, settings: Settings) -> int:
    from dyadwatch.watch import WatchError, load_watch
    from extractors.tagger import tag_json_lines

    try:
        watch = load_watch(args.watch or settings.watch_file)
    except (OSError, WatchError) as exc:
        print(f"dyadwatch: cannot load the watch file: {exc}", file=sys.stderr)
        return 2
    try:
        source = sys.stdin if args.file in (None, "-") else open(args.file, encoding="utf-8")
    except OSError as exc:
        print(f"dyadwatch: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    with source:
        bad = tag_json_lines(source, sys.stdout, watch)
    if bad:
        print(f"dyadwatch: {bad} input line(s) were not valid items", file=sys.stderr)
    return 1 if bad else 0


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.db import WarehouseMissing, connect
    from warehouse.delivery import list_alerts

    try:
        with connect(settings.warehouse_path, read_only=True) as con:
            columns, rows = list_alerts(con, status=args.status, limit=args.limit)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    print_result(columns, rows, args.format)
    return 0


def cmd_alerts_test(args: argparse.Namespace, settings: Settings) -> int:
    from dyadwatch.watch import load_watch
    from warehouse.db import WarehouseMissing, connect
    from warehouse.delivery import preview_rule

    rules = {r["id"]: r for r in load_watch(settings.watch_file).alert_rules}
    if args.rule not in rules:
        known = ", ".join(sorted(rules)) or "none"
        print(f"dyadwatch: no alert rule {args.rule!r} in {settings.watch_file}", file=sys.stderr)
        print(f"known rules: {known}", file=sys.stderr)
        return 2
    since = datetime.combine(args.since, time.min, UTC) if args.since else None
    try:
        with connect(settings.warehouse_path, read_only=True) as con:
            messages = preview_rule(con, rules[args.rule], since=since)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    for message in messages:
        print(f"=== {message.title}\n{message.text}\n")
    print(
        f"Rule {args.rule} would have sent {len(messages)} message(s) "
        f"(dry run: nothing recorded, nothing sent)."
    )
    return 0


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    """List sources with health, or (``sources add URL``) add a feed."""
    if getattr(args, "sources_command", None) == "add":
        return cmd_sources_add(args, settings)
    if getattr(args, "sources_command", None) in ("enable", "disable"):
        return cmd_sources_enable(args, settings)
    from extractors.sources import SourceFileError, load_feed_sources
    from warehouse.sources import source_health

    try:
        listed = load_feed_sources(settings.sources_file)
    except SourceFileError as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        listed = []
    columns, rows = source_health(settings, listed)
    print_result(columns, rows, args.format)
    return 0


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    from urllib.parse import urlsplit

    from extractors.discovery import DiscoveryError, append_feed, discover_sources

    try:
        discovered = discover_sources(settings, args.url)
    except DiscoveryError as exc:
        print(f"dyadwatch: no feed added: {exc}", file=sys.stderr)
        return 2
    hows = {"autodiscovery": "found on the page", "sitemap index": f"listed in {args.url}"}
    for found in discovered:
        outlet = args.outlet or found.title or (urlsplit(found.url).hostname or found.url)
        added = append_feed(
            settings.feeds_file, found, outlet=outlet, country=args.country, language=args.language
        )
        how = hows.get(found.via, "read directly")
        if not added:
            print(f"{found.url} is already in {settings.feeds_file}")
            continue
        print(
            f"added {found.kind} {found.url} ({how}, {found.entries} entries now) as "
            f"{outlet!r} to {settings.feeds_file}"
        )
    return 0


def cmd_sources_enable(args: argparse.Namespace, settings: Settings) -> int:
    """``sources disable URL --reason TEXT`` / ``sources enable URL`` (clears back-off)."""
    import logging

    from dyadwatch.records import stable_id
    from extractors.sources import SourceFileError, load_feed_sources
    from warehouse.db import WarehouseError
    from warehouse.sources import disable_feed, enable_feed

    log = logging.getLogger("dyadwatch.sources")
    source_id = stable_id(args.url)
    try:
        if args.sources_command == "disable":
            try:
                listed = {s.url for s in load_feed_sources(settings.sources_file)}
            except SourceFileError as exc:
                print(f"dyadwatch: {exc}", file=sys.stderr)
                return 2
            if args.url not in listed:
                print(f"dyadwatch: {args.url} is not in {settings.sources_file}", file=sys.stderr)
                return 2
            before = disable_feed(settings, source_id, args.reason)
            was = (
                f" (was disabled: {before.disabled_reason})"
                if before and before.disabled_reason
                else ""
            )
            message = f"disabled feed {args.url}: {args.reason}{was}"
        else:
            before = enable_feed(settings, source_id)
            if before is None:
                print(
                    f"dyadwatch: no stored state for {args.url}: nothing to enable", file=sys.stderr
                )
                return 2
            was = (
                f"was disabled: {before.disabled_reason}"
                if before.disabled_reason
                else "was not disabled"
            )
            message = (
                f"re-enabled feed {args.url} ({was}; cleared {before.consecutive_failures} "
                f"failure(s) and any back-off): the next run fetches it"
            )
    except WarehouseError as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    log.info("%s", message)
    print(message)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dyadwatch", description="Media monitoring for one pair of countries."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the ingest DAG once, then the alerts DAG")
    run.add_argument("--no-alerts", action="store_true", help="skip the alerts DAG")
    run.set_defaults(func=cmd_run)

    sql = sub.add_parser("sql", help="run read-only SQL against the warehouse")
    sql.add_argument("query", help='the SQL, e.g. "SELECT * FROM v_signals_daily"')
    sql.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    sql.add_argument("--output", help="write to FILE instead of stdout (needed for parquet)")
    sql.set_defaults(func=cmd_sql)

    story = sub.add_parser("story", help="one story or article with its signals and outlets")
    story.add_argument("id", help="story id (cluster_id), article id (or 6+ char prefix) or url")
    story.add_argument("--width", type=int, default=100, help="wrap evidence at this width")
    story.set_defaults(func=cmd_story)

    export = sub.add_parser("export", help="the warehouse as Parquet, partitioned by month")
    export.add_argument("--format", choices=["parquet"], default="parquet")
    export.add_argument("--output", type=Path, required=True, help="folder to write into")
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", help="a self-contained HTML report with charts")
    report.add_argument("--output", type=Path, help="HTML file (default: DATA/report.html)")
    report.add_argument("--days", type=int, default=90, help="period up to the latest day")
    report.set_defaults(func=cmd_report)

    trends = sub.add_parser("trends", help="signal counts per category by day or week")
    trends.add_argument("--category", help="one category, e.g. border_security")
    trends.add_argument("--since", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    trends.add_argument("--by", choices=["day", "week"], default="week")
    trends.add_argument("--format", choices=["table", "csv", "json"], default="table")
    trends.set_defaults(func=cmd_trends)

    tag = sub.add_parser(
        "tag", help="tag JSON lines (id, title, text, language) from FILE or stdin"
    )
    tag.add_argument("file", nargs="?", help="a JSON-lines file; '-' or none: stdin")
    tag.add_argument("--watch", help="watch file (default: the configured one)")
    tag.set_defaults(func=cmd_tag)

    alerts = sub.add_parser("alerts", help="recent alerts and their delivery status")
    alerts.add_argument("--status", choices=["pending", "delivered", "failed", "gave_up"])
    alerts.add_argument("--limit", type=int, default=50)
    alerts.add_argument("--format", choices=["table", "csv", "json"], default="table")
    alerts.set_defaults(func=cmd_alerts)
    alerts_sub = alerts.add_subparsers(dest="alerts_command")
    alerts_test = alerts_sub.add_parser(
        "test", help="dry-run one rule against the warehouse: what it would have sent"
    )
    alerts_test.add_argument("rule", help="the rule id, as in the watch file")
    alerts_test.add_argument("--since", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    alerts_test.set_defaults(func=cmd_alerts_test)

    sources = sub.add_parser("sources", help="list sources with their health; 'add URL' adds one")
    sources.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sources.set_defaults(func=cmd_sources)
    sources_sub = sources.add_subparsers(dest="sources_command")
    add = sources_sub.add_parser(
        "add", help="add a feed URL, a site's homepage, a sitemap or a sitemap index"
    )
    add.add_argument(
        "url", help="feed, homepage (feed autodiscovery), sitemap or sitemap index URL"
    )
    add.add_argument("--outlet", help="publisher name (default: the feed's title)")
    add.add_argument("--country", help='outlet country: "PK", "IR", "INT", ...')
    add.add_argument("--language", help="ISO 639-1 code of the feed's items")
    add.set_defaults(func=cmd_sources)
    disable = sources_sub.add_parser("disable", help="stop fetching a feed, with a reason")
    disable.add_argument("url", help="the feed URL, as in the feeds file")
    disable.add_argument("--reason", required=True, help="why, shown by 'dyadwatch sources'")
    disable.set_defaults(func=cmd_sources)
    enable = sources_sub.add_parser(
        "enable", help="fetch a disabled or backed-off feed again (clears the reason)"
    )
    enable.add_argument("url", help="the feed URL, as in the feeds file")
    enable.set_defaults(func=cmd_sources)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, get_settings())


if __name__ == "__main__":
    sys.exit(main())
