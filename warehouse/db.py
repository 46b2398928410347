"""Opening the DuckDB warehouse: migrations, views, and waiting for the write lock.

DuckDB lets one process open a database file for writing (and then no other process
may open it at all).  ``connect`` therefore retries with back-off while another process
holds the lock, up to ``lock_timeout`` seconds, then raises :class:`WarehouseLocked`.

A read-write open applies the numbered migrations in ``sql/migrations`` that are not yet
in ``schema_migrations`` (each in its own transaction), then creates or replaces the
views in ``sql/views`` (in file-name order: staging views first, analyst views after)
when their files changed since the views were made, a migration ran or a view is missing
(``view_definitions``, migration 0012).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from dyadwatch.settings import Settings

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
VIEWS_DIR = SQL_DIR / "views"

_MIGRATION_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")

CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)
"""
SELECT_APPLIED_VERSIONS = "SELECT version FROM schema_migrations"
SELECT_VIEW_DEFINITIONS = "SELECT sha256, n_views FROM view_definitions LIMIT 1"
DELETE_VIEW_DEFINITIONS = "DELETE FROM view_definitions"
INSERT_VIEW_DEFINITIONS = (
    "INSERT INTO view_definitions (sha256, n_views, created_at) VALUES (?, ?, now())"
)
COUNT_USER_VIEWS = "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND NOT temporary"
INSERT_MIGRATION = "INSERT INTO schema_migrations (version, name) VALUES (?, ?)"
SELECT_KNOWN_URLS = """
SELECT a.url
FROM articles AS a
JOIN (SELECT unnest(CAST(? AS VARCHAR[])) AS url) AS wanted USING (url)
"""


class WarehouseError(Exception):
    """Base class of the warehouse's own errors."""


class WarehouseLocked(WarehouseError):
    """Another process held the warehouse file's lock for longer than we would wait."""


class WarehouseMissing(WarehouseError, FileNotFoundError):
    """A read-only open of a warehouse file that does not exist yet."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations shipped with the package, in version order."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise WarehouseError(f"migration file {path.name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise WarehouseError(f"two migrations share a version number in {directory}")
    return found


def view_files(directory: Path | None = None) -> list[Path]:
    """The view definitions, in the order they are created."""
    return sorted((directory or VIEWS_DIR).glob("*.sql"))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block as one transaction: committed when it ends, rolled back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def scalar(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> int:
    """The first column of the first row ``sql`` returns, as an int (0 for no row); for
    an INSERT, how many rows it inserted."""
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations not yet recorded, each in one transaction; returns versions."""
    con.execute(CREATE_SCHEMA_MIGRATIONS)
    applied = {row[0] for row in con.execute(SELECT_APPLIED_VERSIONS).fetchall()}
    done: list[int] = []
    for migration in migrations():
        if migration.version in applied:
            continue
        try:
            with transaction(con):
                con.execute(migration.sql)
                con.execute(INSERT_MIGRATION, [migration.version, migration.name])
        except Exception as exc:
            raise WarehouseError(
                f"migration {migration.path.name} failed and was rolled back: {exc}"
            ) from exc
        log.info("applied migration %s", migration.path.name)
        done.append(migration.version)
    return done


def _views_sha256(files: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for name, text in files:
        digest.update(f"{name}\n{len(text)}\n{text}".encode())
    return digest.hexdigest()


def create_views(con: duckdb.DuckDBPyConnection, *, force: bool = True) -> bool:
    """Create or replace every view, in one transaction; without ``force``, only when the
    view files differ from those the views were made from (``view_definitions``,
    migration 0012) or a view is missing.  Returns whether the views were created."""
    files = [(path.name, path.read_text(encoding="utf-8")) for path in view_files()]
    sha256 = _views_sha256(files)
    if not force:
        recorded = con.execute(SELECT_VIEW_DEFINITIONS).fetchone()
        if recorded and recorded == (sha256, scalar(con, COUNT_USER_VIEWS)):
            return False
    with transaction(con):
        for name, text in files:
            try:
                con.execute(text)
            except duckdb.Error as exc:
                raise WarehouseError(f"view {name} failed: {exc}") from exc
        con.execute(DELETE_VIEW_DEFINITIONS)
        con.execute(INSERT_VIEW_DEFINITIONS, [sha256, scalar(con, COUNT_USER_VIEWS)])
    return True


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc)
    return "Could not set lock on file" in text or "Conflicting lock" in text


def _lock_holder(exc: duckdb.Error) -> str:
    match = _LOCK_HOLDER.search(str(exc))
    if not match:
        return "another process"
    return f"{match.group('program')} (PID {match.group('pid')})"


def _open(path: Path, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + max(lock_timeout, 0.0)
    delay = 0.05
    waited_since = time.monotonic()
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            now = time.monotonic()
            if now >= deadline:
                raise WarehouseLocked(
                    f"warehouse {path} is locked by {_lock_holder(exc)}; gave up after "
                    f"{now - waited_since:.1f}s (lock_timeout={lock_timeout:g}s). "
                    "Only the load and alerts tasks (pool 'dyadwatch_warehouse') should "
                    "write to it; close other sessions on the file or raise "
                    "DYADWATCH_LOCK_TIMEOUT."
                ) from exc
            log.info("warehouse %s locked by %s; retrying", path, _lock_holder(exc))
            time.sleep(min(delay, deadline - now))
            delay = min(delay * 2, 2.0)


def connect(
    path: Path, *, read_only: bool = False, lock_timeout: float = 120.0
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse at ``path``.

    Read-write: creates the file if needed, applies pending migrations and (re)creates
    the views.  Read-only: the file must exist (:class:`WarehouseMissing` otherwise).
    Either way, waits up to ``lock_timeout`` seconds while another process holds the
    file, then raises :class:`WarehouseLocked`.
    """
    path = Path(path)
    if read_only:
        if not path.exists():
            raise WarehouseMissing(
                f"no warehouse at {path} yet: run the ingest (`dyadwatch run`) first"
            )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only, lock_timeout)
    if not read_only:
        try:
            migrated = apply_migrations(con)
            create_views(con, force=bool(migrated))
        except Exception:
            con.close()
            raise
    return con


def known_article_urls(settings: Settings, urls: Iterable[str]) -> set[str]:
    """The ones of ``urls`` already stored as articles.

    Read-only and best effort: a missing or busy warehouse gives an empty set (the load
    deduplicates by article id anyway, so this only saves fetching pages twice).
    """
    wanted = sorted(set(urls))
    if not wanted:
        return set()
    try:
        con = connect(settings.warehouse_path, read_only=True, lock_timeout=0)
    except (WarehouseMissing, WarehouseLocked) as exc:
        log.info("known_article_urls: %s; treating every url as new", exc)
        return set()
    except duckdb.ConnectionException as exc:
        # this process already has the file open read-write with another configuration
        log.info("known_article_urls: %s; treating every url as new", exc)
        return set()
    try:
        try:
            rows = con.execute(SELECT_KNOWN_URLS, [wanted]).fetchall()
        except duckdb.CatalogException:  # opened before the first migration ran
            return set()
        return {row[0] for row in rows}
    finally:
        con.close()
