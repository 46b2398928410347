"""Tagger speed: articles of 5,000 characters tagged per second on one core.

    .venv/bin/python -m tests.bench.bench_tagger [--articles N] [--rounds R] [--profile]
                                                 [--corpus dense|news|both]

Two fixed (seeded) corpora of N articles, each cut to 5,000 characters:

- ``dense``: paragraphs of the development set and the seed article (English, Urdu and
  Persian; relevant stories and hard negatives) under one item's title -- every
  paragraph an Iran-Pakistan story, the tagger's worst case (about 270 matches, 100
  mentions and 24 signals an article);
- ``news``: real news article bodies (the ground-truth texts of ../shared/corpus/
  extraction, on every subject), with, in every second article, a dev-set relevant
  story as its first paragraph: what a feed of regional and general news gives.

The full ``tag_article`` runs (relevance, signals, mentions, tone, quotes, amounts); the
best of ``rounds`` timings (CPU time, what one core does) is reported.  The target is
1,000 articles/s/core.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import time
from pathlib import Path

from dyadwatch.watch import load_watch
from extractors.eval_tagger import load_devset
from extractors.tagger import tag_article

REPO = Path(__file__).resolve().parents[2]
BODY_CHARS = 5_000
TARGET_PER_SECOND = 1_000


def _filled(rng: random.Random, parts: list[str], pool: list[str]) -> str:
    """``parts`` and then random texts of ``pool``, one a line, cut at BODY_CHARS."""
    size = sum(len(p) for p in parts)
    while size < BODY_CHARS:
        more = rng.choice(pool)
        parts.append(more)
        size += len(more) + 1
    return "\n".join(parts)[:BODY_CHARS]


def build_corpus(n: int, seed: int = 5) -> list[tuple[str, str, str]]:
    """``n`` articles ``(id, title, text)`` of about BODY_CHARS characters each."""
    rng = random.Random(seed)
    items = load_devset()
    seed_files = sorted((REPO / "seeds" / "seed").glob("*.txt"))
    seed_texts = [p.read_text(encoding="utf-8") for p in seed_files]
    # paragraphs by (script, relevant?): a hard negative is filled with negatives' text
    pools: dict[tuple[bool, bool], list[str]] = {}
    for item in items:
        key = (item.get("language") in {"ur", "fa"}, bool(item["relevant"]))
        pools.setdefault(key, []).extend(p.strip() for p in item["text"].split("\n") if p.strip())
    seed_paragraphs = [p.strip() for t in seed_texts for p in t.split("\n\n") if len(p) > 80]
    pools[(False, True)] = pools.get((False, True), []) + seed_paragraphs
    corpus = []
    for i in range(n):
        lead = rng.choice(items)
        key = (lead.get("language") in {"ur", "fa"}, bool(lead["relevant"]))
        pool = pools.get(key) or pools[(False, True)]
        text = _filled(rng, [lead["text"]], pool)
        corpus.append((f"bench-{i}", lead.get("title") or "", text))
    return corpus


GROUND_TRUTH = REPO.parent / "shared" / "corpus" / "extraction" / "ground-truth.json"


def build_news_corpus(n: int, seed: int = 11) -> list[tuple[str, str, str]] | None:
    """``n`` articles of real news bodies, every second one led by a dev-set relevant
    story (None when ../shared/corpus is absent)."""
    if not GROUND_TRUTH.is_file():
        return None
    rng = random.Random(seed)
    bodies = [
        v["articleBody"]
        for v in json.loads(GROUND_TRUTH.read_text(encoding="utf-8")).values()
        if len(v.get("articleBody") or "") > 200
    ]
    relevant = [i for i in load_devset() if i["relevant"] and i.get("language") == "en"]
    corpus = []
    for i in range(n):
        lead = rng.choice(relevant) if i % 2 == 0 else None
        text = _filled(rng, [lead["text"]] if lead else [], bodies)
        title = lead["title"] if lead else text.split("\n", 1)[0][:100]
        corpus.append((f"news-{i}", title, text))
    return corpus


def run(
    n: int = 1_000, rounds: int = 3, profile: bool = False, corpus_name: str = "dense"
) -> float:
    watch = load_watch(REPO / "seeds" / "watch.toml")
    corpus = build_corpus(n) if corpus_name == "dense" else build_news_corpus(n)
    if corpus is None:
        print(f"tagger ({corpus_name}): skipped, {GROUND_TRUTH} is absent")
        return 0.0
    for aid, title, text in corpus[:50]:  # warm the lexicon's word cache
        tag_article(aid, title, text, watch)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for aid, title, text in corpus:
            tag_article(aid, title, text, watch)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    best = best_cpu = float("inf")
    relevant = 0
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        relevant = sum(tag_article(aid, title, text, watch).relevant for aid, title, text in corpus)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    rate = n / best
    chars = sum(len(text) for _, _, text in corpus) / n
    # CPU time: what one core does, even when other processes share the machine
    print(
        f"tagger ({corpus_name}): {rate:,.0f} articles/s on one core "
        f"({n / best_cpu:,.0f}/s of CPU time; "
        f"{n} articles of {chars:,.0f} chars, {relevant} relevant; best of {rounds}); "
        f"target {TARGET_PER_SECOND:,}/s"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--corpus", choices=["dense", "news", "both"], default="both")
    args = parser.parse_args()
    for name in ("dense", "news") if args.corpus == "both" else (args.corpus,):
        run(args.articles, args.rounds, args.profile, name)


if __name__ == "__main__":
    main()
