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
either the whole batch or nothing.

STAGING_DIR is a local directory or, for workers on several machines, a prefix on
object storage (``DYADWATCH_STAGING_URL=s3://bucket/dyadwatch/staging``), opened as
Airflow's ``ObjectStoragePath``: the same functions write, list, read and delete
batches there (object storage has no atomic rename; there the manifest, written last,
marks a batch complete).  docs/scaling.md shows the multi-machine set-up.

Parquet schemas are explicit (derived from the record types), so an empty table still
has its columns.
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
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa
import pyarrow.parquet as pq

from dyadwatch import records

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

# A staging place: a local directory, or a prefix on object storage (s3://, gs://, ...)
Location: TypeAlias = "Path | ObjectStoragePath"

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"
FORMAT_VERSION = 1
CHUNK_ROWS = 20_000  # rows converted to Arrow at a time

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


def _normalise(table: str, rows: list[dict[str, Any]], first: int = 0) -> list[dict[str, Any]]:
    """Rows as dicts with exactly the schema's columns; times as UTC datetimes."""
    schema = SCHEMAS[table]
    names = schema.names
    stamps = {f.name for f in schema if f.type == _TIMESTAMP}
    out = []
    for i, row in enumerate(rows, start=first):
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


def _to_arrow(table: str, rows: Iterable[Any]) -> pa.Table:
    """Rows (an iterable: a run's file is read as it goes) as one Arrow table, converted
    CHUNK_ROWS at a time so that only the compact columnar form is held, never every
    row as a Python dict."""
    chunks, buffer, done = [], [], 0
    for row in rows:
        buffer.append(row)
        if len(buffer) == CHUNK_ROWS:
            chunks.append(pa.Table.from_pylist(_normalise(table, buffer, done), SCHEMAS[table]))
            done += len(buffer)
            buffer = []
    chunks.append(pa.Table.from_pylist(_normalise(table, buffer, done), SCHEMAS[table]))
    return pa.concat_tables(chunks).combine_chunks()


def _content_hash(arrow: dict[str, pa.Table]) -> str:
    """A digest of the batch's tables (their Arrow IPC bytes: the same rows give the same
    bytes, and hashing them costs a fraction of serialising each row)."""
    digest = hashlib.sha256()
    for table in TABLES:
        digest.update(table.encode())
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, arrow[table].schema) as writer:
            writer.write_table(arrow[table])
        digest.update(sink.getvalue())
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


def batch_location(where: str | os.PathLike[str] | Location) -> Location:
    """Where batches are staged: a local directory as a ``Path``; a URL (``s3://...``,
    ``gs://...``, ``memory://...``) as Airflow's ``ObjectStoragePath`` (fsspec underneath,
    credentials from the Airflow connection named in the URL or the environment)."""
    if isinstance(where, Path) or not isinstance(where, str | os.PathLike):
        return where  # a Path, or already an ObjectStoragePath
    text = os.fspath(where)
    if "://" not in text or text.startswith("file://"):
        return Path(text.removeprefix("file://"))
    from airflow.sdk import ObjectStoragePath  # only when batches live off this machine

    return ObjectStoragePath(text)


def _write_batch_files(
    target: Location, arrow: dict[str, pa.Table], manifest: dict[str, Any]
) -> None:
    """The tables, then the manifest (last: a batch without one is not pending)."""
    counts = {}
    for table in TABLES:
        with (target / f"{table}.parquet").open("wb") as fh:
            pq.write_table(arrow[table], fh)
        counts[table] = arrow[table].num_rows
    manifest = {**manifest, "row_counts": counts}
    with (target / MANIFEST).open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True, default=_json_default)
        if isinstance(target, Path):
            fh.flush()
            os.fsync(fh.fileno())


def stage_batch(
    staging_dir: str | os.PathLike[str] | Location,
    run_key: str,
    tables: dict[str, Iterable[Any]],
    meta: dict[str, Any],
) -> str:
    """Write one immutable batch and return its id (no-op if that batch exists).

    ``staging_dir`` is a directory or a URL (see ``batch_location``).  ``tables`` maps
    table names (see ``TABLES``) to rows (dicts, or the record dataclasses; any iterable,
    read once); absent tables are staged empty.  ``meta`` (JSON-serialisable) is kept in
    the manifest and recorded in the ``runs`` table on load.

    On a local disk the batch is written into a temporary directory and renamed into
    place.  Object storage has no atomic rename of a directory: there the files are
    written in place, the manifest last, and a batch without a manifest is not pending
    (a retried task writes the same files again).
    """
    if not run_key or "/" in run_key or run_key.startswith("."):
        raise StagingError(f"run_key {run_key!r} is not a file-system-safe name")
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise StagingError(f"unknown table(s) {sorted(unknown)}; expected some of {TABLES}")
    arrow = {t: _to_arrow(t, tables.get(t) or ()) for t in TABLES}
    batch_id = f"{run_key}-{_content_hash(arrow)[:10]}"
    manifest = {
        "format_version": FORMAT_VERSION,
        "batch_id": batch_id,
        "run_key": run_key,
        "created_at": datetime.now(UTC).isoformat(),
        "meta": meta,
    }

    location = batch_location(staging_dir)
    final = location / batch_id
    if (final / MANIFEST).exists():
        return batch_id
    if not isinstance(location, Path):
        final.mkdir(parents=True, exist_ok=True)
        _write_batch_files(final, arrow, manifest)
        return batch_id

    location.mkdir(parents=True, exist_ok=True)
    tmp = location / f"{TMP_PREFIX}{batch_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_batch_files(tmp, arrow, manifest)
        _fsync_dir(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            # another attempt finished first (the target exists and is not empty)
            if not (final / MANIFEST).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return batch_id
        _fsync_dir(location)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return batch_id


def read_manifest(batch_dir: Location) -> dict[str, Any]:
    """The manifest of a staged batch."""
    batch_dir = batch_location(batch_dir)
    path = batch_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StagingError(f"cannot read {path}: {exc}") from exc
    if manifest.get("batch_id") != batch_dir.name:
        raise StagingError(f"{path}: batch_id {manifest.get('batch_id')!r} is not the dir name")
    return manifest


def _add_later_columns(arrow: pa.Table, table: str, where: str) -> pa.Table:
    """A batch staged before fields were added to its record type: those columns null.

    Only fields with a default may be missing; any other difference is an error."""
    expected = SCHEMAS[table]
    fields = {f.name: f for f in dataclasses.fields(TABLE_RECORDS[table])}  # type: ignore[arg-type]
    missing = [n for n in expected.names if n not in arrow.schema.names]
    unknown = [n for n in arrow.schema.names if n not in fields]
    required = [
        n
        for n in missing
        if fields[n].default is dataclasses.MISSING
        and fields[n].default_factory is dataclasses.MISSING
    ]
    if unknown or required:
        raise StagingError(f"{where}: columns {arrow.schema.names} are not {expected.names}")
    for name in missing:
        arrow = arrow.append_column(
            expected.field(name), pa.nulls(arrow.num_rows, expected.field(name).type)
        )
    return arrow.select(expected.names)


def read_batch_table(batch_dir: Location, table: str) -> pa.Table:
    """One table of a staged batch, checked against its schema."""
    path = batch_location(batch_dir) / f"{table}.parquet"
    try:
        if isinstance(path, Path):
            arrow = pq.read_table(path)
        else:
            with path.open("rb") as fh:
                arrow = pq.read_table(fh)
    except (OSError, pa.ArrowException) as exc:
        raise StagingError(f"cannot read {path}: {exc}") from exc
    expected = SCHEMAS[table]
    if arrow.schema.names != expected.names:
        arrow = _add_later_columns(arrow, table, f"{path}")
    try:
        return arrow.cast(expected)
    except (pa.ArrowException, ValueError) as exc:
        raise StagingError(f"{path}: does not fit the {table} schema: {exc}") from exc


def pending_batches(staging_dir: str | os.PathLike[str] | Location) -> list[Location]:
    """Staged batch directories in creation order (temp dirs and dirs without a
    readable manifest are ignored)."""
    staging_dir = batch_location(staging_dir)
    if not staging_dir.is_dir():
        return []
    found: list[tuple[str, str, Location]] = []
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


def remove_batch(batch_dir: Location) -> None:
    """Delete a staged batch (a loaded one); ``OSError`` when it cannot be deleted."""
    if isinstance(batch_dir, Path):
        shutil.rmtree(batch_dir)
    else:
        batch_dir.rmdir(recursive=True)
