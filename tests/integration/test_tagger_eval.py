"""CI gate: the tagger's dev-set scores never fall below the floors pinned in
tests/eval/tagger_baseline.json (raise them with ``python -m extractors.eval_tagger
--raise-floors``; that never lowers a floor)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from dyadwatch.watch import Watch, load_watch
from extractors.eval_tagger import (
    BASELINE_FILE,
    GATED,
    WATCH_FILE,
    DevsetError,
    agreement,
    check_floors,
    evaluate,
    load_devset,
    load_second_labels,
    raise_floors,
)


@pytest.fixture(scope="module")
def watch() -> Watch:
    return load_watch(WATCH_FILE)


@pytest.fixture(scope="module")
def report(watch: Watch) -> dict:
    return evaluate(watch)


def test_devset_is_big_and_varied_enough(watch: Watch) -> None:
    items = load_devset()
    assert len(items) >= 120
    assert sum(1 for i in items if not i["relevant"]) >= 40
    languages = Counter(i["language"] for i in items)
    assert languages["ur"] >= 10 and languages["fa"] >= 10
    per_category = Counter(c for i in items for c in i["categories"])
    assert set(per_category) == set(watch.categories)
    assert min(per_category.values()) >= 4
    tones = {i["tone"] for i in items if i["relevant"]}
    assert {"cooperation", "conflict"} <= tones
    assert {i["split"] for i in items} == {"tune", "check"}


def test_scores_are_at_or_above_their_floors(report: dict) -> None:
    baseline = json.loads(BASELINE_FILE.read_text())
    assert set(baseline) == set(GATED)
    assert check_floors(report, baseline) == []


def test_raising_floors_never_lowers_one(report: dict) -> None:
    high = {key: 0.999 for key in GATED}
    assert raise_floors(report, high) == high
    low = raise_floors(report, {key: 0.0 for key in GATED})
    assert all(0.0 < low[key] <= report["all"][key] for key in GATED)


def test_a_floor_above_the_score_fails_the_gate(report: dict) -> None:
    failures = check_floors(report, {"micro_f1": report["all"]["micro_f1"] + 0.01})
    assert len(failures) == 1 and "micro_f1" in failures[0]


def test_second_annotator_agreement_is_scored_like_the_tagger(watch: Watch, tmp_path) -> None:
    items = load_devset()
    labels = load_second_labels()
    assert labels, "seeds/devset/agreement holds a second annotator's labels"
    agreed = agreement(watch, items, labels)
    assert agreed is not None and agreed["items"] == len(labels)
    # the same figures as the tagger's, on the same items
    assert set(agreed["second_annotator"]) == set(agreed["tagger"])

    # labels equal to the first annotator's agree perfectly; one changed tone does not
    first = [i for i in items if i["id"] in labels]
    copy = {i["id"]: {k: i[k] for k in ("id", "relevant", "categories", "tone")} for i in first}
    perfect = agreement(watch, items, copy)["second_annotator"]
    assert (perfect["micro_f1"], perfect["relevance_f1"], perfect["tone_accuracy"]) == (1, 1, 1)
    relevant = next(i for i in first if i["relevant"])
    copy[relevant["id"]]["tone"] = "conflict" if relevant["tone"] != "conflict" else "cooperation"
    assert agreement(watch, items, copy)["second_annotator"]["tone_accuracy"] < 1


def test_second_annotator_labels_are_checked(tmp_path) -> None:
    (tmp_path / "b.jsonl").write_text('{"id": "x", "relevant": true, "categories": []}\n')
    with pytest.raises(DevsetError, match="missing tone"):
        load_second_labels(tmp_path)
    (tmp_path / "b.jsonl").write_text(
        '{"id": "x", "relevant": true, "categories": [], "tone": "warm"}\n'
    )
    with pytest.raises(DevsetError, match="tone 'warm'"):
        load_second_labels(tmp_path)
