import numpy as np
import pytest
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from analytics.knowledge_tracing import (
    COLD_START,
    GUESS_SLIP_MAX,
    BktParameters,
    ParameterArrays,
    correct_probability,
    fit,
    knowledge_update,
    predict_batch,
    sequence_batch,
)

TRUE_PARAMETERS = [
    BktParameters(p_init=0.3, p_learn=0.2, p_forget=0.0, p_guess=0.2, p_slip=0.1),
    BktParameters(p_init=0.6, p_learn=0.05, p_forget=0.0, p_guess=0.1, p_slip=0.2),
]


def _simulate(parameters, students, seed):
    """Response sequences drawn from the BKT model itself, one per student and skill."""
    generator = np.random.default_rng(seed)
    sequences, skills = [], []
    for skill, truth in enumerate(parameters):
        for _ in range(students):
            known = generator.random() < truth.p_init
            responses = []
            for _ in range(generator.integers(3, 30)):
                responses.append(float(generator.random() < (1 - truth.p_slip if known else truth.p_guess)))
                known = known or generator.random() < truth.p_learn
            sequences.append(np.array(responses))
            skills.append(skill)
    return sequences, skills


def test_em_recovers_the_parameters_that_generated_the_data():
    sequences, skills = _simulate(TRUE_PARAMETERS, students=400, seed=1)
    fitted = fit(sequences, skills, skill_count=2, seed=3)
    for skill, truth in enumerate(TRUE_PARAMETERS):
        estimate = fitted.row(skill)
        assert estimate.p_init == pytest.approx(truth.p_init, abs=0.08)
        assert estimate.p_learn == pytest.approx(truth.p_learn, abs=0.05)
        assert estimate.p_guess == pytest.approx(truth.p_guess, abs=0.05)
        assert estimate.p_slip == pytest.approx(truth.p_slip, abs=0.05)


def test_fitted_model_predicts_unseen_students_well():
    train_sequences, train_skills = _simulate(TRUE_PARAMETERS, students=300, seed=1)
    test_sequences, test_skills = _simulate(TRUE_PARAMETERS, students=300, seed=2)
    fitted = fit(train_sequences, train_skills, skill_count=2)
    predicted = predict_batch(sequence_batch(test_sequences, test_skills), fitted)
    assert roc_auc_score(np.concatenate(test_sequences), predicted) > 0.75


def test_guess_and_slip_stay_bounded_on_data_that_pushes_them_up():
    generator = np.random.default_rng(0)
    noise = [generator.integers(0, 2, 20).astype(float) for _ in range(200)]
    fitted = fit(noise, [0] * 200, skill_count=1)
    assert fitted.p_guess[0] <= GUESS_SLIP_MAX
    assert fitted.p_slip[0] <= GUESS_SLIP_MAX


def test_forgetting_is_fitted_only_when_asked():
    sequences, skills = _simulate(TRUE_PARAMETERS, students=100, seed=4)
    assert fit(sequences, skills, skill_count=2, restarts=2).p_forget.tolist() == [0.0, 0.0]
    assert all(value > 0 for value in fit(sequences, skills, skill_count=2, forgetting=True).p_forget)


def test_a_prediction_uses_only_earlier_responses():
    parameters = ParameterArrays.filled(COLD_START, 1)
    base = [np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0])]
    changed = [np.array([1.0, 0.0, 0.0, 0.0]), np.array([0.0, 1.0])]
    first = predict_batch(sequence_batch(base, [0, 0]), parameters)
    second = predict_batch(sequence_batch(changed, [0, 0]), parameters)
    # Responses 0-2 of the first sequence, and the whole second sequence, come before the change.
    assert first[[0, 1, 2, 4, 5]].tolist() == second[[0, 1, 2, 4, 5]].tolist()
    assert first[3] > second[3]
    assert first[0] == pytest.approx(correct_probability(COLD_START.p_init, COLD_START))


def test_batch_predictions_match_one_response_at_a_time():
    sequences, skills = _simulate(TRUE_PARAMETERS, students=5, seed=5)
    parameters = ParameterArrays.filled(TRUE_PARAMETERS[0], 2)
    batched = predict_batch(sequence_batch(sequences, skills), parameters)
    expected = []
    for sequence in sequences:
        known = TRUE_PARAMETERS[0].p_init
        for response in sequence:
            expected.append(correct_probability(known, TRUE_PARAMETERS[0]))
            known = knowledge_update(known, response, TRUE_PARAMETERS[0])
    assert batched == pytest.approx(expected)


def test_an_empty_sequence_is_refused():
    with pytest.raises(ValueError, match="at least one response"):
        sequence_batch([np.array([1.0]), np.array([])], [0, 0])


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        sequence_batch([np.array([1.0, 2.0])], [0])
    with pytest.raises(ValueError, match=r"rows 0\.\.1"):
        fit([np.array([1.0])], [2], skill_count=2)
