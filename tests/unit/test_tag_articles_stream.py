"""The tag step writes its five run files as it goes (``RunFiles.writing``): the same
JSON lines as writing whole lists with ``RunFiles.write``, all-or-nothing on an error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dyadwatch.records import Article, Signal
from dyadwatch.settings import Settings
from dyadwatch.watch import load_watch
from extractors.runfiles import RunFiles
from extractors.tagger import tag_article, tag_articles
from tests.factories import WIRE, make_article

WHEN = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
NAMES = ("tagged_articles", "signals", "mentions", "quotes", "amounts")


def sample_articles() -> list[Article]:
    return [
        make_article("https://example.com/wire", WIRE, WHEN),
        make_article(
            "https://example.com/quote",
            '"We will not allow our soil to be used against Iran," Pakistan\'s foreign '
            "minister said in Tehran on Monday, after the two sides signed a $2 billion "
            "trade deal. Iranian guards did not close the border.",
            WHEN,
            title="Pakistan and Iran sign trade deal",
        ),
        make_article("https://example.com/other", "Football scores from the weekend.", WHEN),
    ]


def test_tag_articles_writes_what_whole_lists_would(settings: Settings) -> None:
    run_key = "stream-1"
    files = RunFiles(settings.work_dir, run_key)
    articles = sample_articles()
    files.write("articles", articles)

    summary = tag_articles(settings, run_key)

    # the same rows written the old way: every result held in lists, each file written whole
    expected = RunFiles(settings.work_dir, "expected")
    watch = load_watch(settings.watch_file)
    tagged, rows = [], {name: [] for name in NAMES[1:]}
    for article in files.records("articles", Article):
        result = tag_article(
            article.article_id, article.title, article.text, watch, language=article.language
        )
        article.relevant, article.relevance = result.relevant, result.relevance
        article.tone_score, article.tone = result.tone_score, result.tone
        article.tagger_version = result.tagger_version
        result.set_row_ids()
        tagged.append(article)
        for name in NAMES[1:]:
            rows[name].extend(getattr(result, name))
    expected.write("tagged_articles", tagged)
    for name, found in rows.items():
        expected.write(name, found)

    for name in NAMES:
        assert files.path(name).read_bytes() == expected.path(name).read_bytes(), name
    assert not list(files.dir.glob("*.tmp"))
    assert summary == {
        "articles": 3,
        "relevant": sum(a.relevant for a in tagged),
        "signals": len(rows["signals"]),
        "mentions": len(rows["mentions"]),
        "quotes": len(rows["quotes"]),
        "amounts": len(rows["amounts"]),
        "tag_processes": 1,  # three articles: no pool
    }
    assert summary["relevant"] == 2 and summary["signals"] > 0 and summary["quotes"] == 1


def test_writing_renames_every_file_at_the_end_or_none_on_an_error(tmp_path: Path) -> None:
    files = RunFiles(tmp_path, "run")
    signal = Signal("a1", "diplomacy", 0.8, 2.0, "Talks.", 0, 6, "Talks", "v1")
    with files.writing("signals", "empty") as out:
        out.write("signals", signal)
        out.write_all("signals", [{"plain": "dict", "n": 1}])
        assert not files.path("signals").exists()  # only the temporary file so far
    assert out.counts == {"signals": 2, "empty": 0}
    files.write("expected", [signal, {"plain": "dict", "n": 1}])
    assert files.path("signals").read_bytes() == files.path("expected").read_bytes()
    assert files.path("empty").read_text() == ""

    with pytest.raises(RuntimeError, match="boom"):
        with files.writing("signals", "later") as out:
            out.write("signals", {"new": True})
            raise RuntimeError("boom")
    # the earlier complete file stands; nothing half-written is left behind
    assert files.path("signals").read_bytes() == files.path("expected").read_bytes()
    assert not files.path("later").exists()
    assert not list(files.dir.glob("*.tmp"))
