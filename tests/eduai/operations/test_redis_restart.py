"""Redis (broker, cache, answer streams) crashes mid-flow and comes back empty: requests during the
outage store their work in PostgreSQL or get a clear 503, never a traceback; after the restart
the stale-work sweep sends what the broker lost, and every submission is graded once, the
tutor's answer is written, the material uploaded meanwhile is ingested and the scores reach the
LMS once. Through a real gunicorn and real workers, all on a
redis-server of the test's own (the shared one is never touched)."""

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from lti_tool.models import LtiUser

from eduai.courses.models import Course
from eduai.courses.services import api_token_create
from eduai.lti.models import ScorePassback
from eduai.operations.stale_work import stale_work_requeue
from grading.models import AiGrade, Assignment, Submission
from tests.conftest import _start_worker, _wait_until_ready, _worker_environment, wait_for
from tests.eduai.lti.conftest import LtiFlow, path_of
from tests.factories import AiGradeFactory, AssignmentFactory
from tests.faults import RedisServer, celery_producer, gunicorn_process
from tutoring.models import Chunk, Material, Message
from tutoring.services import notice_accept

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@dataclass
class Stack:
    url: str
    redis: RedisServer


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """gunicorn, a CPU worker and an inference worker, with Redis as broker, cache and streams."""
    redis_server = RedisServer(tmp_path)
    environment = {
        **_worker_environment(),
        "REDIS_URL": redis_server.url(0),
        "CELERY_BROKER_URL": redis_server.url(0),
        "DEBUG": "false",
    }
    workers = {
        "cpu": ["-Q", "default", "-c", "1"],
        "inference": ["-Q", "inference", "--pool", "threads", "-c", "2"],
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, options in workers.items():
            log = tmp_path / f"{name}.log"
            processes.append(_start_worker(name, options, log, environment))
            _wait_until_ready(processes[-1], log, timeout=300)
        with gunicorn_process(environment, tmp_path / "gunicorn.log") as url:
            yield Stack(url=url, redis=redis_server)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        redis_server.crash()


def _bearer(user: User, course: Course, role: str) -> dict[str, str]:
    _, key = api_token_create(user=user, course=course, role=role, name=f"redis restart {role}")
    return {"Authorization": f"Bearer {key}"}


def _events(response: requests.Response) -> list[tuple[str, dict[str, object]]]:
    """The Server-Sent Events of a response, until the stream ends."""
    found = []
    for block in response.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


def test_a_redis_crash_loses_nothing(stack: Stack, lti_flow: LtiFlow) -> None:
    assert lti_flow.launch(Client(), "u-teacher").status_code == 200
    course = Course.objects.get()
    assignment = AssignmentFactory.create(
        course=course,
        max_score=Decimal(10),
        max_attempts=0,
        release_policy=Assignment.ReleasePolicy.AUTO,
        auto_release_confidence=0,
    )
    hint = {"resource_link_id": "rl-redis", "custom": {"eduai_assignment": str(assignment.pk)}}
    assert lti_flow.launch(Client(), "u-student", **hint).status_code == 200
    assignment.refresh_from_db()
    assert assignment.resource_link_id is not None
    student = LtiUser.objects.get(sub="u-student").auth_user
    teacher = LtiUser.objects.get(sub="u-teacher").auth_user
    notice_accept(user=student, course=course)
    as_student = _bearer(student, course, "learner")
    as_teacher = _bearer(teacher, course, "instructor")
    # The answer streams are pages of the LTI session, as in the student's browser.
    browser = Client()
    browser.force_login(student)
    student_session = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    # An answer graded before the outage, which the instructor overrides during it.
    earlier = AiGradeFactory.create(
        submission__assignment=assignment, submission__student=student, score=Decimal(4)
    ).submission
    api = f"{stack.url}/api/v1"

    stack.redis.crash()

    # A submission: stored and queued (the broker is down: the sweep will send it), 201 as usual.
    response = requests.post(
        f"{api}/grading/assignments/{assignment.pk}/submissions/",
        json={"text": "Osmosis moves water across a semipermeable membrane."},
        headers=as_student,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == Submission.Status.QUEUED

    # A tutor question: stored, its answer pending; the answer's stream says it cannot be shown now.
    response = requests.post(
        f"{api}/tutoring/courses/{course.pk}/questions/",
        json={"question": "What is osmosis?"},
        headers=as_student,
        timeout=60,
    )
    assert response.status_code == 202, response.text
    asked = response.json()
    answer = Message.objects.get(pk=asked["answer_id"])
    assert answer.status == Message.Status.PENDING
    assert Message.objects.get(pk=asked["question_id"]).text == "What is osmosis?"
    stream = requests.get(f"{stack.url}{asked['events_url']}", headers=student_session, timeout=60)
    assert stream.status_code == 200
    assert [event for event, _ in _events(stream)] == ["error"]

    # The instructor's override: confirmed and released; its score waits in the outbox.
    response = requests.post(
        f"{api}/grading/submissions/{earlier.pk}/override/",
        json={"score": "7"},
        headers=as_teacher,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    (overridden,) = ScorePassback.objects.filter(score_given=Decimal(7))
    assert overridden.status == ScorePassback.Status.PENDING

    # The instructor uploads a material: stored as pending (its ingestion waits for the sweep).
    response = requests.post(
        f"{api}/tutoring/courses/{course.pk}/materials/new/",
        files={"file": ("osmosis.md", b"# Osmosis\n\nWater crosses a membrane towards more solute.\n")},
        headers=as_teacher,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    material = Material.objects.get(pk=response.json()["id"])
    assert material.status == Material.Status.PENDING

    # An LTI launch needs Redis (its state and nonce): a clear 503, no traceback.
    login = requests.get(
        stack.url + path_of(lti_flow.platform.login_initiation_url("u-student")),
        timeout=60,
        allow_redirects=False,
    )
    assert login.status_code == 503, login.text[:500]
    assert "try again" in login.text
    assert "Traceback" not in login.text
    readiness = requests.get(f"{stack.url}/readyz", timeout=60)
    assert readiness.status_code == 503
    assert not readiness.json()["checks"]["broker"]["ok"]

    stack.redis.start()  # empty: whatever the broker held is gone

    # Beat's sweep, run at once here (in production every 2 minutes, each kind after its wait).
    with celery_producer(stack.redis.url(0)):
        resent = stale_work_requeue(older_than=timedelta(0))
    assert resent["grading.submissions"] == resent["tutoring.answers"] == resent["tutoring.materials"] == 1
    assert resent["lti.score-passbacks"] >= 1, resent
    assert -1 not in resent.values(), resent

    graded = wait_for(
        lambda: AiGrade.objects.filter(submission=submission).first(), timeout=600, what="the AI grade"
    )
    assert graded.submission.status == Submission.Status.SCORED
    wait_for(
        lambda: Message.objects.filter(pk=answer.pk, status=Message.Status.DONE).exists(),
        timeout=600,
        what="the tutor's answer",
    )
    sent = wait_for(
        lambda: (
            ScorePassback.objects.filter(assignment=assignment, status=ScorePassback.Status.SENT).count() == 2
        ),
        timeout=300,
        what="both scores to reach the LMS",
    )
    assert sent
    ingested = wait_for(
        lambda: Material.objects.filter(pk=material.pk, status=Material.Status.READY).first(),
        timeout=600,
        what="the material to be ingested",
    )
    assert ingested.progress == 100
    assert Chunk.objects.filter(material=material).exists()
    posts = [post["scoreGiven"] for post in lti_flow.platform.store["score_posts"]]
    assert sorted(posts) == sorted([7.0, float(graded.score)])  # each score posted once

    # Nothing lost or doubled: one row for each thing the student and instructor sent.
    assert Submission.objects.filter(assignment=assignment).count() == 2
    assert Message.objects.filter(conversation__student=student, role=Message.Role.STUDENT).count() == 1
    assert Message.objects.filter(conversation__student=student, role=Message.Role.TUTOR).count() == 1

    # And service as usual: a new question is answered, streamed through the restarted Redis.
    response = requests.post(
        f"{api}/tutoring/courses/{course.pk}/questions/",
        json={"question": "Does osmosis need energy?"},
        headers=as_student,
        timeout=60,
    )
    assert response.status_code == 202, response.text
    stream = requests.get(f"{stack.url}{response.json()['events_url']}", headers=student_session, timeout=600)
    assert _events(stream)[-1][0] == "end"
