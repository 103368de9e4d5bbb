"""Scoring models of AI-assisted grading: the interface the grading app calls.

``cold_start_scorer()`` works on any question from its reference answers and rubric;
``assignment_scorer_train(items, scores)`` learns one assignment from its confirmed grades;
every scorer predicts a ``ScorePrediction`` (score clipped to the item's range, confidence in
0..1, per-criterion results with evidence) and saves itself to a directory that
``scorer_load`` reads back. Embeddings always come from the model runtime.
"""

from pathlib import Path

from .assignment import AssignmentScorer, assignment_scorer_train
from .cold_start import ColdStartScorer, cold_start_scorer
from .storage import scorer_read
from .types import CriterionResult, GradingItem, ScorePrediction, Scorer, ScoringError


def scorer_load(directory: Path) -> Scorer:
    """The scorer saved in ``directory``; ``ScoringError`` when it is missing or unreadable."""
    meta, arrays = scorer_read(directory)
    try:
        if meta.get("kind") == "cold_start":
            return ColdStartScorer.from_parameters(meta["parameters"])
        if meta.get("kind") == "assignment":
            return AssignmentScorer.from_saved(meta, arrays)
        if meta.get("kind") == "finetuned":
            from .finetune import FinetunedScorer

            return FinetunedScorer.load(Path(directory), meta)
        if meta.get("kind") == "neural_head":  # the fine-tuning pipeline's torch head
            from eduai.ml.training.grading_trainers import HeadScorer

            return HeadScorer.load(Path(directory))
    except OSError as error:
        raise ScoringError(f"The scorer in {directory} is unreadable: {error}") from error
    except (KeyError, TypeError, ValueError) as error:
        raise ScoringError(f"The scorer in {directory} is incomplete: {error}") from error
    raise ScoringError(f"Unknown scorer kind {meta.get('kind')!r} in {directory}.")


__all__ = [
    "AssignmentScorer",
    "ColdStartScorer",
    "CriterionResult",
    "GradingItem",
    "ScorePrediction",
    "Scorer",
    "ScoringError",
    "assignment_scorer_train",
    "cold_start_scorer",
    "scorer_load",
]
