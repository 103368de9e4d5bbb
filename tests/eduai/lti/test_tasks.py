"""Passback through a real Celery worker: enqueued on commit, retried while the LMS is down, posted once."""

import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from lti_tool.models import LtiUser

from eduai.courses.models import Course
from eduai.lti.models import ScorePassback
from eduai.lti.services import score_passback_enqueue
from tests.factories import AssignmentFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_for(passback, condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        passback.refresh_from_db()
        if condition(passback):
            return passback
        time.sleep(0.5)
    raise AssertionError(f"passback still {passback.status} after {timeout} s: {passback.last_error}")


def test_a_score_survives_an_lms_outage_and_is_posted_once_by_the_worker(lti_flow, celery_worker_process):
    assert lti_flow.launch(Client(), "u-teacher").status_code == 200
    assignment = AssignmentFactory.create(course=Course.objects.get(), max_score=20)
    hint = {"resource_link_id": "rl-worker", "custom": {"eduai_assignment": str(assignment.pk)}}
    assert lti_flow.launch(Client(), "u-student", **hint).status_code == 200
    student = LtiUser.objects.get(sub="u-student").auth_user
    lti_flow.platform.down = True

    with transaction.atomic():
        passback = score_passback_enqueue(assignment=assignment, student=student, score_given=Decimal(18))

    _wait_for(passback, lambda row: row.attempts >= 1 and row.status == ScorePassback.Status.PENDING)
    assert "503" in passback.last_error
    assert lti_flow.platform.store["score_posts"] == []

    lti_flow.platform.down = False
    _wait_for(passback, lambda row: row.status == ScorePassback.Status.SENT)
    time.sleep(2)  # room for any duplicate delivery to show up
    (posted,) = lti_flow.platform.store["score_posts"]
    assert (posted["userId"], posted["scoreGiven"]) == ("u-student", 18.0)
