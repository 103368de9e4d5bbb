"""Per-criterion results: how much of each rubric criterion an answer meets, and the evidence."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from .text import content_stems, sentences
from .types import CriterionResult, GradingItem, ScorePrediction


def criterion_text(criterion: dict[str, Any]) -> str:
    parts = [str(criterion.get("name", "")), str(criterion.get("description", ""))]
    for level in criterion.get("levels") or []:
        if isinstance(level, dict):
            parts.append(" ".join(str(level.get(key, "")) for key in ("label", "name", "description")))
        else:
            parts.append(str(level))
    return " ".join(part for part in parts if part)


def _points(criterion: dict[str, Any]) -> float:
    try:
        return max(0.0, float(criterion.get("points", 0) or 0))
    except (TypeError, ValueError):
        return 0.0


def _level_points(criterion: dict[str, Any]) -> list[float]:
    values = []
    for level in criterion.get("levels") or []:
        if isinstance(level, dict) and "points" in level:
            try:
                values.append(float(level["points"]))
            except (TypeError, ValueError):
                continue
    return sorted(values)


def _overlap(words: set[str], target: set[str]) -> float:
    return len(words & target) / max(1, len(target))


def criteria_results(item: GradingItem, fraction: float) -> tuple[CriterionResult, ...]:
    """Split an item's predicted score (``fraction`` of its range) over its rubric criteria.

    Each criterion gets the overall fraction, moved up or down by how much more or less of the
    criterion's own wording (and the reference answers') the answer covers than it covers on
    average; the criterion scores are then scaled to add up to the predicted score. The evidence
    is the answer sentence that overlaps most with the criterion and the references.
    """
    if not item.rubric:
        return ()
    answer_sentences = sentences(item.answer)
    sentence_stems = [set(content_stems(sentence)) for sentence in answer_sentences]
    answer_stems = set().union(*sentence_stems) if sentence_stems else set()
    reference_stems = set(content_stems(" ".join(item.reference_answers)))
    targets = [set(content_stems(criterion_text(criterion))) for criterion in item.rubric]
    relevance = np.array([_overlap(answer_stems, target) for target in targets])
    adjusted = np.clip(fraction + 0.5 * (relevance - relevance.mean()), 0.0, 1.0)
    points = np.array([_points(criterion) for criterion in item.rubric])
    raw = points * adjusted
    if raw.sum() > 0 and points.sum() > 0:
        raw = np.minimum(points, raw * (fraction * points.sum()) / raw.sum())
    results = []
    for index, criterion in enumerate(item.rubric):
        score = float(raw[index])
        levels = _level_points(criterion)
        if levels:
            score = min(levels, key=lambda level: abs(level - score))
        evidence = ""
        if answer_sentences:
            target = targets[index] | reference_stems
            overlaps = [_overlap(stems, target) * len(stems & target) for stems in sentence_stems]
            best = int(np.argmax(overlaps))
            if overlaps[best] > 0:
                evidence = answer_sentences[best]
        results.append(
            CriterionResult(
                name=str(criterion.get("name", f"criterion {index + 1}")),
                score=round(score, 4),
                max_points=float(points[index]),
                met=bool(points[index] > 0 and score >= 0.5 * points[index]),
                evidence=evidence,
            )
        )
    return tuple(results)


def rubric_references(items: Sequence[GradingItem]) -> list[GradingItem]:
    """Items without reference answers compare with their rubric's wording instead."""
    from dataclasses import replace

    return [
        item
        if item.reference_answers or not item.rubric
        else replace(item, reference_answers=tuple(criterion_text(c) for c in item.rubric))
        for item in items
    ]


def fraction_predictions(items: Sequence[GradingItem], fractions: Sequence[float]) -> list[ScorePrediction]:
    """Predictions of a scorer that outputs a fraction of each item's scale (the neural scorers):
    confident near a whole point of the scale, not halfway between two."""
    predictions = []
    for item, fraction in zip(items, fractions, strict=True):
        score = item.from_fraction(float(fraction))
        confidence = 1.0 - 2 * abs(score - round(score)) if item.max_score - item.min_score >= 1 else 0.5
        predictions.append(
            ScorePrediction(
                score=score, confidence=float(confidence), criteria=criteria_results(item, float(fraction))
            )
        )
    return predictions
