"""The inference worker is killed with SIGKILL in the middle of a scoring batch: the task, acked
late, goes back to the broker, a restarted worker finishes it, and every submission ends with
exactly one AI grade (and one release), none lost. The worker and its broker are the test's own
(a redis-server on a free port), so the session's workers cannot take the task instead."""

import signal
import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from analytics.models import LearningEvent
from eduai.audit.models import AuditEntry
from eduai.courses.models import Enrollment
from grading.models import AiGrade, Assignment, Submission
from grading.services import submissions_rescore
from tests.conftest import _start_worker, _wait_until_ready, _worker_environment, wait_for
from tests.factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.faults import RedisServer, celery_producer
from tests.grading.conftest import REFERENCE, RUBRIC

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Answers that meet no criterion, so each one asks the generator for feedback on every
# criterion: seconds of work per submission, and the batch is still running after its first grade.
WEAK_ANSWERS = [
    "It is when things get bigger.",
    "Plants make sugar from sunlight.",
    "The nucleus controls the cell.",
    "Because of gravity.",
    "I do not know.",
    "Cells eat food.",
]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.crash()


@pytest.fixture
def start_inference_worker(
    redis_server: RedisServer, tmp_path: Path
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts an inference worker on the test's broker (as production runs it: threads pool),
    each time it is called; stops those still running at the end."""
    environment = {
        **_worker_environment(),
        "REDIS_URL": redis_server.url(0),
        "CELERY_BROKER_URL": redis_server.url(0),
    }
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = tmp_path / f"inference-{len(started)}.log"
        process = _start_worker(
            "inference", ["-Q", "inference", "--pool", "threads", "-c", "2"], log, environment
        )
        started.append(process)
        _wait_until_ready(process, log, timeout=300)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _assignment_with_submissions() -> tuple[Assignment, list[Submission]]:
    course = CourseFactory.create(title="Biology")
    assignment = AssignmentFactory.create(
        course=course,
        title="Osmosis",
        prompt="Explain osmosis.",
        rubric=RUBRIC,
        reference_answers=[REFERENCE],
        max_score=Decimal(10),
        # Every AI grade is released at once: a second scoring would show as a second release.
        release_policy=Assignment.ReleasePolicy.AUTO,
        auto_release_confidence=0,
    )
    submissions = []
    for index, text in enumerate(WEAK_ANSWERS):
        student = UserFactory.create(username=f"killed-worker-{index}")
        EnrollmentFactory.create(course=course, user=student, role=Enrollment.Role.LEARNER)
        # Their first scoring failed; the instructor sends them again, as one batch.
        submissions.append(
            SubmissionFactory.create(
                assignment=assignment, student=student, text=text, status=Submission.Status.FAILED
            )
        )
    return assignment, submissions


def test_a_scoring_batch_survives_its_worker_being_killed(redis_server, start_inference_worker):
    assignment, submissions = _assignment_with_submissions()
    ids = [submission.pk for submission in submissions]
    with celery_producer(redis_server.url(0)):
        assert submissions_rescore(assignment=assignment) == ids  # one task: the whole batch

    first = start_inference_worker()

    # The marker: the batch has stored its first grade, so the task is running, mid-batch.
    wait_for(
        lambda: AiGrade.objects.filter(submission_id__in=ids).exists(), timeout=600, what="a first AI grade"
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    graded_before = dict(AiGrade.objects.filter(submission_id__in=ids).values_list("submission_id", "pk"))
    assert 0 < len(graded_before) < len(ids), "the worker must die in the middle of the batch"
    assert Submission.objects.filter(pk__in=ids, status=Submission.Status.QUEUED).count() == len(ids) - len(
        graded_before
    )

    # A new worker gets the unacknowledged task back (after the broker's visibility timeout).
    start_inference_worker()
    wait_for(
        lambda: not Submission.objects.filter(pk__in=ids).exclude(status=Submission.Status.SCORED).exists(),
        timeout=900,
        what="the redelivered batch to finish",
    )

    assert AiGrade.objects.filter(submission_id__in=ids).count() == len(ids)
    # The grades stored before the kill were kept, not written again.
    kept = dict(AiGrade.objects.filter(submission_id__in=graded_before).values_list("submission_id", "pk"))
    assert kept == graded_before
    for submission_id in ids:
        released = AuditEntry.objects.filter(
            action=AuditEntry.Action.GRADE_RELEASE, details__submission_id=submission_id
        )
        assert released.count() == 1
    graded = LearningEvent.objects.filter(verb=LearningEvent.Verb.GRADED, object_id=str(assignment.pk))
    assert graded.count() == len(ids)
    assert Submission.objects.filter(pk__in=ids, released_at__isnull=False).count() == len(ids)
