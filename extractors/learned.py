"""The tagger's learned decision layer: is an article about the relation, which categories
are its topics, and its tone.

The rules of ``extractors.tagger`` find the evidence: relevance evidence (sentences naming
both sides, with or without a relation cue, the title, border places), and for every
sentence with a category cue a candidate signal with a score, an evidence sentence and a
tone.  Which articles are relevant, which categories are their *topics* and what their
overall tone is, the rules decide with hand-set thresholds that stopped generalising (see
``seeds/devset/README.md``).  This layer takes those decisions with logistic regressions
trained on the development set, each over the rules' own figures and the words of the
title and of the article's head (its first sentences, ``MODEL_HEAD_WORDS``):

- relevance: P(the article is about the relation) from the rules' relevance figures
  (``RELEVANCE_FEATURES``); the article is relevant at RELEVANT_AT, and P is its stored
  relevance.  Only articles the rules give some relevance (``MODEL_RELEVANCE_FLOOR``) are
  asked: a story naming one side only stays not relevant.
- one per category: P(the article is about the category) from the rules' figures for it
  (``CATEGORY_FEATURES``: the best candidate's score, how many there are, whether the rules
  kept it, a cue in the title, ...).  A category is kept at the model's threshold.  Its
  signals are the rules' candidates; a category with no cue at all gets one signal, the
  sentence of the head whose words weigh most for it (its cue: the word weighing most; its
  score: P).
- one over the four tone labels, from the rules' tone score and label and the tone words.
  The tone *score* stays the rules' (the cooperation--conflict index is drawn from it); the
  model sets only the label.

The weights live in a JSON file beside the watch (``[model] file`` in the watch file), made
by ``make train-tagger`` (``extractors.train_tagger``) from the dev set's ``tune`` items
only.  Inference needs numpy alone: one dictionary lookup for each distinct word of the
article's title and head, then a sum of the rows found.  (Pairs of adjacent words were read
as well up to tagger-10: they scored no better in cross-validation, made the vocabulary four
times larger (40,640 terms against 10,282) and reading the text more than twice as slow.)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FORMAT = 2
# the rules' figures for one category, in the order the weights expect them
CATEGORY_FEATURES = (
    "best_score",  # the best candidate signal's score (0: no candidate)
    "log_candidates",  # log(1 + candidate signals)
    "score_sum",  # the candidates' scores summed, capped at 3
    "rules_kept",  # the rules kept the category
    "rules_passing",  # the rules called it a passing mention
    "log_cues",  # log(1 + cue words of the category in the text, negated ones too)
    "in_title",  # a cue of the category in the title
    "in_lead",  # a candidate in the first sentence
    "relevance",  # the article's relevance
    "long_article",  # over LONG_ARTICLE_SENTENCES sentences
    "log_terms",  # log(1 + the article's text terms) / 5: their weights' sum grows with it
)
# the rules' tone figures
TONE_FEATURES = (
    "tone_score",  # the rules' tone score / 5
    "cooperative_part",  # max(tone score, 0) / 5
    "conflictual_part",  # min(tone score, 0) / 5
    "rules_cooperation",
    "rules_conflict",
    "rules_mixed",
    "rules_neutral",
    "log_cooperative_words",  # log(1 + the sum of positive tone words' values)
    "log_conflictual_words",  # log(1 + minus the sum of negative ones)
    "title_tone",  # the title's tone / 5 (0: none)
    "both_ways",  # strong signals of both tones
    "log_terms",  # as for the categories
)
TONE_LABELS = ("cooperation", "conflict", "mixed", "neutral")
# the rules' relevance figures
RELEVANCE_FEATURES = (
    "rules_relevance",  # the rules' relevance (0..1)
    "rules_relevant",  # the rules' yes/no
    "log_strong",  # log(1 + sentences naming both sides with a relation cue)
    "log_weak",  # log(1 + sentences naming both sides without one)
    "title",  # the title's relevance evidence (0..1)
    "both_sides",  # the article names both sides
    "log_places",  # log(1 + border places named)
    "cue_between_sides",  # a category cue in a sentence naming both sides
    "log_signals",  # log(1 + the rules' signals)
    "best_score",  # the best candidate signal's score
    "log_terms",  # as for the categories
)
# an article is relevant when P(relevant) reaches this
RELEVANT_AT = 0.5
TITLE_PREFIX = "t:"  # title words are features of their own
_WORD = re.compile(r"\w+")


class ModelError(ValueError):
    """A model file is malformed or does not fit the watch."""


def text_terms(folded: str, folded_title: str | None = None) -> set[str]:
    """The text terms of a folded (``watch.fold``) text -- its words -- and, with
    ``folded_title``, the title's words as terms of their own (``t:word``)."""
    terms = set(_WORD.findall(folded))
    if folded_title:
        terms.update([TITLE_PREFIX + w for w in _WORD.findall(folded_title)])
    return terms


@dataclass(frozen=True)
class TaggerModel:
    """A loaded model: ``vocabulary`` maps a text term to its row of ``text_weights``
    (columns: ``categories``, then ``TONE_LABELS``, then relevance)."""

    categories: tuple[str, ...]
    threshold: float
    category_bias: np.ndarray  # (K,)
    category_weights: np.ndarray  # (K, len(CATEGORY_FEATURES))
    tone_bias: np.ndarray  # (4,)
    tone_weights: np.ndarray  # (4, len(TONE_FEATURES))
    relevance_bias: float
    relevance_weights: np.ndarray  # (len(RELEVANCE_FEATURES),)
    vocabulary: dict[str, int]
    text_weights: np.ndarray  # (V, K + 4 + 1), in units of 1 / text_scale
    trained_on: dict[str, Any]
    digest: str
    text_scale: float = 1.0

    def known_rows(self, terms: set[str]) -> list[int]:
        """The rows of ``text_weights`` of those of ``terms`` the vocabulary knows."""
        return [r for r in map(self.vocabulary.get, terms) if r is not None]

    def text_scores(self, terms: set[str]) -> np.ndarray:
        """The text terms' summed weights: K category columns, 4 tone columns, relevance."""
        rows = self.known_rows(terms)
        if not rows:
            return np.zeros(self.text_weights.shape[1])
        return self.text_weights[rows].sum(axis=0) / self.text_scale

    def category_probabilities(
        self, rule_features: np.ndarray, text_scores: np.ndarray
    ) -> np.ndarray:
        """P(topic) of each of ``categories`` from their rule features (K, F)."""
        k = len(self.categories)
        z = self.category_bias + (self.category_weights * rule_features).sum(axis=1)
        z = z + text_scores[:k]
        return 1.0 / (1.0 + np.exp(-z))

    def topics(self, rule_features: np.ndarray, text_scores: np.ndarray) -> dict[str, float]:
        """The categories that are topics (P at or above ``threshold``), with their P, in the
        order of ``categories``."""
        p = self.category_probabilities(rule_features, text_scores)
        return {
            c: float(pc) for c, pc in zip(self.categories, p, strict=True) if pc >= self.threshold
        }

    def tone_label(self, tone_features: np.ndarray, text_scores: np.ndarray) -> str:
        """The most probable of TONE_LABELS."""
        k = len(self.categories)
        z = self.tone_bias + self.tone_weights @ tone_features + text_scores[k : k + 4]
        return TONE_LABELS[int(np.argmax(z))]

    def relevance(self, relevance_features: np.ndarray, text_scores: np.ndarray) -> float:
        """P(the article is about the relation)."""
        z = self.relevance_bias + float(self.relevance_weights @ relevance_features)
        return 1.0 / (1.0 + math.exp(-(z + float(text_scores[-1]))))


def log1p(x: float) -> float:
    """log(1 + x) of a count or sum, 0 for anything below 0."""
    return math.log1p(max(0.0, x))


def model_to_json(model: dict[str, Any]) -> bytes:
    """A trained model's dict as the file's bytes: the small parts first, then one line per
    text term (sorted), so that a retrained model's diff shows which words moved."""
    head = {k: v for k, v in model.items() if k != "text"}
    lines = [json.dumps(head, ensure_ascii=False, sort_keys=True)[:-1] + ', "text": {']
    terms = sorted(model["text"])
    for n, term in enumerate(terms):
        comma = "," if n < len(terms) - 1 else ""
        lines.append(
            f"{json.dumps(term, ensure_ascii=False)}: {json.dumps(model['text'][term])}{comma}"
        )
    lines.append("}}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def load_model(
    path: Path, categories: list[str] | tuple[str, ...], raw: bytes | None = None
) -> TaggerModel:
    """Load a model file made by ``extractors.train_tagger`` for a watch of ``categories``
    (``raw``: its bytes, when the caller has read them).

    Raises ``ModelError`` when it is malformed or its categories are not the watch's.
    """
    raw = Path(path).read_bytes() if raw is None else raw
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ModelError(f"{path}: not JSON ({exc})") from exc
    try:
        return model_from_dict(data, categories, hashlib.sha256(raw).hexdigest()[:10])
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from exc


def model_from_dict(
    data: dict[str, Any], categories: list[str] | tuple[str, ...], digest: str = ""
) -> TaggerModel:
    """A model from its file's dict (see ``load_model``)."""
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ModelError(f"format {found!r}, expected {MODEL_FORMAT}")
    try:
        cats = tuple(data["categories"])
        if (
            data["category_features"] != list(CATEGORY_FEATURES)
            or data["tone_features"] != list(TONE_FEATURES)
            or data["relevance_features"] != list(RELEVANCE_FEATURES)
        ):
            raise ModelError("made for other features; retrain it (make train-tagger)")
        if sorted(cats) != sorted(categories):
            raise ModelError(
                f"trained for categories {sorted(cats)}, the watch has {sorted(categories)}; "
                "retrain it on a dev set of this watch"
            )
        text = data["text"]
        terms = list(text)
        scale = float(data["text_scale"])
        units = np.array([text[t] for t in terms], dtype=np.int64)
        if units.size and np.abs(units).max() > np.iinfo(np.int16).max:
            raise ModelError("a text weight is too large for its 16-bit unit")
        model = TaggerModel(
            categories=cats,
            threshold=float(data["threshold"]),
            category_bias=np.array(data["category_bias"], dtype=np.float64),
            category_weights=np.array(data["category_weights"], dtype=np.float64),
            tone_bias=np.array(data["tone_bias"], dtype=np.float64),
            tone_weights=np.array(data["tone_weights"], dtype=np.float64),
            relevance_bias=float(data["relevance_bias"]),
            relevance_weights=np.array(data["relevance_weights"], dtype=np.float64),
            vocabulary={term: i for i, term in enumerate(terms)},
            # the file's integer units, kept as such: a small matrix stays in the CPU's cache
            text_weights=units.astype(np.int16).reshape(
                len(terms), len(cats) + len(TONE_LABELS) + 1
            ),
            text_scale=scale,
            trained_on=dict(data.get("trained_on", {})),
            digest=digest,
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"malformed model ({exc!r})") from exc
    k = len(cats)
    shapes = {
        "category_bias": (model.category_bias.shape, (k,)),
        "category_weights": (model.category_weights.shape, (k, len(CATEGORY_FEATURES))),
        "tone_bias": (model.tone_bias.shape, (len(TONE_LABELS),)),
        "tone_weights": (model.tone_weights.shape, (len(TONE_LABELS), len(TONE_FEATURES))),
        "relevance_weights": (model.relevance_weights.shape, (len(RELEVANCE_FEATURES),)),
        "text_weights": (model.text_weights.shape, (len(terms), k + len(TONE_LABELS) + 1)),
    }
    wrong = [f"{name} {got} != {want}" for name, (got, want) in shapes.items() if got != want]
    if wrong:
        raise ModelError(f"weights of the wrong shape: {'; '.join(wrong)}")
    return model
