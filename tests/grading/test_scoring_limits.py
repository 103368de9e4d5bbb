"""Abuse limits on AI scoring, per student and per course: over a daily limit a submission is
stored and held for the instructor, with a clear 429 from the API; over a burst limit (per
minute) it is queued and its scoring waits until the minute lets it in. And the sweep that sends
again the submissions whose scoring task was lost."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from eduai.courses.models import Enrollment
from grading import services
from grading.models import AiGrade, Submission
from grading.selectors import scoring_requests_counted, submissions_pending
from grading.services import (
    ScoringLimitError,
    submission_create,
    submissions_requeue_stale,
    submissions_rescore,
)
from tests.factories import EnrollmentFactory, SubmissionFactory, UserFactory

from .conftest import GOOD_ANSWER, WEAK_ANSWER

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The batches sent to the inference queue."""
    sent: list[list[int]] = []
    monkeypatch.setattr(services, "_enqueue_scoring", sent.append)
    return sent


@pytest.fixture
def limits(settings):
    settings.GRADING_SCORING_DAILY_PER_STUDENT = 2
    settings.GRADING_SCORING_DAILY_PER_COURSE = 3
    return settings


def _learner(course, name: str):
    user = UserFactory.create(username=name)
    EnrollmentFactory.create(course=course, user=user, role=Enrollment.Role.LEARNER)
    return user


def test_over_the_student_limit_a_submission_is_stored_and_held(
    assignment, student, limits, enqueued, django_capture_on_commit_callbacks
):
    assignment.max_attempts = 0
    assignment.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
        second = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER)
        with pytest.raises(ScoringLimitError) as refused:
            submission_create(assignment=assignment, student=student, text="My third try.")
    assert enqueued == [[first.pk], [second.pk]]
    held = Submission.objects.get(pk=refused.value.submission.pk)
    assert (held.status, held.text, held.attempt, held.superseded) == (
        Submission.Status.HELD,
        "My third try.",
        3,
        False,
    )
    assert "2 answers to AI grading in this course today" in refused.value.message
    assert "stored" in refused.value.message
    assert held.error.startswith("You have sent 2 answers")
    assert Submission.objects.get(pk=second.pk).superseded  # the held attempt is the current one
    assert 0 < refused.value.retry_after <= 24 * 3600
    # Held submissions do not count: the student is still at 2 requests today.
    counted = scoring_requests_counted(
        course_id=assignment.course_id, student_id=student.pk, now=timezone.now()
    )
    assert (counted.student_today, counted.course_today) == (2, 2)
    # The instructor sees it waiting, and may send it to AI scoring (not limited).
    assert held in submissions_pending(assignment=assignment)
    with django_capture_on_commit_callbacks(execute=True):
        assert submissions_rescore(assignment=assignment) == [held.pk]
    assert enqueued[-1] == [held.pk]
    held.refresh_from_db()
    assert (held.status, held.error) == (Submission.Status.QUEUED, "")


def test_the_course_limit_holds_everyone_once_reached(assignment, student, limits, enqueued):
    others = [_learner(assignment.course, f"learner-{index}") for index in range(3)]
    for other in others[:2]:
        submission_create(assignment=assignment, student=other, text=WEAK_ANSWER)
    submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
    with pytest.raises(ScoringLimitError, match="This course has reached today's limit of AI grading"):
        submission_create(assignment=assignment, student=others[2], text=GOOD_ANSWER)
    assert Submission.objects.filter(student=others[2], status=Submission.Status.HELD).count() == 1
    assert Submission.objects.count() == 4  # nothing dropped


def test_yesterdays_requests_and_other_courses_do_not_count(assignment, student, limits, enqueued):
    assignment.max_attempts = 0
    assignment.save()
    yesterday = timezone.now() - timedelta(days=1)
    for _ in range(2):
        old = SubmissionFactory.create(
            assignment=assignment, student=student, status=Submission.Status.SCORED
        )
        Submission.objects.filter(pk=old.pk).update(submitted_at=yesterday)
    SubmissionFactory.create_batch(5, student=student, status=Submission.Status.SCORED)  # other courses
    counted = scoring_requests_counted(
        course_id=assignment.course_id, student_id=student.pk, now=timezone.now()
    )
    assert (counted.student_today, counted.course_today) == (0, 0)
    assert submission_create(assignment=assignment, student=student, text=WEAK_ANSWER).status == "queued"


@pytest.fixture
def sent_with_delay(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], int]]:
    """The batches sent to the inference queue, with the seconds each waits."""
    sent: list[tuple[list[int], int]] = []
    monkeypatch.setattr(services, "_enqueue_scoring", lambda ids, countdown=0: sent.append((ids, countdown)))
    return sent


def _backdate(submission: Submission, seconds: float) -> None:
    """Sent, and due for scoring, ``seconds`` ago."""
    moment = timezone.now() - timedelta(seconds=seconds)
    Submission.objects.filter(pk=submission.pk).update(submitted_at=moment, queued_at=moment)


def test_over_the_student_burst_limit_scoring_waits_for_the_minute(
    assignment, student, settings, sent_with_delay, django_capture_on_commit_callbacks
):
    settings.GRADING_SCORING_PER_MINUTE_PER_STUDENT = 2
    assignment.max_attempts = 0
    assignment.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
        second = submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
    _backdate(first, 50)  # leaves the minute in 10 s
    _backdate(second, 40)  # in 20 s
    with django_capture_on_commit_callbacks(execute=True):
        third = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER)
        fourth = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER)
    # Accepted and queued like any other (not held, nothing refused); their scoring waits until
    # enough of the minute's earlier requests have left it.
    assert (third.status, fourth.status) == (Submission.Status.QUEUED, Submission.Status.QUEUED)
    assert [ids for ids, _ in sent_with_delay] == [[first.pk], [second.pk], [third.pk], [fourth.pk]]
    delays = [delay for _, delay in sent_with_delay]
    assert delays[:2] == [0, 0]
    assert 9 <= delays[2] <= 11
    assert 19 <= delays[3] <= 21
    # A minute later the student is within the limit again.
    for submission in (first, second, third, fourth):
        _backdate(submission, 61)
    with django_capture_on_commit_callbacks(execute=True):
        submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
    assert sent_with_delay[-1][1] == 0


def test_a_large_burst_is_spread_at_most_the_limit_a_minute(
    assignment, student, settings, sent_with_delay, django_capture_on_commit_callbacks
):
    settings.GRADING_SCORING_PER_MINUTE_PER_STUDENT = 2
    assignment.max_attempts = 0
    assignment.save()
    with django_capture_on_commit_callbacks(execute=True):
        sent = [submission_create(assignment=assignment, student=student, text=WEAK_ANSWER) for _ in range(5)]
    delays = [delay for _, delay in sent_with_delay]
    assert delays[:2] == [0, 0]
    assert all(59 <= delay <= 61 for delay in delays[2:4])  # the second minute
    assert 119 <= delays[4] <= 121  # the third: deferred scorings count where they are due
    first_due, last_due = (Submission.objects.get(pk=sent[i].pk).queued_at for i in (0, 4))
    assert first_due is not None
    assert last_due is not None
    assert last_due - first_due >= timedelta(seconds=119)


def test_over_the_course_burst_limit_everyones_scoring_waits(
    assignment, student, settings, sent_with_delay, django_capture_on_commit_callbacks
):
    settings.GRADING_SCORING_PER_MINUTE_PER_COURSE = 2
    others = [_learner(assignment.course, f"learner-{index}") for index in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        for other in others:
            _backdate(submission_create(assignment=assignment, student=other, text=WEAK_ANSWER), 30)
        mine = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER)
    assert mine.status == Submission.Status.QUEUED
    assert 29 <= sent_with_delay[-1][1] <= 31
    counted = scoring_requests_counted(
        course_id=assignment.course_id, student_id=student.pk, now=timezone.now()
    )
    assert (counted.student_burst, counted.course_burst, counted.course_today) == (1, 3, 3)


def test_zero_switches_a_limit_off(
    assignment, student, settings, sent_with_delay, django_capture_on_commit_callbacks
):
    settings.GRADING_SCORING_DAILY_PER_STUDENT = 0
    settings.GRADING_SCORING_DAILY_PER_COURSE = 0
    settings.GRADING_SCORING_PER_MINUTE_PER_STUDENT = 0
    settings.GRADING_SCORING_PER_MINUTE_PER_COURSE = 0
    assignment.max_attempts = 0
    assignment.save()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(7):
            submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
    assert set(Submission.objects.values_list("status", flat=True)) == {Submission.Status.QUEUED}
    assert [delay for _, delay in sent_with_delay] == [0] * 7


def test_the_api_answers_429_with_the_kept_submission(assignment, student, limits, enqueued):
    client = APIClient()
    client.force_authenticate(student)
    url = f"/api/v1/grading/assignments/{assignment.pk}/submissions/"
    settings_limit = limits.GRADING_SCORING_DAILY_PER_STUDENT
    assignment.max_attempts = 0
    assignment.save()
    for _ in range(settings_limit):
        assert client.post(url, {"text": WEAK_ANSWER}, format="json").status_code == 201
    response = client.post(url, {"text": GOOD_ANSWER}, format="json")
    assert response.status_code == 429
    assert response.data["code"] == "scoring_limit"
    assert "your instructor will grade it" in response.data["detail"]
    assert int(response["Retry-After"]) > 0
    kept = Submission.objects.get(pk=response.data["submission_id"])
    assert (kept.status, kept.text) == (Submission.Status.HELD, GOOD_ANSWER)
    # The student reads it back like any submission.
    detail = client.get(f"/api/v1/grading/submissions/{kept.pk}/")
    assert (detail.status_code, detail.data["status"]) == (200, "held")


def test_the_lti_page_keeps_a_held_submission_and_says_so(assignment, student, limits, enqueued, client):
    client.force_login(student)
    assignment.max_attempts = 0
    assignment.save()
    url = f"/grading/assignments/{assignment.pk}/submit/"
    for _ in range(2):
        assert client.post(url, {"text": WEAK_ANSWER}, HTTP_HX_REQUEST="true").status_code == 200
    response = client.post(url, {"text": GOOD_ANSWER}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Submission.objects.filter(
        student=student, status=Submission.Status.HELD, text=GOOD_ANSWER
    ).exists()


# --- The sweep: submissions whose scoring task was lost ----------------------------------------
def test_the_sweep_sends_again_only_what_waits_too_long(assignment, student, enqueued):
    now = timezone.now()
    lost = SubmissionFactory.create(
        assignment=assignment, status=Submission.Status.QUEUED, queued_at=now - timedelta(hours=1)
    )
    legacy = SubmissionFactory.create(assignment=assignment, status=Submission.Status.QUEUED)  # no queued_at
    Submission.objects.filter(pk=legacy.pk).update(submitted_at=now - timedelta(hours=1))
    SubmissionFactory.create(
        assignment=assignment, status=Submission.Status.QUEUED, queued_at=now
    )  # just sent
    SubmissionFactory.create(assignment=assignment, status=Submission.Status.HELD)
    graded = SubmissionFactory.create(assignment=assignment, status=Submission.Status.SCORED)
    AiGrade.objects.create(submission=graded, score=5, confidence=0.5, model_name="cold-start")

    assert submissions_requeue_stale(older_than=timedelta(minutes=10)) == [lost.pk, legacy.pk]
    assert enqueued == [[lost.pk, legacy.pk]]  # one batch per assignment
    # Sent again just now: the next sweep leaves them alone.
    assert submissions_requeue_stale(older_than=timedelta(minutes=10)) == []


def test_scoring_twice_stores_one_grade_and_releases_once(assignment, student, enqueued):
    assignment.release_policy = "auto"
    assignment.auto_release_confidence = 0
    assignment.save()
    submission = submission_create(assignment=assignment, student=student, text=WEAK_ANSWER)
    (grade,) = services.submissions_score(submission_ids=[submission.pk], use_model_feedback=False)
    # A second delivery that got past the "still waiting" filter (it read the row before the
    # first stored its grade) finds the grade under the row lock and keeps it.
    again = services._ai_grade_store(
        submission=submission,
        score=grade.score,
        confidence=grade.confidence,
        criteria=grade.criteria,
        feedback=grade.feedback,
        version=None,
        model_name="cold-start",
    )
    assert again.pk == grade.pk
    assert AiGrade.objects.filter(submission=submission).count() == 1
    assert services.submissions_score(submission_ids=[submission.pk], use_model_feedback=False) == []
