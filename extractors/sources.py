"""The sources a run reads: the feed list (TOML) and the seed articles."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dyadwatch.records import Source, stable_id
from dyadwatch.settings import Settings


class SourceFileError(ValueError):
    """The feed list or a seed manifest is not what it should be."""


def load_feed_sources(path: Path) -> list[Source]:
    """Enabled ``[[feed]]`` entries of a feeds file, as Sources."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceFileError(f"feed list {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceFileError(f"feed list {path} is not valid TOML: {exc}") from exc
    sources = []
    for i, feed in enumerate(data.get("feed", []), start=1):
        if "url" not in feed or "outlet" not in feed:
            raise SourceFileError(f"{path}: feed #{i} needs at least 'url' and 'outlet'")
        if not feed.get("enabled", True):
            continue
        sources.append(
            Source(
                source_id=stable_id(feed["url"]),
                kind=feed.get("kind", "feed"),
                url=feed["url"],
                outlet=feed["outlet"],
                country=feed.get("country"),
                language=feed.get("language"),
                enabled=True,
                founded=int(feed["founded"]) if feed.get("founded") else None,
                title=feed.get("title"),
            )
        )
    return sources


@dataclass
class SeedArticle:
    """A seed article: its manifest plus its text, read from ``seeds/seed``."""

    source: Source
    title: str
    author: str | None
    published_at: datetime | None
    language: str | None
    text: str


def _parse_published(value: object) -> datetime | None:
    """'2021-11' (month precision), '2021-11-16' or a full ISO time, as UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_seed_articles(seed_dir: Path) -> list[SeedArticle]:
    """Every ``*.toml`` manifest in ``seed_dir`` with the text file it names."""
    seeds = []
    for manifest in sorted(seed_dir.glob("*.toml")):
        try:
            meta = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SourceFileError(f"seed manifest {manifest} is not valid TOML: {exc}") from exc
        missing = [k for k in ("title", "outlet", "url", "text_file") if k not in meta]
        if missing:
            raise SourceFileError(f"seed manifest {manifest} lacks {', '.join(missing)}")
        text_path = manifest.parent / meta["text_file"]
        if not text_path.is_file():
            raise SourceFileError(f"seed manifest {manifest} names missing {text_path.name}")
        source = Source(
            source_id=stable_id(meta["url"]),
            kind="seed",
            url=meta["url"],
            outlet=meta["outlet"],
            country=meta.get("outlet_country"),
            language=meta.get("language"),
            title=meta["title"],
        )
        seeds.append(
            SeedArticle(
                source=source,
                title=meta["title"],
                author=meta.get("author"),
                published_at=_parse_published(meta.get("published")),
                language=meta.get("language"),
                text=text_path.read_text(encoding="utf-8").strip(),
            )
        )
    return seeds


def run_sources(settings: Settings) -> list[Source]:
    """Every source this run reads: the seeds, then the enabled feeds."""
    seeds = [s.source for s in load_seed_articles(settings.seed_articles_dir)]
    return seeds + load_feed_sources(settings.sources_file)


def utcnow() -> datetime:
    return datetime.now(UTC)
