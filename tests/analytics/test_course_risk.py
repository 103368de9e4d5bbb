"""At-risk scoring of a course's own students: features without leakage, training, reasons."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from analytics.course_risk import (
    FEATURES,
    VERB_CODES,
    CourseEvents,
    features_at,
    prior_model,
    reasons_of,
    struggled,
)
from analytics.models import AtRiskScore, LearningEvent
from analytics.risk_services import at_risk_score_course
from analytics.weekly_services import course_calendar_set, planned_item_set
from eduai.privacy.pseudonyms import pseudonym
from tests.factories import AssignmentFactory, CourseFactory, EnrollmentFactory, MaterialFactory

DAY = 86400.0


def _events(**columns) -> CourseEvents:
    base = {
        "learners": np.array([1, 2], dtype=np.int64),
        "item_is_assignment": np.array([True, False]),
        "item_due": np.array([7 * DAY, 7 * DAY]),
    }
    return CourseEvents(**base, **columns)


def test_features_use_only_events_before_the_moment():
    events = _events(
        user=np.array([1, 1, 1, 2, 2], dtype=np.int64),
        verb=np.array(
            [VERB_CODES["viewed"], VERB_CODES["submitted"], VERB_CODES["graded"], 0, VERB_CODES["graded"]]
        ),
        item=np.array([1, 0, 0, -1, 0], dtype=np.int64),
        score=np.array([np.nan, np.nan, 0.9, np.nan, 0.2]),
        seconds=np.array([1, 2, 3, 4, 20]) * DAY,
    )
    at_eight = dict(zip(FEATURES, features_at(events, 8 * DAY).T, strict=True))
    assert at_eight["days_inactive"].tolist() == [5.0, 4.0]
    assert at_eight["assignments_missed_share"].tolist() == [0.0, 1.0]
    assert at_eight["material_read_share"].tolist() == [1.0, 0.0]
    assert at_eight["grade_mean"][0] == pytest.approx(0.9)
    assert np.isnan(at_eight["grade_mean"][1])
    # Student 2's grade on day 20 is in the future at day 8: unseen.
    later = dict(zip(FEATURES, features_at(events, 21 * DAY).T, strict=True))
    assert later["grade_mean"][1] == pytest.approx(0.2)
    assert struggled(events, 0, 8 * DAY).tolist() == [False, True]


def test_prior_model_reasons_name_the_worst_features():
    model = prior_model()
    matrix = np.full((2, len(FEATURES)), np.nan)
    matrix[0, FEATURES.index("days_inactive")] = 30
    matrix[0, FEATURES.index("assignments_missed_share")] = 1.0
    matrix[1, FEATURES.index("days_inactive")] = 1
    matrix[1, FEATURES.index("grade_mean")] = 0.9
    risks = model.risks(matrix)
    assert risks[0] > 0.5 > risks[1]
    assert [reason.feature for reason in reasons_of(model, matrix)[0]] == [
        "days_inactive",
        "assignments_missed_share",
    ]
    assert reasons_of(model, matrix)[1] == []


@pytest.mark.django_db
def test_course_scoring_trains_on_its_own_history_and_flags_the_disengaged():
    course = CourseFactory.create()
    course_calendar_set(course=course, starts_on=date(2026, 1, 5))
    assignments = [AssignmentFactory.create(course=course) for _ in range(6)]
    material = MaterialFactory.create(course=course)
    for week, assignment in enumerate(assignments, start=1):
        planned_item_set(course=course, week=week, assignment=assignment)
    planned_item_set(course=course, week=1, material=material)
    students = [EnrollmentFactory.create(course=course).user for _ in range(40)]
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    generator = np.random.default_rng(1)
    rows = []
    for index, student in enumerate(students):
        engaged = index % 2 == 0
        weeks = range(1, 7) if engaged else range(1, 3 if index % 4 else 4)
        for week in weeks:
            moment = start + timedelta(days=7 * (week - 1) + 2)
            score = float(np.clip(generator.normal(0.8 if engaged else 0.45, 0.1), 0, 1))
            for verb, value in (("submitted", None), ("graded", score)):
                rows.append(
                    LearningEvent(
                        user=student,
                        course=course,
                        actor_pseudonym=pseudonym(user_id=student.pk, course_id=course.pk),
                        verb=verb,
                        object_type="assignment",
                        object_id=str(assignments[week - 1].pk),
                        result_score=value,
                        timestamp=moment,
                    )
                )
    LearningEvent.objects.bulk_create(rows)
    flagged = at_risk_score_course(course=course, now=start + timedelta(days=40))
    scores = {score.user_id: score for score in AtRiskScore.objects.filter(course=course)}
    assert len(scores) == 40
    assert {score.method for score in scores.values()} == {AtRiskScore.Method.TRAINED}
    quiet = [scores[student.pk] for index, student in enumerate(students) if index % 2]
    active = [scores[student.pk] for index, student in enumerate(students) if not index % 2]
    assert flagged == sum(score.flagged for score in scores.values()) >= 15
    assert all(score.flagged for score in quiet)
    assert not any(score.flagged for score in active)
    assert all(score.reasons for score in quiet)
    assert min(s.risk for s in quiet) > max(s.risk for s in active)


@pytest.mark.django_db
def test_a_small_course_uses_the_prior_model():
    course = CourseFactory.create()
    EnrollmentFactory.create(course=course)
    at_risk_score_course(course=course)
    assert AtRiskScore.objects.get(course=course).method == AtRiskScore.Method.PRIOR
