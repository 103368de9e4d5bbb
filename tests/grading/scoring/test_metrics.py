import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

from grading.scoring.metrics import accuracy, macro_f1, pearson, quadratic_weighted_kappa


def test_qwk_is_one_for_perfect_agreement_and_negative_for_reversed():
    assert quadratic_weighted_kappa([0, 1, 2, 3], [0, 1, 2, 3]) == pytest.approx(1.0)
    assert quadratic_weighted_kappa([0, 1, 2, 3], [3, 2, 1, 0]) < 0


def test_qwk_matches_scikit_learn_with_quadratic_weights():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 200)
    predicted = np.clip(truth + rng.integers(-1, 2, 200), 0, 4)
    expected = cohen_kappa_score(truth, predicted, weights="quadratic")
    assert quadratic_weighted_kappa(truth, predicted) == pytest.approx(expected)


def test_qwk_uses_the_given_score_range():
    # Widening the range changes the weights' denominator, so kappa changes.
    narrow = quadratic_weighted_kappa([1, 2, 2, 3], [1, 2, 3, 3])
    wide = quadratic_weighted_kappa([1, 2, 2, 3], [1, 2, 3, 3], low=0, high=10)
    assert narrow == pytest.approx(cohen_kappa_score([1, 2, 2, 3], [1, 2, 3, 3], weights="quadratic"))
    assert wide == pytest.approx(narrow)  # weights scale uniformly; the ratio is the same
    with pytest.raises(ValueError, match="same length"):
        quadratic_weighted_kappa([1, 2], [1])


def test_macro_f1_accuracy_and_pearson():
    truth = ["a", "a", "b", "b", "c"]
    predicted = ["a", "b", "b", "b", "a"]
    # a: P 1/2 R 1/2 -> 0.5; b: P 2/3 R 1 -> 0.8; c: 0
    assert macro_f1(truth, predicted) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert accuracy(truth, predicted) == pytest.approx(0.6)
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))
