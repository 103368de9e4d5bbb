"""The cold-start scorer: a general model of how well an answer matches its question's reference
answers (or, without them, its rubric's wording), for questions it has never seen.

Its parameters (``cold_start_params.json``, beside this file) are a logistic model over the pair
features of ``features.py``, trained on the SciEntsBank training split of SemEval-2013 Task 7
(correct vs not) by ``python bench/grading_benchmarks.py fit-cold-start``; no dataset text is kept.
It predicts the share of the score range an answer earns; scores on other ranges scale linearly.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .criteria import criteria_results, rubric_references
from .features import PAIR_FEATURES, embed_items, pair_features
from .storage import scorer_write
from .types import GradingItem, ScorePrediction, ScoringError

PARAMS_FILE = Path(__file__).with_name("cold_start_params.json")


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(values, -30, 30))))


@dataclass
class ColdStartScorer:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    info: dict[str, Any]
    kind: str = "cold_start"

    def probabilities(self, items: Sequence[GradingItem]) -> np.ndarray:
        """Probability that each answer is (fully) correct."""
        if not items:
            return np.zeros(0)
        items = rubric_references(items)
        return self.probabilities_from_features(pair_features(items, embed_items(items)))

    def probabilities_from_features(self, features: np.ndarray) -> np.ndarray:
        return _sigmoid(((features - self.mean) / self.scale) @ self.coef + self.intercept)

    def predict(self, items: Sequence[GradingItem]) -> list[ScorePrediction]:
        probabilities = self.probabilities(items)
        predictions = []
        for item, probability in zip(items, probabilities, strict=True):
            fraction = float(probability)
            predictions.append(
                ScorePrediction(
                    score=item.from_fraction(fraction),
                    confidence=float(abs(2 * fraction - 1)),
                    criteria=criteria_results(item, fraction),
                )
            )
        return predictions

    def parameters(self) -> dict[str, Any]:
        return {
            "features": list(PAIR_FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "info": self.info,
        }

    def save(self, directory: Path) -> None:
        scorer_write(directory, {"kind": self.kind, "parameters": self.parameters()})

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> "ColdStartScorer":
        if list(parameters.get("features", [])) != list(PAIR_FEATURES):
            raise ScoringError("Cold-start parameters were trained on other features; refit them.")
        return cls(
            mean=np.asarray(parameters["mean"], dtype=np.float64),
            scale=np.asarray(parameters["scale"], dtype=np.float64),
            coef=np.asarray(parameters["coef"], dtype=np.float64),
            intercept=float(parameters["intercept"]),
            info=dict(parameters.get("info", {})),
        )


def cold_start_scorer() -> ColdStartScorer:
    """The general scorer with the committed parameters."""
    return ColdStartScorer.from_parameters(json.loads(PARAMS_FILE.read_text()))


def cold_start_fit(
    items: Sequence[GradingItem], scores: Sequence[float], *, regularisation: float = 1.0
) -> ColdStartScorer:
    """Fit the cold-start parameters on graded answers (of any questions)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    if len(items) != len(scores) or len(items) < 10:
        raise ScoringError("Fitting the cold-start model needs at least 10 graded answers.")
    items = rubric_references(items)
    features = pair_features(items, embed_items(items))
    fractions = np.array([item.fraction(score) for item, score in zip(items, scores, strict=True)])
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    standard = (features - mean) / scale
    # A fraction f is one positive example of weight f and one negative of weight 1 - f.
    inputs = np.vstack([standard, standard])
    targets = np.r_[np.ones(len(items)), np.zeros(len(items))]
    weights = np.r_[fractions, 1 - fractions]
    model = LogisticRegression(C=regularisation, max_iter=2000)
    model.fit(inputs, targets, sample_weight=weights)
    return ColdStartScorer(
        mean=mean,
        scale=scale,
        coef=model.coef_[0].astype(np.float64),
        intercept=float(model.intercept_[0]),
        info={"trained_answers": len(items)},
    )
