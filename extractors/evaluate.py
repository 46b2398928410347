"""Score our text extraction on the article-extraction benchmark (``make eval-extract``).

The corpus (``../shared/corpus/extraction``: 181 real pages ``html/<id>.html.gz`` and
their human-marked bodies in ``ground-truth.json``, from scrapinghub's
article-extraction-benchmark) goes through our extraction path
(``extractors.extract.extract_text``) and, in the same run, through bare
``trafilatura.extract(html)`` with its default settings (and, for comparison with the
published figure, as the benchmark's runner calls it: ``include_comments=False``).  All are
scored as the
benchmark's ``evaluate.py`` scores: ``\\w+`` tokens (case kept), shingles of 4 tokens,
per page the multiset overlap as true/false positives and false negatives normalised to
sum to 1, precision averaged over the pages with a prediction, recall over the pages
with a ground truth, F1 from the two averages.

Writes, under ``build/eval/``:

- ``extraction-pages.csv``: one row per page (ours and bare trafilatura's P/R/F1, the
  method that won, title/date found),
- ``extraction-predictions.json``: our texts in the benchmark's prediction format,
- ``extraction.json``: overall scores, metadata rates and timing.

The CI gate (``tests/integration/test_extraction_eval.py``) compares our scores with the
floors in ``tests/eval/extraction_baseline.json``; ``--update-baseline`` raises the
floors to the current scores (minus a small margin) and never lowers one.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trafilatura

from extractors.extract import EXTRACTOR_VERSION, ExtractionResult, extract_text
from extractors.floors import below_floors, raised_floors

REPO = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO.parent / "shared" / "corpus" / "extraction"
OUT_DIR = REPO / "build" / "eval"
BASELINE_FILE = REPO / "tests" / "eval" / "extraction_baseline.json"
GATED = ("f1", "precision", "recall")
FLOOR_MARGIN = 0.005  # --update-baseline pins floors this far below the measured score

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)

TpFpFn = tuple[float, float, float]


# -- the benchmark's scoring ------------------------------------------------------------
def shingles(text: str | None, n: int = 4) -> Counter[tuple[str, ...]]:
    """The benchmark's shingles: n consecutive ``\\w+`` tokens (a shorter text is one)."""
    tokens = _TOKEN_RE.findall(text or "")
    return Counter(
        tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n]
    )


def page_counts(true: str | None, pred: str | None) -> TpFpFn:
    """True/false positives and false negatives of one page, normalised to sum to 1."""
    truth, guess = shingles(true), shingles(pred)
    tp = float(sum((truth & guess).values()))
    fp = float(sum((guess - truth).values()))
    fn = float(sum((truth - guess).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision_of(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_of(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def f1_of(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def overall(counts: Sequence[TpFpFn]) -> dict[str, float]:
    """Precision and recall averaged over pages (as the benchmark does), F1 of the two."""
    precision = statistics.mean(precision_of(*c) for c in counts if c[0] + c[1] > 0)
    recall = statistics.mean(recall_of(*c) for c in counts if c[0] + c[2] > 0)
    return {"f1": f1_of(precision, recall), "precision": precision, "recall": recall}


# -- running the extractors --------------------------------------------------------------
@dataclass
class Corpus:
    pages: dict[str, str]  # id -> html
    truth: dict[str, dict[str, Any]]  # id -> {"articleBody": ..., "url": ...}


def load_corpus(directory: Path = CORPUS_DIR) -> Corpus:
    truth = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {
        page_id: gzip.decompress((directory / "html" / f"{page_id}.html.gz").read_bytes()).decode(
            "utf-8"
        )
        for page_id in sorted(truth)
    }
    return Corpus(pages=pages, truth=truth)


def _timed(corpus: Corpus, fn: Callable[[str, str | None], Any]) -> tuple[dict[str, Any], float]:
    out: dict[str, Any] = {}
    started = time.perf_counter()
    for page_id, html in corpus.pages.items():
        out[page_id] = fn(html, corpus.truth[page_id].get("url"))
    return out, time.perf_counter() - started


def run_ours(corpus: Corpus) -> tuple[dict[str, ExtractionResult], float]:
    return _timed(corpus, lambda html, url: extract_text(html, url))


def run_bare_trafilatura(corpus: Corpus) -> tuple[dict[str, str], float]:
    return _timed(corpus, lambda html, _url: trafilatura.extract(html) or "")


def run_benchmark_trafilatura(corpus: Corpus) -> tuple[dict[str, str], float]:
    """trafilatura as the benchmark's own runner calls it (``include_comments=False``)."""
    return _timed(
        corpus, lambda html, _url: trafilatura.extract(html, include_comments=False) or ""
    )


def score_texts(corpus: Corpus, texts: dict[str, str]) -> tuple[dict[str, TpFpFn], dict]:
    counts = {
        page_id: page_counts(corpus.truth[page_id].get("articleBody", ""), texts.get(page_id))
        for page_id in corpus.truth
    }
    return counts, overall(list(counts.values()))


def evaluate(
    corpus_dir: Path = CORPUS_DIR, out_dir: Path = OUT_DIR, with_baseline: bool = True
) -> dict[str, Any]:
    """Run and score ours (and bare trafilatura); write the report files; return the report."""
    corpus = load_corpus(corpus_dir)
    results, ours_seconds = run_ours(corpus)
    ours_texts = {page_id: r.text for page_id, r in results.items()}
    ours_counts, ours_scores = score_texts(corpus, ours_texts)
    n = len(corpus.pages)
    report: dict[str, Any] = {
        "pages": n,
        "extractor_version": EXTRACTOR_VERSION,
        "trafilatura_version": trafilatura.__version__,
        "ours": {**ours_scores, "seconds_per_page": ours_seconds / n},
        "methods": dict(Counter(r.method or "none" for r in results.values())),
        "statuses": dict(Counter(r.status for r in results.values())),
        "metadata_rates": {
            field: sum(1 for r in results.values() if getattr(r, field)) / n
            for field in ("title", "date", "author", "site_name", "language", "canonical_url")
        },
        "languages": dict(Counter(r.language or "none" for r in results.values())),
    }
    bare_counts: dict[str, TpFpFn] = {}
    if with_baseline:
        bare_texts, bare_seconds = run_bare_trafilatura(corpus)
        bare_counts, bare_scores = score_texts(corpus, bare_texts)
        report["bare_trafilatura"] = {**bare_scores, "seconds_per_page": bare_seconds / n}
        report["time_ratio"] = ours_seconds / bare_seconds if bare_seconds else None
        bench_texts, bench_seconds = run_benchmark_trafilatura(corpus)
        _counts, bench_scores = score_texts(corpus, bench_texts)
        report["trafilatura_no_comments"] = {**bench_scores, "seconds_per_page": bench_seconds / n}
    write_outputs(out_dir, report, results, ours_counts, bare_counts)
    return report


def write_outputs(
    out_dir: Path,
    report: dict[str, Any],
    results: dict[str, ExtractionResult],
    ours_counts: dict[str, TpFpFn],
    bare_counts: dict[str, TpFpFn],
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "extraction.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    predictions = {page_id: {"articleBody": r.text} for page_id, r in results.items()}
    (out_dir / "extraction-predictions.json").write_text(
        json.dumps(predictions, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    )
    with (out_dir / "extraction-pages.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["id", "precision", "recall", "f1", "bare_precision", "bare_recall", "bare_f1"]
            + ["method", "status", "language", "title_found", "date_found", "date", "title"]
        )
        for page_id, result in results.items():
            p, r = precision_of(*ours_counts[page_id]), recall_of(*ours_counts[page_id])
            bare = bare_counts.get(page_id)
            bare_cells = ["", "", ""]
            if bare is not None:
                bp, br = precision_of(*bare), recall_of(*bare)
                bare_cells = [f"{bp:.4f}", f"{br:.4f}", f"{f1_of(bp, br):.4f}"]
            writer.writerow(
                [page_id, f"{p:.4f}", f"{r:.4f}", f"{f1_of(p, r):.4f}", *bare_cells]
                + [result.method, result.status, result.language]
                + [int(bool(result.title)), int(bool(result.date)), result.date, result.title]
            )


def format_report(report: dict[str, Any]) -> str:
    lines = [f"Extraction on {report['pages']} benchmark pages ({report['extractor_version']})"]
    lines.append(f"{'':20s} {'F1':>7s} {'prec':>7s} {'recall':>7s} {'s/page':>8s}")
    for name in ("ours", "bare_trafilatura", "trafilatura_no_comments"):
        if name in report:
            s = report[name]
            lines.append(
                f"{name:20s} {s['f1']:7.4f} {s['precision']:7.4f} {s['recall']:7.4f} "
                f"{s['seconds_per_page']:8.4f}"
            )
    if report.get("time_ratio"):
        lines.append(
            f"our time per page is {report['time_ratio']:.2f}x bare trafilatura's on the same pages"
        )
    rates = report["metadata_rates"]
    lines.append(
        "metadata found: " + ", ".join(f"{field} {rate:.1%}" for field, rate in rates.items())
    )
    lines.append(f"methods: {report['methods']}; statuses: {report['statuses']}")
    return "\n".join(lines)


# -- the gate ----------------------------------------------------------------------------
def check_floors(report: dict[str, Any], baseline: dict[str, float]) -> list[str]:
    """Messages for each of our scores below its floor (empty: all at or above)."""
    return below_floors(report["ours"], baseline)


def raise_floors(report: dict[str, Any], baseline: dict[str, float]) -> dict[str, float]:
    """Floors raised to the current scores minus the margin; a floor is never lowered."""
    return raised_floors(report["ours"], baseline, GATED, FLOOR_MARGIN)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--update-baseline",
        "--raise-floors",
        action="store_true",
        help="raise (never lower) the floors in tests/eval/extraction_baseline.json",
    )
    parser.add_argument(
        "--ours-only", action="store_true", help="skip the bare-trafilatura baseline run"
    )
    args = parser.parse_args(argv)
    if not (args.corpus / "ground-truth.json").is_file():
        print(f"no extraction corpus at {args.corpus}", file=sys.stderr)
        return 2
    report = evaluate(args.corpus, args.out, with_baseline=not args.ours_only)
    print(format_report(report))
    print(f"wrote {args.out}/extraction.json, extraction-pages.csv, extraction-predictions.json")
    baseline = json.loads(BASELINE_FILE.read_text()) if BASELINE_FILE.exists() else {}
    if args.update_baseline:
        new = raise_floors(report, baseline)
        BASELINE_FILE.parent.mkdir(parents=True, exist_ok=True)
        BASELINE_FILE.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n")
        print(f"floors now {new} ({BASELINE_FILE})")
        baseline = new
    failures = check_floors(report, baseline)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
