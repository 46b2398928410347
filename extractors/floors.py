"""The score gate shared by the evaluations (``make eval``, ``make eval-extract``): each
gated score has a floor in a JSON baseline under ``tests/eval/``; a score below its floor
fails the run, and ``--raise-floors`` pins floors a margin below the measured scores,
never lowering one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def below_floors(scores: Mapping[str, float], baseline: Mapping[str, float]) -> list[str]:
    """Each score below its floor, as a sentence (empty: the gate passes)."""
    return [
        f"{key} {scores[key]:.4f} is below its floor {floor:.4f}"
        for key, floor in sorted(baseline.items())
        if scores[key] < floor
    ]


def raised_floors(
    scores: Mapping[str, float],
    baseline: Mapping[str, float],
    gated: Iterable[str],
    margin: float,
) -> dict[str, float]:
    """Floors raised to (score - margin) where that is higher; never lowered."""
    out = dict(baseline)
    for key in gated:
        out[key] = max(baseline.get(key, 0.0), round(scores[key] - margin, 3))
    return out
