"""Weekly course metrics: L_i, M_i, participation, tutor usage and flags, against a hand computation."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from analytics.models import CourseWeekMetrics, KnowledgePointMetrics
from analytics.services import event_record
from analytics.weekly import WeekTrend, week_flags
from analytics.weekly_services import (
    course_calendar_set,
    course_week_metrics_update,
    courses_with_new_events,
    planned_item_set,
)
from eduai.courses.models import Enrollment
from tests.factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    KnowledgePointFactory,
    MaterialFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

START = date(2026, 1, 5)


def at(day: float) -> datetime:
    """Day `day` of the course (0 = the first day of week 1), at 10:00 UTC."""
    return datetime(2026, 1, 5, 10, tzinfo=UTC) + timedelta(days=day)


@pytest.fixture
def course_with_plan():
    course = CourseFactory.create()
    course_calendar_set(course=course, starts_on=START)
    students = [EnrollmentFactory.create(course=course).user for _ in range(3)]
    teacher = EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user
    x = AssignmentFactory.create(course=course, title="X")
    p, q = MaterialFactory.create(course=course, title="P"), MaterialFactory.create(course=course, title="Q")
    planned_item_set(course=course, week=1, assignment=x)
    planned_item_set(course=course, week=1, material=p)
    planned_item_set(course=course, week=2, material=q)
    return course, students, teacher, x, p, q


def record(user, course, verb, kind, object_id, day, score=None):
    return event_record(
        user=user,
        course=course,
        verb=verb,
        object_type=kind,
        object_id=str(object_id),
        timestamp=at(day),
        result_score=score,
    )


def test_weekly_metrics_match_the_hand_computation(course_with_plan):
    course, (a, b, c), teacher, x, p, q = course_with_plan
    record(a, course, "viewed", "material", p.pk, 1)
    record(a, course, "submitted", "assignment", x.pk, 2)
    record(a, course, "graded", "assignment", x.pk, 3, 0.8)
    record(a, course, "rated", "answer", "1", 3, 1.0)
    record(a, course, "asked", "question", "1", 3)
    record(b, course, "viewed", "material", p.pk, 4)
    record(b, course, "rated", "answer", "2", 4, 0.5)
    record(b, course, "viewed", "material", q.pk, 6)  # early: counts for week 2
    record(teacher, course, "viewed", "material", p.pk, 2)  # not a learner: ignored
    record(c, course, "viewed", "material", q.pk, 8)
    record(a, course, "asked", "question", "2", 9)
    record(a, course, "graded", "assignment", x.pk, 10, 0.6)
    record(b, course, "rated", "answer", "3", 12, 0.0)

    assert course_week_metrics_update(course=course, now=at(30)) == [1, 2]
    week1, week2 = CourseWeekMetrics.objects.filter(course=course).order_by("week")
    # Week 1: A and B active; A did both planned items, B one of two.
    assert (week1.active_students, week1.enrolled_students, week1.planned_items) == (2, 3, 2)
    assert week1.learning_progress == pytest.approx((1 + 0.5) / 2)
    # M_A = mean(rating 1.0, grade 0.8) = 0.9, M_B = rating 0.5.
    assert week1.feedback == pytest.approx((0.9 + 0.5) / 2)
    assert week1.answer_rating == pytest.approx(0.75)
    assert week1.grade == pytest.approx(0.8)
    assert week1.participation == pytest.approx(2 / 3)
    assert (week1.tutor_questions, week1.tutor_users, week1.events) == (1, 1, 8)  # learners only
    # Week 2: A, B, C active; Q done by B (early) and C, not by A.
    assert week2.active_students == 3
    assert week2.learning_progress == pytest.approx(2 / 3)
    assert week2.feedback == pytest.approx((0.6 + 0.0) / 2)
    assert week2.feedback_students == 2
    # Feedback fell from 0.7 to 0.3: week 2 is behind the course's own level.
    assert week2.complete
    assert week2.flagged
    assert [reason["metric"] for reason in week2.flag_reasons] == ["feedback"]


def test_only_weeks_with_new_events_are_recomputed(course_with_plan, monkeypatch):
    course, (a, b, c), _teacher, _x, p, _q = course_with_plan
    # Without the overlap kept for late commits (all of this test's events are seconds old).
    monkeypatch.setattr("analytics.weekly_services.WATERMARK_OVERLAP", timedelta(0))
    record(a, course, "viewed", "material", p.pk, 1)
    record(b, course, "viewed", "material", p.pk, 8)
    assert course_week_metrics_update(course=course, now=at(14)) == [1, 2]
    assert courses_with_new_events(now=at(14)) == []
    first = CourseWeekMetrics.objects.get(course=course, week=1)

    record(c, course, "asked", "question", "1", 9)
    assert courses_with_new_events(now=at(15)) == [course.pk]
    assert course_week_metrics_update(course=course, now=at(15)) == [2]
    assert CourseWeekMetrics.objects.get(course=course, week=1).computed_at == first.computed_at
    # A late view of week 1's material recomputes week 1 too, and still does not count for it.
    record(c, course, "viewed", "material", p.pk, 16)
    assert course_week_metrics_update(course=course, now=at(17)) == [1, 3]
    assert CourseWeekMetrics.objects.get(course=course, week=1).learning_progress == pytest.approx(0.5)


def test_a_new_plan_recomputes_every_week(course_with_plan):
    course, (a, *_), _teacher, _x, _p, q = course_with_plan
    record(a, course, "viewed", "material", q.pk, 1)
    course_week_metrics_update(course=course, now=at(20))
    assert CourseWeekMetrics.objects.get(course=course, week=1).learning_progress == 0
    planned_item_set(course=course, week=1, material=q)  # moved to week 1
    assert course_week_metrics_update(course=course, now=at(20)) == [1]
    assert CourseWeekMetrics.objects.get(course=course, week=1).learning_progress == pytest.approx(1 / 3)


def test_a_week_behind_the_course_trend_is_flagged_with_its_reason(course_with_plan):
    course, students, _teacher, x, p, q = course_with_plan
    y = AssignmentFactory.create(course=course, title="Y")
    planned_item_set(course=course, week=3, assignment=y)
    for student in students:
        record(student, course, "viewed", "material", p.pk, 1)
        record(student, course, "submitted", "assignment", x.pk, 2)
        record(student, course, "viewed", "material", q.pk, 8)
        record(student, course, "asked", "question", "1", 15)  # active in week 3, Y not done
    course_week_metrics_update(course=course, now=at(18))
    week3 = CourseWeekMetrics.objects.get(course=course, week=3)
    assert not week3.flagged
    assert not week3.complete
    course_week_metrics_update(course=course, now=at(22))
    week3.refresh_from_db()
    assert week3.flagged
    assert week3.flag_reasons == [
        {"metric": "learning_progress", "value": 0.0, "level": 1.0, "weeks": [1, 2]}
    ]


def test_week_flags_need_a_history_and_an_ended_week():
    trends = [
        WeekTrend(1, True, 0.9, None, 1.0),
        WeekTrend(2, True, 0.8, 0.9, 0.95),
        WeekTrend(3, True, 0.5, 0.85, 0.5),
        WeekTrend(4, False, 0.0, 0.0, 0.0),
    ]
    flags = {flag.week: flag.reasons for flag in week_flags(trends)}
    assert flags[1] == []
    assert flags[2] == []
    assert flags[4] == []
    assert [reason[0] for reason in flags[3]] == ["learning_progress", "participation"]
    assert flags[3][0][2] == pytest.approx(0.85)


def test_a_knowledge_point_far_below_the_course_is_flagged():
    course = CourseFactory.create()
    easy, hard = KnowledgePointFactory.create(course=course), KnowledgePointFactory.create(course=course)
    student = EnrollmentFactory.create(course=course).user
    for day in range(6):
        for point, score in ((easy, 1.0), (hard, 0.2)):
            event_record(
                user=student,
                course=course,
                verb="graded",
                object_type="assignment",
                object_id="1",
                timestamp=at(day),
                result_score=score,
                knowledge_points=[point],
            )
    course_week_metrics_update(course=course, now=at(7))
    hard_metrics = KnowledgePointMetrics.objects.get(knowledge_point=hard)
    assert hard_metrics.flagged
    assert hard_metrics.responses == 6
    assert hard_metrics.flag_reasons[0]["level"] == pytest.approx(0.6)
    assert not KnowledgePointMetrics.objects.get(knowledge_point=easy).flagged


def test_planning_checks_its_input():
    course, other = CourseFactory.create(), CourseFactory.create()
    with pytest.raises(ValidationError):
        planned_item_set(course=course, week=1, material=MaterialFactory.create(course=other))
    with pytest.raises(ValidationError):
        planned_item_set(course=course, week=0, material=MaterialFactory.create(course=course))
    with pytest.raises(ValidationError):
        planned_item_set(course=course, week=1)


def test_a_course_without_learners_has_empty_weeks():
    course = CourseFactory.create()
    course_calendar_set(course=course, starts_on=START)
    record(UserFactory.create(), course, "viewed", "material", 1, 1)
    course_week_metrics_update(course=course, now=at(8))
    week = CourseWeekMetrics.objects.get(course=course)
    assert (week.active_students, week.participation, week.learning_progress) == (0, None, None)
    assert not np.isnan(week.events)
