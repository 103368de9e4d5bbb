"""At-risk prediction: who is likely to fail a course, judged at a cutoff day, and why.

Features per enrolment use only what is known before the cutoff day: who the student is and how
they registered (known at the start), the course's assessment schedule up to the cutoff, and the
student's assessments submitted before the cutoff (scores, timeliness, counts). Anything dated on
or after the cutoff is never read, so a model judged at day 60 sees what an instructor would have
seen on day 60.

The model is scikit-learn's histogram gradient boosting. The reasons for one student's risk are
deltas: for each feature, how much the predicted risk falls when that feature alone is replaced
by a typical value of the training students (the median, or the most common category).
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]

FloatArray = npt.NDArray[np.float64]

CATEGORICAL_FEATURES = (
    "course",
    "gender",
    "region",
    "highest_education",
    "imd_band",
    "age_band",
    "disability",
)
PROFILE_NUMBERS = ("previous_attempts", "studied_credits", "registration_day")
ASSESSMENT_FEATURES = (
    "assessments_due",
    "assessments_submitted",
    "assessments_missed",
    "submitted_late",
    "score_mean",
    "score_min",
    "score_last",
    "weighted_score",
    "days_early_mean",
    "tutor_marked_mean",
    "computer_marked_mean",
)
FEATURE_NAMES = (*CATEGORICAL_FEATURES, *PROFILE_NUMBERS, *ASSESSMENT_FEATURES)


@dataclass(frozen=True)
class Assessment:
    """One assessment of a course: when it is due (None: no fixed day) and its weight in %."""

    course: str
    assessment_id: str
    kind: str  # TMA (tutor-marked) or CMA (computer-marked)
    due_day: float | None
    weight: float


@dataclass(frozen=True)
class AssessmentResult:
    assessment_id: str
    submitted_day: float
    score: float | None  # out of 100


@dataclass
class Enrolment:
    """A student in a course (one presentation of a module). Days count from the course start."""

    course: str
    student: str
    profile: dict[str, str]  # the categorical features except the course
    numbers: dict[str, float]  # PROFILE_NUMBERS; NaN when unknown
    results: list[AssessmentResult] = field(default_factory=list)
    failed: bool | None = None  # the label; None when the outcome is not known yet


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _days_early(result: AssessmentResult, schedule: dict[str, Assessment]) -> float | None:
    due_day = schedule[result.assessment_id].due_day
    return None if due_day is None else due_day - result.submitted_day


def _score_features(scored: list[tuple[float, Assessment]]) -> dict[str, float]:
    scores = [score for score, _ in scored]
    return {
        "score_mean": _mean(scores),
        "score_min": min(scores) if scores else math.nan,
        "score_last": scores[-1] if scores else math.nan,
        "weighted_score": sum(score * assessment.weight for score, assessment in scored) / 100,
        "tutor_marked_mean": _mean([score for score, assessment in scored if assessment.kind == "TMA"]),
        "computer_marked_mean": _mean([score for score, assessment in scored if assessment.kind == "CMA"]),
    }


def _assessment_features(
    enrolment: Enrolment, schedule: dict[str, Assessment], cutoff: float
) -> dict[str, float]:
    due = [
        item for item in schedule.values() if item.course == enrolment.course and _due_before(item, cutoff)
    ]
    done = sorted(
        (result for result in enrolment.results if result.submitted_day < cutoff),
        key=lambda result: result.submitted_day,
    )
    submitted_ids = {result.assessment_id for result in done}
    early = [days for days in (_days_early(result, schedule) for result in done) if days is not None]
    scored = [(r.score, schedule[r.assessment_id]) for r in done if r.score is not None]
    return {
        "assessments_due": float(len(due)),
        "assessments_submitted": float(len(done)),
        "assessments_missed": float(sum(item.assessment_id not in submitted_ids for item in due)),
        "submitted_late": float(sum(days < 0 for days in early)),
        "days_early_mean": _mean(early),
        **_score_features(scored),
    }


def _due_before(assessment: Assessment, cutoff: float) -> bool:
    return assessment.due_day is not None and assessment.due_day < cutoff


def enrolment_features(
    enrolment: Enrolment, schedule: dict[str, Assessment], cutoff: float
) -> dict[str, float | str]:
    """Every feature of one enrolment at the cutoff day, by name (FEATURE_NAMES)."""
    categories: dict[str, float | str] = {"course": enrolment.course.split("/")[0]}
    categories.update({name: enrolment.profile.get(name, "") for name in CATEGORICAL_FEATURES[1:]})
    return {**categories, **enrolment.numbers, **_assessment_features(enrolment, schedule, cutoff)}


@dataclass
class FeatureEncoder:
    """Categories to integer codes learnt from the training rows; an unseen category is missing.
    A column missing in every training row (no computer-marked assessments, say) becomes 0, as
    the gradient boosting cannot bin a column without values."""

    codes: dict[str, dict[str, int]] = field(default_factory=dict)
    empty_columns: list[int] = field(default_factory=list)

    def fit(self, rows: Sequence[dict[str, float | str]]) -> "FeatureEncoder":
        for name in CATEGORICAL_FEATURES:
            seen = sorted({str(row[name]) for row in rows})
            self.codes[name] = {value: code for code, value in enumerate(seen)}
        self.empty_columns = np.flatnonzero(np.isnan(self.transform(rows)).all(axis=0)).tolist()
        return self

    def transform(self, rows: Sequence[dict[str, float | str]]) -> FloatArray:
        matrix = np.empty((len(rows), len(FEATURE_NAMES)))
        for column, name in enumerate(FEATURE_NAMES):
            if name in self.codes:
                matrix[:, column] = [self.codes[name].get(str(row[name]), math.nan) for row in rows]
            else:
                matrix[:, column] = [float(row[name]) for row in rows]
        matrix[:, self.empty_columns] = 0.0
        return matrix


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float | str
    risk_increase: float


@dataclass
class AtRiskModel:
    encoder: FeatureEncoder
    classifier: HistGradientBoostingClassifier
    typical: FloatArray  # per column: the training median, or the most common category code

    def risks(self, rows: Sequence[dict[str, float | str]]) -> FloatArray:
        return np.asarray(self.classifier.predict_proba(self.encoder.transform(rows))[:, 1], dtype=np.float64)

    def reasons(self, rows: Sequence[dict[str, float | str]], top: int = 3) -> list[list[Reason]]:
        """Per row, the features whose typical value would lower the risk most, largest first."""
        matrix = self.encoder.transform(rows)
        risk = self.classifier.predict_proba(matrix)[:, 1]
        deltas = np.empty_like(matrix)
        for column in range(matrix.shape[1]):
            changed = matrix.copy()
            changed[:, column] = self.typical[column]
            deltas[:, column] = risk - self.classifier.predict_proba(changed)[:, 1]
        return [
            [
                Reason(FEATURE_NAMES[column], row[FEATURE_NAMES[column]], float(delta[column]))
                for column in np.argsort(-delta)[:top]
                if delta[column] > 0
            ]
            for row, delta in zip(rows, deltas, strict=True)
        ]


def _typical_values(matrix: FloatArray) -> FloatArray:
    typical = np.nanmedian(matrix, axis=0)
    for column, name in enumerate(FEATURE_NAMES):
        if name in CATEGORICAL_FEATURES:
            counts = Counter(matrix[~np.isnan(matrix[:, column]), column].tolist())
            typical[column] = counts.most_common(1)[0][0]
    return np.asarray(typical, dtype=np.float64)


def at_risk_fit(
    rows: Sequence[dict[str, float | str]], failed: Sequence[bool], *, seed: int = 0
) -> AtRiskModel:
    encoder = FeatureEncoder().fit(rows)
    matrix = encoder.transform(rows)
    # Small, strongly regularised trees: chosen by 5-fold cross-validation on the OULAD 2013J
    # presentations only (the test presentations were not used to choose).
    classifier = HistGradientBoostingClassifier(
        categorical_features=[name in CATEGORICAL_FEATURES for name in FEATURE_NAMES],
        learning_rate=0.03,
        max_iter=300,
        max_leaf_nodes=4,
        min_samples_leaf=80,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    classifier.fit(matrix, np.asarray(failed, dtype=np.int64))
    return AtRiskModel(encoder, classifier, _typical_values(matrix))


def schedule_by_id(assessments: Sequence[Assessment]) -> dict[str, Assessment]:
    return {assessment.assessment_id: assessment for assessment in assessments}


def features_at_cutoff(
    enrolments: Sequence[Enrolment], assessments: Sequence[Assessment], cutoff: float
) -> list[dict[str, float | str]]:
    schedule = schedule_by_id(assessments)
    return [enrolment_features(enrolment, schedule, cutoff) for enrolment in enrolments]


@dataclass(frozen=True)
class Flag:
    student: str
    risk: float
    reasons: list[Reason]


def at_risk_flags(
    model: AtRiskModel,
    enrolments: Sequence[Enrolment],
    rows: Sequence[dict[str, float | str]],
    threshold: float,
) -> list[Flag]:
    """The enrolments whose risk is at least the threshold, riskiest first, each with its reasons."""
    risks = model.risks(rows)
    flagged = [index for index in np.argsort(-risks) if risks[index] >= threshold]
    reasons = model.reasons([rows[index] for index in flagged])
    return [
        Flag(enrolments[index].student, float(risks[index]), why)
        for index, why in zip(flagged, reasons, strict=True)
    ]
