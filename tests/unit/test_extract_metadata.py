"""``page_metadata`` finds what trafilatura's ``extract_metadata`` finds, on real pages.

``page_metadata`` runs that function's steps for the fields the pipeline keeps and skips
the ones it does not read (categories, tags, licence); here both run on the shared
extraction corpus (real news pages) and the demo snapshot's pages, and every kept field
must be equal, in both of the modes the extraction uses.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from trafilatura.metadata import extract_metadata
from trafilatura.utils import load_html

from extractors.extract import page_metadata
from tests.conftest import CORPUS, REPO, corpus_or_skip

KEPT = ("title", "author", "url", "hostname", "sitename", "date", "pagetype", "description")


def _pages(directory: Path, pattern: str) -> list[tuple[str, bytes]]:
    pages = []
    for path in sorted(directory.glob(pattern)):
        data = path.read_bytes()
        pages.append((path.name, gzip.decompress(data) if path.suffix == ".gz" else data))
    return pages


def _assert_same_metadata(pages: list[tuple[str, bytes]], extensive: bool) -> None:
    assert pages
    compared = 0
    for name, data in pages:
        url = f"https://example.org/news/{name}"
        theirs = extract_metadata(load_html(data), url, None, extensive)
        ours = page_metadata(load_html(data), url, extensive=extensive)
        for field in KEPT:
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
        compared += bool(theirs.title or theirs.date)
    assert compared >= 0.8 * len(pages)  # the pages do carry metadata to compare


@pytest.mark.parametrize("extensive", [True, False])
def test_same_metadata_as_trafilatura_on_real_news_pages(extensive: bool) -> None:
    html = corpus_or_skip(CORPUS / "extraction" / "html")
    _assert_same_metadata(_pages(html, "*.html.gz")[:120], extensive)


def test_same_metadata_as_trafilatura_on_the_snapshot_pages() -> None:
    _assert_same_metadata(_pages(REPO / "seeds" / "snapshot" / "sites", "**/*.html"), True)
