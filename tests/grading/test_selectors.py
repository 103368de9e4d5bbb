from decimal import Decimal

import pytest

from eduai.courses.access import course_staff_is
from eduai.courses.models import Enrollment
from grading.selectors import (
    attempts_left,
    review_queue,
    score_bands,
    score_distribution,
    submission_visible_is,
)
from tests.factories import (
    AiGradeFactory,
    AssignmentFactory,
    ConfirmedGradeFactory,
    EnrollmentFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _graded(assignment, score, confidence, **extra):
    submission = SubmissionFactory.create(assignment=assignment, status="scored", **extra)
    AiGradeFactory.create(submission=submission, score=Decimal(score), confidence=confidence)
    return submission


def test_review_queue_puts_least_confident_and_mid_range_first(assignment):
    confident_top = _graded(assignment, 10, 0.95)
    unsure_middle = _graded(assignment, 5, 0.3)
    unsure_top = _graded(assignment, 10, 0.3)
    confident_middle = _graded(assignment, 5, 0.95)
    confirmed = _graded(assignment, 5, 0.1)
    ConfirmedGradeFactory.create(submission=confirmed)
    superseded = _graded(assignment, 5, 0.1, superseded=True)
    order = [entry.submission for entry in review_queue(assignment=assignment)]
    assert order == [unsure_middle, unsure_top, confident_middle, confident_top]
    assert confirmed not in order
    assert superseded not in order


def test_review_queue_weighs_confidence_and_the_middle_of_a_shifted_range(course):
    """Range 2-10: its middle is 6; 2 is an end. Being 0.1 less sure counts as much as scoring a
    tenth of the range nearer the middle; equal priority: the older submission first."""
    shifted = AssignmentFactory.create(course=course, min_score=Decimal(2), max_score=Decimal(10))
    sure_end = _graded(shifted, 2, 0.6)
    middle = _graded(shifted, 6, 0.6)
    middle_later = _graded(shifted, 6, 0.6)
    much_less_sure_end = _graded(shifted, 2, 0.0)  # 0.6 less sure: outweighs the middle
    less_sure_end = _graded(shifted, 2, 0.2)  # 0.4 less sure: does not
    queue = review_queue(assignment=shifted)
    assert [entry.submission for entry in queue] == [
        much_less_sure_end,
        middle,
        middle_later,
        less_sure_end,
        sure_end,
    ]
    assert [entry.priority for entry in queue] == pytest.approx([1.0, 0.9, 0.9, 0.8, 0.4])


def test_score_distribution_prefers_the_confirmed_score(assignment):
    _graded(assignment, "1", 0.5)
    overridden = _graded(assignment, "1", 0.5)
    ConfirmedGradeFactory.create(submission=overridden, score=Decimal("9.5"))
    _graded(assignment, "10", 0.5)
    distribution = dict(score_distribution(assignment=assignment))
    assert distribution == {"0-2": 1.0, "2-4": 0.0, "4-6": 0.0, "6-8": 0.0, "8-10": 2.0}


def test_score_bands_with_a_fractional_width():
    bands = score_bands([Decimal(0), Decimal(3)], low=Decimal(0), high=Decimal(3), bins=2)
    assert bands == [("0-1.5", 1.0), ("1.5-3", 1.0)]


def test_who_sees_what(assignment, student, instructor):
    submission = SubmissionFactory.create(assignment=assignment, student=student)
    classmate = UserFactory.create()
    EnrollmentFactory.create(course=assignment.course, user=classmate)
    outsider_teacher = UserFactory.create()
    EnrollmentFactory.create(user=outsider_teacher, role=Enrollment.Role.INSTRUCTOR)
    assert submission_visible_is(user=student, submission=submission)
    assert submission_visible_is(user=instructor, submission=submission)
    assert not submission_visible_is(user=classmate, submission=submission)
    assert not submission_visible_is(user=outsider_teacher, submission=submission)
    assert course_staff_is(user=instructor, course_id=assignment.course_id)
    assert not course_staff_is(user=student, course_id=assignment.course_id)


def test_attempts_left_ignores_unreadable_files(assignment, student):
    SubmissionFactory.create(assignment=assignment, student=student, status="unreadable")
    assert attempts_left(assignment=assignment, student=student) == 2
    SubmissionFactory.create(assignment=assignment, student=student, status="queued")
    assert attempts_left(assignment=assignment, student=student) == 1
    assignment.max_attempts = 0
    assert attempts_left(assignment=assignment, student=student) is None
