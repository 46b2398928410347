"""The files one run's tasks hand to each other (``DATA/work/RUN_KEY/*.jsonl``).

Airflow tasks pass only small summaries through XCom; the records themselves go through
these JSON-lines files, written whole to a temporary name and renamed, so a retried task
rewrites them instead of appending twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar, get_type_hints

import orjson

T = TypeVar("T")


def run_key_for(run_id: str) -> str:
    """A file-system-safe key for an Airflow run id (``manual__2026-...`` etc.)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")[:120] or "run"


def _default(value: Any) -> Any:
    """What orjson cannot write itself (records, datetimes and tuples it can)."""
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class RunFiles:
    """The work folder of one run."""

    def __init__(self, work_dir: Path, run_key: str) -> None:
        self.run_key = run_key
        self.dir = work_dir / run_key

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.jsonl"

    def write(self, name: str, rows: Iterable[Any]) -> int:
        """Write records (dataclasses or dicts) as JSON lines; returns the count."""
        with self.writing(name) as out:
            out.write_all(name, rows)
        return out.counts[name]

    @contextlib.contextmanager
    def writing(self, *names: str) -> Iterator[RowWriters]:
        """Write several files side by side, a row at a time, so memory stays flat however
        many rows a step makes: each file goes to a temporary name and all are renamed into
        place when the block ends without an error (on an error none is, and the temporary
        files are removed).  The JSON lines are those ``write`` makes."""
        self.dir.mkdir(parents=True, exist_ok=True)
        temps = {name: self.path(name).with_suffix(".jsonl.tmp") for name in names}
        handles: dict[str, TextIO] = {}
        try:
            for name, tmp in temps.items():
                handles[name] = tmp.open("w", encoding="utf-8")
            yield RowWriters(handles)
            for fh in handles.values():
                fh.close()  # a failed flush (disk full) still removes every temporary file
        except BaseException:
            for fh in handles.values():
                with contextlib.suppress(OSError):
                    fh.close()
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)
            raise
        for name, tmp in temps.items():
            os.replace(tmp, self.path(name))

    def rows(self, name: str) -> Iterator[dict[str, Any]]:
        """The rows of one file as dicts; nothing if the file is absent."""
        for line in self.lines(name):
            yield orjson.loads(line)

    def records(self, name: str, cls: type[T]) -> Iterator[T]:
        """The rows of one file rebuilt as ``cls`` (ISO datetimes parsed back)."""
        for row in self.rows(name):
            yield record_from_row(cls, row)

    def count(self, name: str) -> int:
        """How many rows one file has (its non-blank lines, not parsed; 0 if absent)."""
        return sum(1 for _ in self.lines(name))

    def lines(self, name: str) -> Iterator[str]:
        """The rows of one file as JSON text (for a worker process to parse); nothing if
        the file is absent."""
        path = self.path(name)
        if not path.exists():
            return
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield line

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def prune(work_dir: Path, *, keep: str, older_than_s: float = 2 * 86400) -> int:
        """Remove other runs' work folders older than ``older_than_s`` (their batches are
        staged or loaded by then; a folder is never needed after its stage step)."""
        if not work_dir.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for child in work_dir.iterdir():
            if child.is_dir() and child.name != keep and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
                removed += 1
        return removed


@functools.cache
def _record_fields(cls: type) -> tuple[frozenset[str], frozenset[str]]:
    hints = get_type_hints(cls)
    stamps = frozenset(n for n, t in hints.items() if "datetime" in str(t))
    return frozenset(f.name for f in dataclasses.fields(cls)), stamps  # type: ignore[arg-type]


def record_from_row(cls: type[T], row: dict[str, Any]) -> T:
    """A row of a run file rebuilt as ``cls`` (unknown keys dropped, ISO datetimes parsed)."""
    names, stamp_fields = _record_fields(cls)
    kwargs = {k: v for k, v in row.items() if k in names}
    for key in stamp_fields:
        if isinstance(kwargs.get(key), str):
            kwargs[key] = datetime.fromisoformat(kwargs[key])
    return cls(**kwargs)


def as_line(row: Any) -> str:
    """One row (a record or a dict) as the JSON text of a run-file line, without the newline.

    orjson writes records (dataclasses, datetimes as ISO 8601) itself, in a tenth of the
    time of ``json``; ``_default`` takes what it does not know (sets)."""
    return orjson.dumps(row, default=_default).decode()


class RowWriters:
    """The open files of ``RunFiles.writing``: ``write`` one row or ``write_all`` rows to a
    file by its name; ``counts`` says how many rows each file got."""

    def __init__(self, handles: dict[str, TextIO]) -> None:
        self._handles = handles
        self.counts = dict.fromkeys(handles, 0)

    def write(self, name: str, row: Any) -> None:
        self.write_lines(name, [as_line(row)])

    def write_all(self, name: str, rows: Iterable[Any]) -> None:
        for row in rows:
            self.write(name, row)

    def write_lines(self, name: str, lines: list[str]) -> None:
        """Rows already turned into JSON text by ``as_line`` (e.g. in a worker process)."""
        fh = self._handles[name]
        for line in lines:
            fh.write(line)
            fh.write("\n")
        self.counts[name] += len(lines)
