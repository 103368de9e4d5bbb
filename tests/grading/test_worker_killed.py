"""The inference worker is killed with SIGKILL in the middle of a scoring batch: the task, acked
late, goes back to the broker, a restarted worker finishes it, and every submission ends with
exactly one AI grade (and one release), none lost. The worker and its broker are the test's own
(a redis-server on a free port), so the session's workers cannot take the task instead."""

import signal

import pytest

from analytics.models import LearningEvent
from eduai.audit.models import AuditEntry
from grading.models import AiGrade, Submission
from grading.services import submissions_rescore
from tests.conftest import wait_for
from tests.faults import celery_producer

from .conftest import failed_batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_scoring_batch_survives_its_worker_being_killed(redis_server, start_inference_worker):
    assignment, submissions = failed_batch()
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
