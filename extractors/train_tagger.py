"""Train the tagger's learned decision layer (``make train-tagger``; extractors/learned.py).

Reads the labelled dev set (``seeds/devset``), keeps the ``tune`` items only (``check``
items are never trained on: they stay the honest estimate), runs the watch's rules on each
(``tagger.model_features``) and fits, by L2-regularised logistic regression (L-BFGS):

- "is the article about the relation" over the rules' relevance figures and the article's
  text terms;
- per category, "is the article about it" over the rules' figures for the category and the
  text terms;
- the tone label (cooperation, conflict, mixed, neutral) over the rules' tone figures and
  the text terms, on the items labelled relevant;

each on the items of some relevance by the rules (``tagger.MODEL_RELEVANCE_FLOOR``).

Text terms seen in fewer than MIN_DOCUMENTS training items are left out.  The model is
written to the watch's ``[model] file`` (``--out`` elsewhere); ``--folds N`` instead prints
N-fold cross-validated scores of the model against the rules alone on the same items.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tomllib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit

from dyadwatch.watch import Watch, load_watch, model_path
from extractors.eval_tagger import DEVSET_DIR, WATCH_FILE, load_devset, score
from extractors.learned import (
    CATEGORY_FEATURES,
    MODEL_FORMAT,
    RELEVANCE_FEATURES,
    RELEVANT_AT,
    TONE_FEATURES,
    TONE_LABELS,
    TaggerModel,
    model_from_dict,
    model_to_json,
)
from extractors.tagger import ModelInputs, model_features, tag_json_item

log = logging.getLogger(__name__)

# inverse regularisation of the text-term weights (scikit-learn's C); the rules' figures
# are regularised RULE_FEATURE_EASE times less: they are few and carry most of the signal
C_TEXT = 1.0
RULE_FEATURE_EASE = 9.0
# a category is a topic at this probability (chosen by 5-fold cross-validation on the 2,044
# tune items: micro-F1 0.873 at 0.45, 0.877 at 0.3, 0.876 at 0.25)
THRESHOLD = 0.3
MIN_DOCUMENTS = 2
# text-term weights are stored as integers in units of 1/TEXT_SCALE: smaller ones (under
# 0.005 -- they moved no decision of the held-out rounds) are 0
TEXT_SCALE = 100
DECIMALS = 4


@dataclasses.dataclass
class Example:
    """One training item: the learned layer's inputs and the item's labels."""

    item_id: str
    inputs: ModelInputs
    categories: set[str]
    relevant: bool
    tone: str


def examples(items: Sequence[dict[str, Any]], watch: Watch) -> list[Example]:
    """The items the learned layer is asked about (of MODEL_RELEVANCE_FLOOR or more by the
    rules of ``watch``), with their model inputs."""
    rules = dataclasses.replace(watch, model=None)
    found = []
    for item in items:
        inputs = model_features(item.get("title"), item["text"], rules)
        if inputs is not None:
            found.append(
                Example(item["id"], inputs, set(item["categories"]), item["relevant"], item["tone"])
            )
    return found


def _logistic(
    x: sparse.csr_matrix, y: np.ndarray, penalty: np.ndarray, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (features, classes) and biases (classes,) minimising the log loss plus
    ``0.5 * sum(penalty * w**2)``; ``classes == 1``: binary ``y`` in {0, 1}, else softmax
    over ``y`` in 0..classes-1."""
    n, d = x.shape
    k = classes
    if k == 1:
        target = y.astype(np.float64).reshape(-1, 1)
    else:
        target = np.zeros((n, k))
        target[np.arange(n), y] = 1.0
    pen = penalty.reshape(-1, 1)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * k].reshape(d, k)
        b = theta[d * k :]
        z = x @ w + b
        if k == 1:
            p = expit(z)
            value = np.logaddexp(0.0, z) - target * z
            total = float(value.sum())
        else:
            z = z - z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            p = np.exp(logp)
            total = float(-(target * logp).sum())
        residual = p - target
        grad_w = x.T @ residual + pen * w
        total += 0.5 * float((pen * w * w).sum())
        return total, np.concatenate([np.asarray(grad_w).ravel(), residual.sum(axis=0)])

    theta0 = np.zeros(d * k + k)
    result = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    return result.x[: d * k].reshape(d, k), result.x[d * k :]


def _penalty(n_rule: int, n_terms: int) -> np.ndarray:
    """The L2 penalty of each weight: the rules' figures first, then the text terms."""
    return np.concatenate(
        [np.full(n_rule, 1.0 / (C_TEXT * RULE_FEATURE_EASE)), np.full(n_terms, 1.0 / C_TEXT)]
    )


def fit(train: Sequence[Example], categories: Sequence[str]) -> dict[str, Any]:
    """A model (the file's dict) fitted on ``train``."""
    cats = list(categories)
    document_frequency = Counter(term for ex in train for term in ex.inputs.terms)
    terms = sorted(t for t, n in document_frequency.items() if n >= MIN_DOCUMENTS)
    column = {t: i for i, t in enumerate(terms)}
    rows, cols = [], []
    for i, ex in enumerate(train):
        hit = [column[t] for t in ex.inputs.terms if t in column]
        rows += [i] * len(hit)
        cols += hit
    text = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(train), len(terms)))
    n_rule = len(CATEGORY_FEATURES)
    penalty = _penalty(n_rule, len(terms))
    text_weights = np.zeros((len(terms), len(cats) + len(TONE_LABELS) + 1))
    category_weights, category_bias = [], []
    for k, category in enumerate(cats):
        index = [ex.inputs.categories.index(category) for ex in train]
        rule = np.array(
            [ex.inputs.category_features[i] for ex, i in zip(train, index, strict=True)]
        )
        x = sparse.hstack([sparse.csr_matrix(rule), text]).tocsr()
        y = np.array([category in ex.categories for ex in train], dtype=np.int64)
        w, b = _logistic(x, y, penalty, 1)
        category_weights.append(w[:n_rule, 0])
        category_bias.append(b[0])
        text_weights[:, k] = w[n_rule:, 0]
    toned = [i for i, ex in enumerate(train) if ex.relevant]
    n_tone = len(TONE_FEATURES)
    x = sparse.hstack(
        [
            sparse.csr_matrix(np.array([train[i].inputs.tone_features for i in toned])),
            text[toned],
        ]
    ).tocsr()
    y = np.array([TONE_LABELS.index(train[i].tone) for i in toned])
    w, b = _logistic(x, y, _penalty(n_tone, len(terms)), len(TONE_LABELS))
    text_weights[:, len(cats) : len(cats) + len(TONE_LABELS)] = w[n_tone:]
    n_relevance = len(RELEVANCE_FEATURES)
    x = sparse.hstack(
        [sparse.csr_matrix(np.array([ex.inputs.relevance_features for ex in train])), text]
    ).tocsr()
    y = np.array([ex.relevant for ex in train], dtype=np.int64)
    rw, rb = _logistic(x, y, _penalty(n_relevance, len(terms)), 1)
    text_weights[:, -1] = rw[n_relevance:, 0]
    # weights in units of 1/TEXT_SCALE; smaller ones are 0, and a term of only 0s is left out
    units = np.rint(text_weights * TEXT_SCALE).astype(np.int64)
    keep = np.abs(units).max(axis=1) > 0
    return {
        "format": MODEL_FORMAT,
        "categories": cats,
        "category_features": list(CATEGORY_FEATURES),
        "tone_features": list(TONE_FEATURES),
        "threshold": THRESHOLD,
        "category_bias": np.round(category_bias, DECIMALS).tolist(),
        "category_weights": np.round(category_weights, DECIMALS).tolist(),
        "tone_bias": np.round(b, DECIMALS).tolist(),
        "tone_weights": np.round(w[:n_tone].T, DECIMALS).tolist(),
        "relevance_features": list(RELEVANCE_FEATURES),
        "relevance_bias": round(float(rb[0]), DECIMALS),
        "relevance_weights": np.round(rw[:n_relevance, 0], DECIMALS).tolist(),
        "text_scale": TEXT_SCALE,
        "text": {t: row.tolist() for t, row, k in zip(terms, units, keep, strict=True) if k},
        "trained_on": {
            "items": len(train),
            "c_text": C_TEXT,
            "rule_feature_ease": RULE_FEATURE_EASE,
            "min_documents": MIN_DOCUMENTS,
        },
    }


def predict(model: TaggerModel, ex: Example) -> tuple[bool, list[str], str]:
    """Relevant?, the categories and the tone label ``model`` gives an example (as
    ``tag_article`` does)."""
    inputs = ex.inputs
    text_scores = model.text_scores(inputs.terms)
    if model.relevance(inputs.relevance_features, text_scores) < RELEVANT_AT:
        return False, [], "neutral"
    order = [inputs.categories.index(c) for c in model.categories]
    topics = model.topics(inputs.category_features[order], text_scores)
    return True, sorted(topics), model.tone_label(inputs.tone_features, text_scores)


def cross_validate(
    items: Sequence[dict[str, Any]], watch: Watch, folds: int, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """``folds``-fold cross-validated scores of the learned layer and of the rules alone."""
    rules = dataclasses.replace(watch, model=None)
    cats = sorted(watch.categories)
    baseline = [tag_json_item(item, rules) for item in items]
    found = {ex.item_id: ex for ex in examples(items, watch)}
    order = np.random.default_rng(seed).permutation(len(items))
    learned = [dict(out) for out in baseline]
    for f in range(folds):
        test = {int(i) for i in order[f::folds]}
        train = [
            found[items[i]["id"]]
            for i in range(len(items))
            if i not in test and items[i]["id"] in found
        ]
        model = model_from_dict(fit(train, cats), cats)
        for i in test:
            ex = found.get(items[i]["id"])
            if ex is not None:
                out = learned[i]
                out["relevant"], out["categories"], out["tone"] = predict(model, ex)
    return {"rules": score(items, baseline, cats), "learned": score(items, learned, cats)}


def train(items: Sequence[dict[str, Any]], watch: Watch) -> dict[str, Any]:
    """The model (the file's dict) trained on the ``tune`` items of ``items``."""
    tune = [item for item in items if item["split"] == "tune"]
    return fit(examples(tune, watch), sorted(watch.categories))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=DEVSET_DIR)
    parser.add_argument("--watch", type=Path, default=WATCH_FILE)
    parser.add_argument("--out", type=Path, help="model file (default: the watch's [model] file)")
    parser.add_argument("--folds", type=int, help="print cross-validated scores instead")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    watch = load_watch(args.watch, with_model=False)
    items = load_devset(args.devset)
    tune = [item for item in items if item["split"] == "tune"]
    if args.folds:
        result = cross_validate(tune, watch, args.folds)
        print(f"{args.folds}-fold cross-validation on {len(tune)} tune items")
        print(f"{'':<18}{'rules':>8}{'learned':>9}")
        for key in ("relevance_f1", "micro_f1", "macro_f1", "tone_accuracy"):
            print(f"{key:<18}{result['rules'][key]:>8}{result['learned'][key]:>9}")
        return 0
    out = args.out or model_path(args.watch, tomllib.loads(args.watch.read_text("utf-8")))
    if out is None:
        print(f"{args.watch} names no [model] file; give --out", file=sys.stderr)
        return 2
    model = train(items, watch)
    out.write_bytes(model_to_json(model))
    print(
        f"Trained on {model['trained_on']['items']} of {len(tune)} tune items (those of some "
        f"relevance by the rules); {len(model['text'])} text terms; wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
