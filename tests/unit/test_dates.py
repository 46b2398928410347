"""Honest dates: where an article's date came from, how sure we are, what is implausible."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extractors.dates import article_dates, url_date

FETCHED = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
ENTRY = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
PLAIN_URL = "https://www.dawn.com/news/1950001/iran-pakistan-talks"


def test_page_date_agreeing_with_the_feed_entry_is_high_and_takes_its_time() -> None:
    d = article_dates("2026-11-27", ENTRY, url=PLAIN_URL, fetched_at=FETCHED)
    assert (d.published_at, d.date_source, d.date_confidence, d.date_flag) == (
        ENTRY,
        "page_metadata",
        "high",
        None,
    )


def test_page_date_alone_is_medium_and_disagreeing_sources_keep_the_page() -> None:
    alone = article_dates("2026-11-20", None, url=PLAIN_URL, fetched_at=FETCHED)
    assert (alone.date_source, alone.date_confidence) == ("page_metadata", "medium")
    assert alone.published_at == datetime(2026, 11, 20, tzinfo=UTC)
    disagree = article_dates("2026-11-20", ENTRY, url=PLAIN_URL, fetched_at=FETCHED)
    assert (disagree.date_source, disagree.date_confidence) == ("page_metadata", "medium")


def test_feed_entry_then_url_then_fetch_time() -> None:
    entry = article_dates(None, ENTRY, url=PLAIN_URL, fetched_at=FETCHED)
    assert (entry.published_at, entry.date_source, entry.date_confidence) == (
        ENTRY,
        "feed_entry",
        "medium",
    )
    dated_url = "https://tribune.com.pk/story/2026/11/27/border-reopens"
    both = article_dates(None, ENTRY, url=dated_url, fetched_at=FETCHED)
    assert (both.date_source, both.date_confidence) == ("feed_entry", "high")
    url_only = article_dates(None, None, url=dated_url, fetched_at=FETCHED)
    assert (url_only.date_source, url_only.published_at) == (
        "url",
        datetime(2026, 11, 27, tzinfo=UTC),
    )
    none = article_dates(None, None, url=PLAIN_URL, fetched_at=FETCHED)
    assert (none.published_at, none.date_source, none.date_confidence, none.date_flag) == (
        None,
        "fetch_time",
        "low",
        None,
    )


def test_future_and_pre_founding_dates_are_flagged_unless_a_plausible_one_exists() -> None:
    future = article_dates("2027-03-01", None, url=PLAIN_URL, fetched_at=FETCHED)
    assert (future.date_flag, future.date_confidence) == ("future", "low")
    assert future.published_at == datetime(2027, 3, 1, tzinfo=UTC)  # the claim is kept
    # a few hours ahead is clock skew, not the future
    skew = article_dates("2026-11-29", None, url=PLAIN_URL, fetched_at=FETCHED)
    assert skew.date_flag is None
    old = article_dates("1990-05-01", None, url=PLAIN_URL, fetched_at=FETCHED)
    assert old.date_flag == "before_founded"
    founded = article_dates("2005-05-01", None, url=PLAIN_URL, fetched_at=FETCHED, founded=2010)
    assert founded.date_flag == "before_founded"
    # an impossible page date with a good feed entry: the entry is used, not flagged
    fallback = article_dates("2031-01-01", ENTRY, url=PLAIN_URL, fetched_at=FETCHED)
    assert (fallback.published_at, fallback.date_source, fallback.date_flag) == (
        ENTRY,
        "feed_entry",
        None,
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/2026/11/28/x", datetime(2026, 11, 28, tzinfo=UTC)),
        ("https://a.example/news/2026-01-05-border", datetime(2026, 1, 5, tzinfo=UTC)),
        ("https://a.example/2026/02/31/x", None),
        ("https://a.example/news/1950001", None),
        ("https://a.example/x?d=2026/11/28", None),
    ],
)
def test_url_dates(url: str, expected: datetime | None) -> None:
    assert url_date(url) == expected
