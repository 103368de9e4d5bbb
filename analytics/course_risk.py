"""At-risk scoring of a course's own students from eduai's event log (numpy + scikit-learn).

Features of a student at a prediction moment T use only events before T and the course plan of
weeks that ended before T (no leakage): days since the last activity, active days and actions in
the last 14 days, the share of due assignments not submitted, the mean and last grade, the share
of planned material read, practice and tutor use.

Training without outcome labels (a running course has none): the model is fitted on the same
course one horizon (14 days) earlier. Features at T0 = T - 14 days; the label says whether the
student then struggled in [T0, T): a mean grade below 0.5, an assignment due in that window not
submitted, or no activity at all. The fitted logistic regression is applied to the features at T.
With too little history (fewer than 20 students, or fewer than 5 of either label) a prior model
with fixed weights is used instead; both are the same linear form, so the reasons are computed
the same way: each feature's contribution w_k (x_k - centre_k) / scale_k to the risk's log-odds,
the largest positive ones first.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAY = 86400.0
HORIZON_DAYS = 14
FLAG_THRESHOLD = 0.5
MIN_STUDENTS, MIN_PER_LABEL = 20, 5
STRUGGLE_GRADE = 0.5

FEATURES = (
    "days_inactive",
    "active_days_14",
    "actions_14",
    "assignments_missed_share",
    "grade_mean",
    "grade_last",
    "material_read_share",
    "practice_mean",
    "tutor_questions",
)

# Prior model: (centre, scale, weight) per feature, by hand from what instructors read as
# warning signs; risk = sigmoid(PRIOR_INTERCEPT + sum weight * (x - centre) / scale).
PRIOR = {
    "days_inactive": (3.0, 7.0, 1.0),
    "active_days_14": (4.0, 4.0, -0.7),
    "actions_14": (20.0, 20.0, -0.2),
    "assignments_missed_share": (0.1, 0.3, 1.2),
    "grade_mean": (0.7, 0.2, -1.0),
    "grade_last": (0.7, 0.25, -0.3),
    "material_read_share": (0.7, 0.3, -0.5),
    "practice_mean": (0.7, 0.2, -0.3),
    "tutor_questions": (3.0, 5.0, 0.0),
}
PRIOR_INTERCEPT = -1.5

# Verb codes of the event arrays.
VERB_CODES = {"graded": 1, "submitted": 2, "viewed": 3, "practiced": 4, "asked": 5}


@dataclass(frozen=True)
class CourseEvents:
    """A course's learner events and plan as arrays. Times are seconds since the course start."""

    learners: IntArray  # user ids, sorted
    user: IntArray
    verb: IntArray  # VERB_CODES, 0 for others
    item: IntArray  # index of the planned item the event completes, -1 for none
    score: FloatArray  # NaN when unscored
    seconds: FloatArray
    item_is_assignment: npt.NDArray[np.bool_]
    item_due: FloatArray  # end of each planned item's week, seconds since the start


def _per_student(column: IntArray, values: FloatArray, size: int) -> FloatArray:
    counts = np.bincount(column, minlength=size).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(column, weights=values, minlength=size) / counts


def _student_columns(events: CourseEvents) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Each event's learner column, and whether its user is one of the learners."""
    if events.learners.size == 0:
        return np.zeros(events.user.size, dtype=np.int64), np.zeros(events.user.size, dtype=bool)
    column = np.minimum(np.searchsorted(events.learners, events.user), events.learners.size - 1)
    return column.astype(np.int64), np.asarray(events.learners[column] == events.user)


def features_at(events: CourseEvents, moment: float) -> FloatArray:
    """One row per learner, one column per FEATURES entry, from events before ``moment`` only."""
    size = events.learners.size
    column, known = _student_columns(events)
    known = known & (events.seconds < moment)
    column, verb, item = column[known], events.verb[known], events.item[known]
    score, seconds = events.score[known], events.seconds[known]
    matrix = np.full((size, len(FEATURES)), np.nan)

    last = np.full(size, -np.inf)
    np.maximum.at(last, column, seconds)
    matrix[:, 0] = np.where(np.isfinite(last), (moment - last) / DAY, max(moment, 0) / DAY)
    recent = seconds >= moment - HORIZON_DAYS * DAY
    day_cells = np.unique(
        column[recent] * np.int64(HORIZON_DAYS + 1) + ((moment - seconds[recent]) // DAY).astype(np.int64)
    )
    matrix[:, 1] = np.bincount(day_cells // (HORIZON_DAYS + 1), minlength=size)
    matrix[:, 2] = np.bincount(column[recent], minlength=size)

    due = events.item_due <= moment
    due_assignments = due & events.item_is_assignment
    due_materials = due & ~events.item_is_assignment
    matrix[:, 3] = _done_share(
        column,
        item,
        verb,
        size,
        due_assignments,
        (VERB_CODES["submitted"], VERB_CODES["graded"]),
        missed=True,
    )
    graded = (verb == VERB_CODES["graded"]) & ~np.isnan(score)
    matrix[:, 4] = _per_student(column[graded], score[graded], size)
    order = np.argsort(seconds[graded], kind="stable")
    last_grade = np.full(size, np.nan)
    last_grade[column[graded][order]] = score[graded][order]  # later assignments overwrite earlier
    matrix[:, 5] = last_grade
    matrix[:, 6] = _done_share(column, item, verb, size, due_materials, (VERB_CODES["viewed"],), missed=False)
    practiced = (verb == VERB_CODES["practiced"]) & ~np.isnan(score)
    matrix[:, 7] = _per_student(column[practiced], score[practiced], size)
    matrix[:, 8] = np.bincount(column[verb == VERB_CODES["asked"]], minlength=size)
    return matrix


def _done_share(
    column: IntArray,
    item: IntArray,
    verb: IntArray,
    size: int,
    planned: npt.NDArray[np.bool_],
    verbs: tuple[int, ...],
    *,
    missed: bool,
) -> FloatArray:
    """Per student, the share of the planned items done (or, with ``missed``, not done); NaN
    when nothing is planned yet."""
    total = int(planned.sum())
    if total == 0:
        return np.full(size, np.nan)
    valid = (item >= 0) & np.isin(verb, verbs)
    valid[valid] = planned[item[valid]]
    pairs = np.unique(column[valid] * np.int64(planned.size) + item[valid])
    done = np.bincount(pairs // planned.size, minlength=size) / total
    return np.asarray(1 - done if missed else done, dtype=np.float64)


def struggled(events: CourseEvents, begin: float, end: float) -> npt.NDArray[np.bool_]:
    """Per learner: in [begin, end), a mean grade below 0.5, an assignment due in the window and
    not submitted by its end, or no activity at all."""
    size = events.learners.size
    column, known = _student_columns(events)
    before_end = known & (events.seconds < end)
    window = before_end & (events.seconds >= begin)
    active = np.bincount(column[window], minlength=size) > 0
    graded = window & (events.verb == VERB_CODES["graded"]) & ~np.isnan(events.score)
    grade = _per_student(column[graded], events.score[graded], size)
    due_now = events.item_is_assignment & (events.item_due > begin) & (events.item_due <= end)
    missed = np.zeros(size, dtype=bool)
    if due_now.any():
        done_verbs = (VERB_CODES["submitted"], VERB_CODES["graded"])
        share = _done_share(
            column[before_end],
            events.item[before_end],
            events.verb[before_end],
            size,
            due_now,
            done_verbs,
            missed=True,
        )
        missed = share > 0
    with np.errstate(invalid="ignore"):
        return np.asarray(~active | (grade < STRUGGLE_GRADE) | missed)


@dataclass(frozen=True)
class LinearRiskModel:
    centre: FloatArray
    scale: FloatArray
    weight: FloatArray
    intercept: float
    fill: FloatArray  # the value a missing feature takes (its centre: no contribution)
    trained: bool

    def contributions(self, matrix: FloatArray) -> FloatArray:
        filled = np.where(np.isnan(matrix), self.fill, matrix)
        return self.weight * (filled - self.centre) / self.scale

    def risks(self, matrix: FloatArray) -> FloatArray:
        logits = self.intercept + self.contributions(matrix).sum(axis=1)
        return np.asarray(1 / (1 + np.exp(-logits)), dtype=np.float64)


def prior_model() -> LinearRiskModel:
    values = np.array([PRIOR[name] for name in FEATURES])
    return LinearRiskModel(values[:, 0], values[:, 1], values[:, 2], PRIOR_INTERCEPT, values[:, 0], False)


def risk_model_fit(matrix: FloatArray, labels: npt.NDArray[np.bool_]) -> LinearRiskModel | None:
    """A logistic regression on standardised features; None when the data cannot support one."""
    positives = int(labels.sum())
    if labels.size < MIN_STUDENTS or min(positives, labels.size - positives) < MIN_PER_LABEL:
        return None
    prior = prior_model()
    empty = np.isnan(matrix).all(axis=0)
    medians = np.where(empty, prior.centre, np.nanmedian(np.where(empty, 0.0, matrix), axis=0))
    filled = np.where(np.isnan(matrix), medians, matrix)
    centre = filled.mean(axis=0)
    scale = filled.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    classifier = LogisticRegression(C=1.0, max_iter=1000)
    classifier.fit((filled - centre) / scale, labels.astype(np.int64))
    weight = np.asarray(classifier.coef_[0], dtype=np.float64)
    return LinearRiskModel(centre, scale, weight, float(classifier.intercept_[0]), medians, True)


@dataclass(frozen=True)
class RiskReason:
    feature: str
    value: float | None
    weight: float


def reasons_of(model: LinearRiskModel, matrix: FloatArray, top: int = 3) -> list[list[RiskReason]]:
    """Per student, the features raising the risk most (positive contributions), largest first."""
    contributions = model.contributions(matrix)
    result = []
    for row, contribution in zip(matrix, contributions, strict=True):
        order = [k for k in np.argsort(-contribution)[:top] if contribution[k] > 0.05]
        result.append(
            [
                RiskReason(FEATURES[k], None if math.isnan(row[k]) else float(row[k]), float(contribution[k]))
                for k in order
            ]
        )
    return result
