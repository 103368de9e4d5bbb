"""AGS and NRPS against the loopback LMS: line items, the score outbox, results and the roster."""

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.test import Client
from django.utils import timezone
from lti_tool.models import LtiLineItem, LtiMembership, LtiUser
from pylti1p3.exception import LtiException, LtiServiceException

from eduai.courses.models import Course, Enrollment
from eduai.lti import tasks
from eduai.lti.models import RosterSync, ScorePassback
from eduai.lti.selectors import lms_results_list
from eduai.lti.services import (
    PassbackTemporaryError,
    line_item_for_assignment,
    roster_sync,
    score_passback_enqueue,
    score_passback_requeue_stale,
    score_passback_send,
)
from tests.eduai.lti.platform import LEARNER
from tests.factories import AssignmentFactory, CourseFactory, ScorePassbackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(lti_flow):
    """An assignment placed in the LMS course, which the student has opened once."""
    assert lti_flow.launch(Client(), "u-teacher").status_code == 200
    course = Course.objects.get()
    assignment = AssignmentFactory.create(course=course, title="Cell walls", max_score=20)
    hint = {"resource_link_id": "rl-cells", "custom": {"eduai_assignment": str(assignment.pk)}}
    assert lti_flow.launch(Client(), "u-student", **hint).status_code == 200
    assignment.refresh_from_db()
    student = LtiUser.objects.get(sub="u-student").auth_user
    return assignment, student


def _enqueue(django_capture_on_commit_callbacks, assignment, student, score="15"):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        passback = score_passback_enqueue(
            assignment=assignment, student=student, score_given=Decimal(score), comment="Good work"
        )
    assert len(callbacks) == 1, "the send task is enqueued after the commit"
    return passback


def test_a_line_item_is_created_in_the_lms_once_and_then_reused(lti_flow, placed):
    assignment, _ = placed
    line_item = line_item_for_assignment(assignment=assignment)
    assert line_item_for_assignment(assignment=assignment) == line_item
    (stored,) = lti_flow.platform.store["lineitems"].values()
    assert stored["resourceId"] == f"eduai-assignment-{assignment.pk}"
    assert stored["resourceLinkId"] == "rl-cells"
    assert stored["scoreMaximum"] == 20.0
    assert stored["tag"] == "eduai-grade"
    assert stored["id"] == line_item.url


def test_an_existing_line_item_in_the_lms_is_found_not_duplicated(lti_flow, placed):
    assignment, _ = placed
    url = f"{lti_flow.platform.url}/ctx/ctx-1/lineitems/existing"
    lti_flow.platform.store["lineitems"]["existing"] = {
        "id": url,
        "label": "Cell walls",
        "scoreMaximum": 20,
        "resourceId": f"eduai-assignment-{assignment.pk}",
    }
    assert line_item_for_assignment(assignment=assignment).url == url
    assert len(lti_flow.platform.store["lineitems"]) == 1


def test_a_score_reaches_the_gradebook_and_its_result_reads_back(
    lti_flow, placed, django_capture_on_commit_callbacks
):
    assignment, student = placed
    passback = _enqueue(django_capture_on_commit_callbacks, assignment, student)

    assert tasks.score_passback_send.run(passback.pk) == ScorePassback.Status.SENT

    (posted,) = lti_flow.platform.store["score_posts"]
    assert posted["userId"] == "u-student"
    assert (posted["scoreGiven"], posted["scoreMaximum"]) == (15.0, 20.0)
    assert (posted["activityProgress"], posted["gradingProgress"]) == ("Completed", "FullyGraded")
    assert posted["comment"] == "Good work"
    (result,) = lms_results_list(line_item=LtiLineItem.objects.get())
    assert (result["userId"], result["resultScore"], result["resultMaximum"]) == ("u-student", 15.0, 20.0)
    passback.refresh_from_db()
    assert passback.sent_at is not None
    assert passback.attempts == 1


def test_lms_down_keeps_the_score_pending_then_posts_it_exactly_once(
    lti_flow, placed, django_capture_on_commit_callbacks
):
    assignment, student = placed
    passback = _enqueue(django_capture_on_commit_callbacks, assignment, student)
    lti_flow.platform.down = True

    with pytest.raises(PassbackTemporaryError):
        tasks.score_passback_send.run(passback.pk)

    passback.refresh_from_db()
    assert passback.status == ScorePassback.Status.PENDING
    assert "503" in passback.last_error
    assert lti_flow.platform.store["score_posts"] == []

    lti_flow.platform.down = False
    assert score_passback_send(passback_id=passback.pk).status == ScorePassback.Status.SENT
    # A duplicate delivery of the task (broker redelivery, beat sweep) posts nothing more.
    assert score_passback_send(passback_id=passback.pk).status == ScorePassback.Status.SENT
    assert len(lti_flow.platform.store["score_posts"]) == 1
    passback.refresh_from_db()
    assert passback.attempts == 2


def test_an_unreachable_lms_is_a_temporary_failure(lti_flow, placed):
    assignment, student = placed
    lti_flow.registration.token_url = "http://127.0.0.1:9/token"  # nothing listens on the discard port
    lti_flow.registration.save()
    passback = ScorePassbackFactory.create(assignment=assignment, student=student)
    with pytest.raises(PassbackTemporaryError):
        score_passback_send(passback_id=passback.pk)
    passback.refresh_from_db()
    assert passback.status == ScorePassback.Status.PENDING


def test_a_score_being_sent_by_another_worker_is_not_sent_again(lti_flow, placed):
    assignment, student = placed
    passback = ScorePassbackFactory.create(assignment=assignment, student=student)
    ScorePassback.objects.filter(pk=passback.pk).update(
        status=ScorePassback.Status.SENDING, claimed_at=timezone.now()
    )
    assert score_passback_send(passback_id=passback.pk).status == ScorePassback.Status.SENDING
    assert lti_flow.platform.store["score_posts"] == []


def test_a_student_unknown_to_the_lms_fails_for_good(lti_flow, placed):
    assignment, _ = placed
    passback = ScorePassbackFactory.create(assignment=assignment)  # a user who never launched
    assert score_passback_send(passback_id=passback.pk).status == ScorePassback.Status.FAILED
    passback.refresh_from_db()
    assert "never launched" in passback.last_error


def test_an_assignment_not_placed_in_the_lms_fails_for_good(db):
    passback = ScorePassbackFactory.create()
    assert score_passback_send(passback_id=passback.pk).status == ScorePassback.Status.FAILED


def test_scores_outside_the_range_are_refused(db):
    passback = ScorePassbackFactory.build()
    with pytest.raises(ValueError, match="outside"):
        score_passback_enqueue(
            assignment=passback.assignment, student=passback.student, score_given=Decimal(11)
        )


def test_stale_pending_scores_are_enqueued_again(db, monkeypatch):
    sent_ids: list[int] = []
    monkeypatch.setattr(tasks.score_passback_send, "delay", sent_ids.append)
    stale = ScorePassbackFactory.create()
    fresh = ScorePassbackFactory.create()
    done = ScorePassbackFactory.create(status=ScorePassback.Status.SENT)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    ScorePassback.objects.filter(pk__in=[stale.pk, done.pk]).update(updated_at=an_hour_ago)
    assert score_passback_requeue_stale(older_than=timedelta(minutes=5)) == [stale.pk]
    assert sent_ids == [stale.pk]
    assert fresh.pk not in sent_ids


def test_roster_sync_enrolls_active_members_and_notes_inactive_ones(lti_flow):
    assert lti_flow.launch(Client(), "u-teacher").status_code == 200
    lti_flow.platform.users["u-new"] = {"sub": "u-new", "roles": [LEARNER], "name": "New Comer"}
    lti_flow.platform.users["u-gone"] = {"sub": "u-gone", "roles": [LEARNER], "status": "Inactive"}
    course = Course.objects.get()

    result = tasks.roster_sync_course.run(course.pk)

    assert result == {"active": 3, "inactive": 1}
    roles = dict(Enrollment.objects.values_list("user__lti_users__sub", "role"))
    assert roles == {"u-teacher": "instructor", "u-student": "learner", "u-new": "learner"}
    assert not LtiMembership.objects.get(user__sub="u-gone").is_active
    assert any(
        token["scope"].endswith("contextmembership.readonly") for token in lti_flow.platform.store["tokens"]
    )
    sync = RosterSync.objects.get(course=course)
    assert (sync.status, sync.active_members, sync.inactive_members) == ("ok", 3, 1)
    assert sync.succeeded_at == sync.attempted_at


def test_a_failed_roster_sync_is_recorded_for_the_admin_and_raised_for_retry(lti_flow):
    assert lti_flow.launch(Client(), "u-teacher").status_code == 200
    course = Course.objects.get()
    tasks.roster_sync_course.run(course.pk)
    lti_flow.platform.down = True
    try:
        with pytest.raises((LtiServiceException, LtiException, requests.RequestException)):
            roster_sync(course_id=course.pk)
    finally:
        lti_flow.platform.down = False
    sync = RosterSync.objects.get(course=course)
    assert sync.status == "failed"
    assert sync.last_error
    assert sync.active_members == 2  # the last good sync's figures stay
    assert sync.succeeded_at is not None
    assert sync.succeeded_at < sync.attempted_at


def test_roster_sync_of_a_course_without_nrps_does_nothing(db):
    result = roster_sync(course_id=CourseFactory.create().pk)
    assert (result.active, result.inactive) == (0, 0)
