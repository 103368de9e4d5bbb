"""The scoring interface: what a scorer takes, what it returns, and what every scorer can do."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class ScoringError(ValueError):
    """Bad input to a scorer (an empty training set, a score outside its range, ...)."""


@dataclass(frozen=True)
class GradingItem:
    """One answer to score, with everything a scorer may compare it with.

    ``rubric`` holds criteria ``{"name", "points", "description"?, "levels"?}``; scores, and every
    prediction for this item, lie in ``[min_score, max_score]``.
    """

    prompt_id: str
    question: str
    reference_answers: tuple[str, ...]
    rubric: tuple[dict[str, Any], ...]
    answer: str
    min_score: float
    max_score: float
    item_id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.max_score > self.min_score:
            raise ScoringError(
                f"Item {self.item_id or self.prompt_id}: max_score {self.max_score} must be above "
                f"min_score {self.min_score}."
            )

    def clip(self, score: float) -> float:
        return float(min(self.max_score, max(self.min_score, score)))

    def fraction(self, score: float) -> float:
        """``score`` on the 0..1 scale of this item's range."""
        return (self.clip(score) - self.min_score) / (self.max_score - self.min_score)

    def from_fraction(self, fraction: float) -> float:
        return self.clip(self.min_score + fraction * (self.max_score - self.min_score))


@dataclass(frozen=True)
class CriterionResult:
    """One rubric criterion: its score, whether it was met, and the answer sentence behind it."""

    name: str
    score: float
    max_points: float
    met: bool
    evidence: str


@dataclass(frozen=True)
class ScorePrediction:
    score: float
    confidence: float
    criteria: tuple[CriterionResult, ...]


@runtime_checkable
class Scorer(Protocol):
    kind: str

    def predict(self, items: Sequence[GradingItem]) -> list[ScorePrediction]: ...

    def save(self, directory: Path) -> None: ...
