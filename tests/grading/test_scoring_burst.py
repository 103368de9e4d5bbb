"""The burst limit on AI scoring through the real parts: a submission over it is queued on the
real broker with its delay, and the real inference worker scores it once the minute lets it in,
not before."""

from datetime import timedelta

import pytest
from django.utils import timezone

from grading.models import AiGrade, Submission
from grading.services import submission_create

from .conftest import GOOD_ANSWER, WEAK_ANSWER, ai_grade_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_burst_is_scored_when_the_minute_lets_it_in(assignment, student, settings, celery_worker_process):
    settings.GRADING_SCORING_PER_MINUTE_PER_STUDENT = 1
    assignment.max_attempts = 0
    assignment.save()
    first = submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
    ai_grade_wait(first)
    # The first scoring leaves the minute 5 s from now: the second waits for that.
    moment = timezone.now() - timedelta(seconds=55)
    Submission.objects.filter(pk=first.pk).update(submitted_at=moment, queued_at=moment)
    second = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER)
    assert second.status == Submission.Status.QUEUED
    assert second.queued_at is not None
    assert timedelta(seconds=4) <= second.queued_at - second.submitted_at <= timedelta(seconds=6)
    grade = ai_grade_wait(second)
    assert grade.created_at - second.submitted_at >= timedelta(seconds=4)
    assert AiGrade.objects.filter(submission__student=student).count() == 2
