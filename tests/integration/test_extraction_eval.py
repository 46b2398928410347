"""CI gate: our extraction's scores on the article-extraction benchmark never fall below
the floors pinned in tests/eval/extraction_baseline.json (raise them with
``python -m extractors.evaluate --update-baseline``; that never lowers a floor), and
our path beats bare trafilatura measured in the same run."""

from __future__ import annotations

import json

import pytest

from extractors.evaluate import (
    BASELINE_FILE,
    GATED,
    check_floors,
    evaluate,
    overall,
    page_counts,
    raise_floors,
)
from tests.conftest import CORPUS, corpus_or_skip

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    corpus = corpus_or_skip(CORPUS / "extraction")
    out = tmp_path_factory.mktemp("eval")
    result = evaluate(corpus, out)
    result["_out"] = out
    return result


def test_scores_are_at_or_above_their_floors(report: dict) -> None:
    baseline = json.loads(BASELINE_FILE.read_text())
    assert set(baseline) == set(GATED)
    assert check_floors(report, baseline) == []
    assert report["ours"]["f1"] > report["bare_trafilatura"]["f1"]
    # bare trafilatura as the benchmark runs it lands near the published 0.958
    assert abs(report["trafilatura_no_comments"]["f1"] - 0.958) < 0.01


def test_report_files_are_written(report: dict) -> None:
    out = report["_out"]
    predictions = json.loads((out / "extraction-predictions.json").read_text())
    assert len(predictions) == report["pages"] == 181
    assert all(set(p) == {"articleBody"} for p in predictions.values())
    lines = (out / "extraction-pages.csv").read_text().splitlines()
    assert len(lines) == 182
    assert json.loads((out / "extraction.json").read_text())["ours"]["f1"] == report["ours"]["f1"]
    assert report["time_ratio"] > 0
    assert report["metadata_rates"]["title"] >= 0.95


def test_scoring_follows_the_benchmark() -> None:
    assert page_counts("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    tp, fp, fn = page_counts("one two three four five", "one two three four six")
    assert (tp, fp, fn) == (1 / 3, 1 / 3, 1 / 3)
    # a page with no prediction counts in recall only, as in the benchmark
    scores = overall([(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)])
    assert scores["precision"] == 1.0 and scores["recall"] == 0.5


def test_raising_floors_never_lowers_one() -> None:
    report = {"ours": {"f1": 0.5, "precision": 0.99, "recall": 0.9}}
    raised = raise_floors(report, {"f1": 0.9, "precision": 0.9, "recall": 0.9})
    assert raised["f1"] == 0.9 and raised["precision"] > 0.9 and raised["recall"] == 0.9
