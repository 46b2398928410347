"""The tagger's learned decision layer (extractors/learned.py) and its trainer."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from dyadwatch.watch import Watch, load_watch
from extractors.eval_tagger import DEVSET_DIR, load_devset
from extractors.learned import (
    CATEGORY_FEATURES,
    RELEVANCE_FEATURES,
    TONE_FEATURES,
    TONE_LABELS,
    TaggerModel,
    load_model,
    model_from_dict,
)
from extractors.tagger import (
    MODEL_RELEVANCE_FLOOR,
    _watch_at,
    _watch_key,
    model_features,
    tag_article,
)
from extractors.train_tagger import examples, fit, main, predict, train
from tests.conftest import copy_of_watch

ROOT = Path(__file__).resolve().parents[2]
WATCH_FILE = ROOT / "seeds" / "watch.toml"
TEXT = (
    "Iran and Pakistan held talks in Islamabad on Monday, their foreign ministers said. "
    "The two sides also agreed to raise bilateral trade to $10 billion and to open two "
    "new border markets."
)


@pytest.fixture(scope="module")
def watch() -> Watch:
    return load_watch(WATCH_FILE)


@pytest.fixture(scope="module")
def rules(watch: Watch) -> Watch:
    return dataclasses.replace(watch, model=None)


def constant_model(
    watch: Watch, bias: dict[str, float], tone: str, relevance: float = 10.0
) -> TaggerModel:
    """A model that ignores its inputs: each category's bias decides it, the tone is fixed,
    and ``relevance`` is the relevance logit."""
    cats = tuple(sorted(watch.categories))
    tone_bias = np.full(len(TONE_LABELS), -10.0)
    tone_bias[TONE_LABELS.index(tone)] = 10.0
    return TaggerModel(
        categories=cats,
        threshold=0.5,
        category_bias=np.array([bias.get(c, -10.0) for c in cats]),
        category_weights=np.zeros((len(cats), len(CATEGORY_FEATURES))),
        tone_bias=tone_bias,
        tone_weights=np.zeros((len(TONE_LABELS), len(TONE_FEATURES))),
        relevance_bias=relevance,
        relevance_weights=np.zeros(len(RELEVANCE_FEATURES)),
        vocabulary={},
        text_weights=np.zeros((0, len(cats) + len(TONE_LABELS) + 1)),
        trained_on={},
        digest="test",
    )


def test_the_shipped_watch_carries_a_model_for_its_categories(watch: Watch) -> None:
    assert watch.model is not None
    assert sorted(watch.model.categories) == sorted(watch.categories)
    assert watch.model.trained_on["items"] > 500
    assert load_watch(WATCH_FILE, with_model=False).model is None


def test_the_model_decides_among_the_rules_candidates_and_sets_the_tone(rules: Watch) -> None:
    candidates = {s.category for s in tag_article("a", None, TEXT, rules).signals}
    assert {"diplomacy", "trade_economy"} <= candidates
    keep_diplomacy = constant_model(rules, {"diplomacy": 10.0, "energy": 10.0}, "conflict")
    result = tag_article("a", None, TEXT, dataclasses.replace(rules, model=keep_diplomacy))
    # diplomacy kept with its evidence; trade dropped; energy: no cue, and no word of the
    # text weighs for it, so no evidence and no signal
    assert result.categories == ["diplomacy"]
    for sig in result.signals:
        assert TEXT[sig.start : sig.end] == sig.evidence and sig.cue in sig.evidence
    assert result.tone == "conflict"
    # the tone score stays the rules' (the cooperation-conflict index is drawn from it)
    assert result.tone_score == tag_article("a", None, TEXT, rules).tone_score
    keep_none = constant_model(rules, {}, "neutral")
    result = tag_article("a", None, TEXT, dataclasses.replace(rules, model=keep_none))
    assert result.relevant and result.signals == [] and result.tone == "neutral"
    # the model's P(relevant) is the article's relevance, and decides it
    not_relevant = constant_model(rules, {"diplomacy": 10.0}, "cooperation", relevance=-1.0)
    result = tag_article("a", None, TEXT, dataclasses.replace(rules, model=not_relevant))
    assert not result.relevant and result.relevance == round(1 / (1 + np.exp(1.0)), 3)
    assert result.signals == [] and result.tone == "neutral"
    # ... above the rules' floor only: a story of one side is no story of the relation
    one_side = "Pakistan raised petrol prices by Rs5 a litre on Monday."
    result = tag_article("a", None, one_side, dataclasses.replace(rules, model=keep_none))
    assert not result.relevant and result.relevance < MODEL_RELEVANCE_FLOOR


def test_a_topic_without_a_cue_gets_the_sentence_whose_words_weigh_most(rules: Watch) -> None:
    text = TEXT + " Engineers said the zorblat would be rebuilt. The zorblat turbines hum."
    model = constant_model(rules, {"diplomacy": 10.0, "energy": 0.0}, "neutral")
    k = len(model.categories)
    weights = np.zeros((3, k + len(TONE_LABELS) + 1))
    energy = model.categories.index("energy")
    weights[:, energy] = [1.0, 0.5, 2.0]  # "zorblat", "turbines", "hum"
    model = dataclasses.replace(
        model,
        vocabulary={"zorblat": 0, "turbines": 1, "hum": 2},
        text_weights=weights,
    )
    result = tag_article("a", None, text, dataclasses.replace(rules, model=model))
    sig = next(s for s in result.signals if s.category == "energy")
    # P(energy) = sigmoid(0 + the head's words, each counted once: 1.0 + 0.5 + 2.0)
    assert sig.score == round(1 / (1 + np.exp(-3.5)), 3)
    assert sig.evidence == "The zorblat turbines hum."
    assert sig.cue == "hum" and text[sig.start : sig.end] == sig.evidence


def test_every_shipped_signal_has_its_evidence_and_cue(watch: Watch, rules: Watch) -> None:
    found_by_the_model = 0
    for item in load_devset()[::5]:
        result = tag_article(item["id"], item.get("title"), item["text"], watch)
        if not result.relevant:
            continue
        inputs = model_features(item.get("title"), item["text"], rules)
        assert inputs is not None
        best = dict(zip(inputs.categories, inputs.category_features[:, 0], strict=True))
        for sig in result.signals:
            assert item["text"][sig.start : sig.end] == sig.evidence
            assert sig.cue and sig.cue in sig.evidence
            found_by_the_model += best[sig.category] == 0
    assert found_by_the_model > 0  # some topics have no cue of the rules


def test_the_shipped_model_is_the_one_the_dev_set_trains(watch: Watch, rules: Watch) -> None:
    """Retraining on the shipped dev set and rules gives the shipped model's decisions (run
    `make train-tagger` after editing the watch's cues or the dev set)."""
    items = load_devset()
    cats = sorted(watch.categories)
    retrained = model_from_dict(train(items, rules), cats)
    same = total = 0
    for ex in examples(items, rules):
        total += 1
        same += predict(retrained, ex) == predict(watch.model, ex)
    assert total > 500
    assert same / total >= 0.99, f"only {same} of {total} decisions agree: retrain"


def test_the_file_round_trips_and_a_small_training_run_learns(tmp_path: Path) -> None:
    devset = tmp_path / "devset"
    devset.mkdir()
    for name in ("round11_blind.toml", "round12_blind.toml"):
        shutil.copy(DEVSET_DIR / name, devset / name)
    out = tmp_path / "model.json"
    assert main(["--devset", str(devset), "--out", str(out)]) == 0
    rules = load_watch(WATCH_FILE, with_model=False)
    model = load_model(out, list(rules.categories))
    items = load_devset(devset)
    again = model_from_dict(fit(examples(items, rules), sorted(rules.categories)), rules.categories)
    assert model.vocabulary == again.vocabulary
    assert np.allclose(model.text_weights, again.text_weights, atol=0.006)
    # on the items it was trained on, the layer beats the rules it reads
    labels = {item["id"]: set(item["categories"]) for item in items}
    right = rules_right = 0
    for ex in examples(items, rules):
        _, cats, _ = predict(model, ex)
        right += set(cats) == labels[ex.item_id]
        kept = ex.inputs.category_features[:, CATEGORY_FEATURES.index("rules_kept")]
        rules_cats = {c for c, k in zip(ex.inputs.categories, kept, strict=True) if k}
        rules_right += rules_cats == labels[ex.item_id]
    assert right > rules_right


def test_cross_validation_prints_both_columns(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    devset = tmp_path / "devset"
    devset.mkdir()
    shutil.copy(DEVSET_DIR / "round11_blind.toml", devset / "round11_blind.toml")
    assert main(["--devset", str(devset), "--folds", "3"]) == 0
    out = capsys.readouterr().out
    assert "3-fold cross-validation on 90 tune items" in out
    assert "micro_f1" in out and "learned" in out


def test_a_retrained_model_is_a_new_watch_for_the_tag_step(tmp_path: Path) -> None:
    watch_file = copy_of_watch(tmp_path)
    before = _watch_key(watch_file)
    version = _watch_at(*before).version
    model = tmp_path / "tagger_model.json"
    model.write_bytes(model.read_bytes() + b"\n")  # the watch file itself is unchanged
    after = _watch_key(watch_file)
    assert after[:3] == before[:3] and after != before
    assert _watch_at(*after).version != version
