"""Score the signal tagger on the labelled development set (``make eval``).

The items in ``seeds/devset/*.toml`` (see its README) go through exactly the path of
``dyadwatch tag`` (``extractors.tagger.tag_json_item``) and are compared with their labels:

- relevance: accuracy, precision, recall, F1 of the yes/no decision;
- categories: per-category precision/recall/F1 over all items (an item predicted not
  relevant carries no categories), micro and macro F1;
- tone: accuracy on the items labelled relevant, in three classes — cooperation,
  conflict, and mixed-or-neutral (``tone3``).

Scores are reported for all items and for each split (``tune``: cues may be tuned on it;
``check``: never looked at while tuning), and written to ``build/eval/tagger.json``.

Human agreement: ``seeds/devset/agreement/*.jsonl`` holds a second annotator's labels
(``id``, ``relevant``, ``categories``, ``tone``) for some items, made blind to the first
annotator's.  Scored with the same figures against the first annotator's labels, they
show what the targets ask of the tagger next to what two people agree on; the tagger's
scores on the same items are printed beside them.

The CI gate (``tests/integration/test_tagger_eval.py``) compares them with the floors in
``tests/eval/tagger_baseline.json``; ``python -m extractors.eval_tagger --raise-floors``
raises floors to the current scores (minus a small margin) and never lowers one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dyadwatch.watch import Watch, load_watch
from extractors.floors import below_floors, raised_floors
from extractors.tagger import tag_json_item

REPO = Path(__file__).resolve().parents[1]
DEVSET_DIR = REPO / "seeds" / "devset"
WATCH_FILE = REPO / "seeds" / "watch.toml"
REPORT_FILE = REPO / "build" / "eval" / "tagger.json"
AGREEMENT_DIR = DEVSET_DIR / "agreement"
BASELINE_FILE = REPO / "tests" / "eval" / "tagger_baseline.json"
TONES = {"cooperation", "conflict", "mixed", "neutral"}
# the gate compares these headline figures of the check split with their floors: the learned
# layer is trained on the tune split, whose scores therefore say little
GATED = ("relevance_f1", "relevance_accuracy", "micro_f1", "macro_f1", "tone_accuracy")
GATED_SPLIT = "check"
RULES_COLUMN = "check, rules alone"
FLOOR_MARGIN = 0.01  # --raise-floors pins floors this far below the measured score


class DevsetError(ValueError):
    """A development-set file is malformed."""


def load_devset(directory: Path = DEVSET_DIR) -> list[dict[str, Any]]:
    """Every ``[[item]]`` of ``directory/*.toml``, validated, in file then item order."""
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in sorted(Path(directory).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for raw in data.get("item", []):
            where = f"{path.name}:{raw.get('id')}"
            missing = [k for k in ("id", "text", "relevant", "categories", "tone") if k not in raw]
            if missing:
                raise DevsetError(f"{where}: missing {', '.join(missing)}")
            if raw["id"] in seen:
                raise DevsetError(f"{where}: duplicate id")
            if raw["tone"] not in TONES:
                raise DevsetError(f"{where}: tone {raw['tone']!r} is not one of {sorted(TONES)}")
            if not raw["relevant"] and raw["categories"]:
                raise DevsetError(f"{where}: an irrelevant item carries no categories")
            seen.add(raw["id"])
            items.append({**raw, "split": raw.get("split", "tune"), "file": path.name})
    return items


def load_second_labels(directory: Path = AGREEMENT_DIR) -> dict[str, dict[str, Any]]:
    """A second annotator's labels by item id (``directory/*.jsonl``), validated."""
    labels: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            where = f"{path.name}:{n}"
            missing = [k for k in ("id", "relevant", "categories", "tone") if k not in row]
            if missing:
                raise DevsetError(f"{where}: missing {', '.join(missing)}")
            if row["tone"] not in TONES:
                raise DevsetError(f"{where}: tone {row['tone']!r} is not one of {sorted(TONES)}")
            labels[row["id"]] = row
    return labels


def agreement(
    watch: Watch, items: Sequence[dict[str, Any]], labels: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The second annotator's labels and the tagger's output, each scored against the
    first annotator's labels on the items both annotators labelled (None: no such item)."""
    shared = [item for item in items if item["id"] in labels]
    if not shared:
        return None
    unknown = sorted(set(labels) - {item["id"] for item in items})
    if unknown:
        raise DevsetError(f"second-annotator labels for unknown items: {unknown[:5]}")
    second = [
        {
            "relevant": bool(labels[item["id"]]["relevant"]),
            "relevance": float(bool(labels[item["id"]]["relevant"])),
            "categories": labels[item["id"]]["categories"],
            "tone": labels[item["id"]]["tone"],
            "tone_score": 0.0,
        }
        for item in shared
    ]
    tagged = [tag_json_item(item, watch) for item in shared]
    return {
        "items": len(shared),
        "second_annotator": score(shared, second, watch.categories),
        "tagger": score(shared, tagged, watch.categories),
    }


def format_agreement(result: dict[str, Any]) -> str:
    lines = [
        f"Human agreement on {result['items']} items labelled twice (seeds/devset/agreement): "
        "each scored against the first annotator",
        f"{'':<22}{'second':>9}{'tagger':>9}",
    ]
    for key in ("relevance_f1", "micro_f1", "macro_f1", "tone_accuracy"):
        row = f"{result['second_annotator'][key]:>9}{result['tagger'][key]:>9}"
        lines.append(f"{key:<22}{row}")
    return "\n".join(lines)


def tone3(tone: str) -> str:
    """The three tone classes scored: cooperation, conflict, mixed-or-neutral."""
    return tone if tone in ("cooperation", "conflict") else "mixed_neutral"


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def score(
    items: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]], categories: Iterable[str]
) -> dict[str, Any]:
    """Scores of tagger ``outputs`` against the labels of ``items`` (same order)."""
    cats = sorted(categories)
    counts = {c: [0, 0, 0] for c in cats}  # tp, fp, fn
    rel = [0, 0, 0, 0]  # tp, fp, fn, tn
    tone_ok = tone_n = 0
    errors: list[dict[str, Any]] = []
    for item, out in zip(items, outputs, strict=True):
        gold_rel, pred_rel = bool(item["relevant"]), bool(out["relevant"])
        rel[0 if gold_rel and pred_rel else 1 if pred_rel else 2 if gold_rel else 3] += 1
        gold, pred = set(item["categories"]), set(out["categories"])
        for c in cats:
            if c in gold and c in pred:
                counts[c][0] += 1
            elif c in pred:
                counts[c][1] += 1
            elif c in gold:
                counts[c][2] += 1
        tone_hit = None
        if gold_rel:
            tone_n += 1
            tone_hit = tone3(item["tone"]) == tone3(out["tone"])
            tone_ok += tone_hit
        if gold_rel != pred_rel or gold != pred or tone_hit is False:
            errors.append(
                {
                    "id": item["id"],
                    "relevant": [gold_rel, pred_rel, out["relevance"]],
                    "missed": sorted(gold - pred),
                    "extra": sorted(pred - gold),
                    "tone": [item["tone"], out["tone"], out["tone_score"]],
                }
            )
    per_category = {c: {**_prf(*counts[c]), "support": counts[c][0] + counts[c][2]} for c in cats}
    tp = sum(v[0] for v in counts.values())
    fp = sum(v[1] for v in counts.values())
    fn = sum(v[2] for v in counts.values())
    micro = _prf(tp, fp, fn)
    supported = [c for c in cats if per_category[c]["support"]]
    macro = sum(per_category[c]["f1"] for c in supported) / len(supported) if supported else 0.0
    relevance = _prf(rel[0], rel[1], rel[2])
    n = len(items)
    return {
        "items": n,
        "relevant_items": rel[0] + rel[2],
        "relevance_accuracy": round((rel[0] + rel[3]) / n, 4) if n else 0.0,
        "relevance_precision": relevance["precision"],
        "relevance_recall": relevance["recall"],
        "relevance_f1": relevance["f1"],
        "micro_precision": micro["precision"],
        "micro_recall": micro["recall"],
        "micro_f1": micro["f1"],
        "macro_f1": round(macro, 4),
        "tone_accuracy": round(tone_ok / tone_n, 4) if tone_n else 0.0,
        "per_category": per_category,
        "errors": errors,
    }


def evaluate(
    watch: Watch, items: Sequence[dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Tag the dev set and score it: ``{"all": ..., "tune": ..., "check": ...}``; with a
    learned layer, also the check split tagged by the rules alone (RULES_COLUMN)."""
    items = load_devset() if items is None else items
    outputs = [tag_json_item(item, watch) for item in items]
    report: dict[str, dict[str, Any]] = {"all": score(items, outputs, watch.categories)}
    for split in sorted({i["split"] for i in items}):
        pairs = [(i, o) for i, o in zip(items, outputs, strict=True) if i["split"] == split]
        report[split] = score([i for i, _ in pairs], [o for _, o in pairs], watch.categories)
    check = [i for i in items if i["split"] == GATED_SPLIT]
    if watch.model is not None and check:
        rules = dataclasses.replace(watch, model=None)
        outputs = [tag_json_item(item, rules) for item in check]
        report[RULES_COLUMN] = score(check, outputs, watch.categories)
    return report


def format_report(report: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    every = report["all"]
    splits = [k for k in report if k != "all"]
    lines.append(f"{'category':<24}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}")
    for cat, v in every["per_category"].items():
        lines.append(
            f"{cat:<24}{v['precision']:>7.3f}{v['recall']:>7.3f}{v['f1']:>7.3f}{v['support']:>5}"
        )
    lines.append("")
    width = max(9, *(len(k) + 2 for k in splits))
    header = f"{'':<22}{'all':>9}" + "".join(f"{k:>{width}}" for k in splits)
    lines.append(header)
    for key in (
        "items",
        "relevance_accuracy",
        "relevance_precision",
        "relevance_recall",
        "relevance_f1",
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "macro_f1",
        "tone_accuracy",
    ):
        cells = f"{report['all'][key]:>9}" + "".join(f"{report[k][key]:>{width}}" for k in splits)
        lines.append(f"{key:<22}{cells}")
    return "\n".join(lines)


def check_floors(report: dict[str, dict[str, Any]], baseline: dict[str, float]) -> list[str]:
    """Each gated figure (of the check split) below its floor, as a sentence."""
    return below_floors(report[GATED_SPLIT], baseline)


def raise_floors(report: dict[str, dict[str, Any]], baseline: dict[str, float]) -> dict[str, float]:
    """Floors raised to (score - margin) where that is higher; never lowered."""
    return raised_floors(report[GATED_SPLIT], baseline, GATED, FLOOR_MARGIN)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watch", type=Path, default=WATCH_FILE)
    parser.add_argument("--devset", type=Path, default=DEVSET_DIR)
    parser.add_argument("--out", type=Path, default=REPORT_FILE)
    parser.add_argument("--errors", action="store_true", help="list the items tagged wrong")
    parser.add_argument(
        "--raise-floors", action="store_true", help="raise (never lower) the baseline floors"
    )
    args = parser.parse_args(argv)
    watch = load_watch(args.watch)
    items = load_devset(args.devset)
    report = evaluate(watch, items)
    agreed = agreement(watch, items, load_second_labels(args.devset / "agreement"))
    print(f"Tagger {watch.version} on {report['all']['items']} dev-set items ({args.devset})")
    print(format_report(report))
    if watch.model is not None:
        print(
            f"The learned layer ({watch.model.trained_on.get('items', '?')} items) was trained "
            "on the tune split: its scores there are in-sample. The check split was never "
            "trained or tuned on; the floors gate it."
        )
    if agreed:
        print()
        print(format_agreement(agreed))
    if args.errors:
        for err in report["all"]["errors"]:
            print(json.dumps(err, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"tagger_version": watch.version, **report, "agreement": agreed},
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    print(f"Scores written to {args.out}")
    baseline = json.loads(BASELINE_FILE.read_text()) if BASELINE_FILE.exists() else {}
    if args.raise_floors:
        new = raise_floors(report, baseline)
        BASELINE_FILE.parent.mkdir(parents=True, exist_ok=True)
        BASELINE_FILE.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n")
        print(f"Floors in {BASELINE_FILE}: {new}")
        return 0
    failures = check_floors(report, baseline)
    for failure in failures:
        print(f"BELOW FLOOR: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
