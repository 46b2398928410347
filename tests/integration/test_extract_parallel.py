"""The extraction and tag steps in worker processes give what they give in one process."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import pytest

from dyadwatch.records import Article
from dyadwatch.settings import Settings
from extractors import extract, parallel, stories, tagger
from extractors.pages import FetchedPage
from extractors.runfiles import RunFiles
from tests.bench.corpus import Corpus

BASE = "http://news.example"
PAGES = 12


def fetched_run(settings: Settings, run_key: str) -> RunFiles:
    """A run whose fetch step wrote PAGES generated news pages (and one empty page)."""
    files = RunFiles(settings.work_dir, run_key)
    (files.dir / "pages").mkdir(parents=True)
    corpus = Corpus(PAGES)
    rows = []
    bodies = [corpus.page(BASE, i) for i in range(PAGES)]
    bodies.insert(5, b"<html><body><nav>Home</nav></body></html>")
    urls = [corpus.page_url(BASE, i) for i in range(PAGES)]
    urls.insert(5, f"{BASE}/empty.html")
    for url, body in zip(urls, bodies, strict=True):
        name = hashlib.sha256(url.encode()).hexdigest()[:24] + ".html"
        (files.dir / "pages" / name).write_bytes(body)
        rows.append(
            FetchedPage(url, url, "src-1", f"pages/{name}", "text/html", "utf-8", None, None)
        )
    files.write("pages", (asdict(r) for r in rows))
    return files


def test_worker_processes_extract_what_one_process_does(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes = 2
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ITEMS", 2)
    one = settings.with_(extract_processes=1)
    many = settings.with_(extract_processes=processes)
    fetched_run(one, "single")
    fetched_run(many, "pooled")

    single = extract.extract_articles(one, "single")
    pooled = extract.extract_articles(many, "pooled")

    assert single["extract_processes"] == 1 and pooled["extract_processes"] == processes
    assert {k: v for k, v in single.items() if k != "extract_processes"} == {
        k: v for k, v in pooled.items() if k != "extract_processes"
    }
    assert single["extract_failed"] == 1  # the empty page, recorded, not an article

    def rows(settings: Settings, run_key: str) -> list[dict]:
        found = RunFiles(settings.work_dir, run_key).records("articles", Article)
        return [{k: v for k, v in asdict(a).items() if k != "fetched_at"} for a in found]

    a, b = rows(one, "single"), rows(many, "pooled")
    assert len(a) == PAGES + 1  # the seed article too
    assert a == b  # same articles, same order
    # the pages' articles carry their near-duplicate signature for the load
    signed = [r for r in a if r["extractor_version"] != "seed"]
    assert all(len(stories.from_hex(r["minhash"])) == stories.NUM_PERM for r in signed)


def test_worker_processes_tag_what_one_process_does(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tag step's five files are byte for byte the same from 1 or 2 processes."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ITEMS", 2)
    monkeypatch.setattr(parallel, "CHUNK", 2)  # several chunks in flight, out of step
    one = settings.with_(extract_processes=1)
    many = settings.with_(extract_processes=2)
    fetched_run(one, "single")
    extract.extract_articles(one, "single")
    articles = RunFiles(one.work_dir, "single").path("articles").read_bytes()
    pooled_files = RunFiles(many.work_dir, "pooled")
    pooled_files.dir.mkdir(parents=True)
    pooled_files.path("articles").write_bytes(articles)

    single = tagger.tag_articles(one, "single")
    pooled = tagger.tag_articles(many, "pooled")

    assert (single.pop("tag_processes"), pooled.pop("tag_processes")) == (1, 2)
    assert single == pooled and single["articles"] == PAGES + 1 and single["signals"] > 0
    for name in tagger.TAGGED_FILES:
        a = RunFiles(one.work_dir, "single").path(name).read_bytes()
        assert a == pooled_files.path(name).read_bytes(), name


def test_spawned_workers_tag_what_one_process_does(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where workers are spawned (macOS, Windows) everything they get must pickle and
    they must load the same watch file: the same files as one process."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ITEMS", 2)
    monkeypatch.setattr(parallel.sys, "platform", "darwin")  # spawn, as off Linux
    one = settings.with_(extract_processes=1)
    many = settings.with_(extract_processes=2)
    fetched_run(one, "single")
    extract.extract_articles(one, "single")
    pooled_files = RunFiles(many.work_dir, "spawned")
    pooled_files.dir.mkdir(parents=True)
    pooled_files.path("articles").write_bytes(
        RunFiles(one.work_dir, "single").path("articles").read_bytes()
    )
    assert parallel._pool_context().get_start_method() == "spawn"

    tagger.tag_articles(one, "single")
    assert tagger.tag_articles(many, "spawned")["tag_processes"] == 2
    for name in tagger.TAGGED_FILES:
        a = RunFiles(one.work_dir, "single").path(name).read_bytes()
        assert a == pooled_files.path(name).read_bytes(), name
