"""The ``dyadwatch`` command: run the pipeline, query the warehouse, see trends.

dyadwatch run                 ingest once, then alerts, through real Airflow DAG runs
dyadwatch sql "SELECT ..."    read-only SQL against the warehouse, printed as a table
dyadwatch trends              signal counts per category by day or week
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from datetime import date
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

    try:
        columns, rows = run_query(settings, args.query)
    except WarehouseMissing as exc:
        print(f"dyadwatch: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # duckdb's own errors say what is wrong with the query
        print(f"dyadwatch: query failed: {exc}", file=sys.stderr)
        return 2
    print_result(columns, rows, args.format)
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
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sql.set_defaults(func=cmd_sql)

    trends = sub.add_parser("trends", help="signal counts per category by day or week")
    trends.add_argument("--category", help="one category, e.g. border_security")
    trends.add_argument("--since", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    trends.add_argument("--by", choices=["day", "week"], default="week")
    trends.add_argument("--format", choices=["table", "csv", "json"], default="table")
    trends.set_defaults(func=cmd_trends)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, get_settings())


if __name__ == "__main__":
    sys.exit(main())
