"""The scorers on the real bundled encoder, through the model runtime."""

import json
from typing import Any

import numpy as np
import pytest

from grading.scoring import (
    AssignmentScorer,
    ColdStartScorer,
    ScoringError,
    assignment_scorer_train,
    cold_start_scorer,
    scorer_load,
)
from grading.scoring.metrics import quadratic_weighted_kappa
from grading.scoring.storage import META_FILE
from tests.grading.scoring.fixtures import CORRECT, WRONG, concept_answers, item

pytestmark = pytest.mark.django_db


def test_cold_start_scores_correct_answers_above_wrong_ones_on_an_unseen_question():
    scorer = cold_start_scorer()
    predictions = scorer.predict([item(answer) for answer in (*CORRECT, *WRONG)])
    correct = [p.score for p in predictions[: len(CORRECT)]]
    wrong = [p.score for p in predictions[len(CORRECT) :]]
    assert min(correct) > max(wrong)
    assert min(correct) > 2.0 > max(wrong)  # of 0..4
    for prediction in predictions:
        assert 0 <= prediction.score <= 4
        assert 0 <= prediction.confidence <= 1
        assert len(prediction.criteria) == 2
    assert predictions[0].criteria[0].evidence == CORRECT[0]


def test_cold_start_parameters_were_fitted_not_hand_set():
    info = cold_start_scorer().info
    assert info["trained_answers"] > 1000
    assert "fit-cold-start" in info["script"]


def test_cold_start_without_references_compares_with_the_rubric():
    bare = [
        item(answer).__class__(**{**item(answer).__dict__, "reference_answers": ()})
        for answer in ("Photosynthesis uses light energy to make sugar food.", "Plants need water.")
    ]
    good, bad = cold_start_scorer().predict(bare)
    assert good.score > bad.score


def _split() -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    rows = concept_answers()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(rows))
    train, test = order[:32], order[32:]
    make = lambda index: item(rows[index][0], item_id=str(index))  # noqa: E731
    return (
        [make(i) for i in train],
        [float(rows[i][1]) for i in train],
        [make(i) for i in test],
        [rows[i][1] for i in test],
    )


def test_assignment_scorer_learns_an_assignment_from_confirmed_grades(tmp_path):
    train_items, train_scores, test_items, test_scores = _split()
    scorer = assignment_scorer_train(train_items, train_scores)
    predictions = scorer.predict(test_items)
    rounded = [round(p.score) for p in predictions]
    assert quadratic_weighted_kappa(test_scores, rounded) > 0.7
    assert all(0 <= p.score <= 4 and 0 <= p.confidence <= 1 for p in predictions)

    scorer.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / META_FILE).read_text())
    assert meta["format_version"] == 1
    assert meta["kind"] == "assignment"
    loaded = scorer_load(tmp_path / "model")
    assert isinstance(loaded, AssignmentScorer)
    again = loaded.predict(test_items)
    assert [p.score for p in again] == pytest.approx([p.score for p in predictions])
    assert [p.confidence for p in again] == pytest.approx([p.confidence for p in predictions])


def test_scores_are_clipped_to_each_items_range():
    train_items, train_scores, test_items, _ = _split()
    scorer = assignment_scorer_train(train_items, train_scores)
    narrow = [item(test.answer, max_score=1) for test in test_items]
    assert all(0 <= p.score <= 1 for p in scorer.predict(narrow))


def test_cold_start_scorer_saves_and_loads(tmp_path):
    scorer = cold_start_scorer()
    scorer.save(tmp_path / "cold")
    loaded = scorer_load(tmp_path / "cold")
    assert isinstance(loaded, ColdStartScorer)
    answers = [item(a) for a in (*CORRECT, *WRONG)]
    assert [p.score for p in loaded.predict(answers)] == pytest.approx(
        [p.score for p in scorer.predict(answers)]
    )


def test_bad_training_input_gets_a_clear_error():
    train_items, train_scores, _, _ = _split()
    with pytest.raises(ScoringError, match="at least"):
        assignment_scorer_train(train_items[:3], train_scores[:3])
    with pytest.raises(ScoringError, match="outside"):
        assignment_scorer_train(train_items, [*train_scores[:-1], 9.0])
    with pytest.raises(ScoringError, match="scores"):
        assignment_scorer_train(train_items, train_scores[:-1])


def test_loading_a_missing_or_foreign_scorer_fails_clearly(tmp_path):
    with pytest.raises(ScoringError, match="No saved scorer"):
        scorer_load(tmp_path / "nothing")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / META_FILE).write_text(json.dumps({"format_version": 99, "kind": "assignment"}))
    with pytest.raises(ScoringError, match="format version 99"):
        scorer_load(tmp_path / "old")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / META_FILE).write_text("{not json")
    with pytest.raises(ScoringError, match="unreadable"):
        scorer_load(tmp_path / "broken")
