"""Agreement metrics of the grading evaluations."""

from collections.abc import Sequence

import numpy as np


def quadratic_weighted_kappa(
    truth: Sequence[int] | np.ndarray,
    predicted: Sequence[int] | np.ndarray,
    *,
    low: int | None = None,
    high: int | None = None,
) -> float:
    """Cohen's kappa with quadratic weights between two integer ratings (1 = perfect agreement)."""
    truth = np.asarray(truth, dtype=int)
    predicted = np.asarray(predicted, dtype=int)
    if truth.shape != predicted.shape:
        raise ValueError("QWK needs two rating lists of the same length.")
    if not len(truth):
        return float("nan")
    low = int(min(truth.min(), predicted.min())) if low is None else low
    high = int(max(truth.max(), predicted.max())) if high is None else high
    size = high - low + 1
    observed = np.zeros((size, size))
    np.add.at(observed, (truth - low, predicted - low), 1)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(truth)
    grid = np.arange(size)
    weights = (grid[:, None] - grid[None, :]) ** 2 / max(1, (size - 1) ** 2)
    denominator = float((weights * expected).sum())
    if denominator == 0:
        return 1.0 if float((weights * observed).sum()) == 0 else 0.0
    return float(1.0 - (weights * observed).sum() / denominator)


def pearson(first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray) -> float:
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def macro_f1(truth: Sequence[object], predicted: Sequence[object]) -> float:
    labels = sorted(set(truth), key=str)
    scores = []
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p != label)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def accuracy(truth: Sequence[object], predicted: Sequence[object]) -> float:
    if not truth:
        return float("nan")
    return sum(1 for t, p in zip(truth, predicted, strict=True) if t == p) / len(truth)
