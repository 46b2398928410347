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

Batches are written as they are read: rows are converted to Arrow ``CHUNK_ROWS`` at a
time (fewer for articles, which carry their text), each chunk is one Parquet row group
and is hashed, and only one chunk is in memory at a time.  The content hash is the
SHA-256 of, table by table in ``TABLES`` order, the table's name and the Arrow IPC stream
of each chunk: the same rows give the same chunks and the same bytes, however they were
handed in (rows as dicts or records, or a JSON-lines file read by Arrow's JSON reader).
A batch whose tables each fit in one chunk keeps the id it had when a table was hashed
whole.

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
import time
import types
import typing
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from dyadwatch import records

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

# A staging place: a local directory, or a prefix on object storage (s3://, gs://, ...)
Location: TypeAlias = "Path | ObjectStoragePath"

T = TypeVar("T")

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"
# a temporary batch directory this old was left by a killed stage task
ABANDONED_TEMP_AFTER_S = 6 * 3600
FORMAT_VERSION = 1
CHUNK_ROWS = 20_000  # rows converted to Arrow, hashed and written as one row group at a time
# articles carry their whole text: fewer at a time keeps the stage's memory flat
CHUNK_ROWS_BY_TABLE = {"articles": 1_000}

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


def _chunk_rows(table: str) -> int:
    return CHUNK_ROWS_BY_TABLE.get(table, CHUNK_ROWS)


def _batches(table: str, items: Iterable[T]) -> Iterator[tuple[list[T], int]]:
    """``items`` (read as they come) in lists of ``_chunk_rows(table)``, each with the
    position of its first item; one empty list when there are none."""
    size, buffer, done = _chunk_rows(table), [], 0
    for item in items:
        buffer.append(item)
        if len(buffer) == size:
            yield buffer, done
            done += len(buffer)
            buffer = []
    if buffer or not done:
        yield buffer, done


def _row_chunks(table: str, rows: Iterable[Any]) -> Iterator[pa.Table]:
    """Rows (an iterable: a run's file is read as it goes) as Arrow tables of
    ``_chunk_rows(table)`` rows, so that only one chunk of rows is held at a time."""
    for buffer, first in _batches(table, rows):
        yield pa.Table.from_pylist(_normalise(table, buffer, first), SCHEMAS[table])


def _lines_to_arrow(table: str, lines: list[bytes], first: int) -> pa.Table:
    """JSON lines as one Arrow table, by Arrow's JSON reader (several times faster than
    parsing each row in Python); where it refuses a value (an empty time, a float for an
    int, an unknown column) the rows take the Python path, which gives the same table or
    the same error as rows handed in as dicts."""
    if not lines:
        return pa.Table.from_pylist([], SCHEMAS[table])
    data = b"".join(lines)
    try:
        arrow = pa_json.read_json(
            pa.BufferReader(data),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=pa_json.ParseOptions(
                explicit_schema=SCHEMAS[table], unexpected_field_behavior="error"
            ),
        )
    except pa.ArrowException:
        rows = [json.loads(line) for line in lines]
        return pa.Table.from_pylist(_normalise(table, rows, first), SCHEMAS[table])
    return arrow.combine_chunks()


def _json_lines(path: Path) -> Iterator[bytes]:
    """The non-blank lines of a JSON-lines file, each ending in a newline (none if the file
    is absent)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                yield line if line.endswith(b"\n") else line + b"\n"


def _json_lines_chunks(table: str, path: Path) -> Iterator[pa.Table]:
    """A JSON-lines file (one row per line) in the same chunks as ``_row_chunks``."""
    for buffer, first in _batches(table, _json_lines(path)):
        yield _lines_to_arrow(table, buffer, first)


def _chunks(table: str, rows: Iterable[Any] | os.PathLike[str]) -> Iterator[pa.Table]:
    if isinstance(rows, os.PathLike):
        return _json_lines_chunks(table, Path(rows))
    return _row_chunks(table, rows)


def _ipc_bytes(chunk: pa.Table) -> pa.Buffer:
    """A chunk as an Arrow IPC stream: the bytes the batch's content hash is made of
    (hashing them costs a fraction of serialising each row)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, chunk.schema) as writer:
        writer.write_table(chunk)
    return sink.getvalue()


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


def _write_tables(
    target: Location, tables: dict[str, Iterable[Any] | os.PathLike[str]]
) -> tuple[str, dict[str, int]]:
    """Each table's Parquet file, written chunk by chunk (one row group each) as its rows
    are read; returns the batch's content hash and row counts."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    for table in TABLES:
        digest.update(table.encode())
        counts[table] = 0
        with (
            (target / f"{table}.parquet").open("wb") as fh,
            pq.ParquetWriter(fh, SCHEMAS[table]) as writer,
        ):
            for chunk in _chunks(table, tables.get(table) or ()):
                digest.update(_ipc_bytes(chunk))
                writer.write_table(chunk)
                counts[table] += chunk.num_rows
    return digest.hexdigest(), counts


def _write_manifest(target: Location, manifest: dict[str, Any]) -> None:
    """The manifest, written last: a batch without one is not pending."""
    with (target / MANIFEST).open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True, default=_json_default)
        if isinstance(target, Path):
            fh.flush()
            os.fsync(fh.fileno())


def stage_batch(
    staging_dir: str | os.PathLike[str] | Location,
    run_key: str,
    tables: dict[str, Iterable[Any] | os.PathLike[str]],
    meta: dict[str, Any],
) -> str:
    """Write one immutable batch and return its id (no-op if that batch exists).

    ``staging_dir`` is a directory or a URL (see ``batch_location``).  ``tables`` maps
    table names (see ``TABLES``) to rows (dicts, or the record dataclasses; any iterable,
    read once) or to a JSON-lines file of such rows (a path; read by Arrow's JSON
    reader, an absent file has no rows); absent tables are staged empty.  ``meta``
    (JSON-serialisable) is kept in the manifest and recorded in the ``runs`` table on
    load.

    The tables are written as they are read, into a temporary directory beside the
    batches; their content hash then names the batch.  On a local disk the directory is
    renamed into place.  Object storage has no atomic rename of a directory: there the
    files are moved to the batch's prefix, the manifest written last, and a batch
    without a manifest is not pending (a retried task writes the same files again).
    """
    if not run_key or "/" in run_key or run_key.startswith("."):
        raise StagingError(f"run_key {run_key!r} is not a file-system-safe name")
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise StagingError(f"unknown table(s) {sorted(unknown)}; expected some of {TABLES}")

    location = batch_location(staging_dir)
    local = isinstance(location, Path)
    if local:
        location.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_temps(location)
    tmp = location / f"{TMP_PREFIX}{int(time.time())}-{run_key}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        digest, counts = _write_tables(tmp, tables)
        batch_id = f"{run_key}-{digest[:10]}"
        final = location / batch_id
        if (final / MANIFEST).exists():
            _remove_tmp(tmp)
            return batch_id
        manifest = {
            "format_version": FORMAT_VERSION,
            "batch_id": batch_id,
            "run_key": run_key,
            "created_at": datetime.now(UTC).isoformat(),
            "meta": meta,
            "row_counts": counts,
        }
        if not local:
            final.mkdir(parents=True, exist_ok=True)
            for table in TABLES:
                (tmp / f"{table}.parquet").move(final / f"{table}.parquet")
            _write_manifest(final, manifest)
            _remove_tmp(tmp)
            return batch_id
        _write_manifest(tmp, manifest)
        _fsync_dir(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            # another attempt finished first (the target exists and is not empty)
            if not (final / MANIFEST).exists():
                raise
            _remove_tmp(tmp)
            return batch_id
        _fsync_dir(location)
    except BaseException:
        _remove_tmp(tmp)
        raise
    return batch_id


def _temp_age_s(path: Location, now: float) -> float | None:
    """How old a temporary batch directory is, from the time in its name (or, for one
    named before names carried it, its mtime on a local disk); None when unknown."""
    stamp = path.name[len(TMP_PREFIX) :].split("-", 1)[0]
    if stamp.isdigit() and len(stamp) >= 9:
        return now - int(stamp)
    if isinstance(path, Path):
        try:
            return now - path.stat().st_mtime
        except OSError:
            return None
    return None


def _remove_abandoned_temps(location: Location) -> int:
    """Remove temporary batch directories that a killed stage task left behind (older
    than ``ABANDONED_TEMP_AFTER_S``: no live task writes one for that long); on object
    storage they would otherwise be kept, and paid for, for good."""
    if not location.is_dir():
        return 0
    now = time.time()
    removed = 0
    for path in location.iterdir():
        if not path.name.startswith(TMP_PREFIX):
            continue
        age = _temp_age_s(path, now)
        if age is not None and age > ABANDONED_TEMP_AFTER_S:
            log.info("removing %s, a temporary batch left %.0f hours ago", path, age / 3600)
            _remove_tmp(path)
            removed += 1
    return removed


def _remove_tmp(tmp: Location) -> None:
    if isinstance(tmp, Path):
        shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        tmp.rmdir(recursive=True)
    except OSError:
        log.warning("could not remove the temporary batch files at %s", tmp)


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
