"""Honest dates: where an article's date came from, how sure we are, and whether it is
plausible at all.  Pure functions; ``extractors/extract.py`` calls ``date_fields`` where
it builds an ``Article``.

Candidates, best first:

- ``page_metadata``: the page's own date (trafilatura/htmldate: meta tags, JSON-LD,
  ``<time>``), or a seed manifest's date.  A date-only page date that falls on the same
  day as the feed entry's time takes the entry's time of day;
- ``feed_entry``: the feed entry's published/updated time;
- ``url``: a date in the URL path (``/2026/11/28/``, ``/2026-11-28/``).

The first *plausible* candidate wins.  A candidate is implausible when it lies in the
future -- more than ``MAX_CLOCK_SKEW`` after the fetch -- or before the outlet existed
(its source's ``founded`` year, else ``FLOOR_YEAR``).  With no candidate at all the
article has no ``published_at`` and ``date_source`` is ``fetch_time`` (reports fall
back to ``fetched_at``).

``date_confidence``:

- ``high``: the chosen date agrees (within ``AGREE_WITHIN``) with a second, independent
  candidate (page and feed, page and URL, feed and URL);
- ``medium``: one candidate only, or candidates that disagree (the best one is kept);
- ``low``: a fetch-time fallback, or a flagged date.

``date_flag``: ``future`` or ``before_founded`` when every candidate is implausible (the
best one is stored, flagged, so an analyst can see what the page claimed); else None.

Trend views count only *trusted* dates: ``date_source <> 'fetch_time'`` and no
``date_flag`` (``stg_articles.date_trusted``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

MAX_CLOCK_SKEW = timedelta(days=1)  # a page may be dated a little ahead (time zones)
FLOOR_YEAR = 1995  # no outlet in our feeds published on the web before this
AGREE_WITHIN = timedelta(days=1)

SOURCES = ("page_metadata", "feed_entry", "url", "fetch_time")
CONFIDENCES = ("high", "medium", "low")
FLAGS = ("future", "before_founded")

_URL_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})[/_-](0?[1-9]|1[0-2])[/_-](0?[1-9]|[12]\d|3[01])(?!\d)"
)


@dataclass(frozen=True)
class ArticleDates:
    """The date fields of an ``Article``."""

    published_at: datetime | None
    date_source: str  # one of SOURCES
    date_confidence: str  # one of CONFIDENCES
    date_flag: str | None = None  # one of FLAGS, or None


def url_date(url: str) -> datetime | None:
    """The date in a URL's path (midnight UTC), or None."""
    match = _URL_DATE.search(url.split("?", 1)[0])
    if not match:
        return None
    try:
        return datetime(*(int(g) for g in match.groups()), tzinfo=UTC)
    except ValueError:  # 2026/02/31
        return None


def _page_time(page_date: str | datetime | None, entry_time: datetime | None):
    if isinstance(page_date, datetime):
        return page_date if page_date.tzinfo else page_date.replace(tzinfo=UTC)
    if not page_date:
        return None
    try:
        day = datetime.strptime(page_date[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    if entry_time is not None and entry_time.astimezone(UTC).date() == day.date():
        return entry_time.astimezone(UTC)
    return day


def problem(when: datetime, fetched_at: datetime, founded: int | None = None) -> str | None:
    """Why ``when`` cannot be a publication time ('future', 'before_founded'), or None."""
    if when > fetched_at + MAX_CLOCK_SKEW:
        return "future"
    floor = datetime.combine(date(founded or FLOOR_YEAR, 1, 1), datetime.min.time(), UTC)
    if when < floor:
        return "before_founded"
    return None


def article_dates(
    page_date: str | datetime | None,
    entry_time: datetime | None,
    *,
    url: str,
    fetched_at: datetime,
    founded: int | None = None,
) -> ArticleDates:
    """The article's publication time with its source, confidence and flag (see the
    module docstring)."""
    entry = entry_time.astimezone(UTC) if entry_time is not None else None
    candidates = [
        (source, when)
        for source, when in (
            ("page_metadata", _page_time(page_date, entry_time)),
            ("feed_entry", entry),
            ("url", url_date(url)),
        )
        if when is not None
    ]
    if not candidates:
        return ArticleDates(None, "fetch_time", "low")
    fetched = fetched_at.astimezone(UTC)
    plausible = [(s, w) for s, w in candidates if problem(w, fetched, founded) is None]
    if not plausible:
        source, when = candidates[0]
        return ArticleDates(when, source, "low", problem(when, fetched, founded))
    source, when = plausible[0]
    agrees = any(other != source and abs(w - when) <= AGREE_WITHIN for other, w in plausible[1:])
    return ArticleDates(when, source, "high" if agrees else "medium")


def date_fields(
    page_date: str | datetime | None,
    entry_time: datetime | None,
    *,
    url: str,
    fetched_at: datetime,
    founded: int | None = None,
) -> dict[str, Any]:
    """``article_dates`` as keyword arguments for ``Article``."""
    return asdict(
        article_dates(page_date, entry_time, url=url, fetched_at=fetched_at, founded=founded)
    )
