"""Next-response correctness of the product's BKT on a train/test pair of response logs.

Protocol (ASSISTments 2009, DKT split): fit on the train students only; for every test response,
predict P(correct) from the same student's earlier responses only; report AUC and RMSE.

The ``individualised`` variant adds what BKT alone cannot see: how this student has done so far
on every skill. A logistic regression, fitted on the train students' own (in-sample) BKT
predictions, combines logit P(BKT) with the student's smoothed running accuracy and running
surprise (observed minus BKT-predicted) over their earlier responses.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from .knowledge_tracing import COLD_START, ParameterArrays, fit, predict_batch, sequence_batch
from .response_logs import ResponseLog

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

VARIANTS = ("plain", "restarts", "forgetting", "individualised")
# Pseudo-responses of the global mean a student's running accuracy starts from.
ABILITY_PRIOR_STRENGTH = 5.0


@dataclass(frozen=True)
class Scores:
    auc: float
    rmse: float
    responses: int


@dataclass(frozen=True)
class _Fitted:
    skill_rows: dict[int, int]
    parameters: ParameterArrays


def _skill_rows(log: ResponseLog, known: dict[int, int]) -> IntArray:
    """Skill row of each response; a skill unseen in training gets the cold-start row."""
    unseen = len(known)
    return np.array([known.get(int(skill), unseen) for skill in log.skill], dtype=np.int64)


def _with_cold_start_row(parameters: ParameterArrays) -> ParameterArrays:
    cold = ParameterArrays.filled(COLD_START, 1)
    return ParameterArrays(
        *(
            np.concatenate([mine, extra])
            for mine, extra in zip(parameters.arrays(), cold.arrays(), strict=True)
        )
    )


def _sequences(log: ResponseLog, rows: IntArray) -> tuple[list[FloatArray], list[int], IntArray]:
    """Split into (student, skill) sequences in time order; also the input order they cover."""
    order = np.lexsort((np.arange(len(log)), rows, log.student))
    student, skill = log.student[order], rows[order]
    starts = np.flatnonzero(np.r_[True, (student[1:] != student[:-1]) | (skill[1:] != skill[:-1])])
    pieces = np.split(log.correct[order], starts[1:])
    return pieces, [int(skill[start]) for start in starts], order


def bkt_fit(train: ResponseLog, *, restarts: int, forgetting: bool) -> _Fitted:
    skill_rows = {int(skill): row for row, skill in enumerate(np.unique(train.skill))}
    sequences, skills, _ = _sequences(train, _skill_rows(train, skill_rows))
    parameters = fit(sequences, skills, skill_count=len(skill_rows), restarts=restarts, forgetting=forgetting)
    return _Fitted(skill_rows, _with_cold_start_row(parameters))


def bkt_predict(model: _Fitted, log: ResponseLog) -> FloatArray:
    """P(correct) of each response of the log, in the log's order, from earlier responses only."""
    sequences, skills, order = _sequences(log, _skill_rows(log, model.skill_rows))
    predicted = np.empty(len(log))
    predicted[order] = predict_batch(sequence_batch(sequences, skills), model.parameters)
    return predicted


def _running_mean_before(values: FloatArray, student: IntArray, prior: float) -> FloatArray:
    """Per response: the mean of the same student's earlier values, shrunk towards the prior."""
    totals = np.cumsum(values) - values
    counts = np.arange(len(values), dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, student[1:] != student[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(values)]))
    earlier_total = totals - totals[first]
    earlier_count = counts - counts[first]
    return (earlier_total + ABILITY_PRIOR_STRENGTH * prior) / (earlier_count + ABILITY_PRIOR_STRENGTH)


def _logit(probability: FloatArray) -> FloatArray:
    clipped = np.clip(probability, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(clipped / (1 - clipped)))


def _student_features(log: ResponseLog, predicted: FloatArray, mean_correct: float) -> FloatArray:
    ability = _running_mean_before(log.correct, log.student, mean_correct)
    surprise = _running_mean_before(log.correct - predicted, log.student, 0.0)
    return np.column_stack([_logit(predicted), _logit(ability), surprise])


def scores(correct: FloatArray, predicted: FloatArray) -> Scores:
    return Scores(
        auc=float(roc_auc_score(correct, predicted)),
        rmse=float(np.sqrt(np.mean((correct - predicted) ** 2))),
        responses=len(correct),
    )


def evaluate(train: ResponseLog, test: ResponseLog, variant: str) -> Scores:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
    restarts = 1 if variant == "plain" else 4
    forgetting = variant in {"forgetting", "individualised"}
    model = bkt_fit(train, restarts=restarts, forgetting=forgetting)
    predicted = bkt_predict(model, test)
    if variant == "individualised":
        mean_correct = float(train.correct.mean())
        combiner = LogisticRegression(C=1.0, max_iter=1000)
        combiner.fit(_student_features(train, bkt_predict(model, train), mean_correct), train.correct)
        predicted = combiner.predict_proba(_student_features(test, predicted, mean_correct))[:, 1]
    return scores(test.correct, predicted)
