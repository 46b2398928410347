"""Staging: one immutable batch per run, on disk, for the single writer to load.

Parallel tasks never open the warehouse for writing; they stage a batch::

    STAGING_DIR/<batch_id>/
        manifest.json          batch_id, run_key, created_at, row counts, meta
        sources.parquet        records.Source rows
        feed_state.parquet     records.FeedState rows
        fetch_log.parquet      records.FetchAttempt rows
        articles.parquet       records.Article rows
        signals.parquet        records.Signal rows
        mentions.parquet       records.Mention rows
        quotes.parquet         records.Quote rows
        amounts.parquet        records.Amount rows

``batch_id = f"{run_key}-{hash of the rows[:10]}"``: a retried stage task, or a rerun
with identical content, writes the same batch id, and an existing batch is left alone.
A batch is written into a temporary directory and renamed into place, so a reader sees
either the whole batch or nothing.  Parquet schemas are explicit (derived from the
record types), so an empty table still has its columns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import types
import typing
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dyadwatch import records

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"
FORMAT_VERSION = 1

# table name -> record type whose fields are the table's columns
TABLE_RECORDS: dict[str, type] = {
    "sources": records.Source,
    "feed_state": records.FeedState,
    "fetch_log": records.FetchAttempt,
    "articles": records.Article,
    "signals": records.Signal,
    "mentions": records.Mention,
    "quotes": records.Quote,
    "amounts": records.Amount,
}
TABLES: tuple[str, ...] = tuple(TABLE_RECORDS)

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    datetime: _TIMESTAMP,
}


class StagingError(ValueError):
    """A batch that cannot be staged or read (bad table name, column, or file)."""


def _arrow_type(hint: Any) -> pa.DataType:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        if len(args) != 1:
            raise TypeError(f"unsupported union type {hint!r}")
        hint = args[0]
    try:
        return _ARROW_TYPES[hint]
    except KeyError:
        raise TypeError(f"no Parquet type for {hint!r}") from None


def _schema_for(record_type: type) -> pa.Schema:
    hints = typing.get_type_hints(record_type)
    return pa.schema(
        [
            pa.field(f.name, _arrow_type(hints[f.name]))
            for f in dataclasses.fields(record_type)  # type: ignore[arg-type]
        ]
    )


SCHEMAS: dict[str, pa.Schema] = {name: _schema_for(rt) for name, rt in TABLE_RECORDS.items()}


def _as_timestamp(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise StagingError(f"{where}: not an ISO time: {value!r}") from exc
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise StagingError(f"{where}: expected a time, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _normalise(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as dicts with exactly the schema's columns; times as UTC datetimes."""
    schema = SCHEMAS[table]
    names = schema.names
    stamps = {f.name for f in schema if f.type == _TIMESTAMP}
    out = []
    for i, row in enumerate(rows):
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            row = dataclasses.asdict(row)
        unknown = set(row) - set(names)
        if unknown:
            raise StagingError(f"{table} row {i}: unknown column(s) {sorted(unknown)}")
        clean = {}
        for name in names:
            value = row.get(name)
            if name in stamps:
                value = _as_timestamp(value, f"{table} row {i} {name}")
            clean[name] = value
        out.append(clean)
    return out


def _content_hash(tables: dict[str, list[dict[str, Any]]]) -> str:
    digest = hashlib.sha256()
    for table in TABLES:
        digest.update(table.encode())
        for row in tables[table]:
            line = json.dumps(row, sort_keys=True, default=_json_default, ensure_ascii=False)
            digest.update(line.encode("utf-8"))
            digest.update(b"\n")
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stage_batch(
    staging_dir: Path,
    run_key: str,
    tables: dict[str, list[dict[str, Any]]],
    meta: dict[str, Any],
) -> str:
    """Write one immutable batch and return its id (no-op if that batch exists).

    ``tables`` maps table names (see ``TABLES``) to rows (dicts, or the record
    dataclasses); absent tables are staged empty.  ``meta`` (JSON-serialisable) is kept
    in the manifest and recorded in the ``runs`` table on load.
    """
    if not run_key or "/" in run_key or run_key.startswith("."):
        raise StagingError(f"run_key {run_key!r} is not a file-system-safe name")
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise StagingError(f"unknown table(s) {sorted(unknown)}; expected some of {TABLES}")
    normal = {t: _normalise(t, list(tables.get(t) or [])) for t in TABLES}
    batch_id = f"{run_key}-{_content_hash(normal)[:10]}"

    staging_dir = Path(staging_dir)
    final = staging_dir / batch_id
    if (final / MANIFEST).exists():
        return batch_id
    staging_dir.mkdir(parents=True, exist_ok=True)

    tmp = staging_dir / f"{TMP_PREFIX}{batch_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        counts = {}
        for table in TABLES:
            arrow = pa.Table.from_pylist(normal[table], schema=SCHEMAS[table])
            pq.write_table(arrow, tmp / f"{table}.parquet")
            counts[table] = arrow.num_rows
        manifest = {
            "format_version": FORMAT_VERSION,
            "batch_id": batch_id,
            "run_key": run_key,
            "created_at": datetime.now(UTC).isoformat(),
            "row_counts": counts,
            "meta": meta,
        }
        with (tmp / MANIFEST).open("w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            # another attempt finished first (the target exists and is not empty)
            if not (final / MANIFEST).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return batch_id
        _fsync_dir(staging_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return batch_id


def read_manifest(batch_dir: Path) -> dict[str, Any]:
    """The manifest of a staged batch."""
    path = Path(batch_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StagingError(f"cannot read {path}: {exc}") from exc
    if manifest.get("batch_id") != Path(batch_dir).name:
        raise StagingError(f"{path}: batch_id {manifest.get('batch_id')!r} is not the dir name")
    return manifest


def read_batch_table(batch_dir: Path, table: str) -> pa.Table:
    """One table of a staged batch, checked against its schema."""
    path = Path(batch_dir) / f"{table}.parquet"
    try:
        arrow = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise StagingError(f"cannot read {path}: {exc}") from exc
    expected = SCHEMAS[table]
    if arrow.schema.names != expected.names:
        raise StagingError(f"{path}: columns {arrow.schema.names} are not {expected.names}")
    try:
        return arrow.cast(expected)
    except (pa.ArrowException, ValueError) as exc:
        raise StagingError(f"{path}: does not fit the {table} schema: {exc}") from exc


def pending_batches(staging_dir: Path) -> list[Path]:
    """Staged batch directories in creation order (temp dirs and dirs without a
    readable manifest are ignored)."""
    staging_dir = Path(staging_dir)
    if not staging_dir.is_dir():
        return []
    found: list[tuple[str, str, Path]] = []
    for path in staging_dir.iterdir():
        if not path.is_dir() or path.name.startswith(TMP_PREFIX) or path.name.startswith("."):
            continue
        if not (path / MANIFEST).is_file():
            continue
        try:
            created = str(read_manifest(path).get("created_at") or "")
        except StagingError as exc:
            log.warning("ignoring staged batch %s: %s", path.name, exc)
            continue
        found.append((created, path.name, path))
    return [path for _, _, path in sorted(found)]
